// The store writer's /metrics families (the names load_bench reads) and the slowest-commit
// gauge that a scrape starts over.
#include "service/metrics.h"

#include <stdlib.h>

#include <filesystem>
#include <string>

#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace masa::service {
namespace {

using ::testing::ContainsRegex;
using ::testing::HasSubstr;

// A fresh 0700 state folder, removed with everything in it at the end.
class StateDir {
 public:
  StateDir() {
    const char* base = getenv("TMPDIR");
    std::string tmpl = std::string(base ? base : "/tmp") + "/masa-metrics-test-XXXXXX";
    path_ = mkdtemp(tmpl.data());
  }
  ~StateDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

TEST(StoreMetricsTest, FamiliesCountCommitsAndTheMaxStartsOverOnEachScrape) {
  StateDir dir;
  store::StoreOptions options;
  options.state_dir = dir.path();
  options.max_map_size = size_t{1} << 30;
  auto store = store::Store::Open(options);
  ASSERT_TRUE(store.ok()) << store.status();
  store::Voucher v;
  v.id = "v-1";
  v.organization_id = "org-a";
  v.ien = "32473";
  v.serial_number = "SN1";
  ASSERT_TRUE((*store)->Write(store::WriteBatch().Put(v)).ok());
  ASSERT_TRUE((*store)->Write(store::WriteBatch().Put(v)).ok());

  const std::string first = StoreMetricsText(**store);
  EXPECT_THAT(first, HasSubstr("# TYPE masa_store_commits_total counter\n"
                               "masa_store_commits_total 2\n"));
  EXPECT_THAT(first, HasSubstr("\nmasa_store_commit_batches_total 2\n"));
  EXPECT_THAT(first, HasSubstr("# TYPE masa_store_commit_seconds histogram\n"));
  EXPECT_THAT(first, HasSubstr("\nmasa_store_commit_seconds_bucket{le=\"+Inf\"} 2\n"));
  EXPECT_THAT(first, HasSubstr("\nmasa_store_commit_seconds_count 2\n"));
  EXPECT_THAT(first, HasSubstr("\nmasa_store_map_growths_total 0\n"));
  EXPECT_THAT(first, HasSubstr("# TYPE masa_store_group_reruns_total counter\n"
                               "masa_store_group_reruns_total 0\n"));
  for (const char* family :
       {"masa_store_commit_sync_seconds_total", "masa_store_commit_queue_wait_seconds_total",
        "masa_store_map_growth_seconds_total", "masa_store_gate_wait_seconds_total"}) {
    EXPECT_THAT(first, HasSubstr(absl::StrCat("# TYPE ", family, " counter\n"))) << family;
  }
  EXPECT_THAT(first, HasSubstr("# TYPE masa_store_commit_max_seconds gauge\n"));
  EXPECT_THAT(first, ContainsRegex("\nmasa_store_commit_max_seconds 0\\.[0-9]*[1-9][0-9]*\n"));

  // No commit since: the next scrape shows 0, while the counters stay.
  const std::string second = StoreMetricsText(**store);
  EXPECT_THAT(second, HasSubstr("\nmasa_store_commit_max_seconds 0.000000\n"));
  EXPECT_THAT(second, HasSubstr("\nmasa_store_commits_total 2\n"));
}

}  // namespace
}  // namespace masa::service
