// The on-disk layout: LMDB named databases, their keys, and which record lives where.
//
//   meta                 "format" -> "masa-store"; "schema_version" -> u64 BE;
//                        "audit_head" -> u64 BE size || SHA-256(last entry bytes)
//   organizations ... keys   id -> record (codec.h), see TableTraits below
//   components           ien 0x00 serial -> Component
//   audit                u64 BE seq -> entry bytes (the Merkle leaf)
//   audit_nodes          u64 BE last leaf || u8 level -> 32-byte subtree hash (every perfect
//                        subtree, leaves included: about 2n nodes for n entries). Before
//                        schema 7 "audit_tree", keyed u8 level || u64 BE index.
//   checkpoints          u64 BE tree size -> signed note text
//   idx_voucher_serial   ien 0x00 serial 0x00 voucher id -> "" (schema 9; from schema 3 to
//                        8 a voucher summary, Voucher tags 3 6 11 18 19 26, which nothing
//                        reads any more)
//   idx_voucher_org_time org 0x00 u64 BE (requested_at ns + 2^63) voucher id -> ""
//   idx_voucher_request  request id 0x00 voucher id -> ""       (schema 2)
//   cms_certificates     SHA-256 -> a CMS certificate set ([0] IMPLICIT CertificateSet, the
//                        whole TLV) cut out of stored vouchers: every voucher signed with
//                        one key carries the same chain, kept once (schema 4)
//   idx_serial_pin       ien 0x00 serial 0x00 org 0x00 pdc SHA-256 -> SerialPin, present
//                        while an unarchived voucher has that pin (schema 4)
//   key_approvals        id -> KeyApprovalRecord, open two-person approvals (schema 6)
//   cms_pdcs             SHA-256 -> the pinned-domain-cert text (base64) cut out of stored
//                        vouchers' CMS: every voucher of a customer's pin carries the same
//                        one, kept once (schema 7)
//
// Voucher and request ids (keys of vouchers and voucher_requests, and inside every voucher
// index) are UUIDv7 text since schema 5; before, "v-"/"req-" + hex (see migrations.h).
#pragma once

#include <string>
#include <string_view>

#include "store/records.h"

namespace masa::store::internal {

enum Db : int {
  kMeta,
  kOrganizations,
  kGroups,
  kPrincipals,
  kRoleBindings,
  kApiTokens,
  kPdcs,
  kComponents,
  kVoucherRequests,
  kVouchers,
  kKeys,
  kAudit,
  kAuditNodes,
  kCheckpoints,
  kIdxVoucherSerial,
  kIdxVoucherOrgTime,
  kIdxVoucherRequest,
  kIdxSerialPin,
  kCmsCertificates,
  kKeyApprovals,
  kCmsPdcs,
  kDbCount
};

// Database names, indexed by Db.
inline constexpr const char* kDbNames[kDbCount] = {"meta",
                                                   "organizations",
                                                   "groups",
                                                   "principals",
                                                   "role_bindings",
                                                   "api_tokens",
                                                   "pdcs",
                                                   "components",
                                                   "voucher_requests",
                                                   "vouchers",
                                                   "keys",
                                                   "audit",
                                                   "audit_nodes",
                                                   "checkpoints",
                                                   "idx_voucher_serial",
                                                   "idx_voucher_org_time",
                                                   "idx_voucher_request",
                                                   "idx_serial_pin",
                                                   "cms_certificates",
                                                   "key_approvals",
                                                   "cms_pdcs"};

// The handles of the open databases (MDB_dbi is unsigned int).
struct Dbs {
  unsigned int dbi[kDbCount] = {};
  unsigned int operator[](Db d) const { return dbi[d]; }
};

template <typename T>
struct TableTraits;

#define MASA_TABLE(type, db, keyexpr)                         \
  template <>                                                 \
  struct TableTraits<type> {                                  \
    static constexpr Db kDb = db;                             \
    static constexpr const char* kName = #type;               \
    static std::string Key(const type& r) { return keyexpr; } \
  }
MASA_TABLE(Organization, kOrganizations, r.id);
MASA_TABLE(Group, kGroups, r.id);
MASA_TABLE(Principal, kPrincipals, r.id);
MASA_TABLE(RoleBinding, kRoleBindings, r.id);
MASA_TABLE(ApiToken, kApiTokens, r.token_hash);
MASA_TABLE(PinnedDomainCert, kPdcs, r.id);
MASA_TABLE(Component, kComponents, r.ien + std::string(1, '\0') + r.serial_number);
MASA_TABLE(VoucherRequest, kVoucherRequests, r.id);
MASA_TABLE(Voucher, kVouchers, r.id);
MASA_TABLE(KeyRecord, kKeys, r.id);
MASA_TABLE(KeyApprovalRecord, kKeyApprovals, r.id);
#undef MASA_TABLE

}  // namespace masa::store::internal
