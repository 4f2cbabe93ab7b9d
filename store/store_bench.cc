// Store benchmarks: durable commit throughput at 1, 16 and 256 writes per transaction,
// disk bytes and writer CPU per voucher under a masad-like load, and audit proofs / full
// verification over a million entries.
//   build/store/store_bench --benchmark_counters_tabular=true
//   build/store/store_bench --benchmark_filter=MasadLike   (TMPDIR must be on a real disk)
#include <benchmark/benchmark.h>
#include <dirent.h>
#include <lmdb.h>

#include <cstdio>
#include <fstream>
#include <future>
#include <memory>
#include <random>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "common/sha256.h"
#include "common/uuid.h"
#include "store/audit_verify.h"
#include "store/internal/test_util.h"
#include "store/store.h"

namespace masa::store {
namespace {

Voucher MakeVoucher(uint64_t i) {
  Voucher v;
  v.id = absl::StrCat("v-", i);
  v.request_id = absl::StrCat("req-", i / 20);
  v.organization_id = "org-bench";
  v.ien = "32473";
  v.serial_number = absl::StrCat("SN", i);
  v.requested_at = absl::FromUnixSeconds(1700000000 + static_cast<int64_t>(i));
  v.cms = std::string(1500, 'c');  // about the size of a signed voucher
  return v;
}

// One durable transaction per iteration holding `writes` vouchers and their audit entries
// (a single submitter, so every batch is its own group commit).
void BM_DurableCommit(benchmark::State& state) {
  testing::TempDir dir;
  StoreOptions o;
  o.state_dir = dir.path();
  auto store = Store::Open(o);
  if (!store.ok()) state.SkipWithError(std::string(store.status().message()).c_str());
  const int writes = static_cast<int>(state.range(0));
  uint64_t next = 0;
  for (auto _ : state) {
    WriteBatch batch;
    for (int i = 0; i < writes; ++i) {
      Voucher v = MakeVoucher(next++);
      batch.Put(v).Audit({"bench", "voucher.issue", v.id, "ok", Sha256(v.cms)});
    }
    auto r = (*store)->Write(std::move(batch));
    if (!r.ok()) state.SkipWithError(std::string(r.status().message()).c_str());
  }
  state.counters["records/s"] =
      benchmark::Counter(static_cast<double>(next), benchmark::Counter::kIsRate);
  state.counters["commits/s"] =
      benchmark::Counter(static_cast<double>(state.iterations()), benchmark::Counter::kIsRate);
}
BENCHMARK(BM_DurableCommit)->Arg(1)->Arg(16)->Arg(256)->UseRealTime();

// Many concurrent one-voucher submitters: what group commit packs into one transaction.
void BM_GroupCommit(benchmark::State& state) {
  testing::TempDir dir;
  StoreOptions o;
  o.state_dir = dir.path();
  auto store = Store::Open(o);
  const int inflight = static_cast<int>(state.range(0));
  uint64_t next = 0;
  for (auto _ : state) {
    std::vector<std::future<absl::StatusOr<CommitResult>>> futures;
    for (int i = 0; i < inflight; ++i) {
      Voucher v = MakeVoucher(next++);
      futures.push_back((*store)->Submit(
          WriteBatch().Put(v).Audit({"bench", "voucher.issue", v.id, "ok", Sha256(v.cms)})));
    }
    for (auto& f : futures) {
      if (!f.get().ok()) state.SkipWithError("write failed");
    }
  }
  state.counters["records/s"] =
      benchmark::Counter(static_cast<double>(next), benchmark::Counter::kIsRate);
  state.counters["commits/s"] =
      benchmark::Counter(static_cast<double>((*store)->CommitCount()), benchmark::Counter::kIsRate);
}
BENCHMARK(BM_GroupCommit)->Arg(16)->Arg(256)->UseRealTime();

// --- Disk bytes per voucher under a masad-like load ---------------------------------------

// This process's write_bytes (bytes it caused to be written to storage) and wchar (bytes
// handed to write/pwrite) from /proc/self/io.
struct ProcIo {
  uint64_t write_bytes = 0;
  uint64_t wchar = 0;
};
ProcIo ReadProcIo() {
  ProcIo io;
  std::ifstream in("/proc/self/io");
  std::string name;
  uint64_t value = 0;
  while (in >> name >> value) {
    if (name == "write_bytes:") io.write_bytes = value;
    if (name == "wchar:") io.wchar = value;
  }
  return io;
}

// CPU nanoseconds the store's writer thread ("masa-store") ran, from schedstat.
uint64_t WriterCpuNanos() {
  uint64_t total = 0;
  DIR* dir = opendir("/proc/self/task");
  if (dir == nullptr) return 0;
  while (dirent* e = readdir(dir)) {
    if (e->d_name[0] == '.') continue;
    std::string base = absl::StrCat("/proc/self/task/", e->d_name);
    std::string comm;
    std::ifstream(base + "/comm") >> comm;
    if (comm != "masa-store") continue;
    uint64_t ns = 0;
    std::ifstream(base + "/schedstat") >> ns;
    total += ns;
  }
  closedir(dir);
  return total;
}

// A byte string of `n` pseudo-random bytes (signatures and hashes do not compress).
std::string RandomBytes(std::mt19937_64& rng, size_t n) {
  std::string s(n, '\0');
  for (auto& c : s) c = static_cast<char>(rng());
  return s;
}

std::string Tlv(unsigned char tag, const std::string& content) {
  std::string out(1, static_cast<char>(tag));
  size_t n = content.size();
  if (n < 128) {
    out += static_cast<char>(n);
  } else {
    out += static_cast<char>(0x82);
    out += static_cast<char>(n >> 8);
    out += static_cast<char>(n & 0xff);
  }
  return out + content;
}

// What masad writes for one voucher request (service/voucher_requests.cc): per serial a
// voucher (UUIDv7 id, its CMS a SignedData with the shared certificate chain) and its
// voucher.issue audit entry, then the signing key's usage count, the request record and
// its request.create audit entry. Serial numbers are drawn from a pool, as a fleet's are.
struct MasadLikeLoad {
  static constexpr int kVouchersPerRequest = 20;
  std::mt19937_64 rng{42};
  int serial_pool;
  std::string org = NewUuidV7(absl::Now());
  std::string principal = NewUuidV7(absl::Now());
  std::string pdc_id = NewUuidV7(absl::Now());
  std::string pdc_sha256 = Sha256("pdc");
  std::string chain;  // the CMS certificate set: signing certificate and CA, ~1 KB
  KeyRecord key;

  explicit MasadLikeLoad(int pool) : serial_pool(pool) {
    std::string leaf = Tlv(0x30, RandomBytes(rng, 520));
    std::string ca = Tlv(0x30, RandomBytes(rng, 480));
    chain = leaf + ca;
    key.id = NewUuidV7(absl::Now());
    key.uri = "pkcs11:token=masa;object=voucher-signing-1;type=private";
    key.purpose = "voucher-signing";
    key.state = KeyState::kActive;
    key.certificate_der = leaf;
    key.algorithm = "p256";
    key.chain_der = {leaf, ca};
    key.public_key_der = RandomBytes(rng, 91);
    key.created_by = "masactl";
    key.label = "voucher-signing-1";
  }

  // A CMS SignedData shaped like a signed voucher of ~2.3 KB: JSON content with the
  // base64 pinned-domain-cert, the certificate set, one signer info.
  std::string Cms(const std::string& serial) {
    const std::string signed_data_oid("\x2a\x86\x48\x86\xf7\x0d\x01\x07\x02", 9);
    std::string content = absl::StrCat(
        R"({"ietf-voucher:voucher":{"created-on":"2026-11-29T22:00:00Z","expires-on":)",
        R"("2027-11-29T22:00:00Z","assertion":"verified","serial-number":")", serial,
        R"(","pinned-domain-cert":")", std::string(700, 'M'), R"("}})");
    std::string sd = Tlv(0x02, "\x03") + Tlv(0x31, "") +
                     Tlv(0x30, Tlv(0x06, "\x2a") + Tlv(0xa0, Tlv(0x04, content))) +
                     Tlv(0xa0, chain) + Tlv(0x31, Tlv(0x30, RandomBytes(rng, 180)));
    return Tlv(0x30, Tlv(0x06, signed_data_oid) + Tlv(0xa0, Tlv(0x30, sd)));
  }

  WriteBatch Request() {
    absl::Time now = absl::Now();
    auto req = std::make_shared<VoucherRequest>();
    req->id = NewUuidV7(now);
    req->organization_id = org;
    req->requested_by = principal;
    req->requested_at = now;
    req->ien = "32473";
    req->pdc_id = pdc_id;
    req->status = "completed";
    req->security_profile = "default";
    req->pdc_organization = "Acme Corp";
    auto vouchers = std::make_shared<std::vector<Voucher>>();
    for (int i = 0; i < kVouchersPerRequest; ++i) {
      Voucher v;
      v.id = NewUuidV7(now);
      v.request_id = req->id;
      v.organization_id = org;
      v.ien = req->ien;
      v.serial_number = absl::StrFormat("SN-%08d", static_cast<int>(rng() % serial_pool));
      v.status = "issued";
      v.assertion = "verified";
      v.signing_key_id = key.id;
      v.requested_at = now;
      v.created_at = now;
      v.expires_at = now + absl::Hours(24 * 365);
      v.cms = Cms(v.serial_number);
      v.requested_by = principal;
      v.requested_by_name = "bulk-loader";
      v.pdc_organization = req->pdc_organization;
      v.pdc_id = pdc_id;
      v.pdc_sha256 = pdc_sha256;
      v.content_type_oid = "1.2.840.113549.1.9.16.1.40";
      v.security_profile = "default";
      req->serial_numbers.push_back(v.serial_number);
      vouchers->push_back(std::move(v));
    }
    std::string key_id = key.id;
    std::string actor = principal;
    return WriteBatch().Do([req, vouchers, key_id, actor](WriteTxn& txn) -> absl::Status {
      for (Voucher& v : *vouchers) {
        auto seq = txn.Append({actor, "voucher.issue", absl::StrCat(v.organization_id, "/", v.id),
                               "ok", Sha256(v.cms)});
        if (!seq.ok()) return seq.status();
        v.audit_seq = *seq;
        if (absl::Status st = txn.Insert(v); !st.ok()) return st;
      }
      auto k = txn.Get<KeyRecord>(key_id);
      if (!k.ok()) return k.status();
      k->signatures += vouchers->size();
      k->last_used_at = absl::Now();
      if (absl::Status st = txn.Put(*k); !st.ok()) return st;
      if (absl::Status st = txn.Insert(*req); !st.ok()) return st;
      return txn
          .Append({actor, "request.create", absl::StrCat(req->organization_id, "/", req->id),
                   absl::StrCat("ok: ", vouchers->size(), " issued, 0 failed"), ""})
          .status();
    });
  }
};

// Page counts of every named database of the store in `state_dir`, printed to stderr.
void PrintPageStats(const std::string& state_dir, const char* when) {
  MDB_env* env = nullptr;
  if (mdb_env_create(&env) != 0) return;
  mdb_env_set_maxdbs(env, 64);
  mdb_env_set_mapsize(env, size_t{64} << 30);
  std::string dir = state_dir + "/store";
  if (mdb_env_open(env, dir.c_str(), MDB_RDONLY | MDB_NOTLS, 0600) != 0) {
    mdb_env_close(env);
    return;
  }
  MDB_txn* txn = nullptr;
  mdb_txn_begin(env, nullptr, MDB_RDONLY, &txn);
  MDB_dbi main_db;
  mdb_dbi_open(txn, nullptr, 0, &main_db);
  MDB_cursor* c = nullptr;
  mdb_cursor_open(txn, main_db, &c);
  MDB_val k, d;
  std::fprintf(stderr, "%s: %-22s %9s %7s %7s %8s %7s\n", when, "db", "entries", "branch", "leaf",
               "overflow", "B/entry");
  for (int rc = mdb_cursor_get(c, &k, &d, MDB_FIRST); rc == 0;
       rc = mdb_cursor_get(c, &k, &d, MDB_NEXT)) {
    std::string name(static_cast<char*>(k.mv_data), k.mv_size);
    MDB_dbi dbi;
    if (mdb_dbi_open(txn, name.c_str(), 0, &dbi) != 0) continue;
    MDB_stat st;
    mdb_stat(txn, dbi, &st);
    size_t pages = st.ms_branch_pages + st.ms_leaf_pages + st.ms_overflow_pages;
    std::fprintf(stderr, "%s: %-22s %9zu %7zu %7zu %8zu %7.0f\n", when, name.c_str(), st.ms_entries,
                 st.ms_branch_pages, st.ms_leaf_pages, st.ms_overflow_pages,
                 st.ms_entries ? pages * 4096.0 / st.ms_entries : 0.0);
  }
  mdb_cursor_close(c);
  mdb_txn_abort(txn);
  mdb_env_close(env);
}

// Disk bytes written and writer CPU per voucher: 20-voucher requests submitted
// range(0) at a time (what one group commit takes), serial numbers random within a pool of
// range(1), on a store prefilled with 30,000 vouchers. Set TMPDIR to a disk (not tmpfs);
// MASA_BENCH_PAGE_STATS=1 prints every table's pages before and after.
//   disk_B/voucher    /proc/self/io write_bytes: what load_bench reports for masad. The
//                     kernel counts it when a page-cache folio turns dirty, a whole folio
//                     at a time: with large folios (ext4 on Linux >= 6.x) one 4 KB page
//                     LMDB rewrites can count for up to 2 MB, so it can exceed pwrite_B.
//   pwrite_B/voucher  /proc/self/io wchar: the bytes LMDB handed to pwrite (whole pages).
void BM_MasadLikeDisk(benchmark::State& state) {
  testing::TempDir dir;
  StoreOptions o;
  o.state_dir = dir.path();
  auto store = Store::Open(o);
  if (!store.ok()) {
    state.SkipWithError(std::string(store.status().message()).c_str());
    return;
  }
  MasadLikeLoad load(static_cast<int>(state.range(1)));
  (void)(*store)->Write(WriteBatch().Put(load.key));
  for (int i = 0; i < 30000 / MasadLikeLoad::kVouchersPerRequest / 50; ++i) {
    std::vector<std::future<absl::StatusOr<CommitResult>>> prefill;
    for (int j = 0; j < 50; ++j) prefill.push_back((*store)->Submit(load.Request()));
    for (auto& f : prefill) (void)f.get();
  }
  if (getenv("MASA_BENCH_PAGE_STATS")) PrintPageStats(dir.path(), "before");
  const int group = static_cast<int>(state.range(0));
  const uint64_t commits_before = (*store)->CommitCount();
  const ProcIo io_before = ReadProcIo();
  const uint64_t cpu_before = WriterCpuNanos();
  uint64_t vouchers = 0;
  for (auto _ : state) {
    state.PauseTiming();
    std::vector<WriteBatch> batches;
    for (int i = 0; i < group; ++i) batches.push_back(load.Request());
    state.ResumeTiming();
    std::vector<std::future<absl::StatusOr<CommitResult>>> futures;
    for (auto& b : batches) futures.push_back((*store)->Submit(std::move(b)));
    for (auto& f : futures) {
      if (!f.get().ok()) state.SkipWithError("write failed");
    }
    vouchers += static_cast<uint64_t>(group) * MasadLikeLoad::kVouchersPerRequest;
  }
  const uint64_t cpu = WriterCpuNanos() - cpu_before;
  const ProcIo io_after = ReadProcIo();
  const double n = static_cast<double>(vouchers);
  state.counters["vouchers/s"] = benchmark::Counter(n, benchmark::Counter::kIsRate);
  state.counters["disk_B/voucher"] =
      static_cast<double>(io_after.write_bytes - io_before.write_bytes) / n;
  state.counters["pwrite_B/voucher"] = static_cast<double>(io_after.wchar - io_before.wchar) / n;
  state.counters["writer_cpu_us/voucher"] = static_cast<double>(cpu) / 1000.0 / n;
  state.counters["vouchers/commit"] =
      n / static_cast<double>((*store)->CommitCount() - commits_before);
  if (getenv("MASA_BENCH_PAGE_STATS")) {
    store->reset();
    PrintPageStats(dir.path(), "after");
  }
}
BENCHMARK(BM_MasadLikeDisk)
    ->Args({1, 20000})
    ->Iterations(300)
    ->UseRealTime()
    ->Unit(benchmark::kMillisecond);
BENCHMARK(BM_MasadLikeDisk)
    ->Args({4, 20000})
    ->Iterations(150)
    ->UseRealTime()
    ->Unit(benchmark::kMillisecond);
BENCHMARK(BM_MasadLikeDisk)
    ->Args({16, 20000})
    ->Iterations(40)
    ->UseRealTime()
    ->Unit(benchmark::kMillisecond);

// A store holding one million audit entries, built once.
struct MillionLog {
  testing::TempDir dir;
  std::unique_ptr<Store> store;
  static constexpr uint64_t kEntries = 1000000;

  MillionLog() {
    StoreOptions o;
    o.state_dir = dir.path();
    store = std::move(*Store::Open(o));
    for (uint64_t done = 0; done < kEntries;) {
      WriteBatch batch;
      for (int i = 0; i < 10000 && done < kEntries; ++i, ++done) {
        batch.Audit({"bench", "voucher.issue", absl::StrCat("v-", done), "ok", Sha256("x")});
      }
      (void)store->Write(std::move(batch));
    }
  }
};

MillionLog& Log() {
  static MillionLog* log = new MillionLog();
  return *log;
}

void BM_InclusionProof1M(benchmark::State& state) {
  auto snap = Log().store->Read();
  uint64_t n = MillionLog::kEntries;
  Hash root = *snap->RootHash(n);
  uint64_t i = 0;
  for (auto _ : state) {
    uint64_t index = (i++ * 7919) % n;
    auto proof = snap->InclusionProof(index, n);
    auto leaf = LeafHash(*snap->AuditEntryBytes(index));
    if (!VerifyInclusion(leaf, index, n, *proof, root).ok()) state.SkipWithError("bad proof");
  }
}
BENCHMARK(BM_InclusionProof1M);

void BM_ConsistencyProof1M(benchmark::State& state) {
  auto snap = Log().store->Read();
  uint64_t n = MillionLog::kEntries;
  Hash root = *snap->RootHash(n);
  uint64_t i = 1;
  for (auto _ : state) {
    uint64_t old_size = 1 + (i++ * 7919) % (n - 1);
    auto proof = snap->ConsistencyProof(old_size, n);
    Hash old_root = *snap->RootHash(old_size);
    if (!VerifyConsistency(old_size, n, old_root, root, *proof).ok()) {
      state.SkipWithError("bad proof");
    }
  }
}
BENCHMARK(BM_ConsistencyProof1M);

void BM_FullVerify1M(benchmark::State& state) {
  for (auto _ : state) {
    auto snap = Log().store->Read();
    auto report = VerifyAuditLog(*snap, nullptr);
    if (!report.ok()) state.SkipWithError(std::string(report.status().message()).c_str());
  }
  state.counters["entries/s"] = benchmark::Counter(
      static_cast<double>(MillionLog::kEntries * state.iterations()), benchmark::Counter::kIsRate);
}
BENCHMARK(BM_FullVerify1M)->Unit(benchmark::kMillisecond)->Iterations(1);

}  // namespace
}  // namespace masa::store

BENCHMARK_MAIN();
