#include "common/testing/subprocess.h"

#include <signal.h>
#include <unistd.h>

#include <atomic>
#include <cstdio>
#include <filesystem>
#include <string>
#include <thread>

#include "gtest/gtest.h"

namespace masa::subprocess {
namespace {

TEST(RunProcessTest, CapturesBothStreamsAndTheExitCode) {
  absl::StatusOr<ProcessResult> r = RunProcess({"sh", "-c", "echo out; echo err >&2; exit 3"});
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->exit_code, 3) << *r;
  EXPECT_EQ(r->out, "out\n");
  EXPECT_EQ(r->err, "err\n");
}

TEST(RunProcessTest, MergedStderrArrivesInOrderOnStdout) {
  absl::StatusOr<ProcessResult> r =
      RunProcess({"sh", "-c", "echo one; echo two >&2; echo three"}, {.merge_stderr = true});
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->out, "one\ntwo\nthree\n");
  EXPECT_EQ(r->err, "");
}

TEST(RunProcessTest, EnvironmentChangesReachTheChild) {
  setenv("MASA_SUBPROCESS_TEST_GONE", "x", 1);
  absl::StatusOr<ProcessResult> r =
      RunProcess({"sh", "-c", "echo \"$MASA_A-${MASA_SUBPROCESS_TEST_GONE:-unset}\""},
                 {.env = {{"MASA_A", "set"}, {"MASA_SUBPROCESS_TEST_GONE", std::nullopt}}});
  unsetenv("MASA_SUBPROCESS_TEST_GONE");
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->out, "set-unset\n");
}

TEST(RunProcessTest, AMissingProgramIsNotFoundAndAHangIsKilled) {
  EXPECT_TRUE(absl::IsNotFound(RunProcess({"masa-no-such-program"}).status()));
  absl::StatusOr<ProcessResult> r =
      RunProcess({"sleep", "600"}, {.timeout = absl::Milliseconds(100)});
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_TRUE(r->timed_out);
  EXPECT_EQ(r->exit_code, 128 + SIGKILL);
}

TEST(ForkChildTest, TheBodysReturnIsTheExitCode) {
  std::unique_ptr<Child> child = ForkChild([] { return 42; });
  EXPECT_EQ(child->Wait(), 42);
  EXPECT_FALSE(child->running());
  EXPECT_FALSE(child->Signal(SIGTERM));
}

TEST(ForkChildTest, APipedChildReportsAndCanBeKilled) {
  std::unique_ptr<PipedChild> child = ForkChildWithPipe([](int fd) {
    if (write(fd, "ready\n", 6) != 6) return 1;
    pause();
    return 0;
  });
  char buf[6];
  ASSERT_EQ(read(child->pipe_fd(), buf, sizeof(buf)), 6);
  EXPECT_EQ(std::string(buf, 6), "ready\n");
  EXPECT_EQ(child->Kill(), 128 + SIGKILL);
  EXPECT_EQ(read(child->pipe_fd(), buf, sizeof(buf)), 0);  // EOF: the writer is gone
}

// A child forked while another thread runs can inherit a lock that thread held and hang;
// ForkChild refuses, loudly, instead of hanging at random (it did, under ASan in CI).
TEST(ForkChildDeathTest, RefusesWhileAnotherThreadRuns) {
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  EXPECT_DEATH(
      {
        std::atomic<bool> stop{false};
        std::thread busy([&] {
          while (!stop) std::this_thread::yield();
        });
        ForkChild([] { return 0; });
        stop = true;
        busy.join();
      },
      "threads are running");
}

class DaemonTest : public ::testing::Test {
 protected:
  std::string Log() { return ::testing::TempDir() + "/daemon_test." + std::to_string(getpid()); }
  void TearDown() override { std::filesystem::remove(Log()); }
};

TEST_F(DaemonTest, StartsAtTheReadyLineAndStopsOnSigterm) {
  auto d = Daemon::Start({.argv = {"/bin/sh", "-c",
                                   "trap 'echo bye; exit 0' TERM; echo starting; echo boot >&2; "
                                   "echo 'up at here:1'; while :; do sleep 0.05; done"},
                          .ready_prefix = "up at ",
                          .log_path = Log()});
  ASSERT_TRUE(d.ok()) << d.status();
  EXPECT_EQ((*d)->ready_rest(), "here:1");
  EXPECT_TRUE((*d)->running());
  EXPECT_EQ((*d)->Terminate(absl::Seconds(30)), 0);
  EXPECT_EQ((*d)->log(), "boot\n");
}

TEST_F(DaemonTest, ExitingBeforeReadyIsAnErrorWithTheLog) {
  auto d = Daemon::Start({.argv = {"/bin/sh", "-c", "echo 'no config' >&2; exit 2"},
                          .ready_prefix = "up at ",
                          .log_path = Log()});
  ASSERT_TRUE(absl::IsFailedPrecondition(d.status())) << d.status();
  EXPECT_NE(d.status().message().find("exited (code 2)"), absl::string_view::npos);
  EXPECT_NE(d.status().message().find("no config"), absl::string_view::npos);
}

}  // namespace
}  // namespace masa::subprocess
