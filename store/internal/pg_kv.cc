#include "store/internal/pg_kv.h"

#include <algorithm>
#include <utility>

#include "absl/strings/str_cat.h"
#include "common/status.h"

namespace masa::store::internal {
namespace {

// Rows per multi-row statement of Flush: three parameters each, far below libpq's 65,535.
constexpr size_t kRowsPerStatement = 1000;
// Rows a cursor fetches at a time: a few for the index look-ups, which read one or two
// keys, more once it is clearly scanning.
constexpr int kFirstPage = 8;
constexpr int kLaterPage = 256;

std::string DbLiteral(Db db) { return std::to_string(static_cast<int>(db)); }

// A cursor over the server's rows merged with the transaction's remembered ones (which
// hold its own writes, and tombstones for its deletes).
class PgCursor final : public KvCursor {
 public:
  PgCursor(PgKv* kv, Db db) : kv_(kv), db_(db) {}

  absl::StatusOr<bool> Seek(std::string_view key) override {
    return MoveFrom(std::string(key), /*inclusive=*/true);
  }
  absl::StatusOr<bool> Next() override {
    if (!positioned_) return false;
    return MoveFrom(key_, /*inclusive=*/false);
  }
  absl::StatusOr<bool> Last() override {
    const PgKv::Rows& rows = kv_->rows(db_);
    // The last remembered key that is present.
    std::optional<std::string> mine;
    for (auto it = rows.rbegin(); it != rows.rend(); ++it) {
      if (it->second) {
        mine = it->first;
        break;
      }
    }
    // The server's last key that this transaction did not delete.
    std::optional<std::string> theirs;
    std::string below;
    bool bounded = false;
    while (true) {
      std::string sql = absl::StrCat("SELECT k FROM ", kPgKvTable, " WHERE db = ", DbLiteral(db_),
                                     bounded ? " AND k < $1" : "", " ORDER BY k DESC LIMIT 1");
      std::vector<PgParam> params;
      if (bounded) params.push_back({below});
      MASA_ASSIGN_OR_RETURN(PgResult r, kv_->conn()->Query(sql, params, "reading the last key"));
      if (PQntuples(r.get()) == 0) break;
      std::string k(PgValue(r.get(), 0, 0));
      auto known = rows.find(k);
      if (known == rows.end() || known->second) {
        theirs = std::move(k);
        break;
      }
      below = std::move(k);
      bounded = true;
    }
    if (!mine && !theirs) {
      positioned_ = false;
      return false;
    }
    std::string last = !theirs ? *mine : !mine ? *theirs : std::max(*mine, *theirs);
    // Fetches the value through the same merge (a key the server holds, or a kept write).
    return MoveFrom(last, /*inclusive=*/true);
  }
  std::string_view key() const override { return key_; }
  std::string_view value() const override { return value_; }

 private:
  // Positions at the first present key >= from (inclusive) or > from.
  absl::StatusOr<bool> MoveFrom(std::string from, bool inclusive) {
    const PgKv::Rows& rows = kv_->rows(db_);
    while (true) {
      // The server's next row.
      MASA_RETURN_IF_ERROR(FillPage(from, inclusive));
      const std::pair<std::string, std::string>* theirs =
          page_pos_ < page_.size() ? &page_[page_pos_] : nullptr;
      // The next remembered row.
      auto mine = inclusive ? rows.lower_bound(from) : rows.upper_bound(from);
      const bool have_mine = mine != rows.end();
      if (theirs == nullptr && !have_mine) {
        positioned_ = false;
        return false;
      }
      if (have_mine && (theirs == nullptr || mine->first <= theirs->first)) {
        if (!mine->second) {  // deleted by this transaction: skip it
          from = mine->first;
          inclusive = false;
          continue;
        }
        key_ = mine->first;
        value_ = *mine->second;
      } else {
        key_ = theirs->first;
        value_ = theirs->second;
      }
      positioned_ = true;
      return true;
    }
  }

  // Makes page_[page_pos_] the server's first row >= from (inclusive) or > from, when
  // there is one, fetching a page when the buffered one does not reach it.
  absl::Status FillPage(const std::string& from, bool inclusive) {
    // Still inside the buffered page, which starts at or before `from`?
    if (page_started_ &&
        !(from < page_from_ || (from == page_from_ && inclusive && !page_inclusive_))) {
      auto by_key = [](const std::pair<std::string, std::string>& row, const std::string& k) {
        return row.first < k;
      };
      auto at = std::lower_bound(page_.begin(), page_.end(), from, by_key);
      if (!inclusive && at != page_.end() && at->first == from) ++at;
      page_pos_ = static_cast<size_t>(at - page_.begin());
      if (page_pos_ < page_.size() || page_complete_) return absl::OkStatus();
    }
    const int limit = fetched_ ? kLaterPage : kFirstPage;
    fetched_ = true;
    std::string sql =
        absl::StrCat("SELECT k, v FROM ", kPgKvTable, " WHERE db = ", DbLiteral(db_),
                     inclusive ? " AND k >= $1" : " AND k > $1", " ORDER BY k LIMIT ", limit);
    MASA_ASSIGN_OR_RETURN(PgResult r, kv_->conn()->Query(sql, {{from}}, "reading a range"));
    page_.clear();
    page_pos_ = 0;
    const int n = PQntuples(r.get());
    for (int i = 0; i < n; ++i) {
      page_.emplace_back(std::string(PgValue(r.get(), i, 0)), std::string(PgValue(r.get(), i, 1)));
    }
    page_started_ = true;
    page_from_ = from;
    page_inclusive_ = inclusive;
    // Fewer rows than asked: nothing beyond them on the server.
    page_complete_ = n < limit;
    return absl::OkStatus();
  }

  PgKv* kv_;
  Db db_;
  bool positioned_ = false;
  std::string key_;
  std::string value_;
  // The server's rows from page_from_ on, in key order (all of them up to the end of the
  // table when page_complete_).
  std::vector<std::pair<std::string, std::string>> page_;
  size_t page_pos_ = 0;
  bool page_started_ = false;
  bool page_complete_ = false;
  bool page_inclusive_ = true;
  bool fetched_ = false;
  std::string page_from_;
};

}  // namespace

std::string PgDb(Db db) {
  std::string out(2, '\0');
  out[1] = static_cast<char>(db);
  return out;
}

void PgKv::Remember(Db db, std::string key, std::optional<std::string> value, bool dirty) {
  Rows& rows = rows_[db];
  auto it = rows.find(key);
  if (in_savepoint_ && dirty) {
    undo_.push_back(
        {db, key,
         it == rows.end() ? std::nullopt : std::optional<std::optional<std::string>>(it->second),
         dirty_[db].count(key) > 0});
  }
  if (it == rows.end()) {
    ++remembered_;
    it = rows.emplace(key, std::nullopt).first;
  }
  it->second = std::move(value);
  if (dirty) dirty_[db].insert(std::move(key));
}

absl::StatusOr<std::string_view> PgKv::Get(Db db, std::string_view key) {
  auto it = rows_[db].find(key);
  if (it == rows_[db].end()) {
    MASA_ASSIGN_OR_RETURN(PgResult r,
                          conn_->Query(absl::StrCat("SELECT v FROM ", kPgKvTable,
                                                    " WHERE db = ", DbLiteral(db), " AND k = $1"),
                                       {{key}}, "reading a record"));
    std::optional<std::string> value;
    if (PQntuples(r.get()) > 0) value.emplace(PgValue(r.get(), 0, 0));
    Remember(db, std::string(key), std::move(value), /*dirty=*/false);
    it = rows_[db].find(key);
  }
  if (!it->second) return absl::NotFoundError("record not found");
  return std::string_view(*it->second);
}

absl::StatusOr<std::optional<std::string>> PgKv::LastKey(Db db) {
  if (!last_[db]) {
    MASA_ASSIGN_OR_RETURN(std::unique_ptr<KvCursor> cursor, OpenCursor(db));
    MASA_ASSIGN_OR_RETURN(bool any, cursor->Last());
    last_[db] = any ? std::optional<std::string>(std::string(cursor->key())) : std::nullopt;
  }
  return *last_[db];
}

absl::StatusOr<bool> PgKv::KeyGrows(Db db, std::string_view key) {
  MASA_ASSIGN_OR_RETURN(std::optional<std::string> last, LastKey(db));
  return !last || key > *last;
}

absl::Status PgKv::Put(Db db, std::string_view key, std::string_view value, bool append) {
  if (!writable_) return absl::FailedPreconditionError("a read-only transaction cannot write");
  if (append) {
    MASA_ASSIGN_OR_RETURN(bool grows, KeyGrows(db, key));
    if (!grows) return absl::AlreadyExistsError("record already exists");
  }
  if (last_[db] && (!*last_[db] || key > **last_[db])) last_[db] = std::string(key);
  Remember(db, std::string(key), std::string(value), /*dirty=*/true);
  return absl::OkStatus();
}

absl::Status PgKv::Del(Db db, std::string_view key) {
  if (!writable_) return absl::FailedPreconditionError("a read-only transaction cannot write");
  MASA_RETURN_IF_ERROR(Get(db, key).status());
  if (last_[db] && *last_[db] && **last_[db] == key) last_[db].reset();
  Remember(db, std::string(key), std::nullopt, /*dirty=*/true);
  return absl::OkStatus();
}

absl::StatusOr<std::unique_ptr<KvCursor>> PgKv::OpenCursor(Db db) {
  return std::unique_ptr<KvCursor>(new PgCursor(this, db));
}

void PgKv::Savepoint() {
  in_savepoint_ = true;
  undo_.clear();
}

void PgKv::RollbackToSavepoint() {
  for (auto it = undo_.rbegin(); it != undo_.rend(); ++it) {
    Rows& rows = rows_[it->db];
    if (it->row) {
      rows[it->key] = *it->row;
    } else if (rows.erase(it->key) > 0) {
      --remembered_;
    }
    if (!it->dirty) dirty_[it->db].erase(it->key);
  }
  for (auto& last : last_) last.reset();
  undo_.clear();
  in_savepoint_ = false;
}

void PgKv::ReleaseSavepoint() {
  undo_.clear();
  in_savepoint_ = false;
}

size_t PgKv::pending_writes() const {
  size_t n = 0;
  for (const auto& d : dirty_) n += d.size();
  return n;
}

absl::Status PgKv::Flush() {
  flush_statements_ = 0;
  std::vector<std::string_view> upserts, deletes;
  for (int d = 0; d < kDbCount; ++d) {
    const Db db = static_cast<Db>(d);
    upserts.clear();
    deletes.clear();
    for (const std::string& key : dirty_[db]) {
      const std::optional<std::string>& value = rows_[db].find(key)->second;
      if (value) {
        upserts.push_back(key);
        upserts.push_back(*value);
      } else {
        deletes.push_back(key);
      }
    }
    for (size_t at = 0; at < upserts.size(); at += 2 * kRowsPerStatement) {
      const size_t end = std::min(upserts.size(), at + 2 * kRowsPerStatement);
      std::string sql = absl::StrCat("INSERT INTO ", kPgKvTable, " (db, k, v) VALUES ");
      std::vector<PgParam> params;
      for (size_t i = at; i < end; i += 2) {
        absl::StrAppend(&sql, i == at ? "" : ",", "(", DbLiteral(db), ",$", params.size() + 1,
                        "::bytea,$", params.size() + 2, "::bytea)");
        params.push_back({upserts[i]});
        params.push_back({upserts[i + 1]});
      }
      absl::StrAppend(&sql, " ON CONFLICT (db, k) DO UPDATE SET v = EXCLUDED.v");
      MASA_RETURN_IF_ERROR(conn_->Query(sql, params, "writing records").status());
      ++flush_statements_;
    }
    for (size_t at = 0; at < deletes.size(); at += kRowsPerStatement) {
      const size_t end = std::min(deletes.size(), at + kRowsPerStatement);
      std::string sql =
          absl::StrCat("DELETE FROM ", kPgKvTable, " WHERE db = ", DbLiteral(db), " AND k IN (");
      std::vector<PgParam> params;
      for (size_t i = at; i < end; ++i) {
        absl::StrAppend(&sql, i == at ? "" : ",", "$", params.size() + 1, "::bytea");
        params.push_back({deletes[i]});
      }
      sql += ")";
      MASA_RETURN_IF_ERROR(conn_->Query(sql, params, "deleting records").status());
      ++flush_statements_;
    }
  }
  return absl::OkStatus();
}

void PgKv::Committed() {
  for (auto& d : dirty_) d.clear();
  undo_.clear();
  in_savepoint_ = false;
}

void PgKv::Forget() {
  for (auto& rows : rows_) rows.clear();
  for (auto& d : dirty_) d.clear();
  for (auto& last : last_) last.reset();
  undo_.clear();
  in_savepoint_ = false;
  remembered_ = 0;
}

}  // namespace masa::store::internal
