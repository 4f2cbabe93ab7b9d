// RFC 3339 times and the injectable clock every time-dependent check reads.
#pragma once

#include <string>
#include <string_view>

#include "absl/status/statusor.h"
#include "absl/time/time.h"

namespace masa {

// The times RFC 3339 can write: its date-fullyear is 4DIGIT, and we format in UTC, so
// 0001-01-01T00:00:00Z through 9999-12-31T23:59:59.999999999Z. (Year 0000 is grammatical but
// is no year of the proleptic Gregorian calendar the standard assumes.) A time outside this
// range is refused where it enters the appliance: by ParseRfc3339, by the certificate readers
// (a validity time), by EncodeVoucherJson; code that computes a time (now + a validity) stays
// inside by its own limits.
absl::Time MinRfc3339Time();
absl::Time MaxRfc3339Time();
bool InRfc3339Range(absl::Time t);

// Parses any RFC 3339 date-time: "2021-04-13T17:43:24.589-04:00", "...Z", lower-case t/z.
// Fractions finer than a nanosecond are truncated. kInvalidArgument says what was wrong,
// including a time that, in UTC, lies outside InRfc3339Range (e.g. "0000-06-01T00:00:00Z",
// or "9999-12-31T23:00:00-02:00", which is in the year 10000 in UTC), so that whatever this
// accepts FormatRfc3339 writes back and this parses to the same time.
absl::StatusOr<absl::Time> ParseRfc3339(std::string_view text);

// Formats in UTC as "2026-11-26T23:17:00Z", with fractional seconds only when non-zero and
// always a four-digit year. Requires InRfc3339Range(t); a time outside (a caller's bug, or an
// infinite time) saturates to MinRfc3339Time() or MaxRfc3339Time(), so the output always
// matches the RFC 3339 grammar and a log line or an error message never aborts the process.
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
