#include "store/testing/pg_cluster.h"

#include <arpa/inet.h>
#include <libpq-fe.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "common/status.h"
#include "common/testing/subprocess.h"
#include "common/testing/wait_for.h"

namespace masa::store::testing {
namespace {

constexpr char kBin[] = "/usr/lib/postgresql/15/bin/";
constexpr uid_t kNobody = 65534;
constexpr char kStandbyName[] = "standby1";
// How long a server gets to reach a state, polled this often.
constexpr absl::Duration kWait = absl::Seconds(30);
constexpr absl::Duration kPoll = absl::Milliseconds(50);

// A loopback port nothing listens on now (the kernel's choice for port 0, released again).
absl::StatusOr<int> FreePort() {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) return absl::InternalError("socket() failed");
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof(addr);
  if (bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0 ||
      getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) != 0) {
    close(fd);
    return absl::InternalError("cannot bind a loopback port");
  }
  close(fd);
  return ntohs(addr.sin_port);
}

std::string ReadFile(const std::string& path) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

void Append(const std::string& path, const std::string& text) {
  std::ofstream(path, std::ios::app) << text;
}

// Runs `sql` on a connection of its own to `conninfo`.
absl::StatusOr<std::string> QueryOne(const std::string& conninfo, const std::string& sql) {
  PgConnection c(conninfo);
  if (!c.ok()) return absl::UnavailableError(c.error());
  return c.Query(sql);
}

}  // namespace

PgConnection::PgConnection(const std::string& conninfo) : conn_(PQconnectdb(conninfo.c_str())) {}

PgConnection::~PgConnection() { PQfinish(conn_); }

bool PgConnection::ok() const { return PQstatus(conn_) == CONNECTION_OK; }

std::string PgConnection::error() const { return PQerrorMessage(conn_); }

int PgConnection::port() const { return std::atoi(PQport(conn_)); }

absl::StatusOr<std::string> PgConnection::Query(const std::string& sql) {
  PGresult* r = PQexec(conn_, sql.c_str());
  absl::StatusOr<std::string> out = std::string();
  if (PQresultStatus(r) == PGRES_TUPLES_OK) {
    if (PQntuples(r) > 0) out = std::string(PQgetvalue(r, 0, 0));
  } else if (PQresultStatus(r) != PGRES_COMMAND_OK) {
    out = absl::InternalError(absl::StrCat(sql, ": ", PQresultErrorMessage(r)));
  }
  PQclear(r);
  return out;
}

absl::Status PgCluster::Run(const std::vector<std::string>& argv) const {
  std::vector<std::string> full;
  if (as_nobody_) {
    full = {"/usr/bin/setpriv", absl::StrCat("--reuid=", kNobody),
            absl::StrCat("--regid=", kNobody), "--clear-groups", "--"};
  }
  full.insert(full.end(), argv.begin(), argv.end());
  MASA_ASSIGN_OR_RETURN(
      subprocess::ProcessResult r,
      subprocess::RunProcess(full, {.timeout = absl::Seconds(120), .merge_stderr = true}));
  if (r.exit_code != 0) {
    return absl::InternalError(absl::StrCat(absl::StrJoin(full, " "), " exited with ", r.exit_code,
                                            ": ", r.out, "\n", Logs()));
  }
  return absl::OkStatus();
}

absl::StatusOr<std::unique_ptr<PgCluster>> PgCluster::Start(const PgClusterOptions& options) {
  std::unique_ptr<PgCluster> c(new PgCluster());
  c->as_nobody_ = geteuid() == 0;
  const char* tmp = getenv("TMPDIR");
  std::string pattern = absl::StrCat(tmp && *tmp ? tmp : "/tmp", "/masa-pg.XXXXXX");
  if (mkdtemp(pattern.data()) == nullptr) return absl::InternalError("mkdtemp failed");
  c->dir_ = pattern;
  // The servers' user must own the folder and reach it: /tmp's own folders are 0700.
  if (c->as_nobody_ && chown(c->dir_.c_str(), kNobody, kNobody) != 0) {
    return absl::InternalError("cannot hand the cluster folder to nobody");
  }
  MASA_ASSIGN_OR_RETURN(c->primary_port_, FreePort());
  const std::string primary = c->dir_ + "/primary";
  MASA_RETURN_IF_ERROR(
      c->Run({absl::StrCat(kBin, "initdb"), "-D", primary, "-U", "postgres", "--auth=trust",
              "--encoding=UTF8", "--locale=C", "--no-sync", "--no-instructions"}));
  // fsync off for tests: they kill server processes, never the machine, so the page cache
  // outlives every kill; what a COMMIT waits for (the standby's WAL receipt) is unchanged.
  Append(primary + "/postgresql.conf",
         absl::StrCat(
             "listen_addresses = '127.0.0.1'\nport = ", c->primary_port_,
             "\nunix_socket_directories = '", c->dir_,
             "'\nwal_level = replica\nmax_wal_senders = 4\nfsync = ", options.fsync ? "on" : "off",
             "\n"
             "hot_standby = on\nsynchronous_commit = on\n"));
  if (options.standby) {
    Append(primary + "/postgresql.conf",
           absl::StrCat("synchronous_standby_names = '", kStandbyName, "'\n"));
  }
  Append(primary + "/pg_hba.conf", "host replication all 127.0.0.1/32 trust\n");
  MASA_RETURN_IF_ERROR(c->Run({absl::StrCat(kBin, "pg_ctl"), "-D", primary, "-l", primary + ".log",
                               "-w", "-t", "60", "start"}));
  if (!options.standby) return c;

  MASA_ASSIGN_OR_RETURN(c->standby_port_, FreePort());
  const std::string standby = c->dir_ + "/standby";
  MASA_RETURN_IF_ERROR(c->Run({absl::StrCat(kBin, "pg_basebackup"), "-h", "127.0.0.1", "-p",
                               std::to_string(c->primary_port_), "-U", "postgres", "-D", standby,
                               "--wal-method=stream", "--checkpoint=fast", "--no-sync"}));
  // Not pg_basebackup -R: the standby names itself to the primary with application_name.
  // wal_retrieve_retry_interval 1 s (default 5 s): a standby whose primary died acts on a
  // promotion at its next WAL retry, as the README advises operators.
  Append(standby + "/postgresql.conf",
         absl::StrCat("port = ", c->standby_port_, "\nprimary_conninfo = 'host=127.0.0.1 port=",
                      c->primary_port_, " user=postgres application_name=", kStandbyName,
                      "'\nwal_retrieve_retry_interval = 1s\n"));
  MASA_RETURN_IF_ERROR(c->Run({"/usr/bin/touch", standby + "/standby.signal"}));
  MASA_RETURN_IF_ERROR(c->Run({absl::StrCat(kBin, "pg_ctl"), "-D", standby, "-l", standby + ".log",
                               "-w", "-t", "60", "start"}));
  const std::string query = absl::StrCat(
      "SELECT sync_state FROM pg_stat_replication WHERE application_name = '", kStandbyName, "'");
  if (!::masa::testing::WaitFor(
          [&] {
            auto state = QueryOne(c->ConnStringFor(c->primary_port_), query);
            return state.ok() && *state == "sync";
          },
          kWait, kPoll)) {
    return absl::DeadlineExceededError(
        absl::StrCat("the standby did not become synchronous within 30 s\n", c->Logs()));
  }
  return c;
}

PgCluster::~PgCluster() {
  for (const char* server : {"standby", "primary"}) {
    const std::string data = dir_ + "/" + server;
    if (!std::filesystem::exists(data + "/postmaster.pid")) continue;
    (void)Run({absl::StrCat(kBin, "pg_ctl"), "-D", data, "-m", "immediate", "-w", "stop"});
  }
  std::error_code ec;
  if (!dir_.empty()) std::filesystem::remove_all(dir_, ec);
}

std::string PgCluster::ConnString() const {
  std::string hosts = "127.0.0.1", ports = std::to_string(primary_port_);
  if (standby_port_ != 0) {
    absl::StrAppend(&hosts, ",127.0.0.1");
    absl::StrAppend(&ports, ",", standby_port_);
  }
  return absl::StrCat("host=", hosts, " port=", ports,
                      " user=postgres dbname=postgres connect_timeout=5"
                      " target_session_attrs=read-write");
}

std::string PgCluster::ConnStringFor(int port) const {
  return absl::StrCat("host=127.0.0.1 port=", port, " user=postgres dbname=postgres",
                      " connect_timeout=5");
}

absl::Status PgCluster::KillPrimary() {
  const std::string pid_file = dir_ + "/primary/postmaster.pid";
  const std::string text = ReadFile(pid_file);
  const pid_t pid = static_cast<pid_t>(std::atol(text.c_str()));
  if (pid <= 0) return absl::FailedPreconditionError("the primary is not running");
  if (kill(pid, SIGKILL) != 0) return absl::InternalError("kill(SIGKILL) failed");
  const std::string conninfo = ConnStringFor(primary_port_);
  if (!::masa::testing::WaitFor([&] { return PQping(conninfo.c_str()) == PQPING_NO_RESPONSE; },
                                kWait, kPoll)) {
    return absl::DeadlineExceededError("the killed primary still answers after 30 s");
  }
  // Its backends see the postmaster gone and leave; the pid file stays, as after a crash.
  std::error_code ec;
  std::filesystem::remove(pid_file, ec);
  return absl::OkStatus();
}

absl::Status PgCluster::PromoteStandby() {
  if (standby_port_ == 0) return absl::FailedPreconditionError("no standby");
  MASA_RETURN_IF_ERROR(
      Run({absl::StrCat(kBin, "pg_ctl"), "-D", dir_ + "/standby", "-w", "-t", "60", "promote"}));
  const std::string conninfo = ConnStringFor(standby_port_);
  if (!::masa::testing::WaitFor(
          [&] {
            auto recovering = QueryOne(conninfo, "SELECT pg_is_in_recovery()");
            return recovering.ok() && *recovering == "f";
          },
          kWait, kPoll)) {
    return absl::DeadlineExceededError("the promoted standby still recovers after 30 s");
  }
  // It was copied with the primary's configuration, which names it as the synchronous
  // standby: as a primary it would wait for itself, and no COMMIT would return. It now
  // commits alone until a new standby joins (what an operator's failover does).
  MASA_RETURN_IF_ERROR(
      QueryOne(conninfo, "ALTER SYSTEM SET synchronous_standby_names = ''").status());
  return QueryOne(conninfo, "SELECT pg_reload_conf()").status();
}

std::string PgCluster::Logs() const {
  std::string out;
  for (const char* server : {"primary", "standby"}) {
    const std::string log = ReadFile(dir_ + "/" + server + ".log");
    if (!log.empty()) absl::StrAppend(&out, "--- ", server, ".log:\n", log);
  }
  return out;
}

}  // namespace masa::store::testing
