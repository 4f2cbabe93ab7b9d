#include "queue/work_queue.h"

#include <pthread.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <condition_variable>
#include <cstdlib>
#include <cstring>
#include <deque>
#include <list>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/cord.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "common/log.h"
#include "queue/internal/queue_delay.h"

namespace masa::queue {
namespace {

using Clock = std::chrono::steady_clock;

// The payload of a max_queue_delay refusal: the Retry-After seconds, in decimal.
constexpr char kRetryAfterPayload[] = "type.masa/queue.retry_after_seconds";

// One worker thread and what it holds. Owned by State (stable address in a std::list).
struct Worker {
  std::thread thread;
  std::thread::id id;
  std::deque<WorkQueue::Job> batch;  // taken from the queue, not started
  bool running = false;              // inside a job's run (with a watchdog only)
  Clock::time_point deadline;        // of that run
  std::function<void()> abandon;     // that job's abandon, until the watchdog takes it
  bool abandoned = false;            // the watchdog gave up on the running job
  bool exited = false;               // the thread function returned (joinable at once)
};

// Everything the threads touch. Shared by the queue and its threads, so that a worker stuck
// in a call that outlives the queue finds its state when the call returns and exits cleanly.
struct State {
  explicit State(const WorkQueueOptions& o)
      : options(o), timed(o.run_timeout != absl::InfiniteDuration()),
        timeout(timed ? absl::ToChronoNanoseconds(o.run_timeout) : std::chrono::nanoseconds(0)),
        max_stuck(o.max_stuck == 0 ? o.workers : o.max_stuck),
        delay(o.max_queue_delay > absl::ZeroDuration()
                  ? std::make_unique<internal::QueueDelay>(o.max_queue_delay, o.workers)
                  : nullptr) {}

  const WorkQueueOptions options;
  const bool timed;
  const std::chrono::nanoseconds timeout;
  const size_t max_stuck;
  const std::unique_ptr<internal::QueueDelay> delay;  // admission by delay; null: off

  mutable std::mutex mu;
  std::condition_variable cv;        // workers: jobs or stopping
  std::condition_variable watch_cv;  // watchdog: a job started, or stop
  std::condition_variable exit_cv;   // Shutdown: a worker exited or was abandoned
  std::deque<WorkQueue::Job> waiting;
  bool stopping = false;
  bool watchdog_stop = false;
  bool watchdog_idle = false;  // waiting without a deadline: a starting job must wake it
  std::list<std::unique_ptr<Worker>> workers;
  size_t stuck = 0;  // abandoned workers still inside their run
  size_t owed = 0;   // replacements not started because max_stuck were stuck
  uint64_t abandoned = 0;
};

void StartWorker(const std::shared_ptr<State>& st);  // with st->mu held

void WorkerLoop(std::shared_ptr<State> st, Worker* w) {
  const WorkQueueOptions& options = st->options;
  pthread_setname_np(pthread_self(), options.name.substr(0, 15).c_str());
  if (options.nice != 0 &&
      setpriority(PRIO_PROCESS, static_cast<id_t>(syscall(SYS_gettid)), options.nice) != 0) {
    Log(LogLevel::kWarning,
        absl::StrCat("cannot lower the priority of a worker thread: ", strerror(errno)));
  }
  for (;;) {
    WorkQueue::Job job;
    {
      std::unique_lock<std::mutex> lock(st->mu);
      if (w->batch.empty()) {
        st->cv.wait(lock, [&] { return st->stopping || !st->waiting.empty(); });
        if (st->waiting.empty()) {  // stopping and drained
          w->exited = true;
          st->exit_cv.notify_all();
          return;
        }
        while (!st->waiting.empty() && w->batch.size() < options.max_batch) {
          w->batch.push_back(std::move(st->waiting.front()));
          st->waiting.pop_front();
        }
        // More left than this batch: let another idle worker start on it.
        if (!st->waiting.empty()) st->cv.notify_one();
      }
      job = std::move(w->batch.front());
      w->batch.pop_front();
      if (st->timed) {
        w->running = true;
        w->deadline = Clock::now() + st->timeout;
        w->abandon = std::move(job.abandon);
        if (st->watchdog_idle) st->watch_cv.notify_one();
      }
    }
    const Clock::time_point started = st->delay ? Clock::now() : Clock::time_point();
    if (job.run) job.run();
    auto observe = [&] {
      if (st->delay) st->delay->Observe(absl::FromChrono(Clock::now() - started));
    };
    if (!st->timed) {
      observe();
      continue;
    }
    std::lock_guard<std::mutex> lock(st->mu);
    w->running = false;
    w->abandon = nullptr;
    if (!w->abandoned) {
      observe();
      continue;
    }
    // The watchdog gave up on this job and handed the batch on. Take a replacement's place
    // when one is owed; otherwise the replacement runs and this thread is surplus.
    --st->stuck;
    if (st->owed > 0) {
      --st->owed;
      w->abandoned = false;
      continue;
    }
    w->exited = true;
    st->exit_cv.notify_all();
    return;
  }
}

void StartWorker(const std::shared_ptr<State>& st) {
  st->workers.push_back(std::make_unique<Worker>());
  Worker* w = st->workers.back().get();
  w->thread = std::thread(WorkerLoop, st, w);
  w->id = w->thread.get_id();
}

// Abandons every run past its deadline: takes the job's abandon, puts the rest of the stuck
// worker's batch back at the head of the queue, starts a replacement (up to max_stuck stuck).
void WatchdogLoop(std::shared_ptr<State> st) {
  pthread_setname_np(pthread_self(), "masa-watchdog");
  std::unique_lock<std::mutex> lock(st->mu);
  while (!st->watchdog_stop) {
    const Clock::time_point now = Clock::now();
    std::vector<std::function<void()>> abandons;
    std::optional<Clock::time_point> next;
    for (auto& w : st->workers) {
      if (!w->running || w->abandoned) continue;
      if (w->deadline > now) {
        if (!next || w->deadline < *next) next = w->deadline;
        continue;
      }
      w->abandoned = true;
      ++st->stuck;
      ++st->abandoned;
      abandons.push_back(std::move(w->abandon));
      w->abandon = nullptr;
      while (!w->batch.empty()) {
        st->waiting.push_front(std::move(w->batch.back()));
        w->batch.pop_back();
      }
      if (st->stuck <= st->max_stuck) {
        StartWorker(st);
      } else {
        ++st->owed;
      }
      st->exit_cv.notify_all();
    }
    if (!abandons.empty()) {
      st->cv.notify_all();
      Log(LogLevel::kWarning,
          absl::StrCat("work queue: ", abandons.size(), " job(s) ran longer than ",
                       absl::FormatDuration(st->options.run_timeout), " and were abandoned; ",
                       st->stuck, " worker(s) stuck in a call"));
      lock.unlock();
      for (auto& abandon : abandons) {
        if (abandon) abandon();
      }
      lock.lock();
      continue;  // the clock moved while the abandons ran
    }
    st->watchdog_idle = !next;
    if (next) {
      st->watch_cv.wait_until(lock, *next);
    } else {
      st->watch_cv.wait(lock);
    }
    st->watchdog_idle = false;
  }
}

class WorkQueueImpl final : public WorkQueue {
 public:
  explicit WorkQueueImpl(const WorkQueueOptions& options) : st_(std::make_shared<State>(options)) {}

  ~WorkQueueImpl() override {
    Shutdown();
    // Only reachable when Shutdown() ran on a worker (which cannot join itself): join now.
    // Destroying the queue from one of its own jobs would join the destroying thread.
    // A Worker stays in st_->workers until it exited: a detached one still reads it.
    std::vector<Worker*> joinable;
    {
      std::lock_guard<std::mutex> lock(st_->mu);
      for (auto& w : st_->workers) {
        if (w->thread.joinable()) joinable.push_back(w.get());
      }
    }
    for (Worker* w : joinable) {
      if (w->id == std::this_thread::get_id()) {
        Log(LogLevel::kError, "WorkQueue destroyed from one of its own jobs");
        std::abort();
      }
      w->thread.join();
    }
    // Workers drain the queue before they exit, so this finds jobs only if none ran (or
    // every worker was stuck in an abandoned job).
    CancelPending();
  }

  void Start() {
    std::lock_guard<std::mutex> lock(st_->mu);
    for (size_t i = 0; i < st_->options.workers; ++i) StartWorker(st_);
    if (st_->timed) watchdog_ = std::thread(WatchdogLoop, st_);
  }

  absl::Status TryEnqueueAll(std::vector<Job> jobs) override {
    if (jobs.empty()) return absl::OkStatus();
    const size_t n = jobs.size();
    std::optional<absl::Duration> too_long;  // the expected wait, when over max_queue_delay
    size_t ahead = 0;
    {
      std::lock_guard<std::mutex> lock(st_->mu);
      if (st_->stopping) return absl::UnavailableError("work queue is shutting down");
      size_t free_slots =
          st_->options.capacity - std::min(st_->waiting.size(), st_->options.capacity);
      if (n > free_slots) {
        return absl::ResourceExhaustedError(
            absl::StrCat("work queue full: ", st_->waiting.size(), " of ", st_->options.capacity,
                         " slots taken, request needs ", n, "; retry later"));
      }
      if (st_->delay != nullptr && !st_->waiting.empty()) {
        ahead = st_->waiting.size();
        const absl::Duration wait = st_->delay->ExpectedWait(ahead);
        if (st_->delay->Refuses(wait)) too_long = wait;
      }
      if (!too_long) {
        for (Job& job : jobs) st_->waiting.push_back(std::move(job));
      }
    }
    if (too_long) return AtCapacity(*too_long, ahead);
    // One worker takes up to max_batch jobs; wake as many as the jobs can keep busy.
    if (n > st_->options.max_batch) {
      st_->cv.notify_all();
    } else {
      st_->cv.notify_one();
    }
    return absl::OkStatus();
  }

  void Shutdown() override {
    std::lock_guard<std::mutex> join_lock(join_mu_);
    const std::thread::id self = std::this_thread::get_id();
    std::unique_lock<std::mutex> lock(st_->mu);
    st_->stopping = true;
    st_->cv.notify_all();
    // Every worker drains and exits, or is stuck in an abandoned job (the watchdog keeps
    // watching meanwhile, and starts replacements that drain what a stuck one held).
    st_->exit_cv.wait(lock, [&] { return AllOut(self, /*stuck_counts=*/true); });
    // A stuck worker gets one more run_timeout to come back; then it is left behind.
    if (st_->timed && st_->stuck > 0) {
      st_->exit_cv.wait_for(lock, st_->timeout,
                            [&] { return AllOut(self, /*stuck_counts=*/false); });
    }
    st_->watchdog_stop = true;
    st_->watch_cv.notify_all();
    lock.unlock();
    if (watchdog_.joinable()) watchdog_.join();
    lock.lock();
    for (auto it = st_->workers.begin(); it != st_->workers.end();) {
      Worker& w = **it;
      if (w.id == self) {  // a job calling Shutdown(): the destructor joins it
        ++it;
      } else if (w.exited) {
        if (w.thread.joinable()) w.thread.join();  // returned already: does not block
        it = st_->workers.erase(it);
      } else {
        // Stuck in a call that has not returned: it exits on its own when it does, and
        // only touches st_, which it co-owns.
        if (w.thread.joinable()) {
          w.thread.detach();
          Log(LogLevel::kWarning, "work queue: shut down with a worker still stuck in a call");
        }
        ++it;
      }
    }
  }

  size_t CancelPending() override {
    std::deque<Job> cancelled;
    {
      std::lock_guard<std::mutex> lock(st_->mu);
      cancelled.swap(st_->waiting);
    }
    for (Job& job : cancelled) {
      if (job.cancel) job.cancel();
    }
    return cancelled.size();
  }

  size_t depth() const override {
    std::lock_guard<std::mutex> lock(st_->mu);
    return st_->waiting.size();
  }

  size_t capacity() const override { return st_->options.capacity; }

  uint64_t abandoned() const override {
    std::lock_guard<std::mutex> lock(st_->mu);
    return st_->abandoned;
  }

  size_t stuck_workers() const override {
    std::lock_guard<std::mutex> lock(st_->mu);
    return st_->stuck;
  }

 private:
  // With st_->mu held: every worker but `self` has exited (or, when stuck_counts, is stuck
  // in an abandoned job).
  bool AllOut(std::thread::id self, bool stuck_counts) const {
    for (const auto& w : st_->workers) {
      if (w->id == self || w->exited) continue;
      if (stuck_counts && w->abandoned) continue;
      return false;
    }
    return true;
  }

  // The max_queue_delay refusal of work that would wait `wait` behind `ahead` jobs, logged
  // at most once a second.
  absl::Status AtCapacity(absl::Duration wait, size_t ahead) const {
    const int retry_after = internal::RetryAfterSeconds(wait);
    const std::string budget = absl::FormatDuration(st_->delay->budget());
    uint64_t refused = 0;
    if (st_->delay->CountRefusal(absl::Now(), &refused)) {
      Log(LogLevel::kWarning,
          absl::StrCat(st_->options.name, ": at capacity, ", refused,
                       " request(s) refused (503) since the last such line: ", ahead,
                       " jobs waiting would delay new ones about ", absl::FormatDuration(wait),
                       ", over max_queue_delay ", budget));
    }
    return WithRetryAfterSeconds(
        absl::UnavailableError(absl::StrCat(
            "the service is at capacity: the work queued ahead would delay this request "
            "about ",
            absl::FormatDuration(absl::Trunc(wait, absl::Milliseconds(1))), " (the limit is ",
            budget, "); retry after ", retry_after, " s")),
        retry_after);
  }

  std::shared_ptr<State> st_;
  std::mutex join_mu_;  // serializes concurrent Shutdown() calls
  std::thread watchdog_;
};

}  // namespace

std::optional<int> RetryAfterSecondsOf(const absl::Status& status) {
  auto payload = status.GetPayload(kRetryAfterPayload);
  int seconds = 0;
  if (!payload || !absl::SimpleAtoi(std::string(*payload), &seconds) || seconds < 1) {
    return std::nullopt;
  }
  return seconds;
}

absl::Status WithRetryAfterSeconds(absl::Status status, int seconds) {
  status.SetPayload(kRetryAfterPayload, absl::Cord(absl::StrCat(seconds)));
  return status;
}

absl::StatusOr<std::unique_ptr<WorkQueue>> WorkQueue::Create(const WorkQueueOptions& options) {
  if (options.workers == 0)
    return absl::InvalidArgumentError("work queue needs at least one worker");
  if (options.capacity == 0)
    return absl::InvalidArgumentError("work queue capacity must be positive");
  if (options.max_batch == 0)
    return absl::InvalidArgumentError("work queue max_batch must be positive");
  if (options.nice < 0 || options.nice > 19) {
    return absl::InvalidArgumentError("work queue nice must be between 0 and 19");
  }
  if (options.max_queue_delay < absl::ZeroDuration()) {
    return absl::InvalidArgumentError("work queue max_queue_delay must not be negative");
  }
  if (options.run_timeout <= absl::ZeroDuration()) {
    return absl::InvalidArgumentError("work queue run_timeout must be positive");
  }
  auto queue = std::make_unique<WorkQueueImpl>(options);
  queue->Start();
  return std::unique_ptr<WorkQueue>(std::move(queue));
}

}  // namespace masa::queue
