// A bounded work queue drained by a fixed set of worker threads: the signing stage of the
// pipeline. Producers never block: when the queue cannot take all of a request's jobs, or
// (with max_queue_delay) they would wait too long to start, the request is refused as a whole
// (the caller answers 503 with Retry-After) instead of growing a backlog that makes every
// request slow.
//
//   MASA_ASSIGN_OR_RETURN(auto q, queue::WorkQueue::Create({.workers = 2, .capacity = 4096}));
//   std::vector<queue::WorkQueue::Job> jobs = ...;       // e.g. one per serial number
//   if (absl::Status s = q->TryEnqueueAll(std::move(jobs)); !s.ok()) { /* 503 */ }
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"

namespace masa::queue {

struct WorkQueueOptions {
  size_t workers = 2;      // worker threads; each typically holds one HSM session
  size_t capacity = 4096;  // jobs waiting (not yet taken by a worker) at most
  // A worker takes up to this many waiting jobs at once and runs them back to back, so a
  // burst is handled in batches rather than one wake-up per job.
  size_t max_batch = 32;
  // Added to the workers' nice value (0..19; Linux schedules each thread by its own). Workers
  // that keep the CPU busy signing run at a lower priority than the threads that take requests
  // in and commit them, so those get the CPU as soon as they have something to do; the work
  // is the same, but it waits less in front of the event loop and the store writer.
  int nice = 0;
  // The workers' thread name (ps -L, top -H, perf), at most 15 characters.
  std::string name = "masa-worker";
  // A job whose `run` has not returned this long after it started is abandoned (see Job):
  // a watchdog thread calls its `abandon`, hands the rest of the stuck worker's batch to the
  // other workers and starts a replacement worker, so a hung HSM call neither hangs its
  // request nor takes a worker away for good. Infinite: no watchdog, nothing is abandoned.
  absl::Duration run_timeout = absl::InfiniteDuration();
  // Abandoned workers still inside their job, at most (each is a thread blocked in a call).
  // While this many are stuck no further replacement starts: the queue then runs with fewer
  // workers until a stuck one returns and takes its place again. 0 means `workers`.
  size_t max_stuck = 0;
  // Admission by queueing delay: TryEnqueueAll refuses (kUnavailable, "at capacity", with a
  // Retry-After, see RetryAfterSecondsOf) when the jobs waiting ahead would keep the new ones
  // from starting for longer than this, going by the mean run time of recent jobs
  // (queue/internal/queue_delay.h). Zero: refused only when `capacity` is full.
  absl::Duration max_queue_delay = absl::ZeroDuration();
};

// The seconds a refusal of TryEnqueueAll asks the caller to wait before trying again (the
// expected time for the queue to drain, at least 1), when the status carries them (the
// max_queue_delay refusal does, as a payload); nullopt for any other status. Front ends put
// it in Retry-After.
std::optional<int> RetryAfterSecondsOf(const absl::Status& status);
// `status` carrying `seconds` for RetryAfterSecondsOf (how the queue marks its refusal).
absl::Status WithRetryAfterSeconds(absl::Status status, int seconds);

// Thread-safe. Jobs run on worker threads in FIFO order of enqueueing (per worker batch).
class WorkQueue {
 public:
  // A job runs exactly once on some worker, unless it is still waiting when CancelPending()
  // is called; then `cancel` runs instead (on that thread), so no caller waits forever.
  // Exactly one of the two runs for every accepted job; a refused job runs neither (the
  // caller learns of the refusal from TryEnqueueAll). Any of the three may be empty (no-op).
  //
  // `abandon` runs at most once, only with a finite run_timeout, only for a job whose `run`
  // started and had not returned when the timeout passed; it runs on the watchdog thread
  // WHILE `run` may still be running (and `run` may return at any moment after, or never).
  // So `run` and `abandon` may race and the job must complete itself once, e.g. with an
  // atomic flag that whichever of the two comes first claims (and the loser drops its
  // result). `cancel` never races with either: it runs only for a job no worker took.
  // When `run` returns before the watchdog claims the job, `abandon` never runs. Neither
  // `abandon` nor `run` after its abandonment may assume the queue still exists.
  struct Job {
    std::function<void()> run;
    std::function<void()> cancel;
    std::function<void()> abandon = nullptr;  // defaulted: {run, cancel} still initializes
  };

  // Starts options.workers threads. kInvalidArgument for zero workers, capacity or max_batch.
  static absl::StatusOr<std::unique_ptr<WorkQueue>> Create(const WorkQueueOptions& options);

  virtual ~WorkQueue() = default;

  // Enqueues every job or none: kResourceExhausted when fewer than jobs.size() slots are
  // free (the message says how full the queue is), kUnavailable after Shutdown() or when the
  // jobs would wait longer than max_queue_delay to start (the message says the service is at
  // capacity; RetryAfterSecondsOf gives the seconds to wait; a line is logged at most once a
  // second however many are refused).
  virtual absl::Status TryEnqueueAll(std::vector<Job> jobs) = 0;

  // Stops taking jobs, lets the workers finish every job already queued, then joins them.
  // Idempotent; called by the destructor. A job may call it (the queue then refuses new
  // jobs; its own worker is joined by the destructor), but must not destroy the queue.
  // With a finite run_timeout the watchdog keeps abandoning jobs while it drains, and an
  // abandoned worker is waited for at most one more run_timeout, then left to exit on its
  // own when its call returns (it holds no reference to the queue's owner, only to the
  // queue's own shared state); so Shutdown never waits forever for a hung call.
  virtual void Shutdown() = 0;

  // Removes every waiting job (not the ones a worker has taken) and runs its `cancel` on
  // the calling thread; returns how many. For giving up fast when the workers cannot make
  // progress (HSM gone) or on a deadline; Shutdown() after it then only waits for running
  // batches.
  virtual size_t CancelPending() = 0;

  // Jobs waiting to be taken (for /metrics and tests).
  virtual size_t depth() const = 0;
  virtual size_t capacity() const = 0;
  // Jobs abandoned so far, and abandoned workers still stuck in their job (for /metrics).
  virtual uint64_t abandoned() const = 0;
  virtual size_t stuck_workers() const = 0;
};

}  // namespace masa::queue
