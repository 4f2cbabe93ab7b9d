#include "common/time.h"

#include <cstdint>
#include <string>

#include "absl/strings/str_format.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace masa {
namespace {

TEST(Rfc3339, ParsesOffsetsAndFractions) {
  auto t = ParseRfc3339("2021-04-13T17:43:24.589-04:00");
  ASSERT_TRUE(t.ok()) << t.status();
  EXPECT_EQ(FormatRfc3339(*t), "2021-04-13T21:43:24.589Z");
  EXPECT_EQ(*ParseRfc3339("2021-04-13t21:43:24.589z"), *t);
}

TEST(Rfc3339, FormatsUtcWithoutFractionWhenWhole) {
  EXPECT_EQ(FormatRfc3339(absl::FromUnixSeconds(0)), "1970-01-01T00:00:00Z");
}

// Whole seconds are written without absl::FormatTime (the voucher hot path): the text must be
// the calendar's, byte for byte, across leap years, century rules and the whole range.
TEST(Rfc3339, WritesWholeSecondsAsTheCalendarDoes) {
  const int64_t first = absl::ToUnixSeconds(MinRfc3339Time());
  const int64_t last = absl::ToUnixSeconds(MaxRfc3339Time());
  const int64_t step = (last - first) / 50000;  // about every 73 days, at varying times of day
  for (int64_t s = first; s <= last; s += step) {
    const absl::Time t = absl::FromUnixSeconds(s);
    const absl::CivilSecond c = absl::ToCivilSecond(t, absl::UTCTimeZone());
    ASSERT_EQ(FormatRfc3339(t),
              absl::StrFormat("%04d-%02d-%02dT%02d:%02d:%02dZ", c.year(), c.month(), c.day(),
                              c.hour(), c.minute(), c.second()));
  }
  for (const char* text :
       {"2000-02-29T23:59:59Z", "1900-03-01T00:00:00Z", "2100-02-28T12:00:00Z",
        "1969-12-31T23:59:59Z", "0004-02-29T00:00:01Z", "2026-11-29T22:09:59Z"}) {
    absl::StatusOr<absl::Time> t = ParseRfc3339(text);
    ASSERT_TRUE(t.ok()) << text;
    EXPECT_EQ(FormatRfc3339(*t), text);
  }
}

TEST(Rfc3339, RejectsMalformedTimes) {
  for (const char* bad :
       {"2021-04-13", "2021-04-13T17:43:24", "2021-02-30T00:00:00Z", "2021-04-13T25:00:00Z",
        "2021-04-13T17:43:24+0400", "2021-04-13T17:43:24Z ", "2021-04-13T17:43:24.Z"}) {
    EXPECT_FALSE(ParseRfc3339(bad).ok()) << bad;
  }
}

// Fuzzing finding: "0221" was accepted, written back as "221-..." and then refused.
// The message quotes what it was given, escaped and cut short: callers hand it to clients.
TEST(Rfc3339, QuotesTheInputAsOneShortPrintableLine) {
  auto bad = ParseRfc3339("2027-01-31\r\nSet-Cookie: x" + std::string(200, 'z'));
  ASSERT_FALSE(bad.ok());
  std::string message(bad.status().message());
  EXPECT_THAT(message, ::testing::HasSubstr("2027-01-31\\x0D\\x0ASet-Cookie: x"));
  EXPECT_THAT(message, ::testing::HasSubstr("zzz...\" is not an RFC 3339 date-time"));
  EXPECT_LT(message.size(), 160u);
}

TEST(Rfc3339, WritesFourDigitYearsThatParseBack) {
  auto t = ParseRfc3339("0221-03-04T05:06:07Z");
  ASSERT_TRUE(t.ok()) << t.status();
  EXPECT_EQ(FormatRfc3339(*t), "0221-03-04T05:06:07Z");
  EXPECT_EQ(*ParseRfc3339(FormatRfc3339(*t)), *t);
  EXPECT_EQ(FormatRfc3339(MinRfc3339Time()), "0001-01-01T00:00:00Z");
  EXPECT_EQ(FormatRfc3339(MaxRfc3339Time()), "9999-12-31T23:59:59.999999999Z");
  EXPECT_EQ(*ParseRfc3339("0001-01-01T00:00:00Z"), MinRfc3339Time());
  EXPECT_EQ(*ParseRfc3339("9999-12-31T23:59:59.999999999Z"), MaxRfc3339Time());
}

TEST(Rfc3339, RefusesTimesOutsideTheFourDigitYears) {
  for (const char* bad :
       {"0000-06-01T00:00:00Z", "0001-01-01T00:30:00+01:00", "9999-12-31T23:00:00-02:00"}) {
    auto t = ParseRfc3339(bad);
    EXPECT_FALSE(t.ok()) << bad;
    EXPECT_THAT(t.status().message(), testing::HasSubstr("outside the years 0001 to 9999"));
  }
}

TEST(Rfc3339, SaturatesTimesItCannotWrite) {
  EXPECT_EQ(FormatRfc3339(MinRfc3339Time() - absl::Seconds(1)), "0001-01-01T00:00:00Z");
  EXPECT_EQ(FormatRfc3339(absl::InfinitePast()), "0001-01-01T00:00:00Z");
  EXPECT_EQ(FormatRfc3339(absl::InfiniteFuture()), "9999-12-31T23:59:59.999999999Z");
  EXPECT_FALSE(InRfc3339Range(absl::InfiniteFuture()));
}

}  // namespace
}  // namespace masa
