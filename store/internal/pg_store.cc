// The PostgreSQL Store (see pg_store.h): schema, the writer, snapshots and checkpoints.
#include "store/internal/pg_store.h"

#include <pthread.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <mutex>
#include <optional>
#include <thread>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "common/log.h"
#include "common/status.h"
#include "store/internal/audit_log.h"
#include "store/internal/codec.h"
#include "store/internal/commit_recorder.h"
#include "store/internal/pg.h"
#include "store/internal/pg_kv.h"
#include "store/internal/txn.h"

namespace masa::store::internal {
namespace {

using SteadyClock = std::chrono::steady_clock;

// meta key: the number of write transactions committed, by any node. A node whose last
// commit left it at N, and which reads N at its next, knows nobody else wrote meanwhile and
// may trust what it remembers.
constexpr char kCommitGenKey[] = "pg_commit_gen";
constexpr char kStoreFormat[] = "masa-store";
// The writer forgets what it remembers past this many rows.
constexpr size_t kMaxRemembered = 200000;
// A group whose connection failed before COMMIT is tried again on a fresh connection (the
// standby may be being promoted) for this long, then fails with kUnavailable.
constexpr auto kRetryFor = std::chrono::seconds(5);
// How long Read waits for a read connection when all are in use.
constexpr auto kPoolWait = std::chrono::seconds(5);
// How often an unreachable store's writer tries to connect.
constexpr auto kProbeEvery = std::chrono::milliseconds(1000);

}  // namespace

// The PostgreSQL schema's migrations: kPgMigrations[i] takes version i to i + 1. The
// version is the one row of masa_schema. (The records inside masa_kv have their own version,
// meta "schema_version", the same as in LMDB.)
constexpr const char* kPgMigrations[] = {
    // 1: the tables, and the checkpoint lease.
    "CREATE TABLE masa_kv (db smallint NOT NULL, k bytea NOT NULL, v bytea NOT NULL, "
    "PRIMARY KEY (db, k));"
    "CREATE TABLE masa_lease (name text PRIMARY KEY, holder text NOT NULL, "
    "expires timestamptz NOT NULL);",
};
static_assert(sizeof(kPgMigrations) / sizeof(kPgMigrations[0]) == kPgSchemaVersion);

// The schema version of the database `conn` is connected to: 0 without masa_schema.
absl::StatusOr<int> PgSchemaVersion(PgConn& conn) {
  MASA_ASSIGN_OR_RETURN(PgResult exists, conn.Query("SELECT to_regclass('masa_schema') IS NOT NULL",
                                                    {}, "looking for the store"));
  if (PgValue(exists.get(), 0, 0) != std::string_view("\1", 1)) return 0;
  MASA_ASSIGN_OR_RETURN(PgResult r, conn.Query("SELECT version::int8 FROM masa_schema", {},
                                               "reading the schema version"));
  if (PQntuples(r.get()) != 1 || PQgetlength(r.get(), 0, 0) != 8) {
    return absl::DataLossError("masa_schema does not hold one version");
  }
  return static_cast<int>(ReadBigEndian64(PgValue(r.get(), 0, 0)));
}

// Inside a transaction holding the write lock: runs the migrations the database lacks.
absl::Status MigratePgSchema(PgConn& conn, int from) {
  if (from == 0) {
    MASA_RETURN_IF_ERROR(
        conn.Exec("CREATE TABLE masa_schema (version integer NOT NULL);"
                  "INSERT INTO masa_schema VALUES (0)",
                  "creating masa_schema"));
  }
  for (int v = from; v < kPgSchemaVersion; ++v) {
    MASA_RETURN_IF_ERROR(
        conn.Exec(absl::StrCat(kPgMigrations[v], ";UPDATE masa_schema SET version = ", v + 1),
                  absl::StrCat("migrating the PostgreSQL schema to version ", v + 1)));
    Log(LogLevel::kInfo, absl::StrCat("PostgreSQL schema migrated to version ", v + 1));
  }
  return absl::OkStatus();
}

std::string BeginWrite() {
  return absl::StrCat("BEGIN; SELECT pg_advisory_xact_lock(", kWriteLock, ")");
}

namespace {

// Read connections, opened as needed up to a bound.
class PgPool {
 public:
  PgPool(std::string conninfo, size_t max) : conninfo_(std::move(conninfo)), max_(max) {}

  absl::StatusOr<PgConn> Take() {
    std::unique_lock<std::mutex> lock(mu_);
    if (!cv_.wait_for(lock, kPoolWait, [this] { return !idle_.empty() || out_ < max_; })) {
      return absl::UnavailableError(
          absl::StrCat("all ", max_,
                       " database read connections are in use; retry (or raise "
                       "postgres_read_connections)"));
    }
    ++out_;
    if (!idle_.empty()) {
      PgConn conn = std::move(idle_.back());
      idle_.pop_back();
      return conn;
    }
    lock.unlock();
    auto conn = PgConn::Connect(conninfo_);
    if (!conn.ok()) Return(PgConn());
    return conn;
  }

  // Closes the idle connections: after one failed, the others are likely to the same lost
  // server.
  void DropIdle() {
    std::lock_guard<std::mutex> lock(mu_);
    idle_.clear();
  }

  // A broken connection (or none) is dropped.
  void Return(PgConn conn) {
    {
      std::lock_guard<std::mutex> lock(mu_);
      --out_;
      if (conn.ok() && !conn.failed()) idle_.push_back(std::move(conn));
    }
    cv_.notify_one();
  }

 private:
  const std::string conninfo_;
  const size_t max_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::vector<PgConn> idle_;
  size_t out_ = 0;
};

// A REPEATABLE READ, READ ONLY transaction on a pooled connection.
struct PgSnapshot final : SnapshotState {
  PgSnapshot(PgPool* pool, PgConn conn)
      : pool(pool), conn(std::move(conn)), kv(&this->conn, false) {
    view.kv = &kv;
  }
  ~PgSnapshot() override {
    if (conn.ok()) (void)conn.Exec("ROLLBACK", "ending a snapshot");
    pool->Return(std::move(conn));
  }
  PgPool* pool;
  PgConn conn;
  PgKv kv;
};

absl::StatusOr<uint64_t> ReadCommitGen(PgConn& conn) {
  MASA_ASSIGN_OR_RETURN(
      PgResult r, conn.Query(absl::StrCat("SELECT v FROM ", kPgKvTable,
                                          " WHERE db = ", static_cast<int>(kMeta), " AND k = $1"),
                             {{kCommitGenKey}}, "reading the commit count"));
  if (PQntuples(r.get()) == 0) return 0;
  std::string_view v = PgValue(r.get(), 0, 0);
  if (v.size() != 8) return absl::DataLossError("the commit count record is malformed");
  return ReadBigEndian64(v);
}

class PgStore final : public Store {
 public:
  explicit PgStore(const StoreOptions& options)
      : options_(options), node_id_(options.node_id.empty() ? DefaultNodeId() : options.node_id),
        pool_(options.postgres, std::max<size_t>(1, options.postgres_read_connections)),
        signer_(options.checkpoint_signer, [](CheckpointSigner*) {}),
        has_signer_(options.checkpoint_signer != nullptr) {}

  ~PgStore() override {
    {
      std::lock_guard<std::mutex> lock(mu_);
      stop_ = true;
    }
    cv_.notify_all();
    if (writer_.joinable()) writer_.join();
  }

  absl::Status Init();

  void Submit(WriteBatch batch, std::function<void(absl::StatusOr<CommitResult>)> done) override {
    if (options_.read_only) {
      done(absl::FailedPreconditionError("the store was opened read-only"));
      return;
    }
    {
      std::lock_guard<std::mutex> lock(mu_);
      queue_.push_back(Pending{std::move(batch), std::move(done), SteadyClock::now()});
    }
    cv_.notify_one();
  }

  absl::StatusOr<Snapshot> Read() const override;
  absl::Status WriteCheckpoint() override {
    if (!has_signer_.load())
      return absl::FailedPreconditionError("no checkpoint signer configured");
    return Checkpoint(/*force=*/true);
  }
  void SetCheckpointSigner(std::shared_ptr<CheckpointSigner> signer) override;
  absl::Status Backup(const std::string&) const override {
    return absl::UnimplementedError(
        "a PostgreSQL store is backed up with PostgreSQL's tools (pg_basebackup, pg_dump), "
        "not masactl store backup");
  }
  size_t MapSize() const override { return 0; }
  bool Reachable() const override { return reachable_.load(); }
  std::string_view Backend() const override { return "postgres"; }
  std::string NodeId() const override { return node_id_; }
  uint64_t CommitCount() const override { return recorder_.commits(); }
  StoreStats Stats() const override { return recorder_.Stats(); }
  absl::Duration TakeSlowestCommit() override { return recorder_.TakeSlowest(); }

 private:
  using Pending = PendingBatch;

  void WriterLoop();
  // Connects the writer again if need be and asks the server for a trivial answer.
  void Probe();
  void CommitGroup(std::vector<Pending>& group);
  // One attempt at the group: results per batch on OK. `committing` is set once COMMIT was
  // sent (a connection lost after that leaves the outcome unknown).
  absl::Status RunGroup(std::vector<Pending>& group,
                        std::vector<absl::StatusOr<CommitResult>>& results, bool& committing,
                        SteadyClock::duration& sync);
  absl::Status Checkpoint(bool force);
  // True when it wrote one (this node holds the lease, and one was due).
  absl::StatusOr<bool> CheckpointOnce(bool force);
  std::shared_ptr<CheckpointSigner> Signer() const {
    std::lock_guard<std::mutex> lock(signer_mu_);
    return signer_;
  }

  const StoreOptions options_;
  const std::string node_id_;
  mutable PgPool pool_;

  std::mutex mu_;
  std::condition_variable cv_;
  std::vector<Pending> queue_;  // guarded by mu_
  bool stop_ = false;           // guarded by mu_
  std::thread writer_;

  // The writer thread's connection and what it remembers across transactions.
  PgConn conn_;
  PgKv kv_{&conn_, /*writable=*/true};
  std::optional<uint64_t> known_gen_;  // the commit count after this node's last commit

  CommitRecorder recorder_;
  std::atomic<uint64_t> audit_size_hint_{0};
  mutable std::atomic<bool> reachable_{true};

  std::mutex checkpoint_mu_;
  PgConn checkpoint_conn_;             // guarded by checkpoint_mu_
  uint64_t last_checkpoint_size_ = 0;  // guarded by checkpoint_mu_
  absl::Time last_checkpoint_time_;    // guarded by checkpoint_mu_

  mutable std::mutex signer_mu_;
  std::shared_ptr<CheckpointSigner> signer_;  // guarded by signer_mu_
  std::atomic<bool> has_signer_{false};
};

absl::Status PgStore::Init() {
  MASA_ASSIGN_OR_RETURN(PgConn conn, PgConn::Connect(options_.postgres));
  if (options_.read_only) {
    MASA_RETURN_IF_ERROR(conn.Exec("BEGIN ISOLATION LEVEL REPEATABLE READ, READ ONLY", "opening"));
  } else {
    MASA_RETURN_IF_ERROR(conn.Exec(BeginWrite(), "opening the store"));
  }
  MASA_ASSIGN_OR_RETURN(int version, PgSchemaVersion(conn));
  if (version > kPgSchemaVersion) {
    return absl::FailedPreconditionError(absl::StrFormat(
        "the database's MASA schema is version %d, newer than this build understands (%d); "
        "upgrade masa",
        version, kPgSchemaVersion));
  }
  if (version < kPgSchemaVersion) {
    if (options_.read_only && version == 0) {
      return absl::NotFoundError("no MASA store has been created in this database");
    }
    if (!options_.postgres_migrate || options_.read_only) {
      return absl::FailedPreconditionError(
          version == 0 ? "this database holds no MASA store yet; create it with masactl store "
                         "migrate --state DIR (or move an LMDB store there with masactl store copy)"
                       : absl::StrFormat("the database's MASA schema is version %d and this build "
                                         "needs %d; run masactl store migrate --state DIR",
                                         version, kPgSchemaVersion));
    }
    MASA_RETURN_IF_ERROR(MigratePgSchema(conn, version));
  }
  PgKv kv(&conn, !options_.read_only);
  auto format = kv.Get(kMeta, "format");
  if (absl::IsNotFound(format.status())) {
    if (!options_.postgres_migrate || options_.read_only) {
      return absl::FailedPreconditionError(
          "the database has the MASA tables but no store in them; run masactl store migrate");
    }
    MASA_RETURN_IF_ERROR(kv.Put(kMeta, "format", kStoreFormat));
    MASA_RETURN_IF_ERROR(kv.Put(kMeta, "schema_version", BigEndian64(kSchemaVersion)));
  } else if (!format.ok()) {
    return format.status();
  } else if (*format != kStoreFormat) {
    return absl::FailedPreconditionError("the database's masa_kv table is not a MASA store");
  } else {
    MASA_ASSIGN_OR_RETURN(std::string_view v, kv.Get(kMeta, "schema_version"));
    if (v.size() != 8) return absl::DataLossError("schema version record is malformed");
    if (ReadBigEndian64(v) != kSchemaVersion) {
      return absl::FailedPreconditionError(absl::StrFormat(
          "the PostgreSQL store has schema version %d and this build writes %d; migrate it "
          "with the masactl of the newer build (masactl store migrate)",
          ReadBigEndian64(v), kSchemaVersion));
    }
  }
  MASA_ASSIGN_OR_RETURN(AuditHead head, ReadAuditHead(kv));
  audit_size_hint_.store(head.size);
  {
    MASA_ASSIGN_OR_RETURN(auto cursor, Cursor::Open(kv, kCheckpoints));
    MASA_ASSIGN_OR_RETURN(bool any, cursor.Last());
    if (any) last_checkpoint_size_ = ReadBigEndian64(cursor.key());
  }
  MASA_RETURN_IF_ERROR(kv.Flush());
  MASA_RETURN_IF_ERROR(conn.Exec("COMMIT", "opening the store"));
  last_checkpoint_time_ = options_.clock->Now();
  if (!options_.read_only) writer_ = std::thread([this] { WriterLoop(); });
  return absl::OkStatus();
}

absl::StatusOr<Snapshot> PgStore::Read() const {
  absl::Status last;
  // A pooled connection may be to a primary that is gone: drop it and take another.
  for (int attempt = 0; attempt < 3; ++attempt) {
    absl::StatusOr<PgConn> taken = pool_.Take();
    if (!taken.ok()) {
      if (absl::IsUnavailable(taken.status())) reachable_.store(false);
      return taken.status();
    }
    PgConn conn = *std::move(taken);
    conn.ClearFailed();
    last = conn.Exec("BEGIN ISOLATION LEVEL REPEATABLE READ, READ ONLY", "beginning a snapshot");
    if (last.ok()) return Snapshot(std::make_unique<PgSnapshot>(&pool_, std::move(conn)));
    if (absl::IsUnavailable(last)) reachable_.store(false);
    pool_.Return(std::move(conn));
    if (!absl::IsUnavailable(last)) break;
    pool_.DropIdle();
  }
  return last;
}

void PgStore::SetCheckpointSigner(std::shared_ptr<CheckpointSigner> signer) {
  std::lock_guard<std::mutex> cp_lock(checkpoint_mu_);
  const bool any = signer != nullptr;
  std::shared_ptr<CheckpointSigner> old;
  {
    std::lock_guard<std::mutex> lock(signer_mu_);
    old = std::exchange(signer_, std::move(signer));
    has_signer_.store(any);
  }
  { std::lock_guard<std::mutex> lock(mu_); }
  cv_.notify_one();
}

void PgStore::WriterLoop() {
  pthread_setname_np(pthread_self(), "masa-store-pg");
  std::unique_lock<std::mutex> lock(mu_);
  const auto checkpoint_tick = std::chrono::milliseconds(
      std::max<int64_t>(1, absl::ToInt64Milliseconds(options_.checkpoint_every)));
  while (true) {
    auto tick = has_signer_.load() ? checkpoint_tick : std::chrono::milliseconds(3600 * 1000);
    if (!reachable_.load()) tick = std::min<std::chrono::milliseconds>(tick, kProbeEvery);
    cv_.wait_for(lock, tick, [this] { return stop_ || !queue_.empty(); });
    if (queue_.empty()) {
      if (stop_) break;
      lock.unlock();
      if (!reachable_.load()) Probe();
      if (has_signer_.load()) (void)Checkpoint(/*force=*/false);
      lock.lock();
      continue;
    }
    std::vector<Pending> group = TakeGroup(queue_, options_.max_batches_per_txn);
    lock.unlock();
    CommitGroup(group);
    if (has_signer_.load()) (void)Checkpoint(/*force=*/false);
    lock.lock();
  }
}

void PgStore::Probe() {
  if (!conn_.ok()) {
    auto fresh = PgConn::Connect(options_.postgres);
    if (!fresh.ok()) return;
    conn_ = *std::move(fresh);
    kv_.Forget();
    known_gen_.reset();
  }
  if (conn_.Exec("SELECT 1", "probing the database").ok()) {
    reachable_.store(true);
    Log(LogLevel::kInfo, "the database answers again");
  }
}

void PgStore::CommitGroup(std::vector<Pending>& group) {
  const SteadyClock::time_point start = SteadyClock::now();
  SteadyClock::duration queue_wait{};
  for (const Pending& p : group) queue_wait += start - p.submitted;
  std::vector<absl::StatusOr<CommitResult>> results;
  recorder_.AddQueueWait(queue_wait);
  CommitRecorder::Times times;
  absl::Status status;
  for (int attempt = 0;; ++attempt) {
    bool committing = false;
    status = RunGroup(group, results, committing, times.sync);
    if (status.ok()) break;
    kv_.Forget();
    known_gen_.reset();
    if (conn_.ok()) (void)conn_.Exec("ROLLBACK", "rolling back");
    if (committing && !conn_.ok()) {
      status = absl::UnavailableError(absl::StrCat(
          "the database connection was lost while committing; whether these writes were "
          "stored is unknown (",
          status.message(), ")"));
      break;
    }
    if (!absl::IsUnavailable(status) && !absl::IsAborted(status)) break;
    if (SteadyClock::now() - start >= kRetryFor) break;
    times.rerun = true;
    recorder_.AddRerun();
    std::this_thread::sleep_for(
        std::chrono::milliseconds(std::min(1000, 50 << std::min(attempt, 5))));
  }
  if (absl::IsUnavailable(status) && reachable_.exchange(false)) {
    Log(LogLevel::kWarning, absl::StrCat("the database is unreachable: ", status.message()));
  }
  if (status.ok()) {
    reachable_.store(true);
    recorder_.Record(group.size(), SteadyClock::now() - start, times);
    for (size_t i = 0; i < group.size(); ++i) group[i].done(std::move(results[i]));
  } else {
    for (Pending& p : group) p.done(status);
  }
}

absl::Status PgStore::RunGroup(std::vector<Pending>& group,
                               std::vector<absl::StatusOr<CommitResult>>& results, bool& committing,
                               SteadyClock::duration& sync) {
  results.clear();
  if (!conn_.ok()) {
    MASA_ASSIGN_OR_RETURN(PgConn fresh, PgConn::Connect(options_.postgres));
    conn_ = std::move(fresh);
  }
  conn_.ClearFailed();
  MASA_RETURN_IF_ERROR(conn_.Exec(BeginWrite(), "beginning a write transaction"));
  MASA_ASSIGN_OR_RETURN(uint64_t gen, ReadCommitGen(conn_));
  if (known_gen_ != gen || kv_.remembered() > kMaxRemembered) kv_.Forget();
  uint64_t appended_to = 0;
  for (Pending& p : group) {
    kv_.Savepoint();
    WriteState state{{&kv_}, options_.clock, {}, node_id_};
    WriteTxn w(&state);
    absl::Status st;
    for (const auto& op : p.batch.ops()) {
      st = op(w);
      if (!st.ok()) break;
    }
    // The server failed a statement: the transaction is over for every batch.
    if (conn_.failed() || !conn_.ok())
      return st.ok() ? absl::InternalError("statement failed") : st;
    if (st.ok()) {
      kv_.ReleaseSavepoint();
      if (!state.appended.empty()) appended_to = state.appended.back() + 1;
      results.push_back(CommitResult{std::move(state.appended)});
    } else {
      kv_.RollbackToSavepoint();
      results.push_back(st);
    }
  }
  MASA_RETURN_IF_ERROR(kv_.Put(kMeta, kCommitGenKey, BigEndian64(gen + 1)));
  const SteadyClock::time_point sync_start = SteadyClock::now();
  MASA_RETURN_IF_ERROR(kv_.Flush());
  committing = true;
  MASA_RETURN_IF_ERROR(conn_.Exec("COMMIT", "committing to the store"));
  sync += SteadyClock::now() - sync_start;
  kv_.Committed();
  known_gen_ = gen + 1;
  if (appended_to > audit_size_hint_.load()) audit_size_hint_.store(appended_to);
  return absl::OkStatus();
}

absl::Status PgStore::Checkpoint(bool force) {
  std::lock_guard<std::mutex> cp_lock(checkpoint_mu_);
  const absl::Time now = options_.clock->Now();
  const bool time_due = now - last_checkpoint_time_ >= options_.checkpoint_every;
  if (!force && !time_due &&
      audit_size_hint_.load() - last_checkpoint_size_ < options_.checkpoint_every_entries) {
    return absl::OkStatus();
  }
  const SteadyClock::time_point start = SteadyClock::now();
  if (!checkpoint_conn_.ok()) {
    MASA_ASSIGN_OR_RETURN(PgConn fresh, PgConn::Connect(options_.postgres));
    checkpoint_conn_ = std::move(fresh);
  }
  checkpoint_conn_.ClearFailed();
  absl::StatusOr<bool> written = CheckpointOnce(force);
  if (!written.ok() && checkpoint_conn_.ok()) {
    (void)checkpoint_conn_.Exec("ROLLBACK", "rolling back");
  }
  if (time_due) last_checkpoint_time_ = now;
  if (written.ok() && *written) recorder_.AddCheckpoint(SteadyClock::now() - start);
  return written.status();
}

absl::StatusOr<bool> PgStore::CheckpointOnce(bool force) {
  PgConn& conn = checkpoint_conn_;
  MASA_RETURN_IF_ERROR(conn.Exec(BeginWrite(), "beginning a checkpoint"));
  // The lease: this node signs while it holds it; another takes it over once it expires.
  const int64_t lease_seconds =
      std::max<int64_t>(1, 2 * absl::ToInt64Seconds(options_.checkpoint_every));
  MASA_ASSIGN_OR_RETURN(
      PgResult lease,
      conn.Query(
          absl::StrCat("INSERT INTO masa_lease (name, holder, expires) VALUES ('checkpoint', $1, "
                       "now() + interval '",
                       lease_seconds,
                       " seconds') ON CONFLICT (name) DO UPDATE SET holder = EXCLUDED.holder, "
                       "expires = EXCLUDED.expires WHERE masa_lease.holder = EXCLUDED.holder OR "
                       "masa_lease.expires < now() RETURNING holder"),
          {{node_id_}}, "taking the checkpoint lease"));
  if (PQntuples(lease.get()) == 0) {
    MASA_RETURN_IF_ERROR(conn.Exec("ROLLBACK", "leaving the checkpoint to another node"));
    return false;
  }
  PgKv kv(&conn, /*writable=*/true);
  MASA_ASSIGN_OR_RETURN(CheckpointOutcome outcome,
                        CheckpointIn(kv,
                                     {.force = force,
                                      .every_entries = options_.checkpoint_every_entries,
                                      .time_due = true,
                                      .origin = options_.checkpoint_origin},
                                     [this] { return Signer(); }));
  last_checkpoint_size_ = outcome.last_size;
  if (outcome.log_size > audit_size_hint_.load()) audit_size_hint_.store(outcome.log_size);
  if (outcome.written) {
    MASA_ASSIGN_OR_RETURN(uint64_t gen, ReadCommitGen(conn));
    MASA_RETURN_IF_ERROR(kv.Put(kMeta, kCommitGenKey, BigEndian64(gen + 1)));
    MASA_RETURN_IF_ERROR(kv.Flush());
  }
  MASA_RETURN_IF_ERROR(conn.Exec("COMMIT", "committing a checkpoint"));
  return outcome.written;
}

}  // namespace

absl::StatusOr<std::unique_ptr<Store>> OpenPgStore(const StoreOptions& options) {
  if (options.clock == nullptr) return absl::InvalidArgumentError("no clock given");
  MASA_RETURN_IF_ERROR(CheckConnInfo(options.postgres));
  auto store = std::make_unique<PgStore>(options);
  MASA_RETURN_IF_ERROR(store->Init());
  return std::unique_ptr<Store>(std::move(store));
}

}  // namespace masa::store::internal
