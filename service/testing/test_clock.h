// What every service test set-up shares: a clock the test moves while the store's writer
// thread reads it, and the options of a store in a temporary folder that never checkpoints
// by itself (tests sign checkpoints when they mean to).
#pragma once

#include <string>

#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "common/time.h"
#include "store/checkpoint.h"
#include "store/store.h"

namespace masa::service::testing {

class TestClock final : public Clock {
 public:
  explicit TestClock(absl::Time now) : now_(now) {}
  absl::Time Now() const override {
    absl::MutexLock lock(&mu_);
    return now_;
  }
  void Set(absl::Time now) {
    absl::MutexLock lock(&mu_);
    now_ = now;
  }
  void Advance(absl::Duration d) {
    absl::MutexLock lock(&mu_);
    now_ += d;
  }

 private:
  mutable absl::Mutex mu_;
  absl::Time now_;
};

inline store::StoreOptions TestStoreOptions(const std::string& dir, const Clock* clock,
                                            store::CheckpointSigner* signer) {
  store::StoreOptions so;
  so.state_dir = dir;
  so.clock = clock;
  so.checkpoint_signer = signer;
  so.checkpoint_every_entries = 1u << 30;
  so.checkpoint_every = absl::Hours(1000);
  return so;
}

}  // namespace masa::service::testing
