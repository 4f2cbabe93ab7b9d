// Activation and retirement of keys, and the two-person rule that may stand between the
// officer's call and its effect (service/keys.h).
//
// An activation checks the HSM side first, outside any transaction (CheckActivatable: the
// chain leads to the anchor, every token holds the key, the vault loads it), then decides
// and writes in one operation: the key becomes active and the previous active key of its
// purpose retired, both audited, or neither. The running daemon follows with RefreshKeys.
//
// With KeyPolicy::approvals_required = M > 1 the call opens an approval instead (the
// caller's call is its first approval); each Approve by another security officer adds one,
// and the M-th applies the action in its own transaction, after the same HSM checks. An
// approval expires after approval_ttl: it is then neither listed nor approvable, and the
// first Approve (or a new ActivateKey / RetireKey of the same key and action) that meets
// it records "key.approval.expire" and removes it.
#include <algorithm>

#include "absl/strings/str_cat.h"
#include "common/status.h"
#include "common/time.h"
#include "service/internal/ids.h"
#include "service/internal/keys.h"
#include "service/internal/service_impl.h"
#include "service/key_vault.h"
#include "store/checkpoint.h"

namespace masa::service {

using internal::FromStored;
using internal::KeyTarget;
using internal::ToKeyInfo;

namespace {

constexpr std::string_view kActivate = "activate";
constexpr std::string_view kRetire = "retire";

std::string StateOf(const store::KeyRecord& r) {
  return std::string(KeyStateName(FromStored(r.state)));
}

// OK when `action` may be applied to `r` as it is now.
absl::Status CheckAction(const store::KeyRecord& r, std::string_view action) {
  if (action == kActivate) {
    if (r.state != store::KeyState::kPending) {
      return absl::FailedPreconditionError("key " + r.id + " is " + StateOf(r) +
                                           "; only a pending key can be activated");
    }
    if (r.purpose == KeyPurposeName(KeyPurpose::kVoucherSigning) && r.chain_der.empty()) {
      return absl::FailedPreconditionError(
          "key " + r.id + " has no certificate; issue or import one before activating it");
    }
    return absl::OkStatus();
  }
  switch (r.state) {
    case store::KeyState::kPending:
      return absl::OkStatus();
    case store::KeyState::kActive:
      return absl::FailedPreconditionError(
          "key " + r.id + " is the active " + r.purpose +
          " key; activate its successor instead, which retires it in the same step");
    case store::KeyState::kRetired:
      return absl::FailedPreconditionError("key " + r.id + " is already retired");
  }
  return absl::InternalError("unknown key state");
}

KeyApproval ToApproval(const store::KeyApprovalRecord& r) {
  return {r.id,         r.key_id,    r.action, r.approved_by, static_cast<size_t>(r.required),
          r.created_at, r.expires_at};
}

}  // namespace

absl::Status ServiceImpl::CheckActivatable(const store::KeyRecord& key) {
  MASA_ASSIGN_OR_RETURN(KeyVault * vault, Vault());
  MASA_RETURN_IF_ERROR(CheckAction(key, kActivate));
  if (!key.chain_der.empty()) {
    MASA_RETURN_IF_ERROR(Annotate(vault->CheckChain(key.public_key_der, key.chain_der),
                                  "key " + key.id + "'s certificate"));
  }
  MASA_RETURN_IF_ERROR(vault->CheckPresentEverywhere(key.uri));
  if (key.purpose == KeyPurposeName(KeyPurpose::kAudit)) {
    MASA_RETURN_IF_ERROR(
        Annotate(vault->LoadCheckpointSigner(key.uri, options_.checkpoint_origin).status(),
                 "loading key " + key.id + " for checkpoints"));
  } else {
    MASA_RETURN_IF_ERROR(Annotate(vault->LoadSigningKeys(key.id, key.uri, key.chain_der).status(),
                                  "loading key " + key.id + " for signing"));
  }
  return absl::OkStatus();
}

absl::StatusOr<store::KeyRecord> ServiceImpl::ApplyKeyAction(internal::Operation& op,
                                                             std::string_view key_id,
                                                             std::string_view action) const {
  store::WriteTxn& txn = op.txn();
  const std::string& vendor = options_.vendor_organization_id;
  const absl::Time now = Now();
  MASA_ASSIGN_OR_RETURN(store::KeyRecord r, txn.Get<store::KeyRecord>(key_id));
  MASA_RETURN_IF_ERROR(CheckAction(r, action));
  if (action == kRetire) {
    r.state = store::KeyState::kRetired;
    r.retired_at = now;
    MASA_RETURN_IF_ERROR(txn.Put(r));
    MASA_RETURN_IF_ERROR(op.Audit("key.retire", KeyTarget(vendor, r.id), "ok").status());
    return r;
  }
  // One active key per purpose: the previous one retires in this same transaction.
  MASA_ASSIGN_OR_RETURN(std::optional<store::KeyRecord> previous,
                        internal::ActiveKey(txn, r.purpose));
  std::string outcome = "ok: " + r.purpose;
  if (previous) {
    previous->state = store::KeyState::kRetired;
    previous->retired_at = now;
    MASA_RETURN_IF_ERROR(txn.Put(*previous));
    MASA_RETURN_IF_ERROR(
        op.Audit("key.retire", KeyTarget(vendor, previous->id), "ok: replaced by " + r.id)
            .status());
    absl::StrAppend(&outcome, ", replaces ", previous->id);
  }
  r.state = store::KeyState::kActive;
  r.activated_at = now;
  MASA_RETURN_IF_ERROR(txn.Put(r));
  MASA_RETURN_IF_ERROR(op.Audit("key.activate", KeyTarget(vendor, r.id), outcome).status());
  return r;
}

absl::StatusOr<KeyActionResult> ServiceImpl::KeyAction(const Caller& caller,
                                                       std::string_view key_id,
                                                       std::string_view action) {
  MASA_RETURN_IF_ERROR(Vault().status());
  MASA_ASSIGN_OR_RETURN(std::optional<store::KeyRecord> key, AuthorizedKeyRead(caller, key_id));
  MASA_RETURN_IF_ERROR(CheckAction(*key, action));
  if (action == kActivate) MASA_RETURN_IF_ERROR(CheckActivatable(*key));
  const KeyPolicy& policy = options_.key_policy;
  const std::string& vendor = options_.vendor_organization_id;
  const absl::Time now = Now();
  absl::StatusOr<KeyActionResult> result = Mutate<KeyActionResult>(
      &caller, [&](internal::Operation& op) -> absl::StatusOr<KeyActionResult> {
        MASA_RETURN_IF_ERROR(AuthorizeKeys(op.access()));
        KeyActionResult out;
        if (policy.approvals_required <= 1) {
          MASA_ASSIGN_OR_RETURN(store::KeyRecord r, ApplyKeyAction(op, key->id, action));
          out.key = ToKeyInfo(r);
          out.applied = true;
          return out;
        }
        MASA_ASSIGN_OR_RETURN(store::KeyRecord r, op.txn().Get<store::KeyRecord>(key->id));
        MASA_RETURN_IF_ERROR(CheckAction(r, action));
        MASA_ASSIGN_OR_RETURN(auto open, op.txn().List<store::KeyApprovalRecord>());
        for (const auto& a : open) {
          if (a.key_id != r.id || a.action != action) continue;
          if (a.expires_at > now) {
            return absl::AlreadyExistsError("approval " + a.id + " to " + a.action + " key " +
                                            r.id + " is open; approve it instead");
          }
          MASA_RETURN_IF_ERROR(op.txn().Delete<store::KeyApprovalRecord>(a.id));
          MASA_RETURN_IF_ERROR(
              op.Audit("key.approval.expire", KeyTarget(vendor, r.id),
                       "ok: " + a.id + " expired at " + FormatRfc3339(a.expires_at))
                  .status());
        }
        store::KeyApprovalRecord a;
        a.id = internal::NewId("apr-");
        a.key_id = r.id;
        a.action = std::string(action);
        a.approved_by = {op.actor()};
        a.required = policy.approvals_required;
        a.created_at = now;
        a.expires_at = now + policy.approval_ttl;
        MASA_RETURN_IF_ERROR(op.txn().Insert(a));
        MASA_RETURN_IF_ERROR(
            op.Audit("key.approval.open", KeyTarget(vendor, r.id),
                     absl::StrCat("ok: ", a.id, " to ", a.action, ", 1 of ", a.required,
                                  ", expires ", FormatRfc3339(a.expires_at)))
                .status());
        out.key = ToKeyInfo(r);
        out.approval = ToApproval(a);
        return out;
      });
  if (result.ok() && result->applied) TakeUpKeys();
  return result;
}

absl::StatusOr<KeyActionResult> ServiceImpl::ActivateKey(const Caller& caller,
                                                         std::string_view key_id) {
  return KeyAction(caller, key_id, kActivate);
}

absl::StatusOr<KeyActionResult> ServiceImpl::RetireKey(const Caller& caller,
                                                       std::string_view key_id) {
  return KeyAction(caller, key_id, kRetire);
}

absl::StatusOr<KeyActionResult> ServiceImpl::Approve(const Caller& caller,
                                                     std::string_view approval_id) {
  MASA_RETURN_IF_ERROR(Vault().status());
  const std::string id(approval_id);
  auto not_found = [&] { return absl::NotFoundError("approval " + id + " not found"); };
  std::optional<store::KeyRecord> to_check;  // an activation's key, checked in the HSM
  {
    MASA_ASSIGN_OR_RETURN(store::Snapshot snap, store_->Read());
    MASA_ASSIGN_OR_RETURN(internal::AccessContext access, Access(caller, snap));
    MASA_RETURN_IF_ERROR(AuthorizeKeys(access));
    auto a = snap.Get<store::KeyApprovalRecord>(id);
    if (absl::IsNotFound(a.status())) return not_found();
    MASA_RETURN_IF_ERROR(a.status());
    if (a->action == kActivate && a->expires_at > Now()) {
      MASA_ASSIGN_OR_RETURN(to_check, snap.Get<store::KeyRecord>(a->key_id));
    }
  }
  // The HSM work with no snapshot open.
  if (to_check) MASA_RETURN_IF_ERROR(CheckActivatable(*to_check));
  const std::string& vendor = options_.vendor_organization_id;
  const absl::Time now = Now();
  struct Outcome {
    KeyActionResult result;
    std::optional<absl::Time> expired_at;
  };
  MASA_ASSIGN_OR_RETURN(
      Outcome outcome,
      Mutate<Outcome>(&caller, [&](internal::Operation& op) -> absl::StatusOr<Outcome> {
        MASA_RETURN_IF_ERROR(AuthorizeKeys(op.access()));
        auto got = op.txn().Get<store::KeyApprovalRecord>(id);
        if (absl::IsNotFound(got.status())) return not_found();
        MASA_RETURN_IF_ERROR(got.status());
        store::KeyApprovalRecord a = *std::move(got);
        Outcome out;
        if (a.expires_at <= now) {
          // Recorded and removed; the caller then learns it expired.
          MASA_RETURN_IF_ERROR(op.txn().Delete<store::KeyApprovalRecord>(a.id));
          MASA_RETURN_IF_ERROR(
              op.Audit("key.approval.expire", KeyTarget(vendor, a.key_id),
                       "ok: " + a.id + " expired at " + FormatRfc3339(a.expires_at))
                  .status());
          out.expired_at = a.expires_at;
          return out;
        }
        if (std::find(a.approved_by.begin(), a.approved_by.end(), op.actor()) !=
            a.approved_by.end()) {
          return absl::FailedPreconditionError("you approved " + a.id +
                                               " already; it needs another security officer");
        }
        a.approved_by.push_back(op.actor());
        MASA_RETURN_IF_ERROR(op.Audit("key.approval.approve", KeyTarget(vendor, a.key_id),
                                      absl::StrCat("ok: ", a.id, " to ", a.action, ", ",
                                                   a.approved_by.size(), " of ", a.required))
                                 .status());
        if (a.approved_by.size() >= a.required) {
          MASA_ASSIGN_OR_RETURN(store::KeyRecord r, ApplyKeyAction(op, a.key_id, a.action));
          MASA_RETURN_IF_ERROR(op.txn().Delete<store::KeyApprovalRecord>(a.id));
          out.result.key = ToKeyInfo(r);
          out.result.applied = true;
          return out;
        }
        MASA_RETURN_IF_ERROR(op.txn().Put(a));
        MASA_ASSIGN_OR_RETURN(store::KeyRecord r, op.txn().Get<store::KeyRecord>(a.key_id));
        out.result.key = ToKeyInfo(r);
        out.result.approval = ToApproval(a);
        return out;
      }));
  if (outcome.expired_at) {
    return absl::FailedPreconditionError("approval " + id + " expired at " +
                                         FormatRfc3339(*outcome.expired_at));
  }
  if (outcome.result.applied) TakeUpKeys();
  return outcome.result;
}

absl::StatusOr<std::vector<KeyApproval>> ServiceImpl::ListApprovals(const Caller& caller) const {
  MASA_ASSIGN_OR_RETURN(store::Snapshot snap, store_->Read());
  MASA_ASSIGN_OR_RETURN(internal::AccessContext access, Access(caller, snap));
  MASA_RETURN_IF_ERROR(AuthorizeKeys(access));
  MASA_ASSIGN_OR_RETURN(auto records, snap.List<store::KeyApprovalRecord>());
  const absl::Time now = Now();
  std::vector<KeyApproval> out;
  for (const auto& r : records) {
    if (r.expires_at > now) out.push_back(ToApproval(r));
  }
  std::sort(out.begin(), out.end(),
            [](const KeyApproval& a, const KeyApproval& b) { return a.created_at < b.created_at; });
  return out;
}

}  // namespace masa::service
