// OVGS GetOwnershipVoucher(s): vouchers for components pinned to an uploaded PDC, all or
// nothing, through the pipeline of RequestVouchers (internal/issuance.h: one signing fan-out
// on the work queue, then one store batch with every record and audit entry).
#include <algorithm>
#include <memory>
#include <set>

#include "absl/strings/str_cat.h"
#include "common/status.h"
#include "service/internal/authz.h"
#include "service/internal/components.h"
#include "service/internal/ids.h"
#include "service/internal/issuance.h"
#include "service/internal/pdc.h"
#include "service/internal/service_impl.h"
#include "service/internal/shared.h"
#include "service/internal/voucher_state.h"

namespace masa::service {

using internal::AccessContext;
using internal::Authorize;
using internal::Fanout;
using internal::Permission;
using internal::Planned;
using internal::StillRequestable;
using internal::StoredStatus;
using internal::Target;
using internal::WholeSeconds;

absl::Status ServiceImpl::IssueComponentVouchers(const Caller& caller, ComponentVoucherInput input,
                                                 ComponentVoucherCallback done) {
  const absl::Time start = absl::Now();
  auto reject = [&](absl::Status s) {
    metrics_.requests_rejected.fetch_add(1, std::memory_order_relaxed);
    return s;
  };
  MASA_ASSIGN_OR_RETURN(store::Snapshot snap, store_->Read());
  auto access_or = Access(caller, snap);
  if (!access_or.ok()) return reject(access_or.status());
  AccessContext& access = *access_or;

  // --- the whole input, before anything else ---
  const size_t n = input.components.size();
  if (n == 0 || n > options_.max_components_per_call) {
    return reject(absl::InvalidArgumentError(
        absl::StrCat("component: ", n, " given, expected 1..", options_.max_components_per_call)));
  }
  if (input.cert_id.empty()) return reject(absl::InvalidArgumentError("cert_id: empty"));
  std::set<std::string> seen;
  for (size_t i = 0; i < n; ++i) {
    const SerialRef& c = input.components[i];
    const std::string at = absl::StrCat("component ", i + 1, ": ");
    if (c.ien.empty() || c.serial_number.empty()) {
      return reject(absl::InvalidArgumentError(at + "ien and serial_number are required"));
    }
    if (!internal::IsPrintableToken(c.serial_number, 64) ||
        !internal::IsPrintableToken(c.ien, 16)) {
      return reject(absl::InvalidArgumentError(
          at + "ien and serial_number must be 1..16 / 1..64 printable characters"));
    }
    if (c.ien != options_.vendor_ien) {
      return reject(absl::InvalidArgumentError(at + "ien " + c.ien +
                                               " is not served by this MASA (it serves " +
                                               options_.vendor_ien + ")"));
    }
    if (!seen.insert(store::ComponentKey(c.ien, c.serial_number)).second) {
      return reject(
          absl::InvalidArgumentError(at + "serial " + c.serial_number + " is listed twice"));
    }
  }
  const absl::Time now = WholeSeconds(Now());
  const absl::Time expires = WholeSeconds(input.expires_at);
  if (expires <= now) {
    return reject(absl::InvalidArgumentError("lifetime: " + FormatRfc3339(input.expires_at) +
                                             " is not in the future"));
  }

  // --- the certificate: unknown or invisible is one answer ---
  const std::string what = "certificate " + input.cert_id;
  auto stored = snap.Get<store::PinnedDomainCert>(input.cert_id);
  if (!stored.ok() && !absl::IsNotFound(stored.status())) return stored.status();
  if (!stored.ok() || !Authorize(access, Permission::kView, stored->group_id, what).ok()) {
    return reject(absl::FailedPreconditionError(what + " not found"));
  }
  const std::string org = stored->organization_id;
  auto parsed = ParsePdcCached(stored->certificate_der, what);
  if (!parsed.ok()) return reject(parsed.status());
  const internal::ParsedPdc& pdc = *parsed;
  if (pdc.not_after <= now || pdc.not_before > now) {
    return reject(absl::InvalidArgumentError(what + " is not valid now (valid " +
                                             FormatRfc3339(pdc.not_before) + " .. " +
                                             FormatRfc3339(pdc.not_after) + ")"));
  }
  if (stored->expiry_time && expires > WholeSeconds(*stored->expiry_time)) {
    return reject(absl::InvalidArgumentError("lifetime: after " + what + "'s expiry_time " +
                                             FormatRfc3339(*stored->expiry_time)));
  }
  auto checked = ExpiryFor(expires, now, pdc.not_after);
  if (!checked.ok()) return reject(checked.status());

  const DeviceProfile device =
      options_.device_profiles.count("") ? options_.device_profiles.at("") : DeviceProfile{};
  std::shared_ptr<const SigningKeys> keys = this->keys();
  if (keys->For(device.content_type) == nullptr) {
    return reject(absl::FailedPreconditionError("no signer for the voucher's CMS content type"));
  }

  // --- per component: every one must be issuable, or none is ---
  auto request = std::make_shared<store::VoucherRequest>();
  request->organization_id = org;  // its id is made when it is written (below)
  request->requested_by = caller.principal_id();
  request->requested_at = Now();
  request->ien = options_.vendor_ien;
  request->pdc_id = input.cert_id;
  request->security_profile =
      stored->revocation_checks ? "revocation-checks" : "no-revocation-checks";
  request->expires_at = expires;
  // Every call issues a new voucher, whatever the component's earlier pins (OVGS).
  request->override_conflicts = true;
  request->pdc_organization = pdc.organization;
  request->status = StatusName(RequestStatus::kCompleted);

  auto plan = std::make_shared<std::vector<Planned>>();
  auto tpm = std::make_shared<std::vector<TpmInfo>>();
  auto fan = std::make_shared<Fanout>();
  fan->keys = keys;
  fan->metrics = &metrics_;
  const std::string oid(signer::ContentTypeOid(device.content_type));
  for (size_t i = 0; i < n; ++i) {
    const std::string& serial = input.components[i].serial_number;
    const std::string cwhat = "component " + input.components[i].ien + "/" + serial;
    request->serial_numbers.push_back(serial);
    auto comp = snap.Get<store::Component>(
        store::ComponentKey(input.components[i].ien, input.components[i].serial_number));
    if (!comp.ok() && !absl::IsNotFound(comp.status())) return comp.status();
    // A component the caller cannot see is unknown to it, wherever it is.
    if (!comp.ok() || !Authorize(access, Permission::kView, comp->group_id, cwhat).ok()) {
      return reject(absl::FailedPreconditionError(cwhat + " not found"));
    }
    if (comp->organization_id != org) {
      return reject(absl::InvalidArgumentError(cwhat + " and " + what +
                                               " belong to different organizations"));
    }
    if (absl::Status s = Authorize(access, Permission::kRequest, comp->group_id, cwhat); !s.ok()) {
      return reject(s);
    }
    store::Voucher v;
    v.organization_id = org;  // id and request_id: made when it is written (below)
    v.ien = comp->ien;
    v.serial_number = serial;
    v.status = StoredStatus(VoucherStatus::kCompleted);
    v.assertion = std::string(signer::AssertionName(options_.default_assertion));
    v.signing_key_id = keys->key_id;
    v.requested_at = request->requested_at;
    v.created_at = now;
    v.expires_at = expires;
    v.requested_by = caller.principal_id();
    v.requested_by_name = caller.name();
    v.pdc_organization = pdc.organization;
    v.pdc_id = input.cert_id;
    v.pdc_sha256 = pdc.sha256;
    v.content_type_oid = oid;
    v.security_profile = request->security_profile;

    signer::Voucher sv;
    sv.created_on = now;
    sv.expires_on = expires;
    sv.assertion = options_.default_assertion;
    sv.serial_number = serial;
    sv.pinned_domain_cert = pdc.der;
    sv.domain_cert_revocation_checks = stored->revocation_checks;
    fan->tasks.emplace_back(std::move(sv), device.content_type);
    plan->push_back({i, comp->group_id, std::move(v)});
    tpm->push_back(internal::TpmOf(*comp));
  }

  // --- after signing: one batch with every record and audit entry, or nothing ---
  const std::string actor = caller.principal_id();
  auto commit = [this, request, plan, tpm, actor, done = std::move(done),
                 start](std::vector<absl::StatusOr<std::string>> cms) mutable {
    if (absl::Status failed = internal::SigningFailure(cms); !failed.ok()) {
      metrics_.requests_failed.fetch_add(1, std::memory_order_relaxed);
      done(failed);
      EndInflight();
      return;
    }
    auto out = std::make_shared<std::vector<ComponentVoucher>>();
    std::vector<std::string> digests = internal::CmsDigests(cms);
    auto body = [this, request, plan, tpm, actor, out, vendor_org = options_.vendor_organization_id,
                 cms_sha256 = std::move(digests),
                 cms = std::move(cms)](internal::Operation& op) -> absl::Status {
      store::WriteTxn& txn = op.txn();
      out->clear();  // the writer may run this again after growing the map
      // Ids made on the writer thread grow in commit order (see RequestVouchers).
      store::VoucherRequest req = *request;
      req.id = internal::NewRequestId(Now());
      std::optional<AccessContext> access;  // loaded here only when a component moved group
      for (size_t k = 0; k < plan->size(); ++k) {
        const Planned& p = (*plan)[k];
        // Ownership is current: a reassignment or placement committed since the snapshot
        // fails the whole call, decided against the transaction that writes the vouchers.
        if (absl::Status s = StillRequestable(txn, p, actor, vendor_org, access); !s.ok()) {
          if (absl::IsNotFound(s)) {
            return absl::FailedPreconditionError("component " + p.record.ien + "/" +
                                                 p.record.serial_number + " not found");
          }
          return s;
        }
        store::Voucher v = p.record;
        v.id = internal::NewVoucherId(Now());
        v.request_id = req.id;
        v.cms = *cms[k];
        MASA_ASSIGN_OR_RETURN(uint64_t seq,
                              op.Audit("voucher.issue", Target(v.organization_id, v.id),
                                       "ok: component voucher", cms_sha256[k]));
        v.audit_seq = seq;
        MASA_RETURN_IF_ERROR(txn.Insert(v));
        out->push_back({v.id, v.cms, (*tpm)[k]});
      }
      if (!plan->empty()) {
        const store::Voucher& first = plan->front().record;
        MASA_RETURN_IF_ERROR(
            internal::CountSignatures(txn, first.signing_key_id, plan->size(), first.created_at));
      }
      MASA_RETURN_IF_ERROR(txn.Insert(req));
      return op
          .Audit("request.create", Target(req.organization_id, req.id),
                 absl::StrCat("ok: ", plan->size(), " component vouchers issued"))
          .status();
    };
    const absl::Time submitted = absl::Now();
    SubmitOperation(actor, std::move(body),
                    [this, out, done = std::move(done), start,
                     submitted](absl::StatusOr<store::CommitResult> r) {
                      RecordCommit(start, submitted, r.ok(), out->size(), 0);
                      if (!r.ok()) {
                        done(r.status());
                      } else {
                        done(std::move(*out));
                      }
                      EndInflight();
                    });
  };
  return StartSigning(fan, std::move(commit));
}

}  // namespace masa::service
