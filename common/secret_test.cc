#include "common/secret.h"

#include <sys/stat.h>

#include <cstdlib>

#include "common/file.h"
#include "gtest/gtest.h"

namespace masa {
namespace {

std::string TempPath(const char* name) { return std::string(testing::TempDir()) + "/" + name; }

TEST(Secret, ReadsFileAndDropsTrailingNewline) {
  std::string path = TempPath("pin-ok");
  ASSERT_TRUE(WriteFileAtomic(path, "1234\n", 0600).ok());
  auto secret = ReadSecretFile(path);
  ASSERT_TRUE(secret.ok()) << secret.status();
  EXPECT_EQ(secret->view(), "1234");
}

TEST(Secret, RefusesFileReadableByOthersWithoutLeakingIt) {
  std::string path = TempPath("pin-open");
  ASSERT_TRUE(WriteFileAtomic(path, "98765", 0644).ok());
  auto secret = ReadSecretFile(path);
  ASSERT_EQ(secret.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_NE(secret.status().message().find("chmod 600"), std::string_view::npos);
  EXPECT_EQ(secret.status().message().find("98765"), std::string_view::npos);
}

TEST(Secret, ReadsEnvironment) {
  setenv("MASA_TEST_SECRET", "abc", 1);
  EXPECT_EQ(ReadSecretEnv("MASA_TEST_SECRET")->view(), "abc");
  unsetenv("MASA_TEST_SECRET");
  EXPECT_EQ(ReadSecretEnv("MASA_TEST_SECRET").status().code(), absl::StatusCode::kNotFound);
}

TEST(Secret, RandomHexIsFreshEachTime) {
  auto a = Secret::RandomHex(16), b = Secret::RandomHex(16);
  ASSERT_TRUE(a.ok() && b.ok());
  EXPECT_EQ(a->view().size(), 32u);
  EXPECT_NE(a->view(), b->view());
}

TEST(WriteFileAtomic, ExclusiveRefusesToReplace) {
  std::string path = TempPath("exclusive");
  ASSERT_TRUE(WriteFileAtomic(path, "first", 0600).ok());
  EXPECT_EQ(WriteFileAtomic(path, "second", 0600, true).code(), absl::StatusCode::kAlreadyExists);
  EXPECT_EQ(*ReadFile(path), "first");
}

TEST(Secret, EqualComparesWholeValues) {
  EXPECT_TRUE(SecretsEqual("abc", "abc"));
  EXPECT_TRUE(SecretsEqual("", ""));
  EXPECT_FALSE(SecretsEqual("abc", "abd"));
  EXPECT_FALSE(SecretsEqual("abc", "abcd"));  // a prefix is not equal
  EXPECT_FALSE(SecretsEqual("abc", ""));
}

}  // namespace
}  // namespace masa
