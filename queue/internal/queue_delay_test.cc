#include "queue/internal/queue_delay.h"

#include "gtest/gtest.h"

namespace masa::queue::internal {
namespace {

TEST(QueueDelayTest, ExpectedWaitIsJobsAheadTimesMeanRunOverWorkers) {
  QueueDelay d(absl::Milliseconds(10), 2);
  // Nothing observed yet: nothing to go by, so nothing waits.
  EXPECT_EQ(d.ExpectedWait(1000), absl::ZeroDuration());
  d.Observe(absl::Milliseconds(4));  // the first run sets the mean
  EXPECT_EQ(d.ExpectedWait(0), absl::ZeroDuration());
  EXPECT_EQ(d.ExpectedWait(5), absl::Milliseconds(10));  // 5 x 4 ms / 2 workers
  EXPECT_FALSE(d.Refuses(d.ExpectedWait(5)));            // at the budget: admitted
  EXPECT_TRUE(d.Refuses(d.ExpectedWait(6)));             // 12 ms: refused
}

TEST(QueueDelayTest, MeanFollowsATokenThatSlowsDown) {
  QueueDelay d(absl::Milliseconds(10), 1);
  for (int i = 0; i < 100; ++i) d.Observe(absl::Microseconds(100));
  EXPECT_EQ(d.ExpectedWait(50), absl::Milliseconds(5));
  EXPECT_FALSE(d.Refuses(d.ExpectedWait(50)));
  // The token now takes 10 times as long per signature: within a few dozen runs the same
  // 50 jobs ahead are over the budget.
  for (int i = 0; i < 64; ++i) d.Observe(absl::Milliseconds(1));
  EXPECT_TRUE(d.Refuses(d.ExpectedWait(50))) << d.ExpectedWait(50);
  EXPECT_LE(d.ExpectedWait(50), absl::Milliseconds(50));
}

TEST(QueueDelayTest, ZeroBudgetAdmitsEverything) {
  QueueDelay d(absl::ZeroDuration(), 1);
  d.Observe(absl::Seconds(1));
  EXPECT_EQ(d.ExpectedWait(10), absl::Seconds(10));
  EXPECT_FALSE(d.Refuses(d.ExpectedWait(10)));
}

TEST(QueueDelayTest, RefusalsAreLoggedAtMostOnceASecondOnAFakeClock) {
  QueueDelay d(absl::Milliseconds(10), 1);
  const absl::Time t0 = absl::FromUnixSeconds(1'700'000'000);
  uint64_t n = 0;
  EXPECT_TRUE(d.CountRefusal(t0, &n));
  EXPECT_EQ(n, 1u);
  for (int i = 1; i <= 99; ++i) {
    EXPECT_FALSE(d.CountRefusal(t0 + absl::Milliseconds(10 * i), &n)) << i;
  }
  // One second after the last line: the next refusal logs, standing for the 99 held back too.
  EXPECT_TRUE(d.CountRefusal(t0 + absl::Seconds(1), &n));
  EXPECT_EQ(n, 100u);
  EXPECT_FALSE(d.CountRefusal(t0 + absl::Milliseconds(1500), &n));
  EXPECT_TRUE(d.CountRefusal(t0 + absl::Seconds(5), &n));
  EXPECT_EQ(n, 2u);
}

TEST(QueueDelayTest, RetryAfterIsTheExpectedWaitInWholeSecondsAtLeastOne) {
  EXPECT_EQ(RetryAfterSeconds(absl::Milliseconds(12)), 1);
  EXPECT_EQ(RetryAfterSeconds(absl::ZeroDuration()), 1);
  EXPECT_EQ(RetryAfterSeconds(absl::Milliseconds(1000)), 1);
  EXPECT_EQ(RetryAfterSeconds(absl::Milliseconds(1001)), 2);
  EXPECT_EQ(RetryAfterSeconds(absl::Seconds(7.5)), 8);
  EXPECT_EQ(RetryAfterSeconds(absl::InfiniteDuration()), 86400);
}

}  // namespace
}  // namespace masa::queue::internal
