#include "common/strict_json.h"

#include "gtest/gtest.h"

namespace masa {
namespace {

using Problem = StrictJson::Problem;

TEST(StrictJsonTest, ReadsAValueNestedUpToTheLimit) {
  StrictJson r = ParseStrictJson(R"({"a": [{"b": "[{not nesting}]"}]})", 3);
  ASSERT_EQ(r.problem, Problem::kNone);
  EXPECT_EQ(r.value["a"][0]["b"], "[{not nesting}]");
}

TEST(StrictJsonTest, RefusesNestingPastTheLimitBeforeParsing) {
  EXPECT_EQ(ParseStrictJson("[[[[1]]]]", 3).problem, Problem::kTooDeep);
  // Brackets inside strings (escaped quotes included) do not count.
  EXPECT_EQ(ParseStrictJson(R"(["\"[[[[[["])", 1).problem, Problem::kNone);
}

TEST(StrictJsonTest, NamesTheFirstMemberSeenTwiceInOneObject) {
  StrictJson r = ParseStrictJson(R"({"a": {"x": 1, "y": 2, "x": 3}, "b": {"x": 1}})", 8);
  EXPECT_EQ(r.problem, Problem::kDuplicateMember);
  EXPECT_EQ(r.duplicate, "x");
  EXPECT_TRUE(r.value.is_null());
  // The same name in two different objects is fine.
  EXPECT_EQ(ParseStrictJson(R"([{"x": 1}, {"x": 2}])", 8).problem, Problem::kNone);
}

TEST(StrictJsonTest, SaysWhereTextStopsBeingJsonAndRefusesBadUtf8) {
  StrictJson r = ParseStrictJson(R"({"a": })", 8);
  EXPECT_EQ(r.problem, Problem::kNotJson);
  EXPECT_EQ(r.error_byte, 7u);
  EXPECT_EQ(ParseStrictJson("\"\xc3\x28\"", 8).problem, Problem::kNotUtf8);
}

}  // namespace
}  // namespace masa
