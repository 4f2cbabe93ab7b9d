// RFC 3339 times and the injectable clock every time-dependent check reads.
#pragma once

#include <string>
#include <string_view>

#include "absl/status/statusor.h"
#include "absl/time/time.h"

namespace masa {

// Parses any RFC 3339 date-time: "2021-04-13T17:43:24.589-04:00", "...Z", lower-case t/z.
// kInvalidArgument says what was wrong.
absl::StatusOr<absl::Time> ParseRfc3339(std::string_view text);

// Formats in UTC as "2026-11-26T23:17:00Z", with fractional seconds only when non-zero.
std::string FormatRfc3339(absl::Time t);

// A source of the current time. Tests inject a FixedClock; production uses SystemClock().
class Clock {
 public:
  virtual ~Clock() = default;
  virtual absl::Time Now() const = 0;
};

// The process-wide real clock. Thread-safe; never null.
const Clock& SystemClock();

// A clock that always answers the time it was given. Thread-compatible.
class FixedClock final : public Clock {
 public:
  explicit FixedClock(absl::Time now) : now_(now) {}
  absl::Time Now() const override { return now_; }
  void Set(absl::Time now) { now_ = now; }

 private:
  absl::Time now_;
};

}  // namespace masa
