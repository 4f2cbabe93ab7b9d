#include "queue/work_queue.h"

#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <future>
#include <mutex>
#include <set>
#include <thread>
#include <vector>

#include "gtest/gtest.h"

namespace masa::queue {
namespace {

// Holds a worker inside a job until Open(); Started() waits until a worker is in it.
class Gate {
 public:
  WorkQueue::Job Job() {
    return {.run =
                [this] {
                  started_.set_value();
                  open_.wait();
                },
            .cancel = nullptr,
            .abandon = nullptr};
  }
  // The gate job alone, as TryEnqueueAll takes it.
  std::vector<WorkQueue::Job> AsBatch() {
    std::vector<WorkQueue::Job> v;
    v.push_back(Job());
    return v;
  }
  void WaitStarted() { started_.get_future().wait(); }
  void Open() { opener_.set_value(); }

 private:
  std::promise<void> started_;
  std::promise<void> opener_;
  std::shared_future<void> open_ = opener_.get_future().share();
};

WorkQueue::Job Counting(std::atomic<int>* ran, std::atomic<int>* cancelled = nullptr) {
  return {.run = [ran] { ran->fetch_add(1); },
          .cancel =
              [cancelled] {
                if (cancelled != nullptr) cancelled->fetch_add(1);
              },
          .abandon = nullptr};
}

std::vector<WorkQueue::Job> CountingJobs(int n, std::atomic<int>* ran,
                                         std::atomic<int>* cancelled = nullptr) {
  std::vector<WorkQueue::Job> jobs;
  for (int i = 0; i < n; ++i) jobs.push_back(Counting(ran, cancelled));
  return jobs;
}

TEST(WorkQueueTest, CreateRefusesZeroWorkersCapacityOrBatch) {
  EXPECT_EQ(WorkQueue::Create({.workers = 0}).status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(WorkQueue::Create({.capacity = 0}).status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(WorkQueue::Create({.max_batch = 0}).status().code(),
            absl::StatusCode::kInvalidArgument);
}

TEST(WorkQueueTest, WorkersRunAtTheConfiguredLowerPriority) {
  EXPECT_EQ(WorkQueue::Create({.nice = 20}).status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(WorkQueue::Create({.nice = -1}).status().code(), absl::StatusCode::kInvalidArgument);
  errno = 0;
  const int base = getpriority(PRIO_PROCESS, static_cast<id_t>(syscall(SYS_gettid)));
  ASSERT_EQ(errno, 0);
  auto q = WorkQueue::Create({.workers = 2, .nice = 5});
  ASSERT_TRUE(q.ok()) << q.status();
  std::promise<int> seen;
  ASSERT_TRUE((*q)->TryEnqueueAll([&] {
                    std::vector<WorkQueue::Job> jobs(1);
                    jobs[0].run = [&] {
                      seen.set_value(
                          getpriority(PRIO_PROCESS, static_cast<id_t>(syscall(SYS_gettid))));
                    };
                    return jobs;
                  }())
                  .ok());
  EXPECT_EQ(seen.get_future().get(), std::min(base + 5, 19));
  // The caller's own thread keeps its priority.
  EXPECT_EQ(getpriority(PRIO_PROCESS, static_cast<id_t>(syscall(SYS_gettid))), base);
}

TEST(WorkQueueTest, FullQueueRefusesWithMessageSayingHowFull) {
  auto q = WorkQueue::Create({.workers = 1, .capacity = 4});
  ASSERT_TRUE(q.ok()) << q.status();
  Gate gate;
  ASSERT_TRUE((*q)->TryEnqueueAll(gate.AsBatch()).ok());
  gate.WaitStarted();  // the worker holds the gate job: the queue itself is empty again
  EXPECT_EQ((*q)->depth(), 0u);

  std::atomic<int> ran{0};
  ASSERT_TRUE((*q)->TryEnqueueAll(CountingJobs(4, &ran)).ok());
  EXPECT_EQ((*q)->depth(), 4u);
  EXPECT_EQ((*q)->capacity(), 4u);

  absl::Status refused = (*q)->TryEnqueueAll(CountingJobs(1, &ran));
  EXPECT_EQ(refused.code(), absl::StatusCode::kResourceExhausted);
  EXPECT_NE(refused.message().find("4 of 4 slots taken"), absl::string_view::npos) << refused;
  EXPECT_NE(refused.message().find("needs 1"), absl::string_view::npos) << refused;

  gate.Open();
  (*q)->Shutdown();
  EXPECT_EQ(ran.load(), 4);  // the refused job never ran
}

// Admission by queueing delay: with jobs that take 2 ms each and one worker, one job
// waiting ahead means 2 ms before a new one starts, over a 1 ms max_queue_delay; the new
// work is refused as a whole (neither run nor cancel), kUnavailable with a Retry-After.
TEST(WorkQueueTest, WorkThatWouldWaitLongerThanMaxQueueDelayIsRefused) {
  EXPECT_EQ(WorkQueue::Create({.max_queue_delay = absl::Milliseconds(-1)}).status().code(),
            absl::StatusCode::kInvalidArgument);
  auto q = WorkQueue::Create({.workers = 1, .max_queue_delay = absl::Milliseconds(1)});
  ASSERT_TRUE(q.ok()) << q.status();
  // Nothing observed yet and nothing waiting: admitted. The job's run is what the queue
  // learns its pace from (not a synchronisation: the test waits on the promise).
  std::promise<void> slow_done;
  std::vector<WorkQueue::Job> slow(1);
  slow[0].run = [&] {
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
    slow_done.set_value();
  };
  ASSERT_TRUE((*q)->TryEnqueueAll(std::move(slow)).ok());
  slow_done.get_future().wait();

  Gate gate;
  ASSERT_TRUE((*q)->TryEnqueueAll(gate.AsBatch()).ok());
  gate.WaitStarted();
  std::atomic<int> ran{0}, cancelled{0};
  // Nothing waits ahead (the worker holds the gate job): admitted however slow jobs are.
  ASSERT_TRUE((*q)->TryEnqueueAll(CountingJobs(3, &ran, &cancelled)).ok());
  // Three wait ahead now: about 6 ms, over 1 ms.
  absl::Status refused = (*q)->TryEnqueueAll(CountingJobs(2, &ran, &cancelled));
  EXPECT_EQ(refused.code(), absl::StatusCode::kUnavailable);
  EXPECT_NE(refused.message().find("at capacity"), absl::string_view::npos) << refused;
  EXPECT_EQ(RetryAfterSecondsOf(refused), 1);
  EXPECT_EQ((*q)->depth(), 3u);  // nothing of the refused work was queued
  gate.Open();
  (*q)->Shutdown();
  EXPECT_EQ(ran.load(), 3);
  EXPECT_EQ(cancelled.load(), 0);
  // A refusal for being full carries no Retry-After of its own; other statuses neither.
  EXPECT_EQ(RetryAfterSecondsOf(absl::ResourceExhaustedError("full")), std::nullopt);
  EXPECT_EQ(RetryAfterSecondsOf(absl::OkStatus()), std::nullopt);
}

TEST(WorkQueueTest, EnqueuesAllOrNothing) {
  auto q = WorkQueue::Create({.workers = 1, .capacity = 5});
  ASSERT_TRUE(q.ok()) << q.status();
  Gate gate;
  ASSERT_TRUE((*q)->TryEnqueueAll(gate.AsBatch()).ok());
  gate.WaitStarted();

  std::atomic<int> ran{0}, cancelled{0};
  ASSERT_TRUE((*q)->TryEnqueueAll(CountingJobs(3, &ran, &cancelled)).ok());
  // Two slots are free; a request of three is refused whole, not two thirds of it.
  EXPECT_EQ((*q)->TryEnqueueAll(CountingJobs(3, &ran, &cancelled)).code(),
            absl::StatusCode::kResourceExhausted);
  EXPECT_EQ((*q)->depth(), 3u);
  // A request that fits still goes in.
  EXPECT_TRUE((*q)->TryEnqueueAll(CountingJobs(2, &ran, &cancelled)).ok());
  EXPECT_EQ((*q)->depth(), 5u);

  gate.Open();
  (*q)->Shutdown();
  EXPECT_EQ(ran.load(), 5);
  EXPECT_EQ(cancelled.load(), 0);  // refused jobs are not cancelled: the caller knows
}

TEST(WorkQueueTest, EveryJobRunsExactlyOnceUnderConcurrentProducers) {
  constexpr int kProducers = 4;
  constexpr int kRequestsPerProducer = 500;
  constexpr int kJobsPerRequest = 7;
  auto q = WorkQueue::Create({.workers = 3, .capacity = 64, .max_batch = 5});
  ASSERT_TRUE(q.ok()) << q.status();

  constexpr int kTotal = kProducers * kRequestsPerProducer * kJobsPerRequest;
  std::vector<std::atomic<int>> runs(kTotal);
  std::mutex threads_mu;
  std::set<std::thread::id> worker_ids;
  std::atomic<int> refusals{0};

  std::vector<std::thread> producers;
  for (int p = 0; p < kProducers; ++p) {
    producers.emplace_back([&, p] {
      for (int r = 0; r < kRequestsPerProducer; ++r) {
        for (;;) {
          std::vector<WorkQueue::Job> jobs;
          for (int j = 0; j < kJobsPerRequest; ++j) {
            int id = (p * kRequestsPerProducer + r) * kJobsPerRequest + j;
            jobs.push_back({.run =
                                [&, id] {
                                  runs[id].fetch_add(1);
                                  std::lock_guard<std::mutex> lock(threads_mu);
                                  worker_ids.insert(std::this_thread::get_id());
                                },
                            .cancel = nullptr,
                            .abandon = nullptr});
          }
          absl::Status s = (*q)->TryEnqueueAll(std::move(jobs));
          if (s.ok()) break;
          ASSERT_EQ(s.code(), absl::StatusCode::kResourceExhausted) << s;
          refusals.fetch_add(1);
          std::this_thread::yield();  // a real caller answers 503; here: retry
        }
      }
    });
  }
  for (std::thread& t : producers) t.join();
  (*q)->Shutdown();

  for (int i = 0; i < kTotal; ++i) ASSERT_EQ(runs[i].load(), 1) << "job " << i;
  EXPECT_GE(worker_ids.size(), 1u);
  EXPECT_LE(worker_ids.size(), 3u);
  EXPECT_EQ((*q)->depth(), 0u);
}

TEST(WorkQueueTest, WorkersTakeBatchesOfAtMostMaxBatch) {
  auto q = WorkQueue::Create({.workers = 1, .capacity = 100, .max_batch = 4});
  ASSERT_TRUE(q.ok()) << q.status();
  Gate gate;
  ASSERT_TRUE((*q)->TryEnqueueAll(gate.AsBatch()).ok());
  gate.WaitStarted();

  // Each job records the depth it sees: with one worker taking 4 at a time from 10 waiting,
  // the depths seen are 6 (batch 1), 2 (batch 2), 0 (batch 3).
  std::mutex mu;
  std::vector<size_t> seen;
  std::vector<WorkQueue::Job> jobs;
  WorkQueue* raw = q->get();
  for (int i = 0; i < 10; ++i) {
    jobs.push_back({.run =
                        [&, raw] {
                          std::lock_guard<std::mutex> lock(mu);
                          seen.push_back(raw->depth());
                        },
                    .cancel = nullptr,
                    .abandon = nullptr});
  }
  ASSERT_TRUE((*q)->TryEnqueueAll(std::move(jobs)).ok());
  gate.Open();
  (*q)->Shutdown();
  EXPECT_EQ(seen, (std::vector<size_t>{6, 6, 6, 6, 2, 2, 2, 2, 0, 0}));
}

TEST(WorkQueueTest, ShutdownDrainsEveryQueuedJobThenRefuses) {
  auto q = WorkQueue::Create({.workers = 2, .capacity = 1000});
  ASSERT_TRUE(q.ok()) << q.status();
  std::atomic<int> ran{0}, cancelled{0};
  std::vector<WorkQueue::Job> jobs;
  for (int i = 0; i < 200; ++i) {
    jobs.push_back({.run =
                        [&] {
                          std::this_thread::sleep_for(std::chrono::microseconds(200));
                          ran.fetch_add(1);
                        },
                    .cancel = [&] { cancelled.fetch_add(1); },
                    .abandon = nullptr});
  }
  ASSERT_TRUE((*q)->TryEnqueueAll(std::move(jobs)).ok());
  (*q)->Shutdown();
  EXPECT_EQ(ran.load(), 200);
  EXPECT_EQ(cancelled.load(), 0);
  EXPECT_EQ((*q)->depth(), 0u);

  absl::Status after = (*q)->TryEnqueueAll(CountingJobs(1, &ran));
  EXPECT_EQ(after.code(), absl::StatusCode::kUnavailable) << after;
  (*q)->Shutdown();  // idempotent
  q->reset();        // and the destructor after it
  EXPECT_EQ(ran.load(), 200);
}

TEST(WorkQueueTest, DestructorDrainsLikeShutdown) {
  std::atomic<int> ran{0};
  {
    auto q = WorkQueue::Create({.workers = 1, .capacity = 100});
    ASSERT_TRUE(q.ok()) << q.status();
    ASSERT_TRUE((*q)->TryEnqueueAll(CountingJobs(50, &ran)).ok());
  }
  EXPECT_EQ(ran.load(), 50);
}

TEST(WorkQueueTest, CancelPendingCancelsWaitingJobsOnlyAndEachJobEndsOnce) {
  auto q = WorkQueue::Create({.workers = 1, .capacity = 10});
  ASSERT_TRUE(q.ok()) << q.status();
  Gate gate;
  ASSERT_TRUE((*q)->TryEnqueueAll(gate.AsBatch()).ok());
  gate.WaitStarted();

  std::atomic<int> ran{0}, cancelled{0};
  ASSERT_TRUE((*q)->TryEnqueueAll(CountingJobs(6, &ran, &cancelled)).ok());
  EXPECT_EQ((*q)->CancelPending(), 6u);
  EXPECT_EQ(cancelled.load(), 6);
  EXPECT_EQ((*q)->depth(), 0u);

  // The queue still works afterwards.
  ASSERT_TRUE((*q)->TryEnqueueAll(CountingJobs(2, &ran, &cancelled)).ok());
  gate.Open();
  (*q)->Shutdown();
  EXPECT_EQ(ran.load(), 2);
  EXPECT_EQ(cancelled.load(), 6);
}

TEST(WorkQueueTest, JobMayCallShutdown) {
  auto q = WorkQueue::Create({.workers = 2, .capacity = 10});
  ASSERT_TRUE(q.ok()) << q.status();
  WorkQueue* raw = q->get();
  std::promise<void> done;
  std::vector<WorkQueue::Job> jobs;
  jobs.push_back({.run =
                      [&, raw] {
                        raw->Shutdown();
                        done.set_value();
                      },
                  .cancel = nullptr,
                  .abandon = nullptr});
  ASSERT_TRUE((*q)->TryEnqueueAll(std::move(jobs)).ok());
  done.get_future().wait();
  std::atomic<int> ran{0};
  EXPECT_EQ((*q)->TryEnqueueAll(CountingJobs(1, &ran)).code(), absl::StatusCode::kUnavailable);
  q->reset();  // joins the worker that ran Shutdown()
}

// A job held inside its run until Open(), whose abandon is observable; shared, so that a
// worker the queue left behind still finds it after the test's locals are gone.
struct Hung {
  std::promise<void> started;
  std::promise<void> abandoned;
  std::promise<void> opener;
  std::shared_future<void> open = opener.get_future().share();
  std::promise<void> returned;

  static WorkQueue::Job Job(const std::shared_ptr<Hung>& h) {
    return {.run =
                [h] {
                  h->started.set_value();
                  h->open.wait();
                  h->returned.set_value();
                },
            .cancel = nullptr,
            .abandon = [h] { h->abandoned.set_value(); }};
  }
};

WorkQueue::Job Signal(std::promise<void>* ran) {
  return {.run = [ran] { ran->set_value(); }, .cancel = nullptr, .abandon = nullptr};
}

TEST(WorkQueueTest, CreateRefusesANonPositiveRunTimeout) {
  EXPECT_EQ(WorkQueue::Create({.run_timeout = absl::ZeroDuration()}).status().code(),
            absl::StatusCode::kInvalidArgument);
}

// A hung job is abandoned (its abandon runs while its run is still inside the call), the
// rest of its worker's batch runs on a replacement worker, and the stuck worker comes back
// when its call returns.
TEST(WorkQueueTest, HungJobIsAbandonedAndTheRestOfItsBatchRunsOnAReplacement) {
  auto q = WorkQueue::Create(
      {.workers = 1, .max_batch = 8, .run_timeout = absl::Milliseconds(100), .max_stuck = 1});
  ASSERT_TRUE(q.ok()) << q.status();
  auto first = std::make_shared<Hung>();
  auto second = std::make_shared<Hung>();
  std::promise<void> b_ran, d_ran;
  std::vector<WorkQueue::Job> jobs;
  jobs.push_back(Hung::Job(first));
  jobs.push_back(Signal(&b_ran));  // in the same batch as `first`, behind it
  ASSERT_TRUE((*q)->TryEnqueueAll(std::move(jobs)).ok());
  first->abandoned.get_future().wait();
  b_ran.get_future().wait();  // on the replacement, while `first` still hangs
  EXPECT_EQ((*q)->abandoned(), 1u);
  EXPECT_EQ((*q)->stuck_workers(), 1u);

  // A second hang: max_stuck is reached, so no further replacement starts and `d` waits...
  jobs.clear();
  jobs.push_back(Hung::Job(second));
  jobs.push_back(Signal(&d_ran));
  ASSERT_TRUE((*q)->TryEnqueueAll(std::move(jobs)).ok());
  second->abandoned.get_future().wait();
  EXPECT_EQ((*q)->abandoned(), 2u);
  // ... until the first stuck worker's call returns and it takes the owed place.
  first->opener.set_value();
  d_ran.get_future().wait();
  first->returned.get_future().wait();
  second->opener.set_value();
  (*q)->Shutdown();
  EXPECT_EQ((*q)->depth(), 0u);
}

TEST(WorkQueueTest, JobsThatReturnInTimeAreNeverAbandoned) {
  auto q = WorkQueue::Create({.workers = 2, .run_timeout = absl::Seconds(30)});
  ASSERT_TRUE(q.ok()) << q.status();
  std::atomic<int> ran{0};
  std::atomic<int> abandoned{0};
  std::vector<WorkQueue::Job> jobs;
  for (int i = 0; i < 200; ++i) {
    jobs.push_back({.run = [&] { ran.fetch_add(1); },
                    .cancel = nullptr,
                    .abandon = [&] { abandoned.fetch_add(1); }});
  }
  ASSERT_TRUE((*q)->TryEnqueueAll(std::move(jobs)).ok());
  (*q)->Shutdown();
  EXPECT_EQ(ran.load(), 200);
  EXPECT_EQ(abandoned.load(), 0);
  EXPECT_EQ((*q)->abandoned(), 0u);
}

// The documented race: run and abandon both try to complete the job; an atomic claim lets
// exactly one of them do it, whichever comes first.
TEST(WorkQueueTest, RunAndAbandonRaceButAClaimCompletesEachJobOnce) {
  constexpr int kJobs = 300;
  struct Shared {
    std::vector<std::atomic<bool>> claimed = std::vector<std::atomic<bool>>(kJobs);
    std::atomic<int> completions{0};
    std::atomic<int> finished{0};  // runs returned plus jobs cancelled
    std::promise<void> all_finished;
    void Complete(int i) {
      if (!claimed[i].exchange(true)) completions.fetch_add(1);
    }
    void Finish() {
      if (finished.fetch_add(1) + 1 == kJobs) all_finished.set_value();
    }
  };
  auto sh = std::make_shared<Shared>();
  auto q = WorkQueue::Create({.workers = 2, .run_timeout = absl::Milliseconds(1)});
  ASSERT_TRUE(q.ok()) << q.status();
  std::vector<WorkQueue::Job> jobs;
  for (int i = 0; i < kJobs; ++i) {
    jobs.push_back({.run =
                        [sh, i] {
                          // Some jobs outlast the timeout, so both paths happen.
                          if (i % 3 == 0) {
                            volatile uint64_t x = 0;
                            for (int k = 0; k < 200000; ++k) x = x + k;
                          }
                          sh->Complete(i);
                          sh->Finish();
                        },
                    .cancel =
                        [sh, i] {
                          sh->Complete(i);
                          sh->Finish();
                        },
                    .abandon = [sh, i] { sh->Complete(i); }});
  }
  ASSERT_TRUE((*q)->TryEnqueueAll(std::move(jobs)).ok());
  (*q)->Shutdown();
  q->reset();  // cancels what no worker was left to run
  EXPECT_EQ(sh->completions.load(), kJobs);
  sh->all_finished.get_future().wait();  // a left-behind run may still be returning
  EXPECT_EQ(sh->completions.load(), kJobs);
}

// Shutdown waits for a stuck worker for one more run_timeout at most, then leaves it; the
// worker exits by itself when its call returns, after the queue is gone.
TEST(WorkQueueTest, ShutdownDoesNotWaitForeverForAStuckWorker) {
  auto q = WorkQueue::Create({.workers = 1, .run_timeout = absl::Milliseconds(50)});
  ASSERT_TRUE(q.ok()) << q.status();
  auto h = std::make_shared<Hung>();
  std::atomic<int> cancelled{0};
  std::vector<WorkQueue::Job> jobs;
  jobs.push_back(Hung::Job(h));
  ASSERT_TRUE((*q)->TryEnqueueAll(std::move(jobs)).ok());
  h->abandoned.get_future().wait();
  (*q)->Shutdown();  // returns although the job's call never has
  EXPECT_EQ((*q)->TryEnqueueAll(CountingJobs(1, &cancelled)).code(),
            absl::StatusCode::kUnavailable);
  q->reset();
  h->opener.set_value();
  h->returned.get_future().wait();
}

}  // namespace
}  // namespace masa::queue
