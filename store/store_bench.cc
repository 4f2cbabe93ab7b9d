// Store benchmarks: durable commit throughput at 1, 16 and 256 writes per transaction, and
// audit proofs / full verification over a million entries.
//   build-store/store/store_bench --benchmark_counters_tabular=true
#include <benchmark/benchmark.h>

#include <future>
#include <memory>

#include "absl/strings/str_cat.h"
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
