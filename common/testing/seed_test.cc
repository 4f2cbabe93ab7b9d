#include "common/testing/seed.h"

#include <stdlib.h>

#include <string>

#include "gtest/gtest.h"

namespace masa {
namespace {

// Sets MASA_TEST_SEED for one test and restores what was there.
class SeedVariable {
 public:
  explicit SeedVariable(const char* value) {
    if (const char* old = getenv(kTestSeedVariable)) old_ = old;
    if (value == nullptr) {
      unsetenv(kTestSeedVariable);
    } else {
      setenv(kTestSeedVariable, value, 1);
    }
  }
  ~SeedVariable() {
    if (old_) {
      setenv(kTestSeedVariable, old_->c_str(), 1);
    } else {
      unsetenv(kTestSeedVariable);
    }
  }

 private:
  std::optional<std::string> old_;
};

TEST(TestSeedTest, TheVariableReplaysASeedAndTheLineNamesIt) {
  SeedVariable v("18446744073709551615");
  ::testing::internal::CaptureStdout();
  const uint64_t seed = TestSeed("replay", 7);
  const std::string out = ::testing::internal::GetCapturedStdout();
  EXPECT_EQ(seed, 18446744073709551615u);
  EXPECT_EQ(out,
            "seed=18446744073709551615 (replay; replay with MASA_TEST_SEED="
            "18446744073709551615)\n");
}

TEST(TestSeedTest, WithoutTheVariableAFixedSeedIsKept) {
  SeedVariable v(nullptr);
  ::testing::internal::CaptureStdout();
  EXPECT_EQ(TestSeed("fixed", 20240611), 20240611u);
  EXPECT_EQ(::testing::internal::GetCapturedStdout(),
            "seed=20240611 (fixed; replay with MASA_TEST_SEED=20240611)\n");
}

TEST(TestSeedTest, WithoutEitherTheSeedIsFreshAndPrinted) {
  SeedVariable v("");
  ::testing::internal::CaptureStdout();
  const uint64_t a = TestSeed("fresh");
  const uint64_t b = TestSeed("fresh");
  const std::string out = ::testing::internal::GetCapturedStdout();
  EXPECT_NE(a, b);  // 64 random bits twice: equal only if std::random_device is broken
  EXPECT_NE(out.find("seed=" + std::to_string(a) + " (fresh;"), std::string::npos) << out;
  EXPECT_NE(out.find("seed=" + std::to_string(b) + " (fresh;"), std::string::npos) << out;
}

TEST(TestSeedDeathTest, AMistypedSeedStopsTheRun) {
  SeedVariable v("12ab");
  EXPECT_DEATH(TestSeed("typo"), "MASA_TEST_SEED=12ab is not a decimal seed");
}

}  // namespace
}  // namespace masa
