#include "common/time.h"

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

TEST(Rfc3339, RejectsMalformedTimes) {
  for (const char* bad :
       {"2021-04-13", "2021-04-13T17:43:24", "2021-02-30T00:00:00Z", "2021-04-13T25:00:00Z",
        "2021-04-13T17:43:24+0400", "2021-04-13T17:43:24Z ", "2021-04-13T17:43:24.Z"}) {
    EXPECT_FALSE(ParseRfc3339(bad).ok()) << bad;
  }
}

}  // namespace
}  // namespace masa
