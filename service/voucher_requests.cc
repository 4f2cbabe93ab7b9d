// Voucher requests, renewals and archiving: the pipeline from a request to signed, stored
// and audited vouchers (get and download: voucher_views.cc; listing: voucher_list.cc).
#include <algorithm>
#include <atomic>
#include <cstdlib>
#include <optional>
#include <set>

#include "absl/strings/str_cat.h"
#include "common/sha256.h"
#include "common/status.h"
#include "service/internal/authz.h"
#include "service/internal/ids.h"
#include "service/internal/issuance.h"
#include "service/internal/pdc.h"
#include "service/internal/platform_cert.h"
#include "service/internal/service_impl.h"
#include "service/internal/shared.h"
#include "service/internal/voucher_state.h"
#include "signer/voucher_json.h"

namespace masa::service {

using internal::AccessContext;
using internal::Authorize;
using internal::Permission;
using internal::CountsAsLive;
using internal::Enqueue;
using internal::Fanout;
using internal::Planned;
using internal::StillRequestable;
using internal::WholeSeconds;
using internal::IsArchived;
using internal::IsSuperseded;
using internal::SerialNotFoundReason;
using internal::StatusOf;
using internal::StoredStatus;
using internal::RequestStatusOf;
using internal::Target;

namespace {

// The id of a live voucher of the serial, in `org`, pinned to another certificate than
// `pdc_sha256`; "" when there is none. The pin index answers the usual case (no other
// certificate) in one read; only a serial that has had another pin reads its summaries.
absl::StatusOr<std::string> LiveVoucherPinnedElsewhere(const store::Reader& r, std::string_view ien,
                                                       std::string_view serial,
                                                       std::string_view org,
                                                       std::string_view pdc_sha256,
                                                       absl::Time now) {
  MASA_ASSIGN_OR_RETURN(auto pins, r.PinsBySerial(ien, serial, org));
  if (std::none_of(pins.begin(), pins.end(),
                   [&](const store::SerialPin& p) { return p.pdc_sha256 != pdc_sha256; })) {
    return std::string();
  }
  MASA_ASSIGN_OR_RETURN(auto summaries, r.VoucherSummariesBySerial(ien, serial));
  for (const auto& v : summaries) {
    if (v.organization_id == org && v.pdc_sha256 != pdc_sha256 && CountsAsLive(v, now)) {
      return v.id;
    }
  }
  return std::string();
}

// Ownership is current: a voucher may be renewed only while its serial is still assigned
// to the voucher's organization and the voucher was not superseded by a reassignment.
// Checked against the caller's snapshot and again in the write transaction. The refusal
// says only that the serial left, which the voucher's "superseded" status already shows.
absl::Status CheckStillOwned(const store::Reader& r, const store::Voucher& v) {
  auto c = r.Get<store::Component>(store::ComponentKey(v.ien, v.serial_number));
  if (!c.ok() && !absl::IsNotFound(c.status())) return c.status();
  if (IsSuperseded(v) || !c.ok() || c->organization_id != v.organization_id) {
    return absl::FailedPreconditionError("voucher " + v.id + " is superseded: its serial " +
                                         v.serial_number +
                                         " is no longer assigned to your organization");
  }
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<internal::ParsedPdc> ServiceImpl::ParsePdcCached(std::string_view pem_or_der,
                                                                std::string_view what) const {
  constexpr size_t kMaxEntries = 256;
  {
    absl::MutexLock lock(&pdc_cache_mu_);
    auto it = pdc_cache_.find(std::string(pem_or_der));
    if (it != pdc_cache_.end()) return it->second;
  }
  MASA_ASSIGN_OR_RETURN(internal::ParsedPdc parsed, internal::ParsePdc(pem_or_der, what));
  absl::MutexLock lock(&pdc_cache_mu_);
  if (pdc_cache_.size() >= kMaxEntries) pdc_cache_.clear();
  pdc_cache_.emplace(std::string(pem_or_der), parsed);
  return parsed;
}

absl::Status ServiceImpl::StartSigning(
    const std::shared_ptr<Fanout>& fan,
    std::function<void(std::vector<absl::StatusOr<std::string>>)> commit) {
  BeginInflight();
  if (fan->tasks.empty()) {
    commit({});
    return absl::OkStatus();
  }
  fan->on_done = std::move(commit);
  if (absl::Status s = Enqueue(*queue_, fan); !s.ok()) {
    fan->on_done = nullptr;  // breaks the fan -> commit -> nothing cycle; nothing ran
    EndInflight();
    metrics_.requests_busy.fetch_add(1, std::memory_order_relaxed);
    return s;
  }
  return absl::OkStatus();
}

absl::StatusOr<absl::Time> ServiceImpl::ExpiryFor(std::optional<absl::Time> asked,
                                                  absl::Time created,
                                                  absl::Time pdc_not_after) const {
  if (!asked) return std::min(created + options_.default_validity, WholeSeconds(pdc_not_after));
  absl::Time t = WholeSeconds(*asked);
  if (t <= created) {
    return absl::InvalidArgumentError("expires: " + FormatRfc3339(*asked) +
                                      " is not in the future");
  }
  if (t > created + options_.max_validity) {
    return absl::InvalidArgumentError("expires: more than " +
                                      FormatRfc3339(created + options_.max_validity) +
                                      " (the longest validity allowed)");
  }
  if (t > pdc_not_after) {
    return absl::InvalidArgumentError("expires: after the pinned-domain certificate's notAfter " +
                                      FormatRfc3339(pdc_not_after));
  }
  return t;
}

// ---------------------------------------------------------------------------------------

absl::Status ServiceImpl::RequestVouchers(const Caller& caller, VoucherRequestInput input,
                                          RequestCallback done) {
  const absl::Time start = absl::Now();
  auto reject = [&](absl::Status s) {
    metrics_.requests_rejected.fetch_add(1, std::memory_order_relaxed);
    return s;
  };
  MASA_ASSIGN_OR_RETURN(store::Snapshot snap, store_->Read());
  auto access_or = Access(caller, snap);
  if (!access_or.ok()) return reject(access_or.status());
  AccessContext& access = *access_or;
  const std::string& org = caller.organization_id();

  // --- the whole input, before anything else ---
  size_t n = input.serial_numbers.size();
  if (n == 0 || n > options_.max_serials_per_request) {
    return reject(absl::InvalidArgumentError(absl::StrCat(
        "serial_numbers: ", n, " given, expected 1..", options_.max_serials_per_request)));
  }
  std::string ien = input.ien.empty() ? options_.vendor_ien : input.ien;
  if (!internal::IsPrintableToken(ien, 16)) return reject(absl::InvalidArgumentError("ien: bad"));
  std::set<std::string> seen;
  for (const auto& s : input.serial_numbers) {
    if (!internal::IsPrintableToken(s, 64)) {
      return reject(absl::InvalidArgumentError(
          "serial_numbers: each must be 1..64 printable characters without spaces"));
    }
    if (!seen.insert(s).second) {
      return reject(absl::InvalidArgumentError("serial_numbers: " + s + " is listed twice"));
    }
  }
  auto device = options_.device_profiles.find(input.os_type);
  if (device == options_.device_profiles.end()) {
    return reject(absl::InvalidArgumentError("os_type: unknown \"" + input.os_type + "\""));
  }
  std::string sec_name = input.security_profile.empty() ? "default" : input.security_profile;
  auto security = options_.security_profiles.find(sec_name);
  if (security == options_.security_profiles.end()) {
    return reject(absl::InvalidArgumentError("security_profile: unknown \"" + sec_name + "\""));
  }
  std::shared_ptr<const SigningKeys> keys = this->keys();
  if (keys->For(device->second.content_type) == nullptr) {
    return reject(absl::FailedPreconditionError(
        "os_type " + input.os_type + ": no signer for its CMS content type is configured"));
  }
  if (input.pdc_pem.empty() == input.pdc_cert_id.empty()) {
    return reject(absl::InvalidArgumentError(
        "give exactly one of the pinned-domain certificate (PEM) and cert_id"));
  }
  internal::ParsedPdc pdc;
  // An uploaded PDC's own settings: its revocation_checks ask for the leaf, its expiry_time
  // ends its use before its notAfter.
  bool pdc_revocation_checks = false;
  std::optional<absl::Time> pdc_expiry_time;
  if (!input.pdc_cert_id.empty()) {
    std::string what = "certificate " + input.pdc_cert_id;
    auto stored = snap.Get<store::PinnedDomainCert>(input.pdc_cert_id);
    if (absl::IsNotFound(stored.status())) return reject(absl::NotFoundError(what + " not found"));
    if (!stored.ok()) return stored.status();
    if (absl::Status s = Authorize(access, Permission::kView, stored->group_id, what); !s.ok()) {
      return reject(s);
    }
    MASA_ASSIGN_OR_RETURN(pdc, ParsePdcCached(stored->certificate_der, what));
    pdc_revocation_checks = stored->revocation_checks;
    pdc_expiry_time = stored->expiry_time;
  } else {
    auto parsed = ParsePdcCached(input.pdc_pem, "pinned-domain certificate");
    if (!parsed.ok()) return reject(parsed.status());
    pdc = *std::move(parsed);
  }
  const absl::Time now = WholeSeconds(Now());
  if (pdc.not_after <= now || pdc.not_before > now) {
    return reject(absl::InvalidArgumentError("pinned-domain certificate is not valid now (valid " +
                                             FormatRfc3339(pdc.not_before) + " .. " +
                                             FormatRfc3339(pdc.not_after) + ")"));
  }
  std::string platform_der;
  if (!input.platform_certificate_pem.empty()) {
    auto checked = internal::CheckPlatformCertificate(input.platform_certificate_pem, pdc.der, now);
    if (!checked.ok()) return reject(checked.status());
    platform_der = *std::move(checked);
  }
  if (pdc_expiry_time && *pdc_expiry_time <= now) {
    return reject(absl::InvalidArgumentError("certificate " + input.pdc_cert_id +
                                             ": its expiry_time " +
                                             FormatRfc3339(*pdc_expiry_time) + " has passed"));
  }
  if (pdc_expiry_time && input.expires_at &&
      WholeSeconds(*input.expires_at) > WholeSeconds(*pdc_expiry_time)) {
    return reject(absl::InvalidArgumentError("expires: after certificate " + input.pdc_cert_id +
                                             "'s expiry_time " + FormatRfc3339(*pdc_expiry_time)));
  }
  auto expires = ExpiryFor(input.expires_at, now,
                           pdc_expiry_time ? std::min(pdc.not_after, WholeSeconds(*pdc_expiry_time))
                                           : pdc.not_after);
  if (!expires.ok()) return reject(expires.status());
  if (!access.Anywhere(Permission::kRequest)) {
    return reject(absl::PermissionDeniedError(
        "your roles do not include the request permission in any group"));
  }

  // --- per serial ---
  auto request = std::make_shared<store::VoucherRequest>();
  request->organization_id = org;  // its id is made when it is written (below)
  request->requested_by = caller.principal_id();
  request->requested_at = Now();
  request->ien = ien;
  request->serial_numbers = input.serial_numbers;
  request->pdc_id = input.pdc_cert_id;
  request->os_type = input.os_type;
  request->security_profile = sec_name;
  request->expires_at = input.expires_at;
  request->override_conflicts = input.override_conflicts;
  request->platform_certificate_der = platform_der;
  request->pdc_organization = pdc.organization;

  auto result = std::make_shared<RequestResult>();
  result->serials.resize(n);
  auto plan = std::make_shared<std::vector<Planned>>();
  auto fan = std::make_shared<Fanout>();
  fan->keys = keys;
  fan->metrics = &metrics_;
  const std::string oid(signer::ContentTypeOid(device->second.content_type));
  for (size_t i = 0; i < n; ++i) {
    const std::string& serial = input.serial_numbers[i];
    SerialResult& r = result->serials[i];
    r.serial_number = serial;
    r.status = SerialStatus::kFailed;
    auto comp = snap.Get<store::Component>(store::ComponentKey(ien, serial));
    if (!comp.ok() && !absl::IsNotFound(comp.status())) return comp.status();
    if (!comp.ok() || comp->organization_id != org) {
      r.code = absl::StatusCode::kNotFound;
      r.reason = SerialNotFoundReason(serial);
      continue;
    }
    if (absl::Status s =
            Authorize(access, Permission::kRequest, comp->group_id, "serial " + serial);
        !s.ok()) {
      r.code = s.code();
      r.reason = absl::IsNotFound(s) ? SerialNotFoundReason(serial) : std::string(s.message());
      continue;
    }
    if (!input.override_conflicts) {
      MASA_ASSIGN_OR_RETURN(std::string other,
                            LiveVoucherPinnedElsewhere(snap, ien, serial, org, pdc.sha256, now));
      if (!other.empty()) {
        r.code = absl::StatusCode::kAlreadyExists;
        r.reason = "serial " + serial + " has live voucher " + other +
                   " pinned to a different certificate; set override to issue anyway";
        continue;
      }
    }
    store::Voucher v;
    v.organization_id = org;  // id and request_id: made when it is written (below)
    v.ien = ien;
    v.serial_number = serial;
    v.status = StoredStatus(VoucherStatus::kCompleted);
    v.assertion = std::string(signer::AssertionName(options_.default_assertion));
    v.signing_key_id = keys->key_id;
    v.requested_at = request->requested_at;
    v.created_at = now;
    v.expires_at = *expires;
    v.requested_by = caller.principal_id();
    v.requested_by_name = caller.name();
    v.pdc_organization = pdc.organization;
    v.pdc_id = input.pdc_cert_id;
    v.pdc_sha256 = pdc.sha256;
    v.content_type_oid = oid;
    v.os_type = input.os_type;
    v.security_profile = sec_name;

    signer::Voucher sv;
    sv.created_on = now;
    sv.expires_on = *expires;
    sv.assertion = options_.default_assertion;
    sv.serial_number = serial;
    sv.pinned_domain_cert = pdc.der;
    sv.domain_cert_revocation_checks = pdc_revocation_checks
                                           ? std::optional<bool>(true)
                                           : security->second.domain_cert_revocation_checks;
    if (!platform_der.empty()) sv.platform_key_certificate = platform_der;
    fan->tasks.emplace_back(std::move(sv), device->second.content_type);
    plan->push_back({i, comp->group_id, std::move(v)});
  }

  // --- after signing: one batch with every record and audit entry ---
  const std::string actor = caller.principal_id();
  const bool override_conflicts = input.override_conflicts;
  auto commit = [this, request, result, plan, actor, override_conflicts, now,
                 done = std::move(done),
                 start](std::vector<absl::StatusOr<std::string>> cms) mutable {
    // A signature that failed even on its retry fails the whole request, and nothing is
    // written: no voucher, no audit entry, no request record. The client retries it whole.
    if (absl::Status failed = internal::SigningFailure(cms); !failed.ok()) {
      metrics_.requests_failed.fetch_add(1, std::memory_order_relaxed);
      done(failed);
      EndInflight();
      return;
    }
    auto out = std::make_shared<RequestResult>();
    std::vector<std::string> digests = internal::CmsDigests(cms);
    auto body = [this, request, result, plan, actor, override_conflicts, now, out,
                 vendor_org = options_.vendor_organization_id, cms_sha256 = std::move(digests),
                 cms = std::move(cms)](internal::Operation& op) -> absl::Status {
      store::WriteTxn& txn = op.txn();
      *out = *result;
      store::VoucherRequest req = *request;
      // The ids are made here, on the store's one writer thread, so that they grow in commit
      // order: made when the request came in, a request signed faster than an earlier one
      // would commit a smaller id after a larger one, and LMDB would split the last page of
      // each table keyed by them in half instead of appending to it.
      req.id = internal::NewRequestId(Now());
      out->req_id = req.id;
      size_t issued = 0;
      std::optional<AccessContext> access;  // loaded here only when a serial moved group
      for (size_t k = 0; k < plan->size(); ++k) {
        const Planned& p = (*plan)[k];
        SerialResult& r = out->serials[p.index];
        // Ownership is current: a reassignment or placement committed since the snapshot
        // counts, decided against the same transaction that writes the voucher.
        if (absl::Status s = StillRequestable(txn, p, actor, vendor_org, access); !s.ok()) {
          if (!absl::IsNotFound(s) && !absl::IsPermissionDenied(s)) return s;
          r.code = s.code();
          r.reason = absl::IsNotFound(s) ? SerialNotFoundReason(r.serial_number)
                                         : std::string(s.message());
          continue;
        }
        // Checked again here: a request committed since the snapshot may have pinned it.
        if (!override_conflicts) {
          MASA_ASSIGN_OR_RETURN(
              std::string other,
              LiveVoucherPinnedElsewhere(txn, p.record.ien, p.record.serial_number,
                                         p.record.organization_id, p.record.pdc_sha256, now));
          if (!other.empty()) {
            r.code = absl::StatusCode::kAlreadyExists;
            r.reason = "serial " + r.serial_number + " has live voucher " + other +
                       " pinned to a different certificate; set override to issue anyway";
            continue;
          }
        }
        store::Voucher v = p.record;
        v.id = internal::NewVoucherId(Now());
        v.request_id = req.id;
        v.cms = *cms[k];
        MASA_ASSIGN_OR_RETURN(uint64_t seq,
                              op.Audit("voucher.issue", Target(v.organization_id, v.id),
                                       override_conflicts ? "ok: override" : "ok", cms_sha256[k]));
        v.audit_seq = seq;
        MASA_RETURN_IF_ERROR(txn.Insert(v));
        r.voucher_id = v.id;
        r.status = SerialStatus::kCompleted;
        r.code = absl::StatusCode::kOk;
        r.reason.clear();
        ++issued;
      }
      for (const auto& r : out->serials) {
        if (r.code == absl::StatusCode::kOk) continue;
        req.failed_serials.push_back(r.serial_number);
        req.failure_codes.push_back(r.code);
        req.failure_reasons.push_back(r.reason);
      }
      if (!plan->empty()) {
        MASA_RETURN_IF_ERROR(
            internal::CountSignatures(txn, plan->front().record.signing_key_id, issued, now));
      }
      size_t failed = out->serials.size() - issued;
      req.status = StatusName(RequestStatusOf(issued, failed));
      MASA_RETURN_IF_ERROR(txn.Insert(req));
      return op
          .Audit("request.create", Target(req.organization_id, req.id),
                 absl::StrCat("ok: ", issued, " issued, ", failed, " failed"))
          .status();
    };
    const absl::Time submitted = absl::Now();
    SubmitOperation(actor, std::move(body),
                    [this, out, done = std::move(done), start,
                     submitted](absl::StatusOr<store::CommitResult> r) {
                      size_t issued = std::count_if(
                          out->serials.begin(), out->serials.end(),
                          [](const SerialResult& s) { return s.code == absl::StatusCode::kOk; });
                      RecordCommit(start, submitted, r.ok(), issued, out->serials.size() - issued);
                      if (!r.ok()) {
                        done(r.status());
                      } else {
                        done(*out);
                      }
                      EndInflight();
                    });
  };

  return StartSigning(fan, std::move(commit));
}

void ServiceImpl::RecordCommit(absl::Time start, absl::Time submitted, bool committed,
                               size_t issued, size_t failed) {
  const absl::Time now = absl::Now();
  metrics_.commit_latency.Observe(now - submitted);
  metrics_.request_latency.Observe(now - start);
  if (!committed) {
    metrics_.requests_failed.fetch_add(1, std::memory_order_relaxed);
    return;
  }
  metrics_.batch_size.Observe(issued);
  metrics_.vouchers_issued.fetch_add(issued, std::memory_order_relaxed);
  metrics_.serials_failed.fetch_add(failed, std::memory_order_relaxed);
  (failed == 0   ? metrics_.requests_ok
   : issued == 0 ? metrics_.requests_failed
                 : metrics_.requests_partial)
      .fetch_add(1, std::memory_order_relaxed);
}

absl::Status ServiceImpl::RenewVoucher(const Caller& caller, std::string_view voucher_id,
                                       RenewInput input, RequestCallback done) {
  const absl::Time start = absl::Now();
  MASA_ASSIGN_OR_RETURN(store::Snapshot snap, store_->Read());
  MASA_ASSIGN_OR_RETURN(AccessContext access, Access(caller, snap));
  MASA_ASSIGN_OR_RETURN(store::Voucher v,
                        AuthorizedVoucher(access, Permission::kRequest, voucher_id));
  if (IsArchived(v)) {
    return absl::FailedPreconditionError("voucher " + v.id + " is archived");
  }
  MASA_RETURN_IF_ERROR(CheckStillOwned(snap, v));
  // Everything but the dates comes from the voucher as it was signed.
  MASA_ASSIGN_OR_RETURN(signer::ParsedSignedData parsed, signer::ParseSignedData(v.cms));
  MASA_ASSIGN_OR_RETURN(signer::Voucher sv, signer::DecodeVoucherJson(parsed.content));
  if (!sv.pinned_domain_cert) {
    return absl::FailedPreconditionError("voucher " + v.id + " has no pinned-domain-cert");
  }
  MASA_ASSIGN_OR_RETURN(internal::ParsedPdc pdc,
                        internal::ParsePdc(*sv.pinned_domain_cert, "pinned-domain-cert"));
  const absl::Time now = WholeSeconds(Now());
  if (pdc.not_after <= now) {
    return absl::FailedPreconditionError("the voucher's pinned-domain certificate expired at " +
                                         FormatRfc3339(pdc.not_after));
  }
  MASA_ASSIGN_OR_RETURN(absl::Time expires, ExpiryFor(input.expires_at, now, pdc.not_after));
  std::shared_ptr<const SigningKeys> keys = this->keys();
  sv.created_on = now;
  sv.expires_on = expires;
  auto fan = std::make_shared<Fanout>();
  fan->keys = keys;
  fan->metrics = &metrics_;
  fan->tasks.emplace_back(std::move(sv), parsed.content_type);
  const std::string actor = caller.principal_id();
  const std::string id = v.id;
  auto commit = [this, actor, id, now, expires, key_id = keys->key_id, done = std::move(done),
                 start](std::vector<absl::StatusOr<std::string>> cms) mutable {
    if (absl::Status failed = internal::SigningFailure(cms); !failed.ok()) {
      metrics_.requests_failed.fetch_add(1, std::memory_order_relaxed);
      done(failed);
      EndInflight();
      return;
    }
    auto out = std::make_shared<RequestResult>();
    std::string digest = Sha256(*cms[0]);  // here, not on the store's writer thread
    auto body = [id, now, expires, key_id, out, cms_sha256 = std::move(digest),
                 cms = *std::move(cms[0])](internal::Operation& op) -> absl::Status {
      store::WriteTxn& txn = op.txn();
      MASA_ASSIGN_OR_RETURN(store::Voucher v, txn.Get<store::Voucher>(id));
      if (IsArchived(v)) {
        return absl::FailedPreconditionError("voucher " + id + " was archived meanwhile");
      }
      MASA_RETURN_IF_ERROR(CheckStillOwned(txn, v));
      v.cms = cms;
      v.expires_at = expires;
      v.last_renewal_at = now;
      v.signing_key_id = key_id;
      MASA_ASSIGN_OR_RETURN(uint64_t seq,
                            op.Audit("voucher.renew", Target(v.organization_id, v.id),
                                     "ok: until " + FormatRfc3339(expires), cms_sha256));
      v.audit_seq = seq;
      MASA_RETURN_IF_ERROR(txn.Put(v));
      MASA_RETURN_IF_ERROR(internal::CountSignatures(txn, key_id, 1, now));
      *out = {v.request_id,
              {{v.serial_number, v.id, SerialStatus::kCompleted, "", absl::StatusCode::kOk}}};
      return absl::OkStatus();
    };
    const absl::Time submitted = absl::Now();
    SubmitOperation(actor, std::move(body),
                    [this, out, done = std::move(done), start,
                     submitted](absl::StatusOr<store::CommitResult> r) {
                      RecordCommit(start, submitted, r.ok(), 1, 0);
                      if (r.ok()) {
                        done(*out);
                      } else {
                        done(r.status());
                      }
                      EndInflight();
                    });
  };
  return StartSigning(fan, std::move(commit));
}

absl::StatusOr<VoucherInfo> ServiceImpl::ArchiveVoucher(const Caller& caller,
                                                        std::string_view voucher_id) {
  const absl::Time now = Now();
  MASA_ASSIGN_OR_RETURN(
      store::Voucher archived,
      Mutate<store::Voucher>(
          &caller, [&](internal::Operation& op) -> absl::StatusOr<store::Voucher> {
            MASA_ASSIGN_OR_RETURN(store::Voucher v,
                                  AuthorizedVoucher(op.access(), Permission::kArchive, voucher_id));
            if (IsArchived(v)) {
              return absl::FailedPreconditionError("voucher " + v.id + " is already archived");
            }
            v.status = StoredStatus(VoucherStatus::kArchived);
            v.archived_at = now;
            MASA_RETURN_IF_ERROR(op.txn().Put(v));
            MASA_RETURN_IF_ERROR(
                op.Audit("voucher.archive", Target(v.organization_id, v.id)).status());
            return v;
          }));
  return ToInfo(archived);
}

}  // namespace masa::service
