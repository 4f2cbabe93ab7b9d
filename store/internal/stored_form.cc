// CMS certificate sets, stored once.
//
// Every voucher signed with one key carries the same certificate chain (about 1 KB of a
// 2.3 KB voucher). Stored inline it pushes each voucher record over LMDB's node limit onto
// a page of its own; cut out and kept once under its hash, records share leaf pages and
// each commit writes about a third fewer pages. Reads put the bytes back where they were,
// so the CMS handed out is byte for byte the one that was signed (and that the audit entry
// hashes). Where the set sits in the CMS is common/der.h's business, not the store's.
#include "store/internal/stored_form.h"

#include "common/der.h"
#include "common/sha256.h"

namespace masa::store::internal {

template <>
absl::StatusOr<std::string> EncodeStored(MDB_txn* txn, const Dbs& dbs, const Voucher& v) {
  // Not a SignedData with certificates: stored whole.
  absl::StatusOr<der::Span> where = der::FindCmsCertificateSet(v.cms);
  if (!where.ok()) return Encode(v);
  const std::string_view set = std::string_view(v.cms).substr(where->offset, where->size);
  // Consecutive vouchers carry the same set: hash it once per thread and set.
  thread_local std::string last_set, last_hash;
  if (set != last_set) {
    last_set.assign(set);
    last_hash = Sha256(set);
  }
  auto existing = Get(txn, dbs[kCmsCertificates], last_hash);
  if (absl::IsNotFound(existing.status())) {
    MASA_RETURN_IF_ERROR(Put(txn, dbs[kCmsCertificates], last_hash, set));
  } else if (!existing.ok()) {
    return existing.status();
  }
  Voucher stored = v;
  stored.cms.erase(where->offset, where->size);
  stored.cms_certificates_sha256 = last_hash;
  stored.cms_certificates_offset = where->offset;
  return Encode(stored);
}

template <>
absl::StatusOr<Voucher> DecodeStored(MDB_txn* txn, const Dbs& dbs, std::string_view bytes,
                                     std::string_view key) {
  MASA_ASSIGN_OR_RETURN(Voucher v, DecodeRecord<Voucher>(bytes, key));
  if (v.cms_certificates_sha256.empty()) return v;
  auto lost = [&](std::string_view why) {
    return absl::DataLossError(absl::StrCat("Voucher record ", absl::CEscape(Sv(key)),
                                            ": its CMS certificate set ", Sv(why)));
  };
  auto set = Get(txn, dbs[kCmsCertificates], v.cms_certificates_sha256);
  if (absl::IsNotFound(set.status())) return lost("is missing");
  if (!set.ok()) return set.status();
  if (Sha256(*set) != v.cms_certificates_sha256) return lost("does not match its hash");
  if (v.cms_certificates_offset > v.cms.size()) return lost("offset is past the end");
  v.cms.insert(v.cms_certificates_offset, set->data(), set->size());
  v.cms_certificates_sha256.clear();
  v.cms_certificates_offset = 0;
  return v;
}

}  // namespace masa::store::internal
