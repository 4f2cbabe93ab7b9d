// The appliance's embedded store: typed tables and the audit log in one LMDB environment
// (DIR/store/data.mdb), written by one group-commit writer thread, read through snapshots.
//
//   StoreOptions options;
//   options.state_dir = "/var/lib/masa";
//   MASA_ASSIGN_OR_RETURN(auto store, Store::Open(options));
//   WriteBatch batch;
//   batch.Put(voucher).Audit({.actor = "p-1", .action = "voucher.issue", .target = voucher.id,
//                             .outcome = "ok", .object_hash = Sha256(voucher.cms)});
//   MASA_ASSIGN_OR_RETURN(CommitResult done, store->Write(std::move(batch)));  // durable
//   MASA_ASSIGN_OR_RETURN(Snapshot snap, store->Read());
//   MASA_ASSIGN_OR_RETURN(std::vector<Voucher> v, snap.VouchersBySerial(ien, serial));
#pragma once

#include <array>
#include <cstdint>
#include <functional>
#include <future>
#include <limits>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "common/time.h"
#include "store/audit.h"
#include "store/checkpoint.h"
#include "store/records.h"

namespace masa::store {

// Handles only store/ can make (store/internal/txn.h): lmdb.h and the resize lock stay
// private to store/.
namespace internal {
struct TxnView;
struct SnapshotState;
struct WriteState;
struct ReaderAccess;
}  // namespace internal

// The schema version this build writes; older stores are migrated at open.
inline constexpr uint64_t kSchemaVersion = 9;

// The default max_map_size: 1 TiB of address space on a 64-bit system, 1 GiB on a 32-bit
// one. A ThreadSanitizer build (tests only) has about 1.5 TiB of application address space
// for everything, in which 1 TiB does not fit: 64 GiB there.
#if defined(__has_feature)
#if __has_feature(thread_sanitizer)
#define MASA_STORE_SMALL_ADDRESS_SPACE 1
#endif
#endif
#ifdef MASA_STORE_SMALL_ADDRESS_SPACE
inline constexpr size_t kDefaultMaxMapSize = size_t{64} << 30;
#else
inline constexpr size_t kDefaultMaxMapSize =
    sizeof(size_t) >= 8 ? size_t{1} << 40 : size_t{1} << 30;
#endif

struct StoreOptions {
  // The state folder. The LMDB environment lives in state_dir/store/ (created 0700 when
  // absent and not read_only). Both folders must belong to the current user and not be
  // group- or world-writable.
  std::string state_dir;
  // Open without a writer (masactl): Write/Submit fail with kFailedPrecondition. Works while
  // another process writes.
  bool read_only = false;
  // The LMDB map: address space reserved for the data file, not memory and not disk (the
  // file grows only as data is written; without MDB_WRITEMAP it is never extended to the
  // map's size). The map is set once, at max_map_size, for the life of the Store, as LMDB
  // advises: growing it needs every transaction of the process out of the way (see
  // Snapshot), which stalls the commits waiting behind it. When the system refuses that
  // much address space (ulimit -v), the map starts at the largest size it grants (halving
  // down to 64 MiB) and doubles when full, up to max_map_size; beyond that a write fails
  // with kResourceExhausted. initial_map_size other than 0 starts a new store's map there
  // instead (tests of growth); an existing store opened so keeps the size recorded in it.
  size_t initial_map_size = 0;
  size_t max_map_size = kDefaultMaxMapSize;
  // Audit entry times come from here; never null.
  const Clock* clock = &SystemClock();
  // Signs checkpoints; not owned, must outlive the Store (or, once replaced by
  // Store::SetCheckpointSigner, that call's return). Null: no checkpoints are written until
  // a signer is set.
  CheckpointSigner* checkpoint_signer = nullptr;
  std::string checkpoint_origin = "masa/audit";
  // A checkpoint is written once this many entries were added since the last one, or when
  // this much time passed and the log grew. Checked after each commit and on a timer.
  uint64_t checkpoint_every_entries = 1000;
  absl::Duration checkpoint_every = absl::Minutes(5);
  // At most this many batches go into one LMDB transaction.
  size_t max_batches_per_txn = 4096;
  // A commit starts at least this long after the previous one started; batches submitted
  // meanwhile wait and join it. Every commit rewrites the B-tree path to each page it
  // touches in about ten tables, so under load a few large commits write far fewer pages
  // per record than many small ones. An idle store commits at once: the wait applies only
  // when commits follow each other closely.
  absl::Duration min_commit_interval = absl::ZeroDuration();

  // The PostgreSQL backend (pg_store.h), for several nodes on one store: a libpq connection
  // string or URI, e.g. "host=db1,db2 dbname=masa user=masa target_session_attrs=read-write"
  // (the password comes from ~/.pgpass or PGPASSFILE, never from here). Empty: the LMDB
  // store in state_dir. The map options above do not apply to it.
  std::string postgres;
  // This node's name, in every audit entry it writes and in the checkpoint lease. Empty:
  // none in LMDB entries; the host name and process id on PostgreSQL.
  std::string node_id;
  // Read connections a PostgreSQL store keeps open at most (one per open Snapshot).
  size_t postgres_read_connections = 16;
  // Create the PostgreSQL store's tables, or bring them to this build's version (masactl
  // store migrate). Without it a database whose tables are missing or older fails Open with
  // kFailedPrecondition saying to run that: nodes never change the schema under each other.
  bool postgres_migrate = false;
};

// What the group-commit writer measured since the Store was opened (see Store::Stats).
// Times are wall-clock on the writer thread (steady clock).
struct StoreStats {
  // Upper bounds of the commit-time histogram buckets, microseconds; the last bucket
  // (index kCommitBoundsMicros.size()) is +Inf.
  static constexpr std::array<uint64_t, 15> kCommitBoundsMicros = {
      100,   250,    500,    1000,   2500,    5000,    10000,  25000,
      50000, 100000, 250000, 500000, 1000000, 2500000, 5000000};

  uint64_t commits = 0;  // durable group commits (outer LMDB transactions)
  uint64_t batches = 0;  // batches (Submit calls) those commits applied or rolled back
  // Groups run a second time because a batch of theirs failed: the first run applies every
  // batch straight in the group's transaction, the second each in its own nested one.
  uint64_t group_reruns = 0;
  // One group commit: from taking the group off the queue to the end of the durable
  // mdb_txn_commit, map growths and retries included. Buckets are not cumulative.
  std::array<uint64_t, kCommitBoundsMicros.size() + 1> commit_buckets{};
  absl::Duration commit_time;  // the sum over commits
  // Inside the outer mdb_txn_commit: page writes and fdatasync.
  absl::Duration sync_time;
  // Over batches: from Submit to the start of their group's commit.
  absl::Duration queue_wait;
  uint64_t map_growths = 0;        // map resizes, this process's and adopted ones
  absl::Duration map_growth_time;  // including the wait for every transaction to end
  // Time transactions (snapshots, commits, checkpoints) waited at the resize gate.
  absl::Duration gate_wait;
  // Audit checkpoints written, and the time that took on the writer thread (signature and
  // durable commit).
  uint64_t checkpoints = 0;
  absl::Duration checkpoint_time;
};

// The key a Component is stored under.
std::string ComponentKey(std::string_view ien, std::string_view serial_number);

// Read operations over one LMDB transaction (a Snapshot, or the WriteTxn a batch runs in,
// which sees its own writes). Records decode with kDataLoss when their bytes are corrupt.
// Not thread-safe; a Snapshot may be moved to another thread.
class Reader {
 public:
  // T is one of the record types in records.h. kNotFound when absent.
  template <typename T>
  absl::StatusOr<T> Get(std::string_view key) const;
  // Up to `limit` records in key order starting at `start_key` (inclusive; empty = first).
  // Page with start_key = last key + '\0'.
  template <typename T>
  absl::StatusOr<std::vector<T>> List(std::string_view start_key = {},
                                      size_t limit = std::numeric_limits<size_t>::max()) const;

  // Secondary indexes.
  absl::StatusOr<std::vector<Voucher>> VouchersBySerial(std::string_view ien,
                                                        std::string_view serial_number) const;
  // The summaries of the same vouchers, made from their records. For the rare checks that
  // need them (another pin, a reassignment, an archive); the hot path reads the pin index.
  absl::StatusOr<std::vector<VoucherSummary>> VoucherSummariesBySerial(
      std::string_view ien, std::string_view serial_number) const;
  // The pins of a serial number within one organization: one entry per pinned-domain
  // certificate that an unarchived voucher of it has, however many vouchers that is.
  absl::StatusOr<std::vector<SerialPin>> PinsBySerial(std::string_view ien,
                                                      std::string_view serial_number,
                                                      std::string_view organization_id) const;
  // Vouchers of `organization_id` with from <= requested_at < to, oldest first.
  absl::StatusOr<std::vector<Voucher>> VouchersByOrganization(
      std::string_view organization_id, absl::Time from = absl::InfinitePast(),
      absl::Time to = absl::InfiniteFuture(),
      size_t limit = std::numeric_limits<size_t>::max()) const;
  absl::StatusOr<std::vector<Voucher>> VouchersByRequest(std::string_view request_id) const;

  // The audit log. Entries are numbered 0..AuditSize()-1.
  absl::StatusOr<uint64_t> AuditSize() const;
  // The stored bytes of entry `seq` (the Merkle leaf); kNotFound beyond the end.
  absl::StatusOr<std::string> AuditEntryBytes(uint64_t seq) const;
  absl::StatusOr<AuditEntry> GetAuditEntry(uint64_t seq) const;
  // Calls fn(key_seq, bytes) for every stored entry from `from` in key order, until it
  // returns false. Does not check the entries (see audit_verify.h).
  absl::Status ScanAudit(uint64_t from,
                         const std::function<bool(uint64_t, std::string_view)>& fn) const;
  // The stored hash of the perfect subtree at `level` covering leaves
  // [index << level, (index + 1) << level). kNotFound when not stored.
  absl::StatusOr<Hash> TreeNode(int level, uint64_t index) const;
  // Root hash of the first `tree_size` entries (tree_size <= AuditSize()); O(log n) reads.
  absl::StatusOr<Hash> RootHash(uint64_t tree_size) const;
  // RFC 9162 2.1.3.1 / 2.1.4.1 proofs from stored nodes; O(log n) reads.
  // kInvalidArgument for an index or size outside the log.
  absl::StatusOr<std::vector<Hash>> InclusionProof(uint64_t index, uint64_t tree_size) const;
  absl::StatusOr<std::vector<Hash>> ConsistencyProof(uint64_t old_size, uint64_t new_size) const;

  // Signed checkpoints (note text) by tree size.
  absl::StatusOr<std::optional<std::string>> LatestCheckpoint() const;
  absl::Status ScanCheckpoints(
      const std::function<bool(uint64_t tree_size, std::string_view note)>& fn) const;

  // The schema version recorded in the store.
  absl::StatusOr<uint64_t> SchemaVersion() const;

  // Reads through `txn`, which must outlive this Reader. Only store/ can make one.
  explicit Reader(const internal::TxnView* txn) : txn_(txn) {}

 protected:
  friend struct internal::ReaderAccess;
  const internal::TxnView* txn_;
};

// A consistent read-only view (an LMDB read transaction). Never blocks the writer; holds
// its version of the data alive while it exists, so keep it short. While any Snapshot is
// open the map cannot grow: a writer that needs to grow holds back new snapshots, waits
// for the open ones to end (up to a few seconds), then fails its group with kUnavailable.
//
// A Snapshot counts against the thread that opened it (Store::Read) until it ends,
// wherever it has been moved to meanwhile: while it is open, Store::Write on that thread
// is refused. A moved-from Snapshot holds nothing and counts for nothing. Handing a
// Snapshot to another thread is allowed, but the receiving thread must not wait for the
// writer while it holds it either. Move-only.
class Snapshot : public Reader {
 public:
  // Takes over an open read transaction (Store::Read makes these).
  explicit Snapshot(std::unique_ptr<internal::SnapshotState> state);
  Snapshot(Snapshot&& other) noexcept;
  Snapshot& operator=(Snapshot&&) = delete;
  ~Snapshot();

 private:
  std::unique_ptr<internal::SnapshotState> state_;
};

// The transaction one write batch runs in (the group's, or a nested transaction of it when
// the group runs again after a failing batch). Only the writer thread sees it, during the
// batch.
class WriteTxn : public Reader {
 public:
  // Inserts or replaces the record under its key, keeping the indexes up to date.
  // kInvalidArgument for an empty key or a key part containing a NUL byte.
  template <typename T>
  absl::Status Put(const T& record);
  // Like Put, but kAlreadyExists when a record with that key exists.
  template <typename T>
  absl::Status Insert(const T& record);
  // kNotFound when absent.
  template <typename T>
  absl::Status Delete(std::string_view key);
  // Appends an audit entry (sequence number, time and previous hash filled in), updates the
  // stored tree nodes, and returns the sequence number.
  absl::StatusOr<uint64_t> Append(const AuditEvent& event);

  // Writes through `state`, which must outlive this WriteTxn. Only store/ can make one.
  explicit WriteTxn(internal::WriteState* state);

 private:
  internal::WriteState* state_;
};

// What a committed batch produced.
struct CommitResult {
  std::vector<uint64_t> audit_seqs;  // the entries it appended, in order
};

// A list of operations applied atomically: all of them or none. Copyable.
class WriteBatch {
 public:
  using Op = std::function<absl::Status(WriteTxn&)>;

  template <typename T>
  WriteBatch& Put(T record) {
    ops_.push_back([r = std::move(record)](WriteTxn& txn) { return txn.Put(r); });
    return *this;
  }
  template <typename T>
  WriteBatch& Insert(T record) {
    ops_.push_back([r = std::move(record)](WriteTxn& txn) { return txn.Insert(r); });
    return *this;
  }
  template <typename T>
  WriteBatch& Delete(std::string key) {
    ops_.push_back([k = std::move(key)](WriteTxn& txn) { return txn.template Delete<T>(k); });
    return *this;
  }
  WriteBatch& Audit(AuditEvent event) {
    ops_.push_back([e = std::move(event)](WriteTxn& txn) { return txn.Append(e).status(); });
    return *this;
  }
  // Any read-check-write logic; a non-OK status rolls the whole batch back.
  WriteBatch& Do(Op op) {
    ops_.push_back(std::move(op));
    return *this;
  }

  bool empty() const { return ops_.empty(); }
  const std::vector<Op>& ops() const { return ops_; }

 private:
  std::vector<Op> ops_;
};

// Several processes may open one store at once (masad serving while masactl onboards a
// customer; `masactl audit` reading). LMDB lets one write transaction run at a time across
// them, and nothing a Store keeps in memory is trusted across its own transactions: the
// audit log's head (next sequence number, previous hash) and the Merkle nodes it extends
// are read inside each write transaction, the latest checkpoint is re-read before one is
// signed (two processes with the same signer never sign one tree size twice), and a map
// grown by another process is adopted (MDB_MAP_RESIZED) before the next transaction. A
// store whose schema is older than this build is migrated only by a process that opened
// it alone; otherwise Open fails with kFailedPrecondition saying so.
class Store {
 public:
  // Opens (creating when absent, unless read_only) the store in options.state_dir/store,
  // runs migrations, and starts the writer thread. Errors: kNotFound (no store, read_only),
  // kFailedPrecondition (folder owned by someone else or group/world-writable, not a MASA
  // store, schema newer than this build, or older while another process has it open),
  // kDataLoss (corrupt or not an LMDB file), kPermissionDenied.
  static absl::StatusOr<std::unique_ptr<Store>> Open(const StoreOptions& options);

  // Completes every batch already submitted, then stops the writer.
  virtual ~Store() = default;

  // Queues `batch`; `done` runs on the writer thread once the batch is durable (OK) or
  // failed. A failing batch never affects the other batches of its group: the group runs
  // again with each batch in a nested transaction, and the failing one is rolled back alone.
  // So a batch's ops may run more than once (after a failing batch, or after the map grew):
  // what they hand back through captured state must be assigned, never accumulated. When the group cannot commit at all (disk
  // full, map at max_map_size, I/O error) every batch in it gets that error and none is
  // applied. Thread-safe.
  virtual void Submit(WriteBatch batch, std::function<void(absl::StatusOr<CommitResult>)> done) = 0;
  std::future<absl::StatusOr<CommitResult>> Submit(WriteBatch batch);
  // Submits and waits. kFailedPrecondition, and nothing is submitted, while the calling
  // thread has a Snapshot open (see Snapshot): the writer may have to wait for every
  // snapshot to end before it can grow the map, so waiting for it with one open stalls
  // every write in flight. Read, decide and write inside the batch (WriteBatch::Do), or end
  // the snapshot first. (Waiting on the future of Submit with a snapshot open is the same
  // mistake, and is not caught.)
  absl::StatusOr<CommitResult> Write(WriteBatch batch);

  // A consistent read-only snapshot. Thread-safe.
  virtual absl::StatusOr<Snapshot> Read() const = 0;

  // Signs and stores a checkpoint of the current tree now, if the log grew since the last
  // one. kFailedPrecondition without a signer. Thread-safe.
  virtual absl::Status WriteCheckpoint() = 0;

  // Audit-key rotation: checkpoints from now on are signed by `signer` (null: none are
  // written). Safe while the writer and the checkpoint timer run: a checkpoint being signed
  // at that moment finishes with the old signer first, and once this returns the old one is
  // never called again and the Store drops its reference (shared ownership: the caller may
  // keep its own). Every checkpoint names its key in the signed note (key name, and a key ID
  // derived from the public key: a rotated key has another key ID, so a verifier holding
  // several audit public keys tells which one signed each checkpoint). Checkpoints already
  // written are never re-signed; the next one, whenever it is due, covers the whole tree.
  // Thread-safe.
  virtual void SetCheckpointSigner(std::shared_ptr<CheckpointSigner> signer) = 0;

  // Writes a compact, consistent copy of the environment (one data.mdb file) to `path`
  // atomically (temporary file, fsync, rename). Works while writers run. Thread-safe.
  virtual absl::Status Backup(const std::string& path) const = 0;

  // The current LMDB map size in bytes (0 on PostgreSQL).
  virtual size_t MapSize() const = 0;

  // False while the store cannot reach its database: on PostgreSQL, since a write or a
  // snapshot lost its connection and until the writer, trying every second, connects again
  // (to the promoted standby, say). Always true on LMDB. For /readyz. Thread-safe.
  virtual bool Reachable() const { return true; }
  // "lmdb" or "postgres", and this node's name (StoreOptions::node_id, or DefaultNodeId()),
  // for /metrics.
  virtual std::string_view Backend() const = 0;
  virtual std::string NodeId() const = 0;

  // The number of LMDB write transactions committed by this Store (for benchmarks).
  virtual uint64_t CommitCount() const = 0;

  // The writer's counters (for /metrics and benchmarks). Cheap: atomics, no lock.
  // Thread-safe; a reader sees each figure consistently, not the set as a whole.
  virtual StoreStats Stats() const = 0;
  // The slowest group commit since the last call (zero when none), and starts over: what
  // a scrape reports as the slowest commit since the previous scrape. Thread-safe.
  virtual absl::Duration TakeSlowestCommit() = 0;
};

// The host name and process id ("masa-1:4242"): a node's name when none is configured.
std::string DefaultNodeId();

// Returns the path of the LMDB folder for a state folder.
std::string StoreDir(const std::string& state_dir);

}  // namespace masa::store
