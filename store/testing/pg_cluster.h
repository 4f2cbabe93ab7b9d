// A real PostgreSQL 15 cluster for tests, in a temporary folder: a primary and, when asked,
// a hot standby that the primary replicates to synchronously (synchronous_commit on,
// synchronous_standby_names naming it), both on loopback ports of their own. What issue 15's
// multi-node store stands on: a COMMIT returns only once the standby has the WAL, so a
// transaction the primary acknowledged survives the primary's loss once the standby is
// promoted.
//
// PostgreSQL refuses to run as root: when this process is root, initdb, pg_ctl and
// pg_basebackup run as `nobody` (setpriv), and the folder is handed to that user. Debian's
// binaries from /usr/lib/postgresql/15/bin (package postgresql-15).
//
//   auto cluster = PgCluster::Start({.standby = true});
//   PgConnection c((*cluster)->ConnString());                   // whichever is primary
//   (*cluster)->KillPrimary();                                  // SIGKILL, no shutdown
//   (*cluster)->PromoteStandby();
#pragma once

#include <memory>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

struct pg_conn;  // libpq's PGconn

namespace masa::store::testing {

struct PgClusterOptions {
  bool standby = true;  // a synchronous hot standby beside the primary
  // Flush WAL to disk (load_bench: commits cost what they cost in production). Off for
  // tests, which kill server processes, never the machine.
  bool fsync = false;
};

// One libpq connection, closed by the destructor.
class PgConnection {
 public:
  explicit PgConnection(const std::string& conninfo);
  ~PgConnection();
  PgConnection(const PgConnection&) = delete;
  PgConnection& operator=(const PgConnection&) = delete;

  bool ok() const;
  std::string error() const;
  int port() const;  // of the server it reached
  // Runs `sql`: its first row's first value, "" for a command or no rows; kInternal with
  // the server's message when it fails.
  absl::StatusOr<std::string> Query(const std::string& sql);

 private:
  pg_conn* conn_;
};

class PgCluster {
 public:
  // initdb, configuration, start, pg_basebackup of the standby, start, and a wait until
  // the primary reports the standby as synchronous. Errors carry the failing command's
  // output and the server logs.
  static absl::StatusOr<std::unique_ptr<PgCluster>> Start(const PgClusterOptions& options);
  // Stops whatever still runs (immediate mode) and removes the folder.
  ~PgCluster();
  PgCluster(const PgCluster&) = delete;
  PgCluster& operator=(const PgCluster&) = delete;

  int primary_port() const { return primary_port_; }
  int standby_port() const { return standby_port_; }
  // A libpq connection string naming both servers, primary first, that connects to
  // whichever accepts writes (target_session_attrs=read-write): what masad nodes get.
  std::string ConnString() const;
  // One server only (the standby answers read-only transactions).
  std::string ConnStringFor(int port) const;

  // SIGKILL to the primary's postmaster, as a dead machine; its backends follow. Waits until
  // nothing listens on its port any more.
  absl::Status KillPrimary();
  // pg_ctl promote on the standby, a wait until it accepts writes, and its
  // synchronous_standby_names cleared: it has no standby of its own, and commits alone.
  absl::Status PromoteStandby();

  // The servers' logs, for failure messages.
  std::string Logs() const;

 private:
  PgCluster() = default;
  absl::Status Run(const std::vector<std::string>& argv) const;

  std::string dir_;
  int primary_port_ = 0;
  int standby_port_ = 0;
  bool as_nobody_ = false;
};

}  // namespace masa::store::testing
