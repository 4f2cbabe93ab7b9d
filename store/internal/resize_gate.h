// Keeps map resizes apart from transactions, and counts the snapshots each thread holds.
// LMDB requires that no transaction of the process is active while the map size changes.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"

namespace masa::store::internal {

// A shared/exclusive gate: every transaction (snapshot, write group, checkpoint, backup)
// holds a share; a resize holds it exclusively. Resizes are preferred: once one waits, new
// shares wait behind it, so a stream of short, overlapping snapshots from many threads
// cannot starve it (a pthread rwlock, reader-preferring on glibc, lets them). Shares are
// counts, not owned by a thread: a share taken on one thread may end on another (a
// Snapshot may move). Thread-safe.
class ResizeGate {
 public:
  // Takes a share, first waiting while a resize runs or waits, unless `nested`: the caller
  // already holds a share that a waiting resize is waiting for, so holding it back would
  // wait for itself.
  void EnterShared(bool nested) ABSL_LOCKS_EXCLUDED(mu_);
  // Ends a share, on any thread.
  void ExitShared() ABSL_LOCKS_EXCLUDED(mu_);

  // Waits up to `timeout` until no share is held, holding back new shares meanwhile, and
  // then holds the gate alone: true. False when the time ran out (new shares flow again).
  bool EnterExclusive(absl::Duration timeout) ABSL_LOCKS_EXCLUDED(mu_);
  void ExitExclusive() ABSL_LOCKS_EXCLUDED(mu_);

  // Nanoseconds shares have waited behind a resize, in total (a share that found the gate
  // open costs no clock read).
  uint64_t shared_wait_nanos() const { return shared_wait_nanos_.load(std::memory_order_relaxed); }

 private:
  bool SharesMayEnter() const ABSL_SHARED_LOCKS_REQUIRED(mu_) {
    return !resizing_ && resizes_waiting_ == 0;
  }
  bool Idle() const ABSL_SHARED_LOCKS_REQUIRED(mu_) { return !resizing_ && shares_ == 0; }

  absl::Mutex mu_;
  int shares_ ABSL_GUARDED_BY(mu_) = 0;
  int resizes_waiting_ ABSL_GUARDED_BY(mu_) = 0;
  bool resizing_ ABSL_GUARDED_BY(mu_) = false;
  std::atomic<uint64_t> shared_wait_nanos_{0};
};

// A share of a ResizeGate, ended on destruction (on any thread). Move-only.
class SharedGate {
 public:
  SharedGate() = default;
  SharedGate(ResizeGate* gate, bool nested) : gate_(gate) { gate_->EnterShared(nested); }
  SharedGate(SharedGate&& other) noexcept : gate_(other.gate_) { other.gate_ = nullptr; }
  SharedGate& operator=(SharedGate&&) = delete;
  ~SharedGate() { Release(); }
  void Release() {
    if (gate_ != nullptr) gate_->ExitShared();
    gate_ = nullptr;
  }

 private:
  ResizeGate* gate_ = nullptr;
};

// How many snapshots opened on the calling thread are still open (see SnapshotTicket).
int SnapshotsOpenedOnThisThread();

// Counts one open snapshot against the thread that made the ticket until the ticket is
// destroyed, on whichever thread that happens (the count outlives the thread if need be).
// Neither copyable nor movable: it lives in a SnapshotState, which moves by pointer.
class SnapshotTicket {
 public:
  SnapshotTicket();
  ~SnapshotTicket();
  SnapshotTicket(const SnapshotTicket&) = delete;
  SnapshotTicket& operator=(const SnapshotTicket&) = delete;

 private:
  std::shared_ptr<std::atomic<int>> count_;
};

}  // namespace masa::store::internal
