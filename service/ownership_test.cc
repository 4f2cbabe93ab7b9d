// Ownership is current and writes re-check what they decided on: a reassigned serial's old
// owner loses its signing power (its vouchers are superseded), writes into a group re-check
// it inside the write transaction, and a request shows a caller only the serials it may
// view, with one reason for "not yours" and "not visible to you". Fixture:
// service/testing/hsm_fixture.h (real store, SoftHSM2 key, work queue).
#include <functional>
#include <future>
#include <iostream>
#include <latch>
#include <set>
#include <thread>

#include "absl/cleanup/cleanup.h"
#include "absl/strings/str_replace.h"
#include "absl/synchronization/notification.h"
#include "service/testing/hsm_fixture.h"

namespace masa::service::testing {
namespace {

class OwnershipTest : public ServiceTest {
 protected:
  void Reassign(const std::string& serial, const std::string& org) {
    auto r = service_->AssignSerials(account_team_, {org, "", {{"", serial, "", "", {}}}, true});
    ASSERT_TRUE(r.ok()) << r.status();
    ASSERT_EQ(r->assigned, 1u);
  }

  // Every entry of `caller`'s own audit view.
  std::vector<AuditRecord> AuditOf(const Caller& caller) {
    std::vector<AuditRecord> out;
    AuditQuery q;
    q.limit = 1000;
    while (true) {
      auto page = service_->ListAudit(caller, q);
      EXPECT_TRUE(page.ok()) << page.status();
      if (!page.ok() || page->entries.empty()) return out;
      out.insert(out.end(), page->entries.begin(), page->entries.end());
      q.from_seq = page->next_seq;
    }
  }

  // Holds both signing workers until the returned notification is notified, so requests
  // made meanwhile wait in the queue, after their snapshot and before their commit.
  std::shared_ptr<absl::Notification> HoldWorkers() {
    auto release = std::make_shared<absl::Notification>();
    for (int i = 0; i < 2; ++i) {
      auto started = std::make_shared<absl::Notification>();
      EXPECT_TRUE(queue_
                      ->TryEnqueueAll({{[started, release] {
                                          started->Notify();
                                          release->WaitForNotification();
                                        },
                                        {}}})
                      .ok());
      started->WaitForNotification();
    }
    return release;
  }
};

TEST_F(OwnershipTest, ReassignmentSupersedesTheOldOwnersVouchers) {
  std::string old_id = Issue("SN-13");
  Reassign("SN-13", "org-other");

  // The old owner can no longer sign for the device, but keeps its history.
  auto renewed = Renew(admin_, old_id);
  EXPECT_EQ(renewed.status().code(), StatusCode::kFailedPrecondition) << renewed.status();
  EXPECT_EQ(renewed.status().message().find("org-other"), std::string::npos);
  auto info = service_->GetVoucher(admin_, old_id);
  ASSERT_TRUE(info.ok()) << info.status();
  EXPECT_EQ(StatusName(info->status), "superseded");
  EXPECT_TRUE(service_->DownloadVoucher(admin_, old_id).ok());
  ListVouchersInput superseded;
  superseded.filter.status = VoucherStatus::kSuperseded;
  auto page = service_->ListVouchers(admin_, superseded);
  ASSERT_TRUE(page.ok()) << page.status();
  ASSERT_EQ(page->total, 1u);
  EXPECT_EQ(page->vouchers[0].voucher_id, old_id);

  // The new owner gets its own voucher, pinned to its own certificate, without override,
  // and may renew it.
  auto mine = Request(other_admin_, Input({"SN-13"}, &acme_pdc2_));
  ASSERT_TRUE(mine.ok()) << mine.status();
  ASSERT_EQ(StatusName(mine->serials[0].status), "completed") << mine->serials[0].reason;
  EXPECT_TRUE(Renew(other_admin_, mine->serials[0].voucher_id).ok());

  // Both organizations' audit views show the transfer; neither names the other.
  bool transfer_out = false, supersede = false;
  for (const auto& e : AuditOf(admin_)) {
    EXPECT_EQ(e.outcome.find("org-other"), std::string::npos) << e.action << " " << e.outcome;
    transfer_out |= e.action == "serial.transfer-out" && e.target == "org-acme/serial:9/SN-13";
    supersede |= e.action == "voucher.supersede" && e.target == "org-acme/" + old_id;
  }
  EXPECT_TRUE(transfer_out);
  EXPECT_TRUE(supersede);
  bool transfer_in = false;
  for (const auto& e : AuditOf(other_admin_)) {
    EXPECT_EQ(e.outcome.find("org-acme"), std::string::npos) << e.action << " " << e.outcome;
    transfer_in |= e.action == "serial.reassign" && e.target == "org-other/serial:9/SN-13";
  }
  EXPECT_TRUE(transfer_in);
}

TEST_F(OwnershipTest, AFormerOwnerGettingTheSerialBackIsNotHeldByItsSupersededVoucher) {
  std::string old_id = Issue("SN-14");
  Reassign("SN-14", "org-other");
  auto theirs = Request(other_admin_, Input({"SN-14"}, &acme_pdc2_));
  ASSERT_TRUE(theirs.ok()) << theirs.status();
  ASSERT_EQ(StatusName(theirs->serials[0].status), "completed") << theirs->serials[0].reason;
  Reassign("SN-14", "org-acme");
  // The voucher of the first ownership pins acme_pdc_ but no longer counts as live.
  auto back = Request(admin_, Input({"SN-14"}, &acme_pdc2_));
  ASSERT_TRUE(back.ok()) << back.status();
  EXPECT_EQ(StatusName(back->serials[0].status), "completed") << back->serials[0].reason;
  EXPECT_EQ(StatusName(service_->GetVoucher(admin_, old_id)->status), "superseded");
  EXPECT_EQ(Renew(admin_, old_id).status().code(), StatusCode::kFailedPrecondition);
  auto theirs_now = service_->GetVoucher(other_admin_, theirs->serials[0].voucher_id);
  ASSERT_TRUE(theirs_now.ok()) << theirs_now.status();
  EXPECT_EQ(StatusName(theirs_now->status), "superseded");
}

TEST_F(OwnershipTest, AReassignmentWhileSigningIsSeenAtCommit) {
  std::string old_id = Issue("SN-15");
  auto release = HoldWorkers();
  absl::Cleanup unblock = [release] {
    if (!release->HasBeenNotified()) release->Notify();
  };
  std::promise<absl::StatusOr<RequestResult>> requested, renewed;
  ASSERT_TRUE(service_
                  ->RequestVouchers(admin_, Input({"SN-16", "SN-17"}),
                                    [&](auto r) { requested.set_value(std::move(r)); })
                  .ok());
  ASSERT_TRUE(
      service_->RenewVoucher(admin_, old_id, {}, [&](auto r) { renewed.set_value(std::move(r)); })
          .ok());
  auto moved = service_->AssignSerials(
      account_team_,
      {"org-other", "", {{"", "SN-15", "", "", {}}, {"", "SN-16", "", "", {}}}, true});
  release->Notify();
  ASSERT_TRUE(moved.ok()) << moved.status();

  auto request = requested.get_future().get();
  ASSERT_TRUE(request.ok()) << request.status();
  EXPECT_EQ(request->serials[0].code, StatusCode::kNotFound) << request->serials[0].reason;
  EXPECT_EQ(StatusName(request->serials[1].status), "completed") << request->serials[1].reason;
  auto renewal = renewed.get_future().get();
  EXPECT_EQ(renewal.status().code(), StatusCode::kFailedPrecondition) << renewal.status();
  ListVouchersInput sn16;
  sn16.filter.serial_number = "SN-16";
  EXPECT_EQ(service_->ListVouchers(admin_, sn16)->total, 0u);
  EXPECT_FALSE(service_->GetVoucher(admin_, old_id)->last_renewal_at.has_value());
}

// Writes that target a group race its deletion: whichever commits first wins, and nothing
// is left referring to a deleted group. The outcome is checked, not the timing.
TEST_F(OwnershipTest, WritesIntoAGroupBeingDeletedStrandNothing) {
  constexpr int kTries = 50;
  AssignInput serials{"org-acme", "", {}, false};
  for (int i = 0; i < kTries; ++i)
    serials.serials.push_back({"", absl::StrFormat("RACE-%02d", i), "", "", {}});
  ASSERT_TRUE(service_->AssignSerials(account_team_, serials).ok());
  auto bob = service_->InviteUser(admin_, "bob@acme.example");
  ASSERT_TRUE(bob.ok()) << bob.status();
  int deleted = 0;
  for (int i = 0; i < kTries; ++i) {
    auto g = service_->CreateGroup(admin_, "", absl::StrFormat("race-%02d", i));
    ASSERT_TRUE(g.ok()) << g.status();
    const std::string id = g->group_id;
    std::vector<std::function<absl::Status()>> writes = {
        [&] { return service_->DeleteGroup(admin_, id); },
        [&] {
          return service_->PlaceSerials(admin_, id, {{"", absl::StrFormat("RACE-%02d", i)}})
              .status();
        },
        [&] {
          return service_->UploadPdc(admin_, {"", acme_pdc_.pem, id, false, std::nullopt}).status();
        },
        [&] { return service_->BindRole(admin_, bob->principal_id, id, Role::kViewer).status(); },
        [&] { return service_->CreateGroup(admin_, id, "child").status(); },
    };
    std::latch go(writes.size());
    std::vector<absl::Status> results(writes.size());
    std::vector<std::thread> threads;
    for (size_t w = 0; w < writes.size(); ++w) {
      threads.emplace_back([&, w] {
        go.arrive_and_wait();
        results[w] = writes[w]();
      });
    }
    for (auto& t : threads) t.join();
    for (const absl::Status& s : results) {
      EXPECT_TRUE(s.ok() || absl::IsNotFound(s) || absl::IsFailedPrecondition(s)) << s;
    }
    deleted += results[0].ok();
  }
  // Every reference to a group names one that exists.
  auto snap = store_->Read();
  ASSERT_TRUE(snap.ok());
  auto all_groups = snap->List<store::Group>();
  auto components = snap->List<store::Component>();
  auto pdcs = snap->List<store::PinnedDomainCert>();
  auto bindings = snap->List<store::RoleBinding>();
  ASSERT_TRUE(all_groups.ok() && components.ok() && pdcs.ok() && bindings.ok());
  std::set<std::string> groups;
  for (const auto& g : *all_groups) groups.insert(g.id);
  for (const auto& g : *all_groups) {
    if (!g.parent_id.empty()) {
      EXPECT_TRUE(groups.count(g.parent_id)) << "group " << g.id;
    }
  }
  for (const auto& c : *components) {
    EXPECT_TRUE(groups.count(c.group_id)) << "serial " << c.serial_number;
  }
  for (const auto& p : *pdcs) EXPECT_TRUE(groups.count(p.group_id)) << "certificate " << p.id;
  for (const auto& b : *bindings) EXPECT_TRUE(groups.count(b.group_id)) << "binding " << b.id;
  // Not an assertion on timing: which side won each race varies from run to run.
  std::cout << deleted << " of " << kTries << " deletions won their race\n";
}

// The write re-checks each serial's group; a serial named twice is refused up front rather
// than taken for a concurrent move.
TEST_F(OwnershipTest, PlacingASerialTwiceInOneCallIsRefused) {
  auto placed = service_->PlaceSerials(admin_, east_, {{"", "SN-20"}, {"", "SN-20"}});
  EXPECT_EQ(placed.status().code(), StatusCode::kInvalidArgument) << placed.status();
  placed = service_->PlaceSerials(admin_, east_, {{"", "SN-20"}, {"", "SN-21"}});
  ASSERT_TRUE(placed.ok()) << placed.status();
  EXPECT_EQ(placed->assigned, 2u);
}

TEST_F(OwnershipTest, ARequestShowsASubGroupOnlyTheSerialsItMayView) {
  Caller east_req = User(admin_, "east@acme.example", Role::kRequestor, east_);
  auto r = Request(admin_, Input({"EAST-1", "SN-09"}));
  ASSERT_TRUE(r.ok()) << r.status();
  ASSERT_EQ(StatusName(r->serials[1].status), "completed");
  auto seen = service_->GetRequest(east_req, r->req_id);
  ASSERT_TRUE(seen.ok()) << seen.status();  // it may view the EAST-1 voucher
  ASSERT_EQ(seen->serials.size(), 1u);
  EXPECT_EQ(seen->serials[0].serial_number, "EAST-1");
  ASSERT_EQ(seen->vouchers.size(), 1u);
  EXPECT_EQ(seen->vouchers[0].serial_number, "EAST-1");
  // The organization's root sees all of it.
  EXPECT_EQ(service_->GetRequest(admin_, r->req_id)->serials.size(), 2u);
}

TEST_F(OwnershipTest, NotYoursAndNotVisibleToYouReadTheSame) {
  Caller east_req = User(admin_, "east@acme.example", Role::kRequestor, east_);
  // SN-09: acme's root group (not visible to east); OT-1: other's; NO-SUCH: nobody's.
  const std::vector<std::string> serials = {"EAST-1", "SN-09", "OT-1", "NO-SUCH"};
  auto r = Request(east_req, Input(serials));
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(StatusName(r->serials[0].status), "completed");
  auto generic = [&](const SerialResult& s) {
    return absl::StrReplaceAll(s.reason, {{s.serial_number, "<serial>"}});
  };
  for (size_t i = 1; i < serials.size(); ++i) {
    EXPECT_EQ(r->serials[i].code, StatusCode::kNotFound) << serials[i];
    EXPECT_EQ(generic(r->serials[i]), generic(r->serials[1])) << serials[i];
  }
  // The requester sees its own answers again, the same way, and nothing more.
  auto seen = service_->GetRequest(east_req, r->req_id);
  ASSERT_TRUE(seen.ok()) << seen.status();
  ASSERT_EQ(seen->serials.size(), serials.size());
  for (size_t i = 1; i < serials.size(); ++i) {
    EXPECT_EQ(seen->serials[i].code, StatusCode::kNotFound);
    EXPECT_EQ(generic(seen->serials[i]), generic(r->serials[1]));
  }
}

}  // namespace
}  // namespace masa::service::testing
