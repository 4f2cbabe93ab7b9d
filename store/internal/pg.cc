#include "store/internal/pg.h"

#include <cstdlib>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"
#include "common/status.h"

namespace masa::store::internal {

absl::Status FromPg(PGconn* conn, const PGresult* r, std::string_view what) {
  std::string message = r != nullptr ? PQresultErrorMessage(r) : "";
  if (message.empty() && conn != nullptr) message = PQerrorMessage(conn);
  std::string text = absl::StrCat(Sv(what), ": ", absl::StripTrailingAsciiWhitespace(message));
  if (conn == nullptr || PQstatus(conn) != CONNECTION_OK) {
    return absl::UnavailableError(absl::StrCat(text, " (the database connection was lost)"));
  }
  const char* state = r != nullptr ? PQresultErrorField(r, PG_DIAG_SQLSTATE) : nullptr;
  const std::string_view sqlstate = state != nullptr ? state : "";
  // https://www.postgresql.org/docs/15/errcodes-appendix.html
  if (sqlstate.substr(0, 2) == "08" || sqlstate == "25006" || sqlstate.substr(0, 3) == "57P") {
    return absl::UnavailableError(text);  // connection, read-only transaction, shutdown
  }
  if (sqlstate == "40001" || sqlstate == "40P01") return absl::AbortedError(text);
  if (sqlstate == "23505") return absl::AlreadyExistsError(text);
  if (sqlstate == "53100") return absl::ResourceExhaustedError(text);
  if (sqlstate == "XX001" || sqlstate == "XX002") return absl::DataLossError(text);
  return absl::InternalError(text);
}

absl::Status CheckConnInfo(const std::string& conninfo) {
  char* error = nullptr;
  PQconninfoOption* options = PQconninfoParse(conninfo.c_str(), &error);
  if (options == nullptr) {
    std::string why = error != nullptr ? error : "out of memory";
    PQfreemem(error);
    return absl::InvalidArgumentError(
        absl::StrCat("the PostgreSQL connection string does not parse: ",
                     absl::StripTrailingAsciiWhitespace(why)));
  }
  bool password = false;
  for (const PQconninfoOption* o = options; o->keyword != nullptr; ++o) {
    if (std::string_view(o->keyword) == "password" && o->val != nullptr && o->val[0] != '\0') {
      password = true;
    }
  }
  PQconninfoFree(options);
  if (password) {
    return absl::InvalidArgumentError(
        "the PostgreSQL connection string carries a password; put it in a pgpass file "
        "(~/.pgpass of the masad user, or the file PGPASSFILE names) instead");
  }
  return absl::OkStatus();
}

absl::StatusOr<PgConn> PgConn::Connect(const std::string& conninfo) {
  PGconn* conn = PQconnectdb(conninfo.c_str());
  if (conn == nullptr) return absl::ResourceExhaustedError("libpq could not allocate a connection");
  if (PQstatus(conn) == CONNECTION_OK) {
    // The server's notices ("relation already exists, skipping") are not errors: not to
    // stderr.
    PQsetNoticeProcessor(
        conn, [](void*, const char*) {}, nullptr);
  }
  if (PQstatus(conn) != CONNECTION_OK) {
    absl::Status st = absl::UnavailableError(absl::StrCat(
        "connecting to PostgreSQL: ", absl::StripTrailingAsciiWhitespace(PQerrorMessage(conn))));
    PQfinish(conn);
    return st;
  }
  return PgConn(conn);
}

PgConn& PgConn::operator=(PgConn&& other) noexcept {
  if (this != &other) {
    if (conn_ != nullptr) PQfinish(conn_);
    conn_ = std::exchange(other.conn_, nullptr);
    failed_ = other.failed_;
  }
  return *this;
}

PgConn::~PgConn() {
  if (conn_ != nullptr) PQfinish(conn_);
}

int PgConn::port() const { return conn_ != nullptr ? std::atoi(PQport(conn_)) : 0; }

absl::StatusOr<PgResult> PgConn::Check(PGresult* r, std::string_view what) {
  PgResult owned(r);
  const ExecStatusType status = r != nullptr ? PQresultStatus(r) : PGRES_FATAL_ERROR;
  if (status == PGRES_COMMAND_OK || status == PGRES_TUPLES_OK) return owned;
  failed_ = true;
  return FromPg(conn_, r, what);
}

absl::Status PgConn::Exec(const std::string& sql, std::string_view what) {
  if (conn_ == nullptr) return absl::UnavailableError(absl::StrCat(Sv(what), ": not connected"));
  return Check(PQexec(conn_, sql.c_str()), what).status();
}

absl::StatusOr<PgResult> PgConn::Query(const std::string& sql, const std::vector<PgParam>& params,
                                       std::string_view what) {
  if (conn_ == nullptr) return absl::UnavailableError(absl::StrCat(Sv(what), ": not connected"));
  std::vector<const char*> values;
  std::vector<int> lengths;
  std::vector<int> formats(params.size(), 1);
  values.reserve(params.size());
  lengths.reserve(params.size());
  for (const PgParam& p : params) {
    // A null pointer is SQL NULL to libpq: an empty value must point somewhere.
    values.push_back(p.bytes.data() != nullptr ? p.bytes.data() : "");
    lengths.push_back(static_cast<int>(p.bytes.size()));
  }
  return Check(PQexecParams(conn_, sql.c_str(), static_cast<int>(params.size()), nullptr,
                            values.data(), lengths.data(), formats.data(), /*resultFormat=*/1),
               what);
}

}  // namespace masa::store::internal
