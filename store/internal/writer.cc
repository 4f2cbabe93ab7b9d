// The group-commit writer: one thread takes every queued batch into one LMDB write
// transaction, commits durably once, then completes them all (a group with a failing batch
// runs again, each batch in a nested transaction);
// and grows the map when a group does not fit.
#include <pthread.h>

#include <algorithm>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "common/log.h"
#include "common/status.h"
#include "store/internal/store_impl.h"
#include "store/internal/txn.h"

namespace masa::store::internal {

StoreImpl::~StoreImpl() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stop_ = true;
  }
  cv_.notify_all();
  if (writer_.joinable()) writer_.join();
}

void StoreImpl::Submit(WriteBatch batch, std::function<void(absl::StatusOr<CommitResult>)> done) {
  if (options_.read_only) {
    done(absl::FailedPreconditionError("the store was opened read-only"));
    return;
  }
  {
    std::lock_guard<std::mutex> lock(mu_);
    queue_.push_back(Pending{std::move(batch), std::move(done), std::chrono::steady_clock::now()});
  }
  cv_.notify_one();
}

void StoreImpl::WriterLoop() {
  pthread_setname_np(pthread_self(), "masa-store");
  std::unique_lock<std::mutex> lock(mu_);
  const auto checkpoint_tick = std::chrono::milliseconds(
      std::max<int64_t>(1, absl::ToInt64Milliseconds(options_.checkpoint_every)));
  while (true) {
    // A signer may be installed (or removed) while the writer runs.
    auto tick = has_signer_.load() ? checkpoint_tick : std::chrono::milliseconds(3600 * 1000);
    cv_.wait_for(lock, tick, [this] { return stop_ || !queue_.empty(); });
    if (queue_.empty()) {
      if (stop_) break;
      lock.unlock();
      if (has_signer_.load()) (void)Checkpoint(/*force=*/false);
      lock.lock();
      continue;
    }
    if (options_.min_commit_interval > absl::ZeroDuration() && !stop_) {
      const auto not_before =
          last_commit_start_ + absl::ToChronoNanoseconds(options_.min_commit_interval);
      cv_.wait_until(lock, not_before,
                     [this] { return stop_ || queue_.size() >= options_.max_batches_per_txn; });
    }
    last_commit_start_ = std::chrono::steady_clock::now();
    std::vector<Pending> group;
    if (queue_.size() <= options_.max_batches_per_txn) {
      group.swap(queue_);
    } else {
      auto cut = queue_.begin() + static_cast<ptrdiff_t>(options_.max_batches_per_txn);
      group.assign(std::make_move_iterator(queue_.begin()), std::make_move_iterator(cut));
      queue_.erase(queue_.begin(), cut);
    }
    lock.unlock();
    CommitGroup(group);
    if (has_signer_.load()) (void)Checkpoint(/*force=*/false);
    lock.lock();
  }
}

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

void StoreImpl::CommitGroup(std::vector<Pending>& group) {
  const SteadyClock::time_point start = SteadyClock::now();
  uint64_t queue_wait = 0;
  for (const Pending& p : group) queue_wait += Nanos(start - p.submitted);
  queue_wait_nanos_.fetch_add(queue_wait, std::memory_order_relaxed);
  CommitTimes times;
  std::vector<absl::StatusOr<CommitResult>> results;
  absl::Status group_status;
  while (true) {
    results.clear();
    bool map_full = false;
    group_status = absl::OkStatus();
    {
      const SteadyClock::time_point gate_start = SteadyClock::now();
      SharedGate share = ShareGate();
      times.gate_wait += SteadyClock::now() - gate_start;
      auto outer = env_.Begin(/*read_only=*/false);
      if (absl::IsAborted(outer.status())) {
        share.Release();
        const SteadyClock::time_point adopt_start = SteadyClock::now();
        group_status = AdoptMapSize();
        times.map_growth += SteadyClock::now() - adopt_start;
        ++times.growths;
        if (group_status.ok()) continue;
        break;
      }
      if (!outer.ok()) {
        group_status = outer.status();
        break;
      }
      // First each batch straight in the group's transaction: nothing to copy, no nested
      // transaction to begin (LMDB allocates 3 MiB for each). Should a batch fail, the group
      // runs again with each batch in a nested transaction, so that it is rolled back alone.
      bool batch_failed = false;
      for (Pending& p : group) {
        Txn nested;
        if (times.rerun) {
          auto begun = env_.Begin(/*read_only=*/false, outer->get());
          if (!begun.ok()) {
            map_full = IsMapFull(begun.status());
            group_status = begun.status();
            break;
          }
          nested = *std::move(begun);
        }
        LmdbKv kv(times.rerun ? nested.get() : outer->get(), &dbs_);
        WriteState state{{&kv}, options_.clock, {}};
        WriteTxn w(&state);
        absl::Status st;
        for (const auto& op : p.batch.ops()) {
          st = op(w);
          if (!st.ok()) break;
        }
        if (IsMapFull(st)) {
          map_full = true;
          break;
        }
        if (!st.ok() && !times.rerun) {
          batch_failed = true;
          break;
        }
        if (st.ok() && times.rerun) st = nested.Commit();
        if (IsMapFull(st)) {
          map_full = true;
          break;
        }
        if (st.ok()) {
          if (!state.appended.empty()) {
            uint64_t size = state.appended.back() + 1;
            if (size > audit_size_hint_.load()) audit_size_hint_.store(size);
          }
          results.push_back(CommitResult{std::move(state.appended)});
        } else {
          results.push_back(st);
        }
      }
      if (batch_failed) {
        // Ends the transaction (and the share) with this scope; no batch of it is applied.
        times.rerun = true;
        group_reruns_.fetch_add(1, std::memory_order_relaxed);
        continue;
      }
      if (!map_full && group_status.ok()) {
        const SteadyClock::time_point sync_start = SteadyClock::now();
        absl::Status st = outer->Commit();
        times.sync += SteadyClock::now() - sync_start;
        if (st.ok()) {
          commits_.fetch_add(1);
          RecordCommit(group.size(), SteadyClock::now() - start, times);
          break;
        }
        if (!IsMapFull(st)) {
          group_status = Annotate(st, "committing to the store");
          break;
        }
        map_full = true;
      }
    }
    if (!map_full) break;
    // Every transaction of ours has ended (the share with it): grow, then run the group again.
    const SteadyClock::time_point grow_start = SteadyClock::now();
    group_status = GrowMap();
    times.map_growth += SteadyClock::now() - grow_start;
    ++times.growths;
    if (!group_status.ok()) break;
  }
  for (size_t i = 0; i < group.size(); ++i) {
    if (!group_status.ok()) {
      group[i].done(group_status);
    } else {
      group[i].done(std::move(results[i]));
    }
  }
}

void StoreImpl::RecordCommit(size_t batches, SteadyClock::duration total,
                             const CommitTimes& times) {
  batches_.fetch_add(batches, std::memory_order_relaxed);
  const uint64_t nanos = Nanos(total);
  const uint64_t micros = nanos / 1000;
  const auto& bounds = StoreStats::kCommitBoundsMicros;
  size_t i = 0;
  while (i < bounds.size() && micros > bounds[i]) ++i;
  commit_buckets_[i].fetch_add(1, std::memory_order_relaxed);
  commit_nanos_.fetch_add(nanos, std::memory_order_relaxed);
  sync_nanos_.fetch_add(Nanos(times.sync), std::memory_order_relaxed);
  uint64_t slowest = slowest_commit_nanos_.load(std::memory_order_relaxed);
  while (nanos > slowest &&
         !slowest_commit_nanos_.compare_exchange_weak(slowest, nanos, std::memory_order_relaxed)) {
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

StoreStats StoreImpl::Stats() const {
  auto duration = [](const std::atomic<uint64_t>& nanos) {
    return absl::Nanoseconds(nanos.load(std::memory_order_relaxed));
  };
  StoreStats s;
  s.commits = commits_.load(std::memory_order_relaxed);
  s.batches = batches_.load(std::memory_order_relaxed);
  for (size_t i = 0; i < s.commit_buckets.size(); ++i) {
    s.commit_buckets[i] = commit_buckets_[i].load(std::memory_order_relaxed);
  }
  s.commit_time = duration(commit_nanos_);
  s.sync_time = duration(sync_nanos_);
  s.queue_wait = duration(queue_wait_nanos_);
  s.group_reruns = group_reruns_.load(std::memory_order_relaxed);
  s.map_growths = map_growths_.load(std::memory_order_relaxed);
  s.map_growth_time = duration(map_growth_nanos_);
  s.gate_wait = absl::Nanoseconds(resize_gate_.shared_wait_nanos());
  s.checkpoints = checkpoints_.load(std::memory_order_relaxed);
  s.checkpoint_time = duration(checkpoint_nanos_);
  return s;
}

absl::Duration StoreImpl::TakeSlowestCommit() {
  return absl::Nanoseconds(slowest_commit_nanos_.exchange(0, std::memory_order_relaxed));
}

bool StoreImpl::Resize(const std::function<void()>& resize) const {
  const SteadyClock::time_point start = SteadyClock::now();
  // New snapshots wait from here on; the open ones are short unless a caller holds one.
  const bool alone = resize_gate_.EnterExclusive(kResizeWait);
  if (alone) {
    resize();
    resize_gate_.ExitExclusive();
  }
  if (alone) map_growths_.fetch_add(1, std::memory_order_relaxed);
  map_growth_nanos_.fetch_add(Nanos(SteadyClock::now() - start), std::memory_order_relaxed);
  return alone;
}

absl::Status StoreImpl::GrowMap() {
  size_t size = env_.MapSize();
  if (size >= options_.max_map_size) {
    return absl::ResourceExhaustedError(absl::StrFormat(
        "the store is full: its map reached max_map_size (%d bytes); raise the limit or "
        "free space",
        options_.max_map_size));
  }
  size_t grown = std::min(options_.max_map_size, size * 2);
  absl::Status st;
  if (!Resize([&] { st = env_.SetMapSize(grown); })) {
    return absl::UnavailableError(
        "the store map is full and cannot grow while long-lived snapshots are open; retry");
  }
  if (st.ok()) Log(LogLevel::kInfo, absl::StrCat("store map grown to ", grown, " bytes"));
  return st;
}

absl::Status StoreImpl::AdoptMapSize() const {
  absl::Status st;
  if (!Resize([&] { st = env_.SetMapSize(0); })) {
    return absl::UnavailableError("cannot adopt the new map size while snapshots are open");
  }
  return st;
}

}  // namespace masa::store::internal
