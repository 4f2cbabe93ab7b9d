// Polling a condition in tests that wait on another thread or process. Tests only.
#pragma once

#include <functional>

#include "absl/time/clock.h"
#include "absl/time/time.h"

namespace masa::testing {

// Polls `pred` every `every` for up to `timeout`; whether it became true (checked once more
// at the end).
inline bool WaitFor(const std::function<bool()>& pred, absl::Duration timeout = absl::Seconds(10),
                    absl::Duration every = absl::Milliseconds(5)) {
  const absl::Time end = absl::Now() + timeout;
  while (absl::Now() < end) {
    if (pred()) return true;
    absl::SleepFor(every);
  }
  return pred();
}

}  // namespace masa::testing
