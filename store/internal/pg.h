// The one place that includes libpq-fe.h: a connection owner, results, and FromPg(), the
// single translation of PostgreSQL failures into Status codes.
#pragma once

#include <libpq-fe.h>

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

namespace masa::store::internal {

// A result owner.
struct PgResultDeleter {
  void operator()(PGresult* r) const { PQclear(r); }
};
using PgResult = std::unique_ptr<PGresult, PgResultDeleter>;

// A statement parameter in binary format (bytea bytes, or a big-endian integer).
struct PgParam {
  std::string_view bytes;
};

// One libpq connection. Move-only; not thread-safe.
class PgConn {
 public:
  // Connects with `conninfo` (a libpq connection string or URI; several hosts and
  // target_session_attrs=read-write find the primary). kUnavailable when no server answers
  // as asked; the message is libpq's, which never carries the password.
  static absl::StatusOr<PgConn> Connect(const std::string& conninfo);

  PgConn() = default;
  PgConn(PgConn&& other) noexcept : conn_(other.conn_), failed_(other.failed_) {
    other.conn_ = nullptr;
  }
  PgConn& operator=(PgConn&& other) noexcept;
  PgConn(const PgConn&) = delete;
  PgConn& operator=(const PgConn&) = delete;
  ~PgConn();

  // False once the server went away (the connection is then of no further use).
  bool ok() const { return conn_ != nullptr && PQstatus(conn_) == CONNECTION_OK; }
  // A statement failed since the last ClearFailed: the server aborted the transaction
  // around it, so nothing more can run in it.
  bool failed() const { return failed_; }
  void ClearFailed() { failed_ = false; }
  // The port of the server it reached (tests tell primary from standby by it).
  int port() const;

  // Runs `sql` (no parameters; may hold several statements). `what` names it in errors.
  absl::Status Exec(const std::string& sql, std::string_view what);
  // Runs one statement with binary parameters and binary results.
  absl::StatusOr<PgResult> Query(const std::string& sql, const std::vector<PgParam>& params,
                                 std::string_view what);

 private:
  explicit PgConn(PGconn* conn) : conn_(conn) {}
  absl::StatusOr<PgResult> Check(PGresult* r, std::string_view what);
  PGconn* conn_ = nullptr;
  bool failed_ = false;
};

// The bytes of column `col` of row `row` of a binary result.
inline std::string_view PgValue(const PGresult* r, int row, int col) {
  return std::string_view(PQgetvalue(r, row, col), static_cast<size_t>(PQgetlength(r, row, col)));
}

// kInvalidArgument when `conninfo` does not parse (libpq's reason), or carries a password:
// that belongs in a pgpass file (~/.pgpass, PGPASSFILE), never in masad.toml, where it
// would be copied into backups and shown by config dumps.
absl::Status CheckConnInfo(const std::string& conninfo);

// Translates a failed result (or a connection gone bad, r == nullptr) into a Status whose
// code says what the caller should do: the connection lost or the server read-only /
// shutting down / in recovery -> kUnavailable (retry, another node or the promoted standby
// will answer); serialization failure or deadlock -> kAborted (run the transaction again);
// unique violation -> kAlreadyExists; disk full -> kResourceExhausted; data corrupted ->
// kDataLoss; anything else -> kInternal. `what` names the statement.
absl::Status FromPg(PGconn* conn, const PGresult* r, std::string_view what);

}  // namespace masa::store::internal
