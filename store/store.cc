#include "store/store.h"

#include <fcntl.h>
#include <pthread.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <deque>
#include <mutex>
#include <thread>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "common/file.h"
#include "common/log.h"
#include "common/status.h"
#include "store/internal/codec.h"
#include "store/internal/env_users.h"
#include "store/internal/lmdb.h"
#include "store/internal/migrations.h"
#include "store/internal/record_fields.h"
#include "store/internal/tables.h"

namespace masa::store {

using internal::BigEndian64;
using internal::Db;
using internal::Dbs;
using internal::ReadBigEndian64;
using internal::TableTraits;

std::string StoreDir(const std::string& state_dir) { return state_dir + "/store"; }

std::string ComponentKey(std::string_view ien, std::string_view serial_number) {
  return absl::StrCat(Sv(ien), std::string(1, '\0'), Sv(serial_number));
}

namespace {

constexpr char kFormat[] = "masa-store";
constexpr char kHeadKey[] = "audit_head";

std::string TreeKey(int level, uint64_t index) {
  std::string k(1, static_cast<char>(level));
  k += BigEndian64(index);
  return k;
}

std::string Sep() { return std::string(1, '\0'); }

std::string OrgTimeKey(const Voucher& v) {
  uint64_t biased = static_cast<uint64_t>(absl::ToUnixNanos(v.requested_at)) ^ (uint64_t{1} << 63);
  return absl::StrCat(v.organization_id, Sep(), BigEndian64(biased), v.id);
}
// The serial index key of a voucher is SerialPrefix(ien, serial) + its id.
std::string SerialPrefix(std::string_view ien, std::string_view serial) {
  return absl::StrCat(Sv(ien), Sep(), Sv(serial), Sep());
}
std::string SerialKey(const Voucher& v) { return SerialPrefix(v.ien, v.serial_number) + v.id; }
std::string RequestKey(const Voucher& v) { return absl::StrCat(v.request_id, Sep(), v.id); }
std::string PinPrefix(std::string_view ien, std::string_view serial, std::string_view org) {
  return absl::StrCat(Sv(ien), Sep(), Sv(serial), Sep(), Sv(org), Sep());
}
std::string PinKey(const Voucher& v) {
  return PinPrefix(v.ien, v.serial_number, v.organization_id) + v.pdc_sha256;
}

// The serial index value (schema 3).
std::string SummaryValue(const Voucher& v) {
  VoucherSummary s;
  s.organization_id = v.organization_id;
  s.status = v.status;
  s.expires_at = v.expires_at;
  s.archived_at = v.archived_at;
  s.pdc_sha256 = v.pdc_sha256;
  s.superseded_at = v.superseded_at;
  return internal::Encode(s);
}

absl::Status CheckKeyPart(std::string_view part, std::string_view what, bool allow_empty) {
  if (!allow_empty && part.empty()) {
    return absl::InvalidArgumentError(absl::StrCat(Sv(what), " must not be empty"));
  }
  if (part.find('\0') != std::string_view::npos) {
    return absl::InvalidArgumentError(absl::StrCat(Sv(what), " must not contain a NUL byte"));
  }
  return absl::OkStatus();
}

template <typename T>
absl::Status ValidateKey(const T& r) {
  return CheckKeyPart(TableTraits<T>::Key(r), absl::StrCat(TableTraits<T>::kName, " key"), false);
}
template <>
absl::Status ValidateKey(const Component& r) {
  MASA_RETURN_IF_ERROR(CheckKeyPart(r.ien, "component ien", false));
  return CheckKeyPart(r.serial_number, "component serial number", false);
}
template <>
absl::Status ValidateKey(const Voucher& r) {
  MASA_RETURN_IF_ERROR(CheckKeyPart(r.id, "voucher id", false));
  MASA_RETURN_IF_ERROR(CheckKeyPart(r.ien, "voucher ien", true));
  MASA_RETURN_IF_ERROR(CheckKeyPart(r.serial_number, "voucher serial number", true));
  MASA_RETURN_IF_ERROR(CheckKeyPart(r.organization_id, "voucher organization", true));
  return CheckKeyPart(r.request_id, "voucher request id", true);
}

template <typename T>
absl::StatusOr<T> DecodeRecord(std::string_view bytes, std::string_view key) {
  T record;
  absl::Status st = internal::Decode(bytes, &record);
  if (!st.ok()) {
    return absl::DataLossError(absl::StrCat(TableTraits<T>::kName, " record ",
                                            absl::CEscape(Sv(key)), ": ", st.message()));
  }
  return record;
}

struct Head {
  uint64_t size = 0;
  Hash last_hash = Hash(kHashSize, '\0');
};

absl::StatusOr<Head> ReadHead(MDB_txn* txn, const Dbs& dbs) {
  Head head;
  auto v = internal::Get(txn, dbs[internal::kMeta], kHeadKey);
  if (absl::IsNotFound(v.status())) return head;
  if (!v.ok()) return v.status();
  if (v->size() != 8 + kHashSize) return absl::DataLossError("audit head record is malformed");
  head.size = ReadBigEndian64(*v);
  head.last_hash = std::string(v->substr(8));
  return head;
}

absl::Status CheckFolder(const std::string& path) {
  struct stat st;
  if (stat(path.c_str(), &st) != 0) return FromErrno(errno, "cannot use", path);
  if (!S_ISDIR(st.st_mode)) {
    return absl::FailedPreconditionError(absl::StrCat(path, " is not a folder"));
  }
  if (st.st_uid != geteuid()) {
    return absl::FailedPreconditionError(
        absl::StrFormat("%s is owned by uid %d, not by this user (uid %d); the state folder "
                        "must belong to the user running the service",
                        path, st.st_uid, geteuid()));
  }
  if ((st.st_mode & (S_IWGRP | S_IWOTH)) != 0) {
    return absl::FailedPreconditionError(
        absl::StrFormat("%s is group- or world-writable (mode %04o); run chmod go-w on it",
                        path, st.st_mode & 07777));
  }
  return absl::OkStatus();
}

absl::Status CheckFile(const std::string& path) {
  struct stat st;
  if (stat(path.c_str(), &st) != 0) {
    if (errno == ENOENT) return absl::OkStatus();
    return FromErrno(errno, "cannot use", path);
  }
  if (!S_ISREG(st.st_mode)) {
    return absl::FailedPreconditionError(absl::StrCat(path, " is not a regular file"));
  }
  if (st.st_uid != geteuid() || (st.st_mode & (S_IWGRP | S_IWOTH)) != 0) {
    return absl::FailedPreconditionError(absl::StrFormat(
        "%s must belong to uid %d and not be group- or world-writable (owner %d, mode %04o)",
        path, geteuid(), st.st_uid, st.st_mode & 07777));
  }
  return absl::OkStatus();
}

// --- CMS certificate sets, stored once ---
//
// Every voucher signed with one key carries the same certificate chain (about 1 KB of a
// 2.3 KB voucher). Stored inline it pushes each voucher record over LMDB's node limit onto
// a page of its own; cut out and kept once under its hash, records share leaf pages and
// each commit writes about a third fewer pages. Reads put the bytes back where they were,
// so the CMS handed out is byte for byte the one that was signed (and that the audit entry
// hashes).

// One DER TLV header at `pos` within `der`: its tag, header size and content length.
// False when it is malformed or runs past the end.
bool ReadTlv(std::string_view der, size_t pos, uint8_t* tag, size_t* header, size_t* length) {
  if (pos + 2 > der.size()) return false;
  *tag = static_cast<uint8_t>(der[pos]);
  uint8_t first = static_cast<uint8_t>(der[pos + 1]);
  size_t h = 2;
  size_t len = first;
  if (first & 0x80) {
    size_t n = first & 0x7f;
    if (n == 0 || n > 4 || pos + 2 + n > der.size()) return false;
    len = 0;
    for (size_t i = 0; i < n; ++i) len = (len << 8) | static_cast<uint8_t>(der[pos + 2 + i]);
    h += n;
  }
  if (len > der.size() - pos - h) return false;
  *header = h;
  *length = len;
  return true;
}

// Where the certificates [0] field of a CMS ContentInfo holding SignedData (RFC 5652 5.1)
// sits: {offset, size} of its whole TLV. Nullopt when the CMS has none or is not shaped as
// expected; it is then stored whole.
std::optional<std::pair<size_t, size_t>> FindCertificateSet(std::string_view cms) {
  uint8_t tag;
  size_t h, len;
  // ContentInfo SEQUENCE { contentType OID, [0] EXPLICIT SignedData SEQUENCE { ... } }
  if (!ReadTlv(cms, 0, &tag, &h, &len) || tag != 0x30) return std::nullopt;
  size_t pos = h;
  if (!ReadTlv(cms, pos, &tag, &h, &len) || tag != 0x06) return std::nullopt;
  pos += h + len;
  if (!ReadTlv(cms, pos, &tag, &h, &len) || tag != 0xa0) return std::nullopt;
  pos += h;
  if (!ReadTlv(cms, pos, &tag, &h, &len) || tag != 0x30) return std::nullopt;
  pos += h;
  // version INTEGER, digestAlgorithms SET, encapContentInfo SEQUENCE, then certificates [0].
  for (uint8_t expected : {uint8_t{0x02}, uint8_t{0x31}, uint8_t{0x30}}) {
    if (!ReadTlv(cms, pos, &tag, &h, &len) || tag != expected) return std::nullopt;
    pos += h + len;
  }
  if (!ReadTlv(cms, pos, &tag, &h, &len) || tag != 0xa0) return std::nullopt;
  return std::pair{pos, h + len};
}

// The stored form of a record: for a voucher, its CMS without the certificate set, which
// goes to the cms_certificates table unless it is there already.
template <typename T>
absl::StatusOr<std::string> EncodeStored(MDB_txn*, const Dbs&, const T& r) {
  return internal::Encode(r);
}
template <>
absl::StatusOr<std::string> EncodeStored(MDB_txn* txn, const Dbs& dbs, const Voucher& v) {
  auto where = FindCertificateSet(v.cms);
  if (!where) return internal::Encode(v);
  const std::string_view set = std::string_view(v.cms).substr(where->first, where->second);
  // Consecutive vouchers carry the same set: hash it once per thread and set.
  thread_local std::string last_set, last_hash;
  if (set != last_set) {
    last_set.assign(set);
    last_hash = Sha256(set);
  }
  auto existing = internal::Get(txn, dbs[internal::kCmsCertificates], last_hash);
  if (absl::IsNotFound(existing.status())) {
    MASA_RETURN_IF_ERROR(internal::Put(txn, dbs[internal::kCmsCertificates], last_hash, set));
  } else if (!existing.ok()) {
    return existing.status();
  }
  Voucher stored = v;
  stored.cms.erase(where->first, where->second);
  stored.cms_certificates_sha256 = last_hash;
  stored.cms_certificates_offset = where->first;
  return internal::Encode(stored);
}

// A record as handed out: for a voucher, its CMS whole again.
template <typename T>
absl::StatusOr<T> DecodeStored(MDB_txn*, const Dbs&, std::string_view bytes,
                               std::string_view key) {
  return DecodeRecord<T>(bytes, key);
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
  auto set = internal::Get(txn, dbs[internal::kCmsCertificates], v.cms_certificates_sha256);
  if (absl::IsNotFound(set.status())) return lost("is missing");
  if (!set.ok()) return set.status();
  if (Sha256(*set) != v.cms_certificates_sha256) return lost("does not match its hash");
  if (v.cms_certificates_offset > v.cms.size()) return lost("offset is past the end");
  v.cms.insert(v.cms_certificates_offset, set->data(), set->size());
  v.cms_certificates_sha256.clear();
  v.cms_certificates_offset = 0;
  return v;
}

}  // namespace

// ---------------------------------------------------------------------------------------
// Reader

template <typename T>
absl::StatusOr<T> Reader::Get(std::string_view key) const {
  auto v = internal::Get(txn_, (*dbs_)[TableTraits<T>::kDb], key);
  if (absl::IsNotFound(v.status())) {
    return absl::NotFoundError(
        absl::StrCat(TableTraits<T>::kName, " ", absl::CEscape(Sv(key)), " not found"));
  }
  if (!v.ok()) return v.status();
  return DecodeStored<T>(txn_, *dbs_, *v, key);
}

template <typename T>
absl::StatusOr<std::vector<T>> Reader::List(std::string_view start_key, size_t limit) const {
  std::vector<T> out;
  MASA_ASSIGN_OR_RETURN(auto cursor, internal::Cursor::Open(txn_, (*dbs_)[TableTraits<T>::kDb]));
  MASA_ASSIGN_OR_RETURN(bool more, cursor.Seek(start_key));
  while (more && out.size() < limit) {
    MASA_ASSIGN_OR_RETURN(T record, DecodeStored<T>(txn_, *dbs_, cursor.value(), cursor.key()));
    out.push_back(std::move(record));
    MASA_ASSIGN_OR_RETURN(more, cursor.Next());
  }
  return out;
}

namespace {

// Visits index keys starting with `prefix`; fn(suffix) returns false to stop.
absl::Status ScanPrefix(MDB_txn* txn, unsigned int dbi, std::string_view prefix,
                        const std::function<bool(std::string_view)>& fn) {
  MASA_ASSIGN_OR_RETURN(auto cursor, internal::Cursor::Open(txn, dbi));
  MASA_ASSIGN_OR_RETURN(bool more, cursor.Seek(prefix.empty() ? std::string_view("\0", 1) : prefix));
  while (more && cursor.key().substr(0, prefix.size()) == prefix) {
    if (!fn(cursor.key().substr(prefix.size()))) break;
    MASA_ASSIGN_OR_RETURN(more, cursor.Next());
  }
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<std::vector<Voucher>> Reader::VouchersBySerial(std::string_view ien,
                                                              std::string_view serial) const {
  std::vector<std::string> ids;
  MASA_RETURN_IF_ERROR(ScanPrefix(txn_, (*dbs_)[internal::kIdxVoucherSerial],
                                  SerialPrefix(ien, serial),
                                  [&](std::string_view id) {
                                    ids.emplace_back(id);
                                    return true;
                                  }));
  std::vector<Voucher> out;
  for (const auto& id : ids) {
    MASA_ASSIGN_OR_RETURN(Voucher v, Get<Voucher>(id));
    out.push_back(std::move(v));
  }
  return out;
}

namespace {

// Every value under `prefix` in index `dbi`, decoded as a T, with the rest of its key (the
// part after the prefix) in `key_rest`. kDataLoss names the entry that does not decode.
template <typename T>
absl::StatusOr<std::vector<T>> DecodeIndexRange(MDB_txn* txn, unsigned int dbi,
                                                std::string_view prefix, std::string_view what,
                                                std::string T::*key_rest) {
  std::vector<T> out;
  MASA_ASSIGN_OR_RETURN(auto cursor, internal::Cursor::Open(txn, dbi));
  MASA_ASSIGN_OR_RETURN(bool more, cursor.Seek(prefix));
  while (more && cursor.key().substr(0, prefix.size()) == prefix) {
    T value;
    absl::Status st = internal::Decode(cursor.value(), &value);
    if (!st.ok()) {
      return absl::DataLossError(absl::StrCat(Sv(what), " entry ", absl::CEscape(Sv(cursor.key())),
                                              ": ", st.message()));
    }
    value.*key_rest = std::string(cursor.key().substr(prefix.size()));
    out.push_back(std::move(value));
    MASA_ASSIGN_OR_RETURN(more, cursor.Next());
  }
  return out;
}

}  // namespace

absl::StatusOr<std::vector<VoucherSummary>> Reader::VoucherSummariesBySerial(
    std::string_view ien, std::string_view serial) const {
  return DecodeIndexRange(txn_, (*dbs_)[internal::kIdxVoucherSerial],
                          SerialPrefix(ien, serial), "serial index",
                          &VoucherSummary::id);
}

absl::StatusOr<std::vector<SerialPin>> Reader::PinsBySerial(std::string_view ien,
                                                            std::string_view serial,
                                                            std::string_view org) const {
  return DecodeIndexRange(txn_, (*dbs_)[internal::kIdxSerialPin], PinPrefix(ien, serial, org),
                          "pin index", &SerialPin::pdc_sha256);
}

absl::StatusOr<std::vector<Voucher>> Reader::VouchersByRequest(std::string_view request_id) const {
  std::vector<std::string> ids;
  MASA_RETURN_IF_ERROR(ScanPrefix(txn_, (*dbs_)[internal::kIdxVoucherRequest],
                                  absl::StrCat(Sv(request_id), Sep()), [&](std::string_view id) {
                                    ids.emplace_back(id);
                                    return true;
                                  }));
  std::vector<Voucher> out;
  for (const auto& id : ids) {
    MASA_ASSIGN_OR_RETURN(Voucher v, Get<Voucher>(id));
    out.push_back(std::move(v));
  }
  return out;
}

absl::StatusOr<std::vector<Voucher>> Reader::VouchersByOrganization(std::string_view org,
                                                                    absl::Time from,
                                                                    absl::Time to,
                                                                    size_t limit) const {
  std::string prefix = absl::StrCat(Sv(org), Sep());
  Voucher probe;
  probe.organization_id = std::string(org);
  probe.requested_at = from;
  std::string start = OrgTimeKey(probe);
  uint64_t to_biased = static_cast<uint64_t>(absl::ToUnixNanos(to)) ^ (uint64_t{1} << 63);
  std::vector<std::string> ids;
  MASA_ASSIGN_OR_RETURN(auto cursor,
                        internal::Cursor::Open(txn_, (*dbs_)[internal::kIdxVoucherOrgTime]));
  MASA_ASSIGN_OR_RETURN(bool more, cursor.Seek(start));
  while (more && ids.size() < limit && cursor.key().substr(0, prefix.size()) == prefix) {
    std::string_view rest = cursor.key().substr(prefix.size());
    if (rest.size() < 8) return absl::DataLossError("malformed organization index key");
    if (ReadBigEndian64(rest) >= to_biased && to != absl::InfiniteFuture()) break;
    ids.emplace_back(rest.substr(8));
    MASA_ASSIGN_OR_RETURN(more, cursor.Next());
  }
  std::vector<Voucher> out;
  for (const auto& id : ids) {
    MASA_ASSIGN_OR_RETURN(Voucher v, Get<Voucher>(id));
    out.push_back(std::move(v));
  }
  return out;
}

absl::StatusOr<uint64_t> Reader::AuditSize() const {
  MASA_ASSIGN_OR_RETURN(Head head, ReadHead(txn_, *dbs_));
  return head.size;
}

absl::StatusOr<std::string> Reader::AuditEntryBytes(uint64_t seq) const {
  auto v = internal::Get(txn_, (*dbs_)[internal::kAudit], BigEndian64(seq));
  if (absl::IsNotFound(v.status())) {
    return absl::NotFoundError(absl::StrCat("audit entry ", seq, " not found"));
  }
  if (!v.ok()) return v.status();
  return std::string(*v);
}

absl::StatusOr<AuditEntry> Reader::GetAuditEntry(uint64_t seq) const {
  MASA_ASSIGN_OR_RETURN(std::string bytes, AuditEntryBytes(seq));
  auto entry = DecodeAuditEntry(bytes);
  if (!entry.ok()) return Annotate(entry.status(), absl::StrCat("audit entry ", seq));
  return entry;
}

absl::Status Reader::ScanAudit(uint64_t from,
                               const std::function<bool(uint64_t, std::string_view)>& fn) const {
  MASA_ASSIGN_OR_RETURN(auto cursor, internal::Cursor::Open(txn_, (*dbs_)[internal::kAudit]));
  MASA_ASSIGN_OR_RETURN(bool more, cursor.Seek(BigEndian64(from)));
  while (more) {
    if (cursor.key().size() != 8) return absl::DataLossError("audit key is not 8 bytes");
    if (!fn(ReadBigEndian64(cursor.key()), cursor.value())) break;
    MASA_ASSIGN_OR_RETURN(more, cursor.Next());
  }
  return absl::OkStatus();
}

absl::StatusOr<Hash> Reader::TreeNode(int level, uint64_t index) const {
  auto v = internal::Get(txn_, (*dbs_)[internal::kAuditTree], TreeKey(level, index));
  if (absl::IsNotFound(v.status())) {
    return absl::NotFoundError(absl::StrCat("audit tree node ", level, "/", index, " not stored"));
  }
  if (!v.ok()) return v.status();
  if (v->size() != kHashSize) {
    return absl::DataLossError(absl::StrCat("audit tree node ", level, "/", index, " malformed"));
  }
  return std::string(*v);
}

absl::StatusOr<Hash> Reader::SubtreeRoot(uint64_t begin, uint64_t end) const {
  uint64_t n = end - begin;
  if ((n & (n - 1)) == 0) {
    int level = 0;
    while ((uint64_t{1} << level) < n) ++level;
    return TreeNode(level, begin >> level);
  }
  uint64_t k = LargestPowerOfTwoBelow(n);
  MASA_ASSIGN_OR_RETURN(Hash left, SubtreeRoot(begin, begin + k));
  MASA_ASSIGN_OR_RETURN(Hash right, SubtreeRoot(begin + k, end));
  return NodeHash(left, right);
}

absl::StatusOr<Hash> Reader::RootHash(uint64_t tree_size) const {
  MASA_ASSIGN_OR_RETURN(uint64_t size, AuditSize());
  if (tree_size > size) {
    return absl::InvalidArgumentError(
        absl::StrCat("tree size ", tree_size, " is beyond the log (", size, " entries)"));
  }
  if (tree_size == 0) return EmptyRoot();
  return SubtreeRoot(0, tree_size);
}

absl::StatusOr<std::vector<Hash>> Reader::InclusionProof(uint64_t index,
                                                         uint64_t tree_size) const {
  MASA_ASSIGN_OR_RETURN(uint64_t size, AuditSize());
  if (tree_size > size || index >= tree_size) {
    return absl::InvalidArgumentError(absl::StrCat("no entry ", index, " in a tree of size ",
                                                   tree_size, " (log has ", size, ")"));
  }
  // PATH(m, D[begin:end]) unrolled: descend towards the leaf, collecting siblings; the
  // proof lists them leaf-first, so reverse at the end.
  std::vector<Hash> path;
  uint64_t begin = 0;
  uint64_t end = tree_size;
  while (end - begin > 1) {
    uint64_t k = LargestPowerOfTwoBelow(end - begin);
    if (index < begin + k) {
      MASA_ASSIGN_OR_RETURN(Hash h, SubtreeRoot(begin + k, end));
      path.push_back(std::move(h));
      end = begin + k;
    } else {
      MASA_ASSIGN_OR_RETURN(Hash h, SubtreeRoot(begin, begin + k));
      path.push_back(std::move(h));
      begin += k;
    }
  }
  return std::vector<Hash>(path.rbegin(), path.rend());
}

absl::StatusOr<std::vector<Hash>> Reader::ConsistencyProof(uint64_t old_size,
                                                           uint64_t new_size) const {
  MASA_ASSIGN_OR_RETURN(uint64_t size, AuditSize());
  if (new_size > size || old_size > new_size) {
    return absl::InvalidArgumentError(absl::StrCat("no consistency proof from ", old_size, " to ",
                                                   new_size, " (log has ", size, ")"));
  }
  std::vector<Hash> path;
  if (old_size == 0 || old_size == new_size) return path;
  // SUBPROOF(m, D[begin:end], b) unrolled like InclusionProof.
  uint64_t m = old_size;
  uint64_t begin = 0;
  uint64_t end = new_size;
  bool whole = true;
  while (true) {
    uint64_t n = end - begin;
    if (m == n) {
      if (!whole) {
        MASA_ASSIGN_OR_RETURN(Hash h, SubtreeRoot(begin, end));
        path.push_back(std::move(h));
      }
      break;
    }
    uint64_t k = LargestPowerOfTwoBelow(n);
    if (m <= k) {
      MASA_ASSIGN_OR_RETURN(Hash h, SubtreeRoot(begin + k, end));
      path.push_back(std::move(h));
      end = begin + k;
    } else {
      MASA_ASSIGN_OR_RETURN(Hash h, SubtreeRoot(begin, begin + k));
      path.push_back(std::move(h));
      m -= k;
      begin += k;
      whole = false;
    }
  }
  // The recursion appends each sibling after its subproof, so the innermost comes first.
  return std::vector<Hash>(path.rbegin(), path.rend());
}

absl::StatusOr<std::optional<std::string>> Reader::LatestCheckpoint() const {
  MASA_ASSIGN_OR_RETURN(auto cursor,
                        internal::Cursor::Open(txn_, (*dbs_)[internal::kCheckpoints]));
  MASA_ASSIGN_OR_RETURN(bool any, cursor.Last());
  if (!any) return std::optional<std::string>();
  return std::optional<std::string>(std::string(cursor.value()));
}

absl::Status Reader::ScanCheckpoints(
    const std::function<bool(uint64_t, std::string_view)>& fn) const {
  MASA_ASSIGN_OR_RETURN(auto cursor,
                        internal::Cursor::Open(txn_, (*dbs_)[internal::kCheckpoints]));
  MASA_ASSIGN_OR_RETURN(bool more, cursor.Seek({}));
  while (more) {
    if (cursor.key().size() != 8) return absl::DataLossError("checkpoint key is not 8 bytes");
    if (!fn(ReadBigEndian64(cursor.key()), cursor.value())) break;
    MASA_ASSIGN_OR_RETURN(more, cursor.Next());
  }
  return absl::OkStatus();
}

absl::StatusOr<uint64_t> Reader::SchemaVersion() const {
  MASA_ASSIGN_OR_RETURN(std::string_view v,
                        internal::Get(txn_, (*dbs_)[internal::kMeta], "schema_version"));
  if (v.size() != 8) return absl::DataLossError("schema version record is malformed");
  return ReadBigEndian64(v);
}

// ---------------------------------------------------------------------------------------
// WriteTxn

namespace {

absl::Status PutIndexes(MDB_txn* txn, const Dbs& dbs, const Voucher& v) {
  MASA_RETURN_IF_ERROR(
      internal::Put(txn, dbs[internal::kIdxVoucherSerial], SerialKey(v), SummaryValue(v)));
  MASA_RETURN_IF_ERROR(internal::Put(txn, dbs[internal::kIdxVoucherOrgTime], OrgTimeKey(v), ""));
  return internal::Put(txn, dbs[internal::kIdxVoucherRequest], RequestKey(v), "");
}

// Writes the pin entry `key`, naming `voucher_id`, unless there is one.
absl::Status EnsurePin(MDB_txn* txn, const Dbs& dbs, const std::string& key,
                       const std::string& voucher_id) {
  auto current = internal::Get(txn, dbs[internal::kIdxSerialPin], key);
  if (current.ok()) return absl::OkStatus();
  if (!absl::IsNotFound(current.status())) return current.status();
  SerialPin pin;
  pin.voucher_id = voucher_id;
  return internal::Put(txn, dbs[internal::kIdxSerialPin], key, internal::Encode(pin));
}

// An inserted voucher makes its pin entry unless there is one.
absl::Status AddPin(MDB_txn* txn, const Dbs& dbs, const Voucher& v) {
  return v.archived_at || v.superseded_at ? absl::OkStatus()
                                          : EnsurePin(txn, dbs, PinKey(v), v.id);
}

// Makes the pin entry of v's (serial, organization, PDC) say whether a voucher that is
// neither archived nor superseded has that pin: reads the serial's summaries, so it runs when a voucher changes or goes,
// which is rare; an insert only looks the entry up (AddPin).
absl::Status RecomputePin(MDB_txn* txn, const Dbs& dbs, const Voucher& v) {
  MASA_ASSIGN_OR_RETURN(auto summaries,
                        DecodeIndexRange(txn, dbs[internal::kIdxVoucherSerial],
                                         SerialPrefix(v.ien, v.serial_number), "serial index",
                                         &VoucherSummary::id));
  auto holder = std::find_if(summaries.begin(), summaries.end(), [&](const VoucherSummary& s) {
    return s.organization_id == v.organization_id && s.pdc_sha256 == v.pdc_sha256 &&
           !s.archived_at && !s.superseded_at;
  });
  if (holder != summaries.end()) return EnsurePin(txn, dbs, PinKey(v), holder->id);
  absl::Status st = internal::Del(txn, dbs[internal::kIdxSerialPin], PinKey(v));
  return absl::IsNotFound(st) ? absl::OkStatus() : st;
}

absl::Status DelIndexes(MDB_txn* txn, const Dbs& dbs, const Voucher& v) {
  for (auto [db, key] : {std::pair{internal::kIdxVoucherSerial, SerialKey(v)},
                         std::pair{internal::kIdxVoucherOrgTime, OrgTimeKey(v)},
                         std::pair{internal::kIdxVoucherRequest, RequestKey(v)}}) {
    absl::Status st = internal::Del(txn, dbs[db], key);
    if (!st.ok() && !absl::IsNotFound(st)) return st;
  }
  return absl::OkStatus();
}

}  // namespace

absl::Status internal::PutVoucherIndexes(MDB_txn* txn, const Dbs& dbs, const Voucher& v) {
  return PutIndexes(txn, dbs, v);
}
absl::Status internal::DeleteVoucherIndexes(MDB_txn* txn, const Dbs& dbs, const Voucher& v) {
  return DelIndexes(txn, dbs, v);
}

namespace {

template <typename T>
absl::Status UpdateIndexes(MDB_txn*, const Dbs&, const T*, const T&) {
  return absl::OkStatus();
}
template <>
absl::Status UpdateIndexes(MDB_txn* txn, const Dbs& dbs, const Voucher* old, const Voucher& v) {
  if (old == nullptr) {
    MASA_RETURN_IF_ERROR(PutIndexes(txn, dbs, v));
    return AddPin(txn, dbs, v);
  }
  MASA_RETURN_IF_ERROR(DelIndexes(txn, dbs, *old));
  MASA_RETURN_IF_ERROR(PutIndexes(txn, dbs, v));
  if (PinKey(*old) != PinKey(v)) MASA_RETURN_IF_ERROR(RecomputePin(txn, dbs, *old));
  return RecomputePin(txn, dbs, v);
}

template <typename T>
absl::Status PutRecord(MDB_txn* txn, const Dbs& dbs, const T& r, bool insert) {
  MASA_RETURN_IF_ERROR(ValidateKey(r));
  std::string key = TableTraits<T>::Key(r);
  std::optional<T> old;
  auto existing = internal::Get(txn, dbs[TableTraits<T>::kDb], key);
  if (existing.ok()) {
    if (insert) {
      return absl::AlreadyExistsError(
          absl::StrCat(TableTraits<T>::kName, " ", absl::CEscape(key), " already exists"));
    }
    MASA_ASSIGN_OR_RETURN(old, DecodeRecord<T>(*existing, key));
  } else if (!absl::IsNotFound(existing.status())) {
    return existing.status();
  }
  MASA_ASSIGN_OR_RETURN(std::string stored, EncodeStored(txn, dbs, r));
  MASA_RETURN_IF_ERROR(internal::Put(txn, dbs[TableTraits<T>::kDb], key, stored));
  return UpdateIndexes<T>(txn, dbs, old ? &*old : nullptr, r);
}

}  // namespace

template <typename T>
absl::Status WriteTxn::Put(const T& record) {
  return PutRecord(txn_, *dbs_, record, /*insert=*/false);
}

template <typename T>
absl::Status WriteTxn::Insert(const T& record) {
  return PutRecord(txn_, *dbs_, record, /*insert=*/true);
}

template <typename T>
absl::Status WriteTxn::Delete(std::string_view key) {
  MASA_ASSIGN_OR_RETURN(T old, Get<T>(key));
  MASA_RETURN_IF_ERROR(internal::Del(txn_, (*dbs_)[TableTraits<T>::kDb], key));
  if constexpr (std::is_same_v<T, Voucher>) {
    MASA_RETURN_IF_ERROR(DelIndexes(txn_, *dbs_, old));
    MASA_RETURN_IF_ERROR(RecomputePin(txn_, *dbs_, old));
  }
  return absl::OkStatus();
}

absl::StatusOr<uint64_t> WriteTxn::Append(const AuditEvent& event) {
  if (!event.object_hash.empty() && event.object_hash.size() != kHashSize) {
    return absl::InvalidArgumentError("audit object hash must be 32 bytes (SHA-256) or empty");
  }
  MASA_ASSIGN_OR_RETURN(Head head, ReadHead(txn_, *dbs_));
  AuditEntry entry;
  entry.seq = head.size;
  entry.time = clock_->Now();
  entry.actor = event.actor;
  entry.action = event.action;
  entry.target = event.target;
  entry.outcome = event.outcome;
  entry.object_hash = event.object_hash;
  entry.prev_hash = head.last_hash;
  std::string bytes = EncodeAuditEntry(entry);
  MASA_RETURN_IF_ERROR(internal::Put(txn_, (*dbs_)[internal::kAudit], BigEndian64(entry.seq),
                                     bytes, MDB_APPEND));
  // Store the leaf and every perfect subtree it completes; the left siblings are stored.
  Hash h = LeafHash(bytes);
  uint64_t index = entry.seq;
  int level = 0;
  unsigned int tree = (*dbs_)[internal::kAuditTree];
  MASA_RETURN_IF_ERROR(internal::Put(txn_, tree, TreeKey(0, index), h));
  while ((index & 1) == 1) {
    MASA_ASSIGN_OR_RETURN(Hash left, TreeNode(level, index - 1));
    h = NodeHash(left, h);
    ++level;
    index >>= 1;
    MASA_RETURN_IF_ERROR(internal::Put(txn_, tree, TreeKey(level, index), h));
  }
  std::string head_value = BigEndian64(head.size + 1) + Sha256(bytes);
  MASA_RETURN_IF_ERROR(internal::Put(txn_, (*dbs_)[internal::kMeta], kHeadKey, head_value));
  appended_.push_back(entry.seq);
  return entry.seq;
}

#define MASA_INSTANTIATE(T)                                                             \
  template absl::StatusOr<T> Reader::Get<T>(std::string_view) const;                    \
  template absl::StatusOr<std::vector<T>> Reader::List<T>(std::string_view, size_t) const; \
  template absl::Status WriteTxn::Put<T>(const T&);                                     \
  template absl::Status WriteTxn::Insert<T>(const T&);                                  \
  template absl::Status WriteTxn::Delete<T>(std::string_view);
MASA_INSTANTIATE(Organization)
MASA_INSTANTIATE(Group)
MASA_INSTANTIATE(Principal)
MASA_INSTANTIATE(RoleBinding)
MASA_INSTANTIATE(ApiToken)
MASA_INSTANTIATE(PinnedDomainCert)
MASA_INSTANTIATE(Component)
MASA_INSTANTIATE(VoucherRequest)
MASA_INSTANTIATE(Voucher)
MASA_INSTANTIATE(KeyRecord)
#undef MASA_INSTANTIATE

// ---------------------------------------------------------------------------------------
// Snapshot

Snapshot::Snapshot(std::unique_ptr<internal::Txn> txn,
                   std::shared_lock<std::shared_timed_mutex> lock, const Dbs* dbs)
    : Reader(txn->get(), dbs), owned_(std::move(txn)), lock_(std::move(lock)) {}

Snapshot::Snapshot(Snapshot&& other) noexcept
    : Reader(other.txn_, other.dbs_), owned_(std::move(other.owned_)),
      lock_(std::move(other.lock_)) {
  other.txn_ = nullptr;
}

Snapshot::~Snapshot() {
  owned_.reset();  // end the read txn before releasing the resize lock
}

// ---------------------------------------------------------------------------------------
// Store

std::future<absl::StatusOr<CommitResult>> Store::Submit(WriteBatch batch) {
  auto promise = std::make_shared<std::promise<absl::StatusOr<CommitResult>>>();
  auto future = promise->get_future();
  Submit(std::move(batch),
         [promise](absl::StatusOr<CommitResult> r) { promise->set_value(std::move(r)); });
  return future;
}

absl::StatusOr<CommitResult> Store::Write(WriteBatch batch) {
  return Submit(std::move(batch)).get();
}

namespace internal {

// A schema migration: runs inside the open-time write txn, from version `from` to from+1.
struct Migration {
  uint64_t from;
  absl::Status (*run)(MDB_txn* txn, const Dbs& dbs);
};

// 1 -> 2: vouchers got an index by request id.
absl::Status MigrateAddRequestIndex(MDB_txn* txn, const Dbs& dbs) {
  MASA_ASSIGN_OR_RETURN(auto cursor, Cursor::Open(txn, dbs[kVouchers]));
  MASA_ASSIGN_OR_RETURN(bool more, cursor.Seek({}));
  while (more) {
    MASA_ASSIGN_OR_RETURN(Voucher v, DecodeRecord<Voucher>(cursor.value(), cursor.key()));
    MASA_RETURN_IF_ERROR(Put(txn, dbs[kIdxVoucherRequest], RequestKey(v), ""));
    MASA_ASSIGN_OR_RETURN(more, cursor.Next());
  }
  return absl::OkStatus();
}

// 2 -> 3: the serial index holds each voucher's summary instead of "".
absl::Status MigrateSerialIndexSummaries(MDB_txn* txn, const Dbs& dbs) {
  MASA_ASSIGN_OR_RETURN(auto cursor, Cursor::Open(txn, dbs[kVouchers]));
  MASA_ASSIGN_OR_RETURN(bool more, cursor.Seek({}));
  while (more) {
    MASA_ASSIGN_OR_RETURN(Voucher v, DecodeRecord<Voucher>(cursor.value(), cursor.key()));
    MASA_RETURN_IF_ERROR(Put(txn, dbs[kIdxVoucherSerial], SerialKey(v), SummaryValue(v)));
    MASA_ASSIGN_OR_RETURN(more, cursor.Next());
  }
  return absl::OkStatus();
}

// 3 -> 4: the pin index, built from the vouchers.
absl::Status MigrateAddPinIndex(MDB_txn* txn, const Dbs& dbs) {
  MASA_ASSIGN_OR_RETURN(auto cursor, Cursor::Open(txn, dbs[kVouchers]));
  MASA_ASSIGN_OR_RETURN(bool more, cursor.Seek({}));
  while (more) {
    MASA_ASSIGN_OR_RETURN(Voucher v, DecodeRecord<Voucher>(cursor.value(), cursor.key()));
    MASA_RETURN_IF_ERROR(AddPin(txn, dbs, v));
    MASA_ASSIGN_OR_RETURN(more, cursor.Next());
  }
  return absl::OkStatus();
}

constexpr Migration kMigrations[] = {{1, MigrateAddRequestIndex},
                                     {2, MigrateSerialIndexSummaries},
                                     {3, MigrateAddPinIndex},
                                     {4, MigrateIdsToUuids}};  // store/internal/migrate_ids.cc

class StoreImpl final : public Store {
 public:
  // `shared`: another process had the environment open when this one opened it.
  StoreImpl(const StoreOptions& options, Env env, bool shared = false)
      : options_(options), env_(std::move(env)), shared_(shared) {}

  ~StoreImpl() override {
    {
      std::lock_guard<std::mutex> lock(mu_);
      stop_ = true;
    }
    cv_.notify_all();
    if (writer_.joinable()) writer_.join();
  }

  absl::Status Init();
  absl::Status InitOnce();

  void Submit(WriteBatch batch,
              std::function<void(absl::StatusOr<CommitResult>)> done) override {
    if (options_.read_only) {
      done(absl::FailedPreconditionError("the store was opened read-only"));
      return;
    }
    {
      std::lock_guard<std::mutex> lock(mu_);
      queue_.push_back(Pending{std::move(batch), std::move(done)});
    }
    cv_.notify_one();
  }

  absl::StatusOr<Snapshot> Read() const override {
    for (int attempt = 0; attempt < 3; ++attempt) {
      std::shared_lock<std::shared_timed_mutex> lock(resize_mu_);
      auto txn = env_.Begin(/*read_only=*/true);
      if (txn.ok()) {
        return Snapshot(std::make_unique<Txn>(std::move(*txn)), std::move(lock), &dbs_);
      }
      if (!absl::IsAborted(txn.status())) return txn.status();
      lock.unlock();
      MASA_RETURN_IF_ERROR(AdoptMapSize());
    }
    return absl::UnavailableError("the store map keeps being resized; retry");
  }

  absl::Status WriteCheckpoint() override {
    if (options_.checkpoint_signer == nullptr) {
      return absl::FailedPreconditionError("no checkpoint signer configured");
    }
    return Checkpoint(/*force=*/true);
  }

  absl::Status Backup(const std::string& path) const override;

  size_t MapSize() const override { return env_.MapSize(); }
  uint64_t CommitCount() const override { return commits_.load(); }

 private:
  struct Pending {
    WriteBatch batch;
    std::function<void(absl::StatusOr<CommitResult>)> done;
  };

  void WriterLoop();
  void CommitGroup(std::vector<Pending>& group);
  std::chrono::steady_clock::time_point last_commit_start_;  // writer thread only
  absl::Status Checkpoint(bool force);
  // Another process grew the map: adopt its size (needs no txn of ours active).
  absl::Status AdoptMapSize() const {
    std::unique_lock<std::shared_timed_mutex> lock(resize_mu_, std::defer_lock);
    if (!lock.try_lock_for(std::chrono::seconds(5))) {
      return absl::UnavailableError("cannot adopt the new map size while snapshots are open");
    }
    return const_cast<Env&>(env_).SetMapSize(0);
  }

  StoreOptions options_;
  Env env_;
  const bool shared_;
  Dbs dbs_;
  mutable std::shared_timed_mutex resize_mu_;

  std::mutex mu_;
  std::condition_variable cv_;
  std::vector<Pending> queue_;
  bool stop_ = false;
  std::thread writer_;
  std::atomic<uint64_t> commits_{0};

  std::mutex checkpoint_mu_;
  absl::Time last_checkpoint_time_;
  // Hints that spare a write txn when no checkpoint is due (the txn re-checks).
  std::atomic<uint64_t> audit_size_hint_{0};
  uint64_t last_checkpoint_size_ = 0;
};

absl::Status StoreImpl::Init() {
  // A migration may need more room than the map has: grow it like a full write group does
  // (no other transaction of ours exists yet) and run the whole open transaction again.
  for (int resized = 0;;) {
    absl::Status st = InitOnce();
    // MDB_MAP_RESIZED: another process grew the map past what this one mapped at open
    // (a store larger than initial_map_size is mapped at its used size): adopt it and retry.
    if (absl::IsAborted(st) && ++resized < 100) {
      MASA_RETURN_IF_ERROR(env_.SetMapSize(0));
      continue;
    }
    size_t size = env_.MapSize();
    if (!IsMapFull(st) || options_.read_only || size >= options_.max_map_size) return st;
    size_t grown = std::min(options_.max_map_size, size * 2);
    MASA_RETURN_IF_ERROR(env_.SetMapSize(grown));
    Log(LogLevel::kInfo, absl::StrCat("store map grown to ", grown, " bytes while opening"));
  }
}

absl::Status StoreImpl::InitOnce() {
  MDB_txn* txn = nullptr;
  auto begun = env_.Begin(options_.read_only);
  if (!begun.ok()) return begun.status();
  Txn owner = std::move(*begun);
  txn = owner.get();
  unsigned create = options_.read_only ? 0 : MDB_CREATE;
  auto meta = OpenDb(txn, kDbNames[kMeta], 0);
  std::string store_path = StoreDir(options_.state_dir);
  bool fresh = false;
  if (absl::IsNotFound(meta.status())) {
    // No meta database: a new, empty environment, or someone else's LMDB file.
    MASA_ASSIGN_OR_RETURN(MDB_dbi main, OpenDb(txn, nullptr, 0));
    MASA_ASSIGN_OR_RETURN(auto cursor, Cursor::Open(txn, main));
    MASA_ASSIGN_OR_RETURN(bool any, cursor.Seek({}));
    if (any) {
      return absl::FailedPreconditionError(absl::StrCat(
          store_path, " holds an LMDB environment that is not a MASA store (no \"meta\" "
                      "database); refusing to touch it"));
    }
    if (options_.read_only) {
      return absl::NotFoundError(absl::StrCat("no MASA store has been created in ", store_path));
    }
    fresh = true;
    MASA_ASSIGN_OR_RETURN(meta, OpenDb(txn, kDbNames[kMeta], MDB_CREATE));
  } else if (!meta.ok()) {
    return Annotate(meta.status(), absl::StrCat("opening ", store_path));
  }
  dbs_.dbi[kMeta] = *meta;
  uint64_t version = kSchemaVersion;
  if (fresh) {
    MASA_RETURN_IF_ERROR(Put(txn, *meta, "format", kFormat));
    MASA_RETURN_IF_ERROR(Put(txn, *meta, "schema_version", BigEndian64(kSchemaVersion)));
  } else {
    auto format = Get(txn, *meta, "format");
    if (!format.ok() || *format != kFormat) {
      return absl::FailedPreconditionError(absl::StrCat(
          store_path, " is an LMDB environment but not a MASA store (format record missing)"));
    }
    auto v = Get(txn, *meta, "schema_version");
    if (!v.ok() || v->size() != 8) {
      return absl::DataLossError(absl::StrCat(store_path, ": schema version record is missing"));
    }
    version = ReadBigEndian64(*v);
    if (version > kSchemaVersion) {
      return absl::FailedPreconditionError(absl::StrFormat(
          "%s has schema version %d, newer than this build understands (%d); upgrade masa",
          store_path, version, kSchemaVersion));
    }
    if (version < kSchemaVersion && options_.read_only) {
      return absl::FailedPreconditionError(absl::StrFormat(
          "%s has schema version %d; start masad once to migrate it to %d", store_path, version,
          kSchemaVersion));
    }
  }
  for (int d = kMeta + 1; d < kDbCount; ++d) {
    MASA_ASSIGN_OR_RETURN(dbs_.dbi[d], OpenDb(txn, kDbNames[d], create));
  }
  if (version < kSchemaVersion && shared_) {
    // A migration rewrites records that the other process would go on reading in the old
    // layout (and an older build would write in it): migrate only when alone.
    return absl::FailedPreconditionError(absl::StrFormat(
        "%s has schema version %d and this build needs %d, but another process (a running "
        "masad, or masactl) has the store open; stop it and start this build's masad, which "
        "migrates the store when it has it to itself",
        store_path, version, kSchemaVersion));
  }
  for (const Migration& m : kMigrations) {
    if (m.from != version) continue;
    MASA_RETURN_IF_ERROR(Annotate(m.run(txn, dbs_),
                                  absl::StrCat("migrating schema from version ", m.from)));
    ++version;
    MASA_RETURN_IF_ERROR(Put(txn, *meta, "schema_version", BigEndian64(version)));
    Log(LogLevel::kInfo, absl::StrCat("store migrated to schema version ", version));
  }
  if (version != kSchemaVersion) {
    return absl::InternalError(absl::StrCat("no migration from schema version ", version));
  }
  {
    MASA_ASSIGN_OR_RETURN(Head head, ReadHead(txn, dbs_));
    audit_size_hint_.store(head.size);
    MASA_ASSIGN_OR_RETURN(auto cursor, Cursor::Open(txn, dbs_[kCheckpoints]));
    MASA_ASSIGN_OR_RETURN(bool any, cursor.Last());
    if (any) last_checkpoint_size_ = ReadBigEndian64(cursor.key());
  }
  MASA_RETURN_IF_ERROR(owner.Commit());
  last_checkpoint_time_ = options_.clock->Now();
  if (!options_.read_only) {
    writer_ = std::thread([this] {
      pthread_setname_np(pthread_self(), "masa-store");
      WriterLoop();
    });
  }
  return absl::OkStatus();
}

void StoreImpl::WriterLoop() {
  std::unique_lock<std::mutex> lock(mu_);
  auto tick = std::chrono::milliseconds(
      std::max<int64_t>(1, absl::ToInt64Milliseconds(options_.checkpoint_every)));
  if (options_.checkpoint_signer == nullptr) tick = std::chrono::hours(1);
  while (true) {
    cv_.wait_for(lock, tick, [this] { return stop_ || !queue_.empty(); });
    if (queue_.empty()) {
      if (stop_) break;
      lock.unlock();
      if (options_.checkpoint_signer != nullptr) (void)Checkpoint(/*force=*/false);
      lock.lock();
      continue;
    }
    if (options_.min_commit_interval > absl::ZeroDuration() && !stop_) {
      const auto not_before =
          last_commit_start_ + absl::ToChronoNanoseconds(options_.min_commit_interval);
      cv_.wait_until(lock, not_before, [this] {
        return stop_ || queue_.size() >= options_.max_batches_per_txn;
      });
    }
    last_commit_start_ = std::chrono::steady_clock::now();
    std::vector<Pending> group;
    if (queue_.size() <= options_.max_batches_per_txn) {
      group.swap(queue_);
    } else {
      auto cut = queue_.begin() + static_cast<ptrdiff_t>(options_.max_batches_per_txn);
      group.assign(std::make_move_iterator(queue_.begin()), std::make_move_iterator(cut));
      queue_.erase(queue_.begin(), cut);
    }
    lock.unlock();
    CommitGroup(group);
    if (options_.checkpoint_signer != nullptr) (void)Checkpoint(/*force=*/false);
    lock.lock();
  }
}

void StoreImpl::CommitGroup(std::vector<Pending>& group) {
  std::vector<absl::StatusOr<CommitResult>> results;
  absl::Status group_status;
  while (true) {
    results.clear();
    bool map_full = false;
    group_status = absl::OkStatus();
    {
      std::shared_lock<std::shared_timed_mutex> lock(resize_mu_);
      auto outer = env_.Begin(/*read_only=*/false);
      if (absl::IsAborted(outer.status())) {
        lock.unlock();
        group_status = AdoptMapSize();
        if (group_status.ok()) continue;
        break;
      }
      if (!outer.ok()) {
        group_status = outer.status();
        break;
      }
      for (Pending& p : group) {
        auto nested = env_.Begin(/*read_only=*/false, outer->get());
        if (!nested.ok()) {
          map_full = IsMapFull(nested.status());
          group_status = nested.status();
          break;
        }
        WriteTxn w(nested->get(), &dbs_, options_.clock);
        absl::Status st;
        for (const auto& op : p.batch.ops()) {
          st = op(w);
          if (!st.ok()) break;
        }
        if (IsMapFull(st)) {
          map_full = true;
          break;
        }
        if (st.ok()) st = nested->Commit();
        if (IsMapFull(st)) {
          map_full = true;
          break;
        }
        if (st.ok()) {
          if (!w.appended_.empty()) {
            uint64_t size = w.appended_.back() + 1;
            if (size > audit_size_hint_.load()) audit_size_hint_.store(size);
          }
          results.push_back(CommitResult{std::move(w.appended_)});
        } else {
          results.push_back(st);
        }
      }
      if (!map_full && group_status.ok()) {
        absl::Status st = outer->Commit();
        if (st.ok()) {
          commits_.fetch_add(1);
          break;
        }
        if (!IsMapFull(st)) {
          group_status = Annotate(st, "committing to the store");
          break;
        }
        map_full = true;
      }
    }
    if (!map_full) break;
    // Grow the map with no transaction of ours active; snapshots hold the shared lock.
    size_t size = env_.MapSize();
    if (size >= options_.max_map_size) {
      group_status = absl::ResourceExhaustedError(absl::StrFormat(
          "the store is full: its map reached max_map_size (%d bytes); raise the limit or "
          "free space",
          options_.max_map_size));
      break;
    }
    size_t grown = std::min(options_.max_map_size, size * 2);
    std::unique_lock<std::shared_timed_mutex> lock(resize_mu_, std::defer_lock);
    if (!lock.try_lock_for(std::chrono::seconds(5))) {
      group_status = absl::UnavailableError(
          "the store map is full and cannot grow while long-lived snapshots are open; retry");
      break;
    }
    group_status = env_.SetMapSize(grown);
    if (!group_status.ok()) break;
    Log(LogLevel::kInfo, absl::StrCat("store map grown to ", grown, " bytes"));
  }
  for (size_t i = 0; i < group.size(); ++i) {
    if (!group_status.ok()) {
      group[i].done(group_status);
    } else {
      group[i].done(std::move(results[i]));
    }
  }
}

absl::Status StoreImpl::Checkpoint(bool force) {
  std::lock_guard<std::mutex> cp_lock(checkpoint_mu_);
  absl::Time now = options_.clock->Now();
  if (!force && audit_size_hint_.load() == last_checkpoint_size_ &&
      now - last_checkpoint_time_ >= options_.checkpoint_every) {
    // The hint counts this process's commits only; another process (masactl) may have
    // appended since. Look at the log itself before deciding there is nothing to sign.
    auto snap = Read();
    auto size = snap.ok() ? snap->AuditSize() : absl::StatusOr<uint64_t>(snap.status());
    if (size.ok() && *size > audit_size_hint_.load()) audit_size_hint_.store(*size);
  }
  if (!force && audit_size_hint_.load() - last_checkpoint_size_ < options_.checkpoint_every_entries &&
      (audit_size_hint_.load() == last_checkpoint_size_ ||
       now - last_checkpoint_time_ < options_.checkpoint_every)) {
    return absl::OkStatus();
  }
  std::shared_lock<std::shared_timed_mutex> lock(resize_mu_);
  MASA_ASSIGN_OR_RETURN(Txn txn, env_.Begin(/*read_only=*/false));
  MASA_ASSIGN_OR_RETURN(Head head, ReadHead(txn.get(), dbs_));
  uint64_t last = 0;
  {
    MASA_ASSIGN_OR_RETURN(auto cursor, Cursor::Open(txn.get(), dbs_[kCheckpoints]));
    MASA_ASSIGN_OR_RETURN(bool any, cursor.Last());
    if (any) last = ReadBigEndian64(cursor.key());
  }
  last_checkpoint_size_ = last;
  audit_size_hint_.store(head.size);
  if (head.size <= last) return absl::OkStatus();
  bool due = force || head.size - last >= options_.checkpoint_every_entries ||
             now - last_checkpoint_time_ >= options_.checkpoint_every;
  if (!due) return absl::OkStatus();
  last_checkpoint_time_ = now;
  struct TxnReader : Reader {
    TxnReader(MDB_txn* t, const Dbs* d) : Reader(t, d) {}
  } reader(txn.get(), &dbs_);
  MASA_ASSIGN_OR_RETURN(Hash root, reader.RootHash(head.size));
  store::Checkpoint cp{options_.checkpoint_origin, head.size, root};
  auto note = SignCheckpoint(cp, *options_.checkpoint_signer);
  if (!note.ok()) {
    Log(LogLevel::kWarning, absl::StrCat("audit checkpoint not signed: ", note.status().ToString()));
    return note.status();
  }
  MASA_RETURN_IF_ERROR(Put(txn.get(), dbs_[kCheckpoints], BigEndian64(head.size), *note));
  MASA_RETURN_IF_ERROR(txn.Commit());
  last_checkpoint_size_ = head.size;
  return absl::OkStatus();
}

absl::Status StoreImpl::Backup(const std::string& path) const {
  std::string tmp = path + ".tmp-XXXXXX";
  int fd = mkstemp(tmp.data());
  if (fd < 0) return FromErrno(errno, "cannot create", tmp);
  absl::Status st;
  {
    std::shared_lock<std::shared_timed_mutex> lock(resize_mu_);
    st = FromMdb(mdb_env_copyfd2(env_.get(), fd, MDB_CP_COMPACT), "mdb_env_copyfd2");
  }
  if (st.ok() && fchmod(fd, 0600) != 0) st = FromErrno(errno, "cannot chmod", tmp);
  if (st.ok() && fsync(fd) != 0) st = FromErrno(errno, "cannot sync", tmp);
  if (close(fd) != 0 && st.ok()) st = FromErrno(errno, "cannot close", tmp);
  if (st.ok() && rename(tmp.c_str(), path.c_str()) != 0) st = FromErrno(errno, "cannot rename to", path);
  if (!st.ok()) {
    unlink(tmp.c_str());
    return Annotate(st, "backing up the store");
  }
  std::string dir = path.find('/') == std::string::npos ? "." : path.substr(0, path.rfind('/'));
  if (dir.empty()) dir = "/";
  int dfd = open(dir.c_str(), O_RDONLY | O_DIRECTORY);
  if (dfd >= 0) {
    fsync(dfd);
    close(dfd);
  }
  return absl::OkStatus();
}

}  // namespace internal

absl::StatusOr<std::unique_ptr<Store>> Store::Open(const StoreOptions& options) {
  if (options.state_dir.empty()) return absl::InvalidArgumentError("no state folder given");
  if (options.clock == nullptr) return absl::InvalidArgumentError("no clock given");
  if (!PathExists(options.state_dir)) {
    return absl::NotFoundError(absl::StrCat("state folder ", options.state_dir, " does not exist"));
  }
  MASA_RETURN_IF_ERROR(CheckFolder(options.state_dir));
  std::string dir = StoreDir(options.state_dir);
  if (!PathExists(dir)) {
    if (options.read_only) {
      return absl::NotFoundError(absl::StrCat("no store in ", options.state_dir));
    }
    MASA_RETURN_IF_ERROR(MakeDirectory(dir, 0700));
  }
  MASA_RETURN_IF_ERROR(CheckFolder(dir));
  MASA_RETURN_IF_ERROR(CheckFile(dir + "/data.mdb"));
  MASA_RETURN_IF_ERROR(CheckFile(dir + "/lock.mdb"));
  if (options.read_only && !PathExists(dir + "/data.mdb")) {
    return absl::NotFoundError(absl::StrCat("no store in ", dir));
  }
  internal::Env::Options env_options;
  // An existing store is mapped at the size recorded in it (grown by whichever process grew
  // it last, masad most likely) rather than shrunk to initial_map_size: LMDB would map it at
  // its used size then, and every page another process adds would resize it again.
  env_options.map_size = PathExists(dir + "/data.mdb") ? 0 : options.initial_map_size;
  env_options.max_dbs = internal::kDbCount + 4;
  env_options.read_only = options.read_only;
  // Before this process opens the environment: see env_users.h.
  bool shared = false;
  if (!options.read_only) {
    MASA_ASSIGN_OR_RETURN(shared, internal::OtherProcessHasEnvironmentOpen(dir));
  }
  MASA_ASSIGN_OR_RETURN(internal::Env env, internal::Env::Open(dir, env_options));
  auto store = std::make_unique<internal::StoreImpl>(options, std::move(env), shared);
  MASA_RETURN_IF_ERROR(store->Init());
  return std::unique_ptr<Store>(std::move(store));
}

}  // namespace masa::store
