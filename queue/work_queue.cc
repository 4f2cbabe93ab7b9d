#include "queue/work_queue.h"

#include <pthread.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <condition_variable>
#include <cstdlib>
#include <cstring>
#include <deque>
#include <mutex>
#include <thread>
#include <utility>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "common/log.h"

namespace masa::queue {
namespace {

class WorkQueueImpl final : public WorkQueue {
 public:
  explicit WorkQueueImpl(const WorkQueueOptions& options) : options_(options) {}

  ~WorkQueueImpl() override {
    Shutdown();
    // Only reachable when Shutdown() ran on a worker (which cannot join itself): join now.
    // Destroying the queue from one of its own jobs would join the destroying thread.
    for (std::thread& t : threads_) {
      if (!t.joinable()) continue;
      if (t.get_id() == std::this_thread::get_id()) {
        Log(LogLevel::kError, "WorkQueue destroyed from one of its own jobs");
        std::abort();
      }
      t.join();
    }
    // Workers drain the queue before they exit, so this finds jobs only if none ran.
    CancelPending();
  }

  void StartWorkers() {
    threads_.reserve(options_.workers);
    for (size_t i = 0; i < options_.workers; ++i) {
      threads_.emplace_back([this] { WorkerLoop(); });
    }
  }

  absl::Status TryEnqueueAll(std::vector<Job> jobs) override {
    if (jobs.empty()) return absl::OkStatus();
    {
      std::lock_guard<std::mutex> lock(mu_);
      if (stopping_) return absl::UnavailableError("work queue is shutting down");
      size_t free_slots = options_.capacity - waiting_.size();
      if (jobs.size() > free_slots) {
        return absl::ResourceExhaustedError(
            absl::StrCat("work queue full: ", waiting_.size(), " of ", options_.capacity,
                         " slots taken, request needs ", jobs.size(), "; retry later"));
      }
      for (Job& job : jobs) waiting_.push_back(std::move(job));
    }
    // One worker takes up to max_batch jobs; wake as many as the jobs can keep busy.
    if (jobs.size() > options_.max_batch) {
      cv_.notify_all();
    } else {
      cv_.notify_one();
    }
    return absl::OkStatus();
  }

  void Shutdown() override {
    {
      std::lock_guard<std::mutex> lock(mu_);
      stopping_ = true;
    }
    cv_.notify_all();
    std::lock_guard<std::mutex> join_lock(join_mu_);
    for (std::thread& t : threads_) {
      // A job calling Shutdown() cannot join its own worker; the destructor will.
      if (t.joinable() && t.get_id() != std::this_thread::get_id()) t.join();
    }
  }

  size_t CancelPending() override {
    std::deque<Job> cancelled;
    {
      std::lock_guard<std::mutex> lock(mu_);
      cancelled.swap(waiting_);
    }
    for (Job& job : cancelled) {
      if (job.cancel) job.cancel();
    }
    return cancelled.size();
  }

  size_t depth() const override {
    std::lock_guard<std::mutex> lock(mu_);
    return waiting_.size();
  }

  size_t capacity() const override { return options_.capacity; }

 private:
  void WorkerLoop() {
    pthread_setname_np(pthread_self(), options_.name.substr(0, 15).c_str());
    if (options_.nice != 0 &&
        setpriority(PRIO_PROCESS, static_cast<id_t>(syscall(SYS_gettid)), options_.nice) != 0) {
      Log(LogLevel::kWarning,
          absl::StrCat("cannot lower the priority of a worker thread: ", strerror(errno)));
    }
    std::vector<Job> batch;
    batch.reserve(options_.max_batch);
    for (;;) {
      {
        std::unique_lock<std::mutex> lock(mu_);
        cv_.wait(lock, [this] { return stopping_ || !waiting_.empty(); });
        if (waiting_.empty()) return;  // stopping and drained
        while (!waiting_.empty() && batch.size() < options_.max_batch) {
          batch.push_back(std::move(waiting_.front()));
          waiting_.pop_front();
        }
        // More left than this batch: let another idle worker start on it.
        if (!waiting_.empty()) cv_.notify_one();
      }
      for (Job& job : batch) {
        if (job.run) job.run();
      }
      batch.clear();
    }
  }

  const WorkQueueOptions options_;
  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::deque<Job> waiting_;  // guarded by mu_
  bool stopping_ = false;    // guarded by mu_
  std::mutex join_mu_;       // serializes concurrent Shutdown() calls joining threads_
  std::vector<std::thread> threads_;
};

}  // namespace

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
  auto queue = std::make_unique<WorkQueueImpl>(options);
  queue->StartWorkers();
  return std::unique_ptr<WorkQueue>(std::move(queue));
}

}  // namespace masa::queue
