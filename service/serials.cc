// Serial numbers: assignment to organizations (account team) and placement in groups.
#include <openssl/err.h>
#include <openssl/x509.h>

#include <algorithm>
#include <cctype>
#include <set>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "common/openssl.h"
#include "common/status.h"
#include "service/internal/authz.h"
#include "service/internal/components.h"
#include "service/internal/service_impl.h"
#include "service/internal/shared.h"
#include "service/internal/voucher_state.h"

namespace masa::service {
namespace {

// Marks every voucher of the serial that another organization than `new_org` holds, and that
// is neither archived nor already superseded, superseded at `now` (one audit entry each,
// under the voucher's organization): the old owner loses its signing power over the device,
// and its vouchers stop counting as live for conflicts. Runs in the reassignment's
// transaction; reads the serial's index summaries, then only the records it changes.
absl::Status SupersedeVouchers(internal::Operation& op, const std::string& ien,
                               const std::string& serial, const std::string& new_org,
                               absl::Time now) {
  store::WriteTxn& txn = op.txn();
  MASA_ASSIGN_OR_RETURN(auto summaries, txn.VoucherSummariesBySerial(ien, serial));
  for (const auto& summary : summaries) {
    if (summary.organization_id == new_org || summary.archived_at || summary.superseded_at ||
        summary.status == StatusName(VoucherStatus::kSuperseded)) {
      continue;
    }
    MASA_ASSIGN_OR_RETURN(store::Voucher v, txn.Get<store::Voucher>(summary.id));
    v.status = internal::StoredStatus(VoucherStatus::kSuperseded);
    v.superseded_at = now;
    MASA_RETURN_IF_ERROR(txn.Put(v));
    MASA_RETURN_IF_ERROR(op.Audit("voucher.supersede", internal::Target(v.organization_id, v.id),
                                  "ok: its serial was reassigned")
                             .status());
  }
  return absl::OkStatus();
}

// The longest TPM value accepted (an EK certificate is typically 1..2 KiB).
constexpr size_t kMaxTpmValue = 16 * 1024;

// `der` is exactly one DER SubjectPublicKeyInfo (`certificate` false) or X.509 certificate.
bool IsDer(const std::string& der, bool certificate) {
  const unsigned char* p = reinterpret_cast<const unsigned char*>(der.data());
  const unsigned char* end = p + der.size();
  bool ok;
  if (certificate) {
    UniquePtr<X509> x(d2i_X509(nullptr, &p, static_cast<long>(der.size())));
    ok = x != nullptr && p == end;
  } else {
    UniquePtr<EVP_PKEY> k(d2i_PUBKEY(nullptr, &p, static_cast<long>(der.size())));
    ok = k != nullptr && p == end;
  }
  ERR_clear_error();
  return ok;
}

// "" or six two-digit hex octets separated by ':' or '-' (any case), written back as
// lower-case with ':'. nullopt when malformed.
std::optional<std::string> NormalizeMac(std::string_view mac) {
  if (mac.empty()) return std::string();
  if (mac.size() != 17) return std::nullopt;
  std::string out;
  for (size_t i = 0; i < mac.size(); ++i) {
    char c = mac[i];
    if (i % 3 == 2) {
      if (c != ':' && c != '-') return std::nullopt;
      out.push_back(':');
    } else {
      if (!std::isxdigit(static_cast<unsigned char>(c))) return std::nullopt;
      out.push_back(absl::ascii_tolower(c));
    }
  }
  return out;
}

// The device data of one assignment: OK or kInvalidArgument naming the serial. Normalizes
// the MAC address in place.
absl::Status CheckDeviceData(SerialAssignment& s) {
  const std::string what = "serial \"" + s.serial_number + "\": ";
  std::optional<std::string> mac = NormalizeMac(s.mac_addr);
  if (!mac) {
    return absl::InvalidArgumentError(what +
                                      "mac_addr must be six hex octets, e.g. "
                                      "00:1c:73:aa:bb:cc");
  }
  s.mac_addr = *mac;
  const TpmInfo& t = s.tpm;
  if (!t.endorsement_key.empty() && !t.ek_certificate.empty()) {
    return absl::InvalidArgumentError(what +
                                      "give the TPM endorsement key or its certificate, not both");
  }
  if (t.endorsement_key.size() > kMaxTpmValue || t.ek_certificate.size() > kMaxTpmValue ||
      t.platform_primary_key.size() > kMaxTpmValue) {
    return absl::InvalidArgumentError(what + "a TPM value is longer than 16 KiB");
  }
  if (!t.endorsement_key.empty() && !IsDer(t.endorsement_key, false)) {
    return absl::InvalidArgumentError(what + "the endorsement key is not a DER public key");
  }
  if (!t.ek_certificate.empty() && !IsDer(t.ek_certificate, true)) {
    return absl::InvalidArgumentError(what + "the EK certificate is not a DER certificate");
  }
  if (!t.platform_primary_key.empty() && !IsDer(t.platform_primary_key, false)) {
    return absl::InvalidArgumentError(what + "the platform primary key is not a DER public key");
  }
  return absl::OkStatus();
}

bool HasTpm(const TpmInfo& t) {
  return !t.endorsement_key.empty() || !t.ek_certificate.empty() || !t.platform_primary_key.empty();
}

// True when assigning `s` to `c` changes none of its device data.
bool SameDeviceData(const SerialAssignment& s, const store::Component& c) {
  return (s.model.empty() || s.model == c.model) &&
         (s.mac_addr.empty() || s.mac_addr == c.mac_addr) &&
         (!HasTpm(s.tpm) || (s.tpm.endorsement_key == c.tpm_endorsement_key &&
                             s.tpm.ek_certificate == c.tpm_ek_certificate &&
                             s.tpm.platform_primary_key == c.tpm_platform_primary_key));
}

}  // namespace

using internal::AccessContext;
using internal::Authorize;
using internal::Hide;
using internal::Permission;

absl::StatusOr<AssignResult> ServiceImpl::AssignSerials(const Caller& caller, AssignInput input) {
  return Assign(&caller, std::move(input));
}

absl::StatusOr<AssignResult> ServiceImpl::AssignSerialsOffline(AssignInput input) {
  return Assign(nullptr, std::move(input));
}

absl::StatusOr<AssignResult> ServiceImpl::Assign(const Caller* caller, AssignInput input) {
  const std::string group = input.group_id.empty() ? input.organization_id : input.group_id;
  const std::string& org = input.organization_id;
  // Input errors are answered after the authorization (a caller who may not assign learns
  // only that), from inside the first transaction.
  absl::Status invalid;
  std::set<std::string> seen;
  if (input.serials.empty()) invalid = absl::InvalidArgumentError("no serial numbers given");
  for (auto& s : input.serials) {
    if (!invalid.ok()) break;
    if (s.ien.empty()) s.ien = options_.vendor_ien;
    if (!internal::IsPrintableToken(s.serial_number, 64) ||
        !internal::IsPrintableToken(s.ien, 16) || s.model.size() > 128) {
      invalid = absl::InvalidArgumentError("serial \"" + s.serial_number +
                                           "\": ien and serial must be 1..16 / 1..64 printable "
                                           "characters, model at most 128");
    } else if (!seen.insert(store::ComponentKey(s.ien, s.serial_number)).second) {
      invalid = absl::InvalidArgumentError("serial " + s.serial_number + " is listed twice");
    } else {
      invalid = CheckDeviceData(s);
    }
  }
  AssignResult total;
  const size_t chunk = options_.assign_batch_size;
  const absl::Time now = Now();
  for (size_t begin = 0; begin == 0 || begin < input.serials.size(); begin += chunk) {
    const size_t end = std::min(input.serials.size(), begin + chunk);
    AssignResult part;
    absl::Status written = Run(caller, [&](internal::Operation& op) -> absl::Status {
      store::WriteTxn& txn = op.txn();
      part = {};  // the writer may run this again after growing the map
      if (op.has_caller()) {
        if (!op.access().Anywhere(Permission::kAssignSerials)) {
          return absl::PermissionDeniedError(
              "assigning serials needs the vendor account-team role");
        }
        MASA_RETURN_IF_ERROR(
            Authorize(op.access(), Permission::kAssignSerials, group, "group " + group));
      }
      auto g = txn.Get<store::Group>(group);
      if (absl::IsNotFound(g.status()) || (g.ok() && g->organization_id != org)) {
        return absl::NotFoundError("group " + group + " of organization " + org + " not found");
      }
      if (!g.ok()) return g.status();
      MASA_RETURN_IF_ERROR(invalid);
      for (size_t i = begin; i < end; ++i) {
        const SerialAssignment& s = input.serials[i];
        auto existing = txn.Get<store::Component>(store::ComponentKey(s.ien, s.serial_number));
        if (!existing.ok() && !absl::IsNotFound(existing.status())) return existing.status();
        std::string action = "serial.assign";
        if (existing.ok()) {
          if (existing->organization_id == org && existing->group_id == group &&
              SameDeviceData(s, *existing)) {
            ++part.unchanged;
            continue;
          }
          if (existing->organization_id != org) {
            if (!input.reassign) {
              return absl::FailedPreconditionError(
                  "serial " + s.serial_number + " belongs to organization " +
                  existing->organization_id + "; set reassign to move it");
            }
            action = "serial.reassign";
          }
        }
        store::Component c = existing.ok() ? *existing : store::Component{};
        c.ien = s.ien;
        c.serial_number = s.serial_number;
        c.organization_id = org;
        c.group_id = group;
        if (!s.model.empty()) c.model = s.model;
        if (!s.mac_addr.empty()) c.mac_addr = s.mac_addr;
        if (HasTpm(s.tpm)) {  // the TPM data is replaced as a whole
          c.tpm_endorsement_key = s.tpm.endorsement_key;
          c.tpm_ek_certificate = s.tpm.ek_certificate;
          c.tpm_platform_primary_key = s.tpm.platform_primary_key;
        }
        MASA_RETURN_IF_ERROR(txn.Put(c));
        std::string outcome = "ok: to " + group;
        if (action == "serial.reassign") {
          // Both sides see the transfer, neither learns who the other is.
          const std::string& from = existing->organization_id;
          MASA_RETURN_IF_ERROR(op.Audit("serial.transfer-out",
                                        internal::SerialTarget(from, s.ien, s.serial_number),
                                        "ok: reassigned to another organization")
                                   .status());
          MASA_RETURN_IF_ERROR(SupersedeVouchers(op, s.ien, s.serial_number, org, now));
          outcome += " from another organization";
        }
        MASA_RETURN_IF_ERROR(
            op.Audit(action, internal::SerialTarget(org, s.ien, s.serial_number), outcome)
                .status());
        ++part.assigned;
      }
      return absl::OkStatus();
    });
    if (!written.ok()) {
      if (begin == 0) return written;
      return absl::Status(written.code(), absl::StrCat(written.message(), " (the first ", begin,
                                                       " serials were assigned)"));
    }
    total.assigned += part.assigned;
    total.unchanged += part.unchanged;
  }
  return total;
}

absl::StatusOr<AssignResult> ServiceImpl::PlaceSerials(const Caller& caller,
                                                       std::string_view group_id,
                                                       const std::vector<SerialRef>& serials) {
  if (serials.empty()) return absl::InvalidArgumentError("no serial numbers given");
  const std::string group(group_id);
  // The group's organization, which a delegated caller's is not.
  const std::string org = internal::OrganizationOfId(group);
  // Read, authorized and moved in one transaction: the target group still exists (a
  // concurrent DeleteGroup must not strand the serials) and each serial is where the caller
  // was authorized to move it from.
  return Mutate<AssignResult>(
      &caller, [&](internal::Operation& op) -> absl::StatusOr<AssignResult> {
        store::WriteTxn& txn = op.txn();
        AssignResult result;
        MASA_RETURN_IF_ERROR(Authorize(op.access(), Permission::kPlaceSerials, group,
                                       "group " + group, Hide::kOtherOrganizationsOnly));
        MASA_RETURN_IF_ERROR(internal::RequireGroup(txn, group, org));
        std::set<std::string> seen;
        std::vector<store::Component> moves;
        for (const auto& ref : serials) {
          std::string ien = ref.ien.empty() ? options_.vendor_ien : ref.ien;
          std::string what = "serial " + ref.serial_number;
          if (ien != options_.vendor_ien) {
            return absl::InvalidArgumentError("ien " + ien + " of " + what +
                                              " is not served by this MASA");
          }
          if (!seen.insert(store::ComponentKey(ien, ref.serial_number)).second) {
            return absl::InvalidArgumentError(what + " is listed twice");
          }
          auto c = txn.Get<store::Component>(store::ComponentKey(ien, ref.serial_number));
          if (!c.ok() && !absl::IsNotFound(c.status())) return c.status();
          if (!c.ok() || c->organization_id != org) return absl::NotFoundError(what + " not found");
          MASA_RETURN_IF_ERROR(
              Authorize(op.access(), Permission::kPlaceSerials, c->group_id, what));
          if (c->group_id == group) {
            ++result.unchanged;
            continue;
          }
          moves.push_back(*std::move(c));
        }
        for (store::Component& c : moves) {
          c.group_id = group;
          MASA_RETURN_IF_ERROR(txn.Put(c));
          MASA_RETURN_IF_ERROR(op.Audit("serial.place",
                                        internal::SerialTarget(org, c.ien, c.serial_number),
                                        "ok: to " + group)
                                   .status());
        }
        result.assigned = moves.size();
        return result;
      });
}

}  // namespace masa::service

namespace masa::service {

absl::Status ServiceImpl::RemoveSerial(const Caller& caller, const SerialRef& serial,
                                       std::string_view group_id) {
  const std::string group(group_id);
  const std::string ien = serial.ien.empty() ? options_.vendor_ien : serial.ien;
  const std::string what = "serial " + serial.serial_number;
  return Run(&caller, [&](internal::Operation& op) -> absl::Status {
    store::WriteTxn& txn = op.txn();
    MASA_RETURN_IF_ERROR(Authorize(op.access(), Permission::kPlaceSerials, group, "group " + group,
                                   Hide::kOtherOrganizationsOnly));
    MASA_ASSIGN_OR_RETURN(store::Group g, txn.Get<store::Group>(group));
    if (serial.serial_number.empty()) {
      return absl::InvalidArgumentError("serial_number: empty");
    }
    if (ien != options_.vendor_ien) {
      return absl::InvalidArgumentError("ien " + ien + " is not served by this MASA");
    }
    if (g.parent_id.empty()) {
      return absl::InvalidArgumentError("group " + group +
                                        " is the organization's root group: a serial stays there");
    }
    auto c = txn.Get<store::Component>(store::ComponentKey(ien, serial.serial_number));
    if (!c.ok() && !absl::IsNotFound(c.status())) return c.status();
    if (!c.ok() || c->organization_id != g.organization_id || c->group_id != group) {
      return absl::NotFoundError(what + " is not in group " + group);
    }
    c->group_id = c->organization_id;
    MASA_RETURN_IF_ERROR(txn.Put(*c));
    return op
        .Audit("serial.remove", internal::SerialTarget(c->organization_id, ien, c->serial_number),
               "ok: from " + group + " back to the root group")
        .status();
  });
}

absl::StatusOr<std::vector<SerialDetails>> ServiceImpl::GetSerials(
    const Caller& caller, const std::vector<SerialRef>& serials) const {
  if (serials.size() > options_.max_components_per_call) {
    return absl::InvalidArgumentError(
        absl::StrCat(serials.size(), " serials given, at most ", options_.max_components_per_call));
  }
  MASA_ASSIGN_OR_RETURN(store::Snapshot snap, store_->Read());
  MASA_ASSIGN_OR_RETURN(AccessContext access, Access(caller, snap));
  std::vector<SerialDetails> out;
  for (const SerialRef& ref : serials) {
    const std::string ien = ref.ien.empty() ? options_.vendor_ien : ref.ien;
    const std::string what = "serial " + ref.serial_number;
    if (ref.serial_number.empty()) return absl::InvalidArgumentError("serial_number: empty");
    if (ien != options_.vendor_ien) {
      return absl::InvalidArgumentError("ien " + ien + " of " + what +
                                        " is not served by this MASA");
    }
    auto c = snap.Get<store::Component>(store::ComponentKey(ien, ref.serial_number));
    if (!c.ok() && !absl::IsNotFound(c.status())) return c.status();
    if (!c.ok()) return absl::NotFoundError(what + " not found");
    MASA_RETURN_IF_ERROR(Authorize(access, Permission::kView, c->group_id, what));
    out.push_back(internal::DetailsOf(*c));
  }
  return out;
}

absl::StatusOr<std::vector<SerialDetails>> ServiceImpl::ListComponents(
    const Caller& caller, std::string_view group_id) const {
  MASA_ASSIGN_OR_RETURN(store::Snapshot snap, store_->Read());
  MASA_ASSIGN_OR_RETURN(AccessContext access, Access(caller, snap));
  const std::string group(group_id);
  MASA_RETURN_IF_ERROR(Authorize(access, Permission::kView, group, "group " + group));
  MASA_ASSIGN_OR_RETURN(store::Group g, snap.Get<store::Group>(group));
  const bool root = g.parent_id.empty();
  // Components have no index by organization: one pass over them, in key (ien, serial)
  // order.
  MASA_ASSIGN_OR_RETURN(
      auto all, internal::ListPrefix<store::Component>(snap, "", [](const store::Component& c) {
        return store::ComponentKey(c.ien, c.serial_number);
      }));
  std::vector<SerialDetails> out;
  for (const store::Component& c : all) {
    if (root ? c.organization_id == g.organization_id : c.group_id == group) {
      out.push_back(internal::DetailsOf(c));
    }
  }
  return out;
}

}  // namespace masa::service
