#include "common/time.h"

#include <algorithm>
#include <cctype>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "common/status.h"
#include "common/utf8.h"

namespace masa {
namespace {

bool Digits(std::string_view s, size_t pos, size_t n, int* out) {
  if (pos + n > s.size()) return false;
  int v = 0;
  for (size_t i = pos; i < pos + n; ++i) {
    if (!std::isdigit(static_cast<unsigned char>(s[i]))) return false;
    v = v * 10 + (s[i] - '0');
  }
  *out = v;
  return true;
}

class RealClock final : public Clock {
 public:
  absl::Time Now() const override { return absl::Now(); }
};

}  // namespace

absl::Time MinRfc3339Time() {
  return absl::FromCivil(absl::CivilSecond(1, 1, 1, 0, 0, 0), absl::UTCTimeZone());
}

absl::Time MaxRfc3339Time() {
  return absl::FromCivil(absl::CivilSecond(10000, 1, 1, 0, 0, 0), absl::UTCTimeZone()) -
         absl::Nanoseconds(1);
}

bool InRfc3339Range(absl::Time t) { return t >= MinRfc3339Time() && t <= MaxRfc3339Time(); }

absl::StatusOr<absl::Time> ParseRfc3339(std::string_view s) {
  auto bad = [&](std::string_view why) {
    return absl::InvalidArgumentError(
        absl::StrCat("\"", ShowUntrusted(s), "\" is not an RFC 3339 date-time: ", Sv(why)));
  };
  int year, month, day, hour, minute, second;
  if (!Digits(s, 0, 4, &year) || s.size() < 19 || s[4] != '-' || !Digits(s, 5, 2, &month) ||
      s[7] != '-' || !Digits(s, 8, 2, &day)) {
    return bad("expected YYYY-MM-DD");
  }
  if (s[10] != 'T' && s[10] != 't') return bad("expected 'T' after the date");
  if (!Digits(s, 11, 2, &hour) || s[13] != ':' || !Digits(s, 14, 2, &minute) || s[16] != ':' ||
      !Digits(s, 17, 2, &second)) {
    return bad("expected hh:mm:ss");
  }
  size_t pos = 19;
  int64_t nanos = 0;
  if (pos < s.size() && s[pos] == '.') {
    ++pos;
    size_t start = pos;
    int64_t scale = 100000000;
    while (pos < s.size() && std::isdigit(static_cast<unsigned char>(s[pos]))) {
      nanos += (s[pos] - '0') * scale;
      scale /= 10;
      ++pos;
    }
    if (pos == start) return bad("empty fraction of a second");
  }
  int offset_minutes = 0;
  if (pos < s.size() && (s[pos] == 'Z' || s[pos] == 'z')) {
    ++pos;
  } else if (pos < s.size() && (s[pos] == '+' || s[pos] == '-')) {
    int oh, om;
    if (!Digits(s, pos + 1, 2, &oh) || pos + 3 >= s.size() || s[pos + 3] != ':' ||
        !Digits(s, pos + 4, 2, &om) || oh > 23 || om > 59) {
      return bad("bad time zone offset");
    }
    offset_minutes = (oh * 60 + om) * (s[pos] == '-' ? -1 : 1);
    pos += 6;
  } else {
    return bad("missing time zone ('Z' or an offset)");
  }
  if (pos != s.size()) return bad("trailing characters");
  if (month < 1 || month > 12 || day < 1 || hour > 23 || minute > 59 || second > 60) {
    return bad("field out of range");
  }
  absl::CivilSecond civil(year, month, day, hour, minute, second == 60 ? 59 : second);
  if (civil.year() != year || civil.month() != month || civil.day() != day) {
    return bad("no such calendar day");
  }
  absl::Time t = absl::FromCivil(civil, absl::UTCTimeZone()) - absl::Minutes(offset_minutes) +
                 absl::Nanoseconds(nanos);
  if (!InRfc3339Range(t)) return bad("outside the years 0001 to 9999 in UTC");
  return t;
}

std::string FormatRfc3339(absl::Time t) {
  // absl's %Y writes the year without padding ("221"), so the year is written here.
  t = std::clamp(t, MinRfc3339Time(), MaxRfc3339Time());
  absl::Duration frac = t - absl::FromUnixSeconds(absl::ToUnixSeconds(t));
  if (frac < absl::ZeroDuration()) frac += absl::Seconds(1);
  std::string year = absl::StrFormat("%04d", absl::ToCivilYear(t, absl::UTCTimeZone()).year());
  if (frac == absl::ZeroDuration()) {
    return year + absl::FormatTime("-%m-%dT%H:%M:%SZ", t, absl::UTCTimeZone());
  }
  return year + absl::FormatTime("-%m-%dT%H:%M:%E*SZ", t, absl::UTCTimeZone());
}

const Clock& SystemClock() {
  static const RealClock* clock = new RealClock();
  return *clock;
}

}  // namespace masa
