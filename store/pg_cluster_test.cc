// The PostgreSQL cluster the multi-node store will stand on (issue 15), really started: a
// primary and a synchronous hot standby (store/testing/pg_cluster.h), as unprivileged
// processes on loopback. What the store relies on, shown with libpq alone: a row whose
// COMMIT returned is on the standby, so it survives the primary's death once the standby is
// promoted; and the connection string masad nodes get finds the new primary by itself.
#include <memory>
#include <string>

#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "store/testing/pg_cluster.h"

namespace masa::store::testing {
namespace {

// One connection, with the answers as the assertions read them: a query's value, "" for a
// command, "ERROR: ..." when the server refused it.
struct Conn : PgConnection {
  using PgConnection::PgConnection;
  std::string Exec(const std::string& sql) {
    absl::StatusOr<std::string> r = Query(sql);
    return r.ok() ? *r : absl::StrCat("ERROR: ", r.status().message());
  }
};

TEST(PgClusterTest, EveryAcknowledgedCommitSurvivesThePrimarysDeath) {
  auto cluster = PgCluster::Start({.standby = true});
  ASSERT_TRUE(cluster.ok()) << cluster.status();
  PgCluster& pg = **cluster;
  {
    Conn primary(pg.ConnString());
    ASSERT_TRUE(primary.ok()) << primary.error();
    EXPECT_EQ(primary.port(), pg.primary_port());
    // The standby is a synchronous one: COMMIT waits until it has the WAL.
    EXPECT_EQ(primary.Exec("SHOW synchronous_standby_names"), "standby1");
    EXPECT_EQ(primary.Exec("SELECT sync_state FROM pg_stat_replication"), "sync");
    ASSERT_EQ(primary.Exec("CREATE TABLE acknowledged (n integer PRIMARY KEY)"), "");
    // 200 transactions, each acknowledged on its own, as a voucher request is.
    for (int n = 0; n < 200; ++n) {
      ASSERT_EQ(primary.Exec(absl::StrCat("INSERT INTO acknowledged VALUES (", n, ")")), "");
    }
    Conn standby(pg.ConnStringFor(pg.standby_port()));
    ASSERT_TRUE(standby.ok()) << standby.error();
    EXPECT_EQ(standby.Exec("SELECT pg_is_in_recovery()"), "t");
    EXPECT_NE(standby.Exec("INSERT INTO acknowledged VALUES (-1)").find("read-only"),
              std::string::npos);
  }
  ASSERT_TRUE(pg.KillPrimary().ok()) << pg.Logs();
  {
    // Nothing accepts writes until the standby is promoted.
    Conn none(pg.ConnString());
    EXPECT_FALSE(none.ok());
  }
  ASSERT_TRUE(pg.PromoteStandby().ok()) << pg.Logs();
  Conn promoted(pg.ConnString());  // the same string: it finds the new primary
  ASSERT_TRUE(promoted.ok()) << promoted.error();
  EXPECT_EQ(promoted.port(), pg.standby_port());
  EXPECT_EQ(promoted.Exec("SELECT count(*) FROM acknowledged"), "200");
  EXPECT_EQ(promoted.Exec("SELECT max(n) FROM acknowledged"), "199");
  EXPECT_EQ(promoted.Exec("INSERT INTO acknowledged VALUES (200)"), "");
}

}  // namespace
}  // namespace masa::store::testing
