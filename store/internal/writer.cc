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

StoreStats StoreImpl::Stats() const {
  StoreStats s = recorder_.Stats();
  s.gate_wait = absl::Nanoseconds(resize_gate_.shared_wait_nanos());
  return s;
}

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
    std::vector<Pending> group = TakeGroup(queue_, options_.max_batches_per_txn);
    lock.unlock();
    CommitGroup(group);
    if (has_signer_.load()) (void)Checkpoint(/*force=*/false);
    lock.lock();
  }
}

namespace {

using SteadyClock = std::chrono::steady_clock;

}  // namespace

void StoreImpl::CommitGroup(std::vector<Pending>& group) {
  const SteadyClock::time_point start = SteadyClock::now();
  SteadyClock::duration queue_wait{};
  for (const Pending& p : group) queue_wait += start - p.submitted;
  recorder_.AddQueueWait(queue_wait);
  CommitRecorder::Times times;
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
        WriteState state{{&kv}, options_.clock, {}, options_.node_id};
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
        recorder_.AddRerun();
        continue;
      }
      if (!map_full && group_status.ok()) {
        const SteadyClock::time_point sync_start = SteadyClock::now();
        absl::Status st = outer->Commit();
        times.sync += SteadyClock::now() - sync_start;
        if (st.ok()) {
          recorder_.Record(group.size(), SteadyClock::now() - start, times);
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

bool StoreImpl::Resize(const std::function<void()>& resize) const {
  const SteadyClock::time_point start = SteadyClock::now();
  // New snapshots wait from here on; the open ones are short unless a caller holds one.
  const bool alone = resize_gate_.EnterExclusive(kResizeWait);
  if (alone) {
    resize();
    resize_gate_.ExitExclusive();
  }
  recorder_.AddMapGrowth(SteadyClock::now() - start, /*counted=*/alone);
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
