#include "common/time.h"

#include <algorithm>
#include <cctype>
#include <cstdint>

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

// The proleptic Gregorian date of `days` since 1970-01-01 (H. Hinnant's civil_from_days).
void CivilFromDays(int64_t days, int64_t* year, int* month, int* day) {
  days += 719468;
  const int64_t era = (days >= 0 ? days : days - 146096) / 146097;
  const int64_t doe = days - era * 146097;                                    // [0, 146096]
  const int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;  // [0, 399]
  const int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);                // [0, 365]
  const int64_t mp = (5 * doy + 2) / 153;                                     // [0, 11]
  *day = static_cast<int>(doy - (153 * mp + 2) / 5 + 1);
  *month = static_cast<int>(mp < 10 ? mp + 3 : mp - 9);
  *year = yoe + era * 400 + (*month <= 2 ? 1 : 0);
}

// Writes `value` as exactly `width` decimal digits at `out`.
void PutDigits(int64_t value, int width, char* out) {
  for (int i = width - 1; i >= 0; --i) {
    out[i] = static_cast<char>('0' + value % 10);
    value /= 10;
  }
}

class RealClock final : public Clock {
 public:
  absl::Time Now() const override { return absl::Now(); }
};

}  // namespace

absl::Time MinRfc3339Time() {
  static const absl::Time min =
      absl::FromCivil(absl::CivilSecond(1, 1, 1, 0, 0, 0), absl::UTCTimeZone());
  return min;
}

absl::Time MaxRfc3339Time() {
  static const absl::Time max =
      absl::FromCivil(absl::CivilSecond(10000, 1, 1, 0, 0, 0), absl::UTCTimeZone()) -
      absl::Nanoseconds(1);
  return max;
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
  t = std::clamp(t, MinRfc3339Time(), MaxRfc3339Time());
  const int64_t unix_seconds = absl::ToUnixSeconds(t);
  if (absl::FromUnixSeconds(unix_seconds) == t) {
    // Whole seconds (every voucher date): written directly, since absl::FormatTime's time zone
    // look-up and format parsing cost more than the rest of a voucher's JSON.
    const int64_t days = (unix_seconds >= 0 ? unix_seconds : unix_seconds - 86399) / 86400;
    const int64_t secs = unix_seconds - days * 86400;
    int64_t year = 0;
    int month = 0, day = 0;
    CivilFromDays(days, &year, &month, &day);
    std::string out(20, '\0');  // YYYY-MM-DDThh:mm:ssZ
    PutDigits(year, 4, &out[0]);
    out[4] = '-';
    PutDigits(month, 2, &out[5]);
    out[7] = '-';
    PutDigits(day, 2, &out[8]);
    out[10] = 'T';
    PutDigits(secs / 3600, 2, &out[11]);
    out[13] = ':';
    PutDigits(secs / 60 % 60, 2, &out[14]);
    out[16] = ':';
    PutDigits(secs % 60, 2, &out[17]);
    out[19] = 'Z';
    return out;
  }
  // absl's %Y writes the year without padding ("221"), so the year is written here.
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
