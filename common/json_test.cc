#include "common/json.h"

#include "gtest/gtest.h"

namespace masa {
namespace {

TEST(AppendJsonStringTest, EscapesQuotesBackslashesAndControlCharacters) {
  std::string out = "x=";
  AppendJsonString(&out, std::string("a\"b\\c\n\r\t\x01\x1f", 10) + "\xc3\xa9");
  EXPECT_EQ(out, "x=\"a\\\"b\\\\c\\n\\r\\t\\u0001\\u001f\xc3\xa9\"");
}

TEST(AppendJsonStringTest, EmptyStringIsTwoQuotes) {
  std::string out;
  AppendJsonString(&out, "");
  EXPECT_EQ(out, "\"\"");
}

}  // namespace
}  // namespace masa
