// The store's map grows while every kind of service call is in flight: voucher requests
// signing and committing, administrators writing, readers listing. Growing needs every read
// snapshot of the process closed; a service call that kept one open across its write, or a
// stream of readers that never lets the writer in, would stall the commit group for the
// store's five-second grace and then fail every request in it with kUnavailable. Here none
// may fail. Fixture: service/testing/hsm_fixture.h (real store, SoftHSM2 key, work queue).
#include <atomic>
#include <iostream>
#include <mutex>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "service/testing/hsm_fixture.h"

namespace masa::service::testing {
namespace {

constexpr size_t kInitialMapSize = size_t{256} << 10;

class MapGrowthTest : public ServiceTest {
 protected:
  void ConfigureStore(store::StoreOptions& options) override {
    options.initial_map_size = kInitialMapSize;
  }

  // Keeps the first failure of each kind, for the assertion message.
  void Record(const std::string& what, const absl::Status& status) {
    if (status.ok()) return;
    std::lock_guard<std::mutex> lock(failures_mu_);
    failures_.push_back(what + ": " + status.ToString());
    stop_ = true;  // one stalled commit is enough; the rest would only wait their turn
  }

  std::atomic<bool> stop_{false};

  std::mutex failures_mu_;
  std::vector<std::string> failures_;
};

TEST_F(MapGrowthTest, EveryCallSucceedsWhileTheMapGrowsUnderLoad) {
  const size_t start_size = store_->MapSize();
  // Readers: list every voucher (long snapshots) and authenticate, without pause.
  std::vector<std::thread> readers;
  for (int r = 0; r < 5; ++r) {
    readers.emplace_back([&, r] {
      ListVouchersInput all;
      all.page_size = 1000;
      while (!stop_.load()) {
        Record(absl::StrCat("reader ", r, " ListVouchers"),
               service_->ListVouchers(admin_, all).status());
        Record(absl::StrCat("reader ", r, " ListPrincipals"),
               service_->ListPrincipals(admin_).status());
      }
    });
  }

  // An administrator: users, roles, grants, tokens, certificates, groups, archiving.
  std::thread admin([&] {
    for (int i = 0; !stop_.load(); ++i) {
      auto user = service_->InviteUser(admin_, absl::StrCat("user", i, "@acme.example"));
      Record("InviteUser", user.status());
      if (!user.ok()) continue;
      auto binding = service_->BindRole(admin_, user->principal_id, east_, Role::kRequestor);
      Record("BindRole", binding.status());
      if (binding.ok()) {
        Record("GrantPermission",
               service_->GrantPermission(admin_, binding->binding_id, Grant::kArchive).status());
      }
      auto token = service_->CreateToken(admin_, {user->principal_id, std::nullopt, "load"});
      Record("CreateToken", token.status());
      if (token.ok()) Record("RevokeToken", service_->RevokeToken(admin_, token->info.token_id));
      auto pdc = service_->UploadPdc(
          admin_, {absl::StrCat("pdc ", i), acme_pdc2_.pem, "", false, std::nullopt});
      Record("UploadPdc", pdc.status());
      if (pdc.ok()) Record("DeletePdc", service_->DeletePdc(admin_, pdc->cert_id));
      auto group = service_->CreateGroup(admin_, "org-acme", absl::StrCat("g", i));
      Record("CreateGroup", group.status());
      if (group.ok()) Record("DeleteGroup", service_->DeleteGroup(admin_, group->group_id));
    }
  });

  // Requesters: vouchers for every root serial, over and over, until the map has doubled
  // several times; each voucher adds its record, CMS and index entries.
  std::vector<std::thread> requesters;
  std::atomic<int> vouchers{0};
  for (int t = 0; t < 2; ++t) {
    requesters.emplace_back([&, t] {
      for (int round = 0; round < 200 && !stop_.load() && store_->MapSize() < 8 * start_size;
           ++round) {
        std::vector<std::string> serials;
        for (int i = 0; i < 15; ++i) serials.push_back(absl::StrFormat("SN-%02d", t * 15 + i));
        auto result = Request(admin_, Input(serials));
        Record("RequestVouchers", result.status());
        if (!result.ok()) continue;
        for (const SerialResult& s : result->serials) {
          if (s.status == SerialStatus::kCompleted) {
            ++vouchers;
          } else {
            Record("RequestVouchers " + s.serial_number, absl::Status(s.code, s.reason));
          }
        }
        if (round % 10 == 0 && t == 0) {
          // Archive one, so archiving commits during growth too.
          Record("ArchiveVoucher",
                 service_->ArchiveVoucher(admin_, result->serials[0].voucher_id).status());
        }
      }
    });
  }
  for (auto& t : requesters) t.join();
  stop_ = true;
  admin.join();
  for (auto& t : readers) t.join();

  std::cout << "map " << start_size << " -> " << store_->MapSize() << " bytes, " << vouchers
            << " vouchers\n";
  EXPECT_GE(store_->MapSize(), 8 * start_size) << "the map did not grow as the test needs";
  std::lock_guard<std::mutex> lock(failures_mu_);
  EXPECT_TRUE(failures_.empty()) << failures_.size()
                                 << " calls failed; first: " << failures_.front();
}

}  // namespace
}  // namespace masa::service::testing
