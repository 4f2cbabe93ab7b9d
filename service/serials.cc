// Serial numbers: assignment to organizations (account team) and placement in groups.
#include <algorithm>
#include <set>

#include "absl/strings/str_cat.h"
#include "common/status.h"
#include "service/internal/authz.h"
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
absl::Status SupersedeVouchers(store::WriteTxn& txn, const std::string& actor,
                               const std::string& ien, const std::string& serial,
                               const std::string& new_org, absl::Time now) {
  MASA_ASSIGN_OR_RETURN(auto summaries, txn.VoucherSummariesBySerial(ien, serial));
  for (const auto& summary : summaries) {
    if (summary.organization_id == new_org || summary.archived_at || summary.superseded_at ||
        summary.status == StatusName(VoucherStatus::kArchived) ||
        summary.status == StatusName(VoucherStatus::kSuperseded)) {
      continue;
    }
    MASA_ASSIGN_OR_RETURN(store::Voucher v, txn.Get<store::Voucher>(summary.id));
    v.status = internal::StoredStatus(VoucherStatus::kSuperseded);
    v.superseded_at = now;
    MASA_RETURN_IF_ERROR(txn.Put(v));
    MASA_RETURN_IF_ERROR(txn.Append(internal::Event(actor, "voucher.supersede",
                                                    internal::Target(v.organization_id, v.id),
                                                    "ok: its serial was reassigned"))
                             .status());
  }
  return absl::OkStatus();
}

}  // namespace

using internal::AccessContext;
using internal::Authorize;
using internal::Event;
using internal::kBootstrapActor;
using internal::Hide;
using internal::Permission;

absl::StatusOr<AssignResult> ServiceImpl::AssignSerials(const Caller& caller,
                                                        AssignInput input) {
  {  // the snapshot ends before Assign writes
    MASA_ASSIGN_OR_RETURN(store::Snapshot snap, store_->Read());
    MASA_ASSIGN_OR_RETURN(AccessContext access, Access(caller, snap));
    if (!access.Anywhere(Permission::kAssignSerials)) {
      return absl::PermissionDeniedError("assigning serials needs the vendor account-team role");
    }
    std::string group = input.group_id.empty() ? input.organization_id : input.group_id;
    MASA_RETURN_IF_ERROR(Authorize(access, Permission::kAssignSerials, group, "group " + group));
  }
  return Assign(caller.principal_id(), std::move(input));
}

absl::StatusOr<AssignResult> ServiceImpl::AssignSerialsOffline(AssignInput input) {
  return Assign(std::string(kBootstrapActor), std::move(input));
}

absl::StatusOr<AssignResult> ServiceImpl::Assign(const std::string& actor, AssignInput input) {
  if (input.serials.empty()) return absl::InvalidArgumentError("no serial numbers given");
  std::string group = input.group_id.empty() ? input.organization_id : input.group_id;
  {
    MASA_ASSIGN_OR_RETURN(store::Snapshot snap, store_->Read());
    auto g = snap.Get<store::Group>(group);
    if (absl::IsNotFound(g.status()) ||
        (g.ok() && g->organization_id != input.organization_id)) {
      return absl::NotFoundError("group " + group + " of organization " +
                                 input.organization_id + " not found");
    }
    if (!g.ok()) return g.status();
  }
  std::set<std::string> seen;
  for (auto& s : input.serials) {
    if (s.ien.empty()) s.ien = options_.vendor_ien;
    if (!internal::IsPrintableToken(s.serial_number, 64) ||
        !internal::IsPrintableToken(s.ien, 16) || s.model.size() > 128) {
      return absl::InvalidArgumentError("serial \"" + s.serial_number +
                                        "\": ien and serial must be 1..16 / 1..64 printable "
                                        "characters, model at most 128");
    }
    if (!seen.insert(store::ComponentKey(s.ien, s.serial_number)).second) {
      return absl::InvalidArgumentError("serial " + s.serial_number + " is listed twice");
    }
  }
  AssignResult total;
  const size_t chunk = options_.assign_batch_size;
  const absl::Time now = Now();
  for (size_t begin = 0; begin < input.serials.size(); begin += chunk) {
    std::vector<SerialAssignment> part(
        input.serials.begin() + begin,
        input.serials.begin() + std::min(input.serials.size(), begin + chunk));
    auto result = std::make_shared<AssignResult>();
    store::WriteBatch batch;
    batch.Do([part, result, org = input.organization_id, group, actor, now,
              reassign = input.reassign](store::WriteTxn& txn) -> absl::Status {
      *result = {};
      // The group may have been deleted since the check above.
      MASA_RETURN_IF_ERROR(internal::RequireGroup(txn, group, org));
      for (const auto& s : part) {
        auto existing = txn.Get<store::Component>(store::ComponentKey(s.ien, s.serial_number));
        if (!existing.ok() && !absl::IsNotFound(existing.status())) return existing.status();
        std::string action = "serial.assign";
        if (existing.ok()) {
          if (existing->organization_id == org && existing->group_id == group &&
              (s.model.empty() || s.model == existing->model)) {
            ++result->unchanged;
            continue;
          }
          if (existing->organization_id != org) {
            if (!reassign) {
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
        MASA_RETURN_IF_ERROR(txn.Put(c));
        std::string outcome = "ok: to " + group;
        if (action == "serial.reassign") {
          // Both sides see the transfer, neither learns who the other is.
          const std::string& from = existing->organization_id;
          MASA_RETURN_IF_ERROR(
              txn.Append(Event(actor, "serial.transfer-out",
                               internal::SerialTarget(from, s.ien, s.serial_number),
                               "ok: reassigned to another organization"))
                  .status());
          MASA_RETURN_IF_ERROR(SupersedeVouchers(txn, actor, s.ien, s.serial_number, org, now));
          outcome += " from another organization";
        }
        MASA_RETURN_IF_ERROR(
            txn.Append(Event(actor, action, internal::SerialTarget(org, s.ien, s.serial_number),
                             outcome))
                .status());
        ++result->assigned;
      }
      return absl::OkStatus();
    });
    auto written = store_->Write(std::move(batch));
    if (!written.ok()) {
      if (begin == 0) return written.status();
      return absl::Status(written.status().code(),
                          absl::StrCat(written.status().message(), " (the first ", begin,
                                       " serials were assigned)"));
    }
    total.assigned += result->assigned;
    total.unchanged += result->unchanged;
  }
  return total;
}

absl::StatusOr<AssignResult> ServiceImpl::PlaceSerials(const Caller& caller,
                                                       std::string_view group_id,
                                                       const std::vector<SerialRef>& serials) {
  if (serials.empty()) return absl::InvalidArgumentError("no serial numbers given");
  const std::string group(group_id);
  const std::string& org = caller.organization_id();
  // A move as decided on the snapshot: the serial and the group it was authorized in.
  struct Move {
    std::string ien, serial_number, from_group;
  };
  std::vector<Move> moves;
  AssignResult result;
  {  // read and decide; the snapshot ends before the write
    MASA_ASSIGN_OR_RETURN(store::Snapshot snap, store_->Read());
    MASA_ASSIGN_OR_RETURN(AccessContext access, Access(caller, snap));
    MASA_RETURN_IF_ERROR(Authorize(access, Permission::kPlaceSerials, group, "group " + group,
                                   Hide::kOtherOrganizationsOnly));
    std::set<std::string> seen;
    for (const auto& ref : serials) {
      std::string ien = ref.ien.empty() ? options_.vendor_ien : ref.ien;
      std::string what = "serial " + ref.serial_number;
      if (!seen.insert(store::ComponentKey(ien, ref.serial_number)).second) {
        return absl::InvalidArgumentError(what + " is listed twice");
      }
      auto c = snap.Get<store::Component>(store::ComponentKey(ien, ref.serial_number));
      if (!c.ok() && !absl::IsNotFound(c.status())) return c.status();
      if (!c.ok() || c->organization_id != org) return absl::NotFoundError(what + " not found");
      MASA_RETURN_IF_ERROR(Authorize(access, Permission::kPlaceSerials, c->group_id, what));
      if (c->group_id == group) {
        ++result.unchanged;
        continue;
      }
      moves.push_back({ien, ref.serial_number, c->group_id});
    }
  }
  if (moves.empty()) return result;
  // The write repeats what the decision rested on: the target group still exists (a
  // concurrent DeleteGroup must not strand the serials) and each serial is still where the
  // caller was authorized to move it from.
  store::WriteBatch batch;
  batch.Do([moves, group, org, actor = caller.principal_id()](store::WriteTxn& txn) -> absl::Status {
    MASA_RETURN_IF_ERROR(internal::RequireGroup(txn, group, org));
    for (const Move& m : moves) {
      auto c = txn.Get<store::Component>(store::ComponentKey(m.ien, m.serial_number));
      if (!c.ok() && !absl::IsNotFound(c.status())) return c.status();
      if (!c.ok() || c->organization_id != org) {
        return absl::NotFoundError("serial " + m.serial_number + " not found");
      }
      if (c->group_id != m.from_group) {
        return absl::FailedPreconditionError("serial " + m.serial_number +
                                             " was moved meanwhile; nothing was placed, try again");
      }
      c->group_id = group;
      MASA_RETURN_IF_ERROR(txn.Put(*c));
      MASA_RETURN_IF_ERROR(txn.Append(Event(actor, "serial.place",
                                            internal::SerialTarget(org, m.ien, m.serial_number),
                                            "ok: to " + group))
                               .status());
    }
    return absl::OkStatus();
  });
  MASA_RETURN_IF_ERROR(store_->Write(std::move(batch)).status());
  result.assigned = moves.size();
  return result;
}

}  // namespace masa::service
