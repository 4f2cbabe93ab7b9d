#include "bench/internal/prefill.h"

#include <sys/stat.h>

#include <cstdio>
#include <deque>
#include <future>
#include <memory>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/time/clock.h"
#include "bench/internal/load_client.h"
#include "common/sha256.h"
#include "common/status.h"
#include "common/uuid.h"
#include "store/records.h"
#include "store/store.h"

namespace masa::bench {
namespace {

struct Template {
  store::Voucher voucher;
  store::VoucherRequest request;
  store::Component component;
  std::string cms_hash;
};

absl::StatusOr<Template> ReadTemplate(const store::Store& s) {
  MASA_ASSIGN_OR_RETURN(store::Snapshot snap, s.Read());
  MASA_ASSIGN_OR_RETURN(std::vector<store::Voucher> first, snap.List<store::Voucher>("", 1));
  if (first.empty()) {
    return absl::FailedPreconditionError("the store holds no voucher to copy from yet");
  }
  Template t;
  t.voucher = std::move(first.front());
  MASA_ASSIGN_OR_RETURN(t.request, snap.Get<store::VoucherRequest>(t.voucher.request_id));
  MASA_ASSIGN_OR_RETURN(t.component, snap.Get<store::Component>(store::ComponentKey(
                                         t.voucher.ien, t.voucher.serial_number)));
  t.cms_hash = Sha256(t.voucher.cms);
  return t;
}

// One request of `count` vouchers for serials PF-<first>...: what masad's voucher_requests.cc
// writes for a request (a voucher and a "voucher.issue" entry per serial, the request record
// and its "request.create" entry), plus the serials' components (masactl's assignment).
store::WriteBatch::Op RequestOp(std::shared_ptr<const Template> t, uint64_t first, int count) {
  return [t, first, count](store::WriteTxn& txn) -> absl::Status {
    const absl::Time now = absl::Now();
    store::VoucherRequest req = t->request;
    req.id = NewUuidV7(now);
    req.requested_at = now;
    req.serial_numbers.clear();
    req.failed_serials.clear();
    req.failure_codes.clear();
    req.failure_reasons.clear();
    req.status = "completed";
    const std::string& org = t->voucher.organization_id;
    char sn[32];
    for (int i = 0; i < count; ++i) {
      std::snprintf(sn, sizeof(sn), "PF-%09llu", static_cast<unsigned long long>(first + i));
      store::Component c = t->component;
      c.serial_number = sn;
      MASA_RETURN_IF_ERROR(txn.Put(c));
      store::Voucher v = t->voucher;
      v.id = NewUuidV7(now);
      v.request_id = req.id;
      v.serial_number = sn;
      v.requested_at = now;
      v.created_at = now;
      MASA_ASSIGN_OR_RETURN(uint64_t seq, txn.Append({.actor = req.requested_by,
                                                      .action = "voucher.issue",
                                                      .target = org + "/" + v.id,
                                                      .outcome = "ok",
                                                      .object_hash = t->cms_hash}));
      v.audit_seq = seq;
      MASA_RETURN_IF_ERROR(txn.Insert(v));
      req.serial_numbers.push_back(sn);
    }
    MASA_RETURN_IF_ERROR(txn.Insert(req));
    return txn
        .Append({.actor = req.requested_by,
                 .action = "request.create",
                 .target = org + "/" + req.id,
                 .outcome = "ok: " + std::to_string(count) + " issued, 0 failed",
                 .object_hash = ""})
        .status();
  };
}

}  // namespace

namespace {

uint64_t AllocatedBytes(const std::string& path) {
  struct stat st;
  return stat(path.c_str(), &st) == 0 ? static_cast<uint64_t>(st.st_blocks) * 512 : 0;
}

}  // namespace

absl::StatusOr<PrefillResult> Prefill(const PrefillOptions& o) {
  const std::string data_mdb = store::StoreDir(o.state_dir) + "/data.mdb";
  const uint64_t bytes_before = AllocatedBytes(data_mdb);
  store::StoreOptions so;
  so.state_dir = o.state_dir;
  so.max_map_size = size_t{1} << 40;  // address space only; the file grows with the data
  MASA_ASSIGN_OR_RETURN(std::unique_ptr<store::Store> s, store::Store::Open(so));
  MASA_ASSIGN_OR_RETURN(Template t, ReadTemplate(*s));
  auto shared = std::make_shared<const Template>(std::move(t));
  const int64_t start = NowNs();
  std::deque<std::future<absl::StatusOr<store::CommitResult>>> pending;
  uint64_t written = 0, acknowledged = 0, next_report = 0;
  std::deque<uint64_t> sizes;
  auto settle = [&]() -> absl::Status {
    absl::StatusOr<store::CommitResult> r = pending.front().get();
    pending.pop_front();
    acknowledged += sizes.front();
    sizes.pop_front();
    if (!r.ok()) return r.status();
    if (o.progress && acknowledged >= next_report) {
      o.progress(acknowledged);
      next_report = acknowledged + 500000;
    }
    return absl::OkStatus();
  };
  while (written < o.vouchers) {
    store::WriteBatch batch;
    uint64_t in_batch = 0;
    for (int r = 0; r < o.requests_per_batch && written + in_batch < o.vouchers; ++r) {
      const int count = static_cast<int>(
          std::min<uint64_t>(o.vouchers_per_request, o.vouchers - written - in_batch));
      batch.Do(RequestOp(shared, written + in_batch, count));
      in_batch += count;
    }
    pending.push_back(s->Submit(std::move(batch)));
    sizes.push_back(in_batch);
    written += in_batch;
    while (pending.size() >= static_cast<size_t>(o.batches_in_flight)) {
      MASA_RETURN_IF_ERROR(settle());
    }
  }
  while (!pending.empty()) MASA_RETURN_IF_ERROR(settle());
  PrefillResult result;
  result.vouchers = acknowledged;
  result.seconds = (NowNs() - start) / 1e9;
  s.reset();  // closes the environment before its size is read
  result.data_bytes = AllocatedBytes(data_mdb);
  result.added_bytes = result.data_bytes > bytes_before ? result.data_bytes - bytes_before : 0;
  return result;
}

}  // namespace masa::bench
