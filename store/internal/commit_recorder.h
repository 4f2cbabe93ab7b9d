// What a group-commit writer measures, for StoreStats: counters and a commit-time histogram
// as atomics (relaxed: read without a lock), and the warning about a slow commit. Shared by
// the LMDB and PostgreSQL stores.
#pragma once

#include <array>
#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <iterator>
#include <vector>

#include "absl/time/time.h"
#include "store/store.h"

namespace masa::store::internal {

// A submitted batch waiting for its group's commit, in either store's queue.
struct PendingBatch {
  WriteBatch batch;
  std::function<void(absl::StatusOr<CommitResult>)> done;
  std::chrono::steady_clock::time_point submitted;
};

// Takes the first `max` batches off `queue` (all of them when it holds no more): the next
// group a writer commits.
template <typename T>
std::vector<T> TakeGroup(std::vector<T>& queue, size_t max) {
  std::vector<T> group;
  if (queue.size() <= max) {
    group.swap(queue);
  } else {
    auto cut = queue.begin() + static_cast<ptrdiff_t>(max);
    group.assign(std::make_move_iterator(queue.begin()), std::make_move_iterator(cut));
    queue.erase(queue.begin(), cut);
  }
  return group;
}

class CommitRecorder {
 public:
  using Duration = std::chrono::steady_clock::duration;

  // Where one group commit's time went (the writer thread's), for the warning.
  struct Times {
    Duration gate_wait{};   // LMDB: waiting at the resize gate
    Duration map_growth{};  // LMDB: growing the map
    Duration sync{};        // the durable commit itself
    int growths = 0;
    bool rerun = false;  // the group ran again (a failing batch, or a lost connection)
  };

  // Batches waited this long in all, from Submit to the start of their group's commit.
  void AddQueueWait(Duration wait);
  // One durable group commit of `batches` batches that took `total`; warns (at most every
  // 10 s) when it took over 100 ms, saying where the time went. Writer thread only.
  void Record(size_t batches, Duration total, const Times& times);
  void AddRerun() { group_reruns_.fetch_add(1, std::memory_order_relaxed); }
  // A map growth (or an attempt, `counted` false) that took `time`.
  void AddMapGrowth(Duration time, bool counted) const;
  void AddCheckpoint(Duration time);

  uint64_t commits() const { return commits_.load(std::memory_order_relaxed); }
  // Every figure but gate_wait, which the caller's gate counts.
  StoreStats Stats() const;
  // The slowest commit since the last call, and starts over.
  absl::Duration TakeSlowest();

 private:
  std::atomic<uint64_t> commits_{0};
  std::atomic<uint64_t> batches_{0};
  std::array<std::atomic<uint64_t>, StoreStats::kCommitBoundsMicros.size() + 1> buckets_{};
  std::atomic<uint64_t> commit_nanos_{0};
  std::atomic<uint64_t> sync_nanos_{0};
  std::atomic<uint64_t> queue_wait_nanos_{0};
  std::atomic<uint64_t> group_reruns_{0};
  mutable std::atomic<uint64_t> map_growths_{0};
  mutable std::atomic<uint64_t> map_growth_nanos_{0};
  std::atomic<uint64_t> slowest_nanos_{0};
  std::atomic<uint64_t> checkpoints_{0};
  std::atomic<uint64_t> checkpoint_nanos_{0};
  std::chrono::steady_clock::time_point last_slow_warning_;  // writer thread only
  uint64_t slow_commits_unreported_ = 0;                     // writer thread only
};

}  // namespace masa::store::internal
