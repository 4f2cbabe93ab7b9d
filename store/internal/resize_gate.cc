#include "store/internal/resize_gate.h"

#include <chrono>

namespace masa::store::internal {

void ResizeGate::EnterShared(bool nested) {
  absl::MutexLock lock(&mu_);
  // A nested share cannot meet a running resize: the share it already holds keeps one out.
  if (!nested && !SharesMayEnter()) {
    const auto start = std::chrono::steady_clock::now();
    mu_.Await(absl::Condition(this, &ResizeGate::SharesMayEnter));
    shared_wait_nanos_.fetch_add(std::chrono::duration_cast<std::chrono::nanoseconds>(
                                     std::chrono::steady_clock::now() - start)
                                     .count(),
                                 std::memory_order_relaxed);
  }
  ++shares_;
}

void ResizeGate::ExitShared() {
  absl::MutexLock lock(&mu_);
  --shares_;
}

bool ResizeGate::EnterExclusive(absl::Duration timeout) {
  absl::MutexLock lock(&mu_);
  ++resizes_waiting_;
  const bool idle = mu_.AwaitWithTimeout(absl::Condition(this, &ResizeGate::Idle), timeout);
  --resizes_waiting_;
  if (idle) resizing_ = true;
  return idle;
}

void ResizeGate::ExitExclusive() {
  absl::MutexLock lock(&mu_);
  resizing_ = false;
}

namespace {

// The calling thread's count, shared with the tickets it made so that a snapshot ending on
// another thread, or after this thread ended, still finds it.
const std::shared_ptr<std::atomic<int>>& ThisThreadsCount() {
  thread_local const auto count = std::make_shared<std::atomic<int>>(0);
  return count;
}

}  // namespace

int SnapshotsOpenedOnThisThread() { return ThisThreadsCount()->load(); }

SnapshotTicket::SnapshotTicket() : count_(ThisThreadsCount()) { count_->fetch_add(1); }

SnapshotTicket::~SnapshotTicket() { count_->fetch_sub(1); }

}  // namespace masa::store::internal
