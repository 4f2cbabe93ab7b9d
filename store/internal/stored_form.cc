// Pieces of a voucher's CMS stored once: its certificate set and its pinned-domain-cert.
//
// Every voucher signed with one key carries the same certificate chain (about 1 KB), and
// every voucher of one customer's pin the same pinned-domain-cert (0.6 KB of base64 for a
// P-256 certificate, 1.6 KB for RSA 2048). Stored inline they take most of the record: a
// 1.5 KB record of a P-256 pin leaves two on a 4 KB leaf page, with a quarter of it empty.
// Cut out and kept once under their hash, four records share a page, and each commit writes
// half the voucher pages. Reads put the bytes back where they were, so the CMS handed out
// is byte for byte the one that was signed (and that the audit entry hashes). Where the
// set sits in the CMS is common/der.h's business, not the store's; the pinned-domain-cert
// is found as the voucher's JSON (RFC 8366) spells it.
#include "store/internal/stored_form.h"

#include "common/der.h"
#include "common/sha256.h"

namespace masa::store::internal {
namespace {

// What the JSON of an RFC 8366 voucher holds before the base64 of its pinned-domain-cert.
constexpr std::string_view kPdcMember = "\"pinned-domain-cert\":\"";
// Shorter texts are not worth a look-up on every read.
constexpr size_t kMinPdcText = 64;

// Where the pinned-domain-cert text sits in `cms` (before `end`), or nullopt.
std::optional<der::Span> FindPdcText(std::string_view cms, size_t end) {
  const std::string_view head = cms.substr(0, end);
  const size_t member = head.find(kPdcMember);
  if (member == std::string_view::npos) return std::nullopt;
  const size_t start = member + kPdcMember.size();
  const size_t close = head.find('"', start);
  if (close == std::string_view::npos || close - start < kMinPdcText) return std::nullopt;
  return der::Span{start, close - start};
}

// Keeps `piece` in `table` under its SHA-256 (unless it is there already) and returns the
// hash. `cache` holds the last piece and hash of this thread for the table: consecutive
// vouchers carry the same pieces, hashed once.
absl::StatusOr<std::string> KeepOnce(Kv& kv, Db table, std::string_view piece,
                                     std::pair<std::string, std::string>& cache) {
  if (piece != cache.first) {
    cache.first.assign(piece);
    cache.second = Sha256(piece);
  }
  auto existing = kv.Get(table, cache.second);
  if (absl::IsNotFound(existing.status())) {
    MASA_RETURN_IF_ERROR(kv.Put(table, cache.second, piece));
  } else if (!existing.ok()) {
    return existing.status();
  }
  return cache.second;
}

// Inserts the piece kept in `table` under `sha256` into `cms` at `offset`, and clears both.
// kDataLoss, naming the voucher's `key` and `what`, when it is missing or does not match.
absl::Status PutBack(Kv& kv, Db table, std::string_view key, std::string_view what,
                     std::string& sha256, uint64_t& offset, std::string& cms) {
  if (sha256.empty()) return absl::OkStatus();
  auto lost = [&](std::string_view why) {
    return absl::DataLossError(absl::StrCat("Voucher record ", absl::CEscape(Sv(key)), ": its CMS ",
                                            Sv(what), " ", Sv(why)));
  };
  auto piece = kv.Get(table, sha256);
  if (absl::IsNotFound(piece.status())) return lost("is missing");
  if (!piece.ok()) return piece.status();
  if (Sha256(*piece) != sha256) return lost("does not match its hash");
  if (offset > cms.size()) return lost("offset is past the end");
  cms.insert(offset, piece->data(), piece->size());
  sha256.clear();
  offset = 0;
  return absl::OkStatus();
}

}  // namespace

template <>
absl::StatusOr<std::string> EncodeStored(Kv& kv, const Voucher& v) {
  // Not a SignedData with certificates: stored whole.
  absl::StatusOr<der::Span> where = der::FindCmsCertificateSet(v.cms);
  if (!where.ok()) return Encode(v);
  thread_local std::pair<std::string, std::string> last_set, last_pdc;
  Voucher stored = v;
  MASA_ASSIGN_OR_RETURN(stored.cms_certificates_sha256,
                        KeepOnce(kv, kCmsCertificates,
                                 std::string_view(v.cms).substr(where->offset, where->size),
                                 last_set));
  stored.cms_certificates_offset = where->offset;
  stored.cms.erase(where->offset, where->size);
  // The encapsulated content, and so the voucher's JSON, comes before the certificates.
  if (std::optional<der::Span> pdc = FindPdcText(stored.cms, where->offset)) {
    MASA_ASSIGN_OR_RETURN(stored.cms_pdc_sha256,
                          KeepOnce(kv, kCmsPdcs,
                                   std::string_view(stored.cms).substr(pdc->offset, pdc->size),
                                   last_pdc));
    stored.cms_pdc_offset = pdc->offset;
    stored.cms.erase(pdc->offset, pdc->size);
  }
  return Encode(stored);
}

template <>
absl::StatusOr<Voucher> DecodeStored(Kv& kv, std::string_view bytes, std::string_view key) {
  MASA_ASSIGN_OR_RETURN(Voucher v, DecodeRecord<Voucher>(bytes, key));
  // Back in the reverse order of the cuts.
  MASA_RETURN_IF_ERROR(
      PutBack(kv, kCmsPdcs, key, "pinned-domain-cert", v.cms_pdc_sha256, v.cms_pdc_offset, v.cms));
  MASA_RETURN_IF_ERROR(PutBack(kv, kCmsCertificates, key, "certificate set",
                               v.cms_certificates_sha256, v.cms_certificates_offset, v.cms));
  return v;
}

}  // namespace masa::store::internal
