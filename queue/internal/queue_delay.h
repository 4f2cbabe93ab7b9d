// Admission of new work to the work queue by the queueing delay it would meet, not by how
// many jobs wait: a job placed behind `ahead` waiting jobs can expect to start after about
// ahead x (mean run time of a job) / workers. Work that would wait longer than the budget
// is refused at once (the caller answers 503 with Retry-After), so that the work accepted
// stays fast under overload instead of every request waiting for a full queue to drain.
// Apart from the HTTP server's connection caps (admission.h): this one is about time.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>

#include "absl/time/time.h"

namespace masa::queue::internal {

// Thread-safe: runs are observed by the workers, admission is asked under the queue's lock,
// the refusal log by whoever refused.
class QueueDelay {
 public:
  // `budget`: the longest expected wait admitted; zero or less admits everything.
  // `workers`: how many run jobs side by side (at least 1).
  QueueDelay(absl::Duration budget, size_t workers);

  // A job ran for `took` on one worker. Runs the watchdog abandoned (a hung call, a fault,
  // not the pace of the queue) are not observed. The mean follows an exponential moving
  // average over about the last 32 runs, so it follows a token that slows down within
  // milliseconds at full load.
  void Observe(absl::Duration took);

  // The wait a job placed behind `ahead` waiting jobs can expect: ahead x mean run / workers.
  // Zero before any run was observed (nothing to go by: admit).
  absl::Duration ExpectedWait(size_t ahead) const;

  // Whether work that can expect to wait `wait` is refused: longer than the budget.
  bool Refuses(absl::Duration wait) const;

  // Counts one refusal at `now` and says whether to log now: at most once a second, so a
  // flood of refusals costs one log line a second, not one per request. `since_last` gets
  // how many refusals the line stands for (this one and the ones not logged before it).
  bool CountRefusal(absl::Time now, uint64_t* since_last);

  absl::Duration budget() const { return budget_; }

 private:
  const absl::Duration budget_;
  const int64_t workers_;
  std::atomic<int64_t> mean_ns_{0};      // 0: no run observed yet
  std::atomic<int64_t> next_log_ns_{0};  // unix ns at which the next refusal may log
  std::atomic<uint64_t> unlogged_{0};    // refusals since the last log line
};

// The Retry-After a refusal asks for: the expected wait rounded up to whole seconds, at
// least 1 (HTTP's Retry-After is in seconds, and 0 would invite an immediate retry).
int RetryAfterSeconds(absl::Duration wait);

}  // namespace masa::queue::internal
