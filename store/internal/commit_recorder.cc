#include "store/internal/commit_recorder.h"

#include <string>

#include "absl/strings/str_cat.h"
#include "common/log.h"

namespace masa::store::internal {
namespace {

using SteadyClock = std::chrono::steady_clock;

uint64_t Nanos(SteadyClock::duration d) {
  return static_cast<uint64_t>(std::chrono::duration_cast<std::chrono::nanoseconds>(d).count());
}

int64_t Millis(SteadyClock::duration d) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(d).count();
}

// One group commit taking longer than this logs a warning saying where the time went.
constexpr auto kSlowCommit = std::chrono::milliseconds(100);
// At most one such warning this often; the ones in between are counted in the next.
constexpr auto kSlowCommitWarningEvery = std::chrono::seconds(10);

}  // namespace

void CommitRecorder::AddQueueWait(Duration wait) {
  queue_wait_nanos_.fetch_add(Nanos(wait), std::memory_order_relaxed);
}

void CommitRecorder::AddMapGrowth(Duration time, bool counted) const {
  if (counted) map_growths_.fetch_add(1, std::memory_order_relaxed);
  map_growth_nanos_.fetch_add(Nanos(time), std::memory_order_relaxed);
}

void CommitRecorder::AddCheckpoint(Duration time) {
  checkpoints_.fetch_add(1, std::memory_order_relaxed);
  checkpoint_nanos_.fetch_add(Nanos(time), std::memory_order_relaxed);
}

void CommitRecorder::Record(size_t batches, Duration total, const Times& times) {
  commits_.fetch_add(1, std::memory_order_relaxed);
  batches_.fetch_add(batches, std::memory_order_relaxed);
  const uint64_t nanos = Nanos(total);
  const uint64_t micros = nanos / 1000;
  const auto& bounds = StoreStats::kCommitBoundsMicros;
  size_t i = 0;
  while (i < bounds.size() && micros > bounds[i]) ++i;
  buckets_[i].fetch_add(1, std::memory_order_relaxed);
  commit_nanos_.fetch_add(nanos, std::memory_order_relaxed);
  sync_nanos_.fetch_add(Nanos(times.sync), std::memory_order_relaxed);
  uint64_t slowest = slowest_nanos_.load(std::memory_order_relaxed);
  while (nanos > slowest &&
         !slowest_nanos_.compare_exchange_weak(slowest, nanos, std::memory_order_relaxed)) {
  }
  if (total < kSlowCommit) return;
  const SteadyClock::time_point now = SteadyClock::now();
  if (now - last_slow_warning_ < kSlowCommitWarningEvery) {
    ++slow_commits_unreported_;
    return;
  }
  last_slow_warning_ = now;
  const auto rest = total - times.sync - times.map_growth - times.gate_wait;
  std::string more;
  if (slow_commits_unreported_ > 0) {
    more = absl::StrCat(" (", slow_commits_unreported_, " more commits over ", Millis(kSlowCommit),
                        " ms since the last such warning)");
  }
  slow_commits_unreported_ = 0;
  Log(LogLevel::kWarning,
      absl::StrCat("slow store commit: ", Millis(total), " ms for ", batches, " batches: sync ",
                   Millis(times.sync), " ms, map growth ", Millis(times.map_growth), " ms (",
                   times.growths, "x), resize gate wait ", Millis(times.gate_wait),
                   " ms, running the batches ", Millis(rest), " ms",
                   times.rerun ? " (twice: a batch failed)" : "", more));
}

StoreStats CommitRecorder::Stats() const {
  auto duration = [](const std::atomic<uint64_t>& nanos) {
    return absl::Nanoseconds(nanos.load(std::memory_order_relaxed));
  };
  StoreStats s;
  s.commits = commits_.load(std::memory_order_relaxed);
  s.batches = batches_.load(std::memory_order_relaxed);
  for (size_t i = 0; i < s.commit_buckets.size(); ++i) {
    s.commit_buckets[i] = buckets_[i].load(std::memory_order_relaxed);
  }
  s.commit_time = duration(commit_nanos_);
  s.sync_time = duration(sync_nanos_);
  s.queue_wait = duration(queue_wait_nanos_);
  s.group_reruns = group_reruns_.load(std::memory_order_relaxed);
  s.map_growths = map_growths_.load(std::memory_order_relaxed);
  s.map_growth_time = duration(map_growth_nanos_);
  s.checkpoints = checkpoints_.load(std::memory_order_relaxed);
  s.checkpoint_time = duration(checkpoint_nanos_);
  return s;
}

absl::Duration CommitRecorder::TakeSlowest() {
  return absl::Nanoseconds(slowest_nanos_.exchange(0, std::memory_order_relaxed));
}

}  // namespace masa::store::internal
