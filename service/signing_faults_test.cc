// The signing path when the HSM misbehaves, on the whole domain's fixture (a real SoftHSM2
// signing key): a signature whose call is abandoned is retried once, a run and an abandon
// racing complete each voucher once, and a request with a signature that fails twice
// answers kUnavailable and stores nothing. The faults come from a work queue that wraps the
// real one and abandons jobs on command, as its watchdog does for a hung call (the PKCS#11
// fault module's own faults are the end-to-end tests in tests/masad_faults_test.cc).
#include <atomic>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_format.h"
#include "common/sha256.h"
#include "service/service.h"
#include "service/testing/hsm_fixture.h"

namespace masa::service::testing {
namespace {

// What the wrapped queue does with the jobs it is given.
enum class Fault {
  kNone,
  kAbandonFirst,  // a voucher's first job is abandoned instead of run (a hung call), its retry runs
  kAbandonAll,    // every job is abandoned (the HSM never answers)
  kRace,          // every job's run and abandon are called at once, on two threads
};

// A WorkQueue that forwards to a real one and injects `fault` into the jobs' lifecycle.
class FaultyQueue final : public queue::WorkQueue {
 public:
  explicit FaultyQueue(std::unique_ptr<queue::WorkQueue> real) : real_(std::move(real)) {}

  std::atomic<Fault> fault{Fault::kNone};

  absl::Status TryEnqueueAll(std::vector<Job> jobs) override {
    std::vector<Job> wrapped;
    // The service enqueues a retry from inside the job (or abandon) that failed; a request's
    // first attempts come from outside any job.
    const bool first = !in_job_;
    for (Job& job : jobs) {
      auto j = std::make_shared<Job>(std::move(job));
      wrapped.push_back({.run =
                             [this, j, first] {
                               in_job_ = true;
                               switch (fault.load()) {
                                 case Fault::kNone:
                                   j->run();
                                   break;
                                 case Fault::kAbandonFirst:
                                   first ? j->abandon() : j->run();
                                   break;
                                 case Fault::kAbandonAll:
                                   j->abandon();
                                   break;
                                 case Fault::kRace: {
                                   std::thread watchdog([j] { j->abandon(); });
                                   j->run();
                                   watchdog.join();
                                   break;
                                 }
                               }
                               in_job_ = false;
                             },
                         .cancel = [j] { j->cancel(); },
                         .abandon = nullptr});
    }
    return real_->TryEnqueueAll(std::move(wrapped));
  }
  void Shutdown() override { real_->Shutdown(); }
  size_t CancelPending() override { return real_->CancelPending(); }
  size_t depth() const override { return real_->depth(); }
  size_t capacity() const override { return real_->capacity(); }
  uint64_t abandoned() const override { return real_->abandoned(); }
  size_t stuck_workers() const override { return real_->stuck_workers(); }

 private:
  static thread_local bool in_job_;
  std::unique_ptr<queue::WorkQueue> real_;
};

thread_local bool FaultyQueue::in_job_ = false;

class SigningFaultsTest : public ServiceTest {
 protected:
  // One worker keeps kAbandonFirst's attempt/retry alternation in queue order.
  queue::WorkQueueOptions QueueOptions() override {
    return {.workers = 1, .capacity = 256, .max_batch = 32};
  }

  void SetUp() override {
    ServiceTest::SetUp();
    if (HasFatalFailure()) return;
    auto faulty = std::make_unique<FaultyQueue>(std::move(queue_));
    faulty_ = faulty.get();
    queue_ = std::move(faulty);
    MakeService();
  }

  // Every voucher.issue / voucher.renew entry of the audit log, by voucher id, with its
  // object hash; fails the test when one voucher has two.
  std::map<std::string, std::string> AuditedVouchers() {
    std::map<std::string, std::string> out;
    auto snap = store_->Read();
    EXPECT_TRUE(snap.ok());
    uint64_t n = *snap->AuditSize();
    for (uint64_t i = 0; i < n; ++i) {
      auto e = snap->GetAuditEntry(i);
      EXPECT_TRUE(e.ok());
      if (e->action != "voucher.issue") continue;
      std::string id = e->target.substr(e->target.find('/') + 1);
      EXPECT_TRUE(out.emplace(id, e->object_hash).second) << id << " audited twice";
    }
    return out;
  }

  // Every returned voucher downloads, verifies and has exactly one audit entry whose hash
  // is its CMS; and the audit log names no voucher that was not returned.
  void ExpectReturnedEqualsAudited(const std::set<std::string>& returned,
                                   const std::map<std::string, std::string>& serial_of) {
    std::map<std::string, std::string> audited = AuditedVouchers();
    std::set<std::string> audited_ids;
    for (const auto& [id, hash] : audited) audited_ids.insert(id);
    EXPECT_EQ(audited_ids, returned);
    for (const std::string& id : returned) {
      auto file = service_->DownloadVoucher(admin_, id);
      ASSERT_TRUE(file.ok()) << file.status();
      EXPECT_EQ(Sha256(file->cms), audited[id]) << id;
      auto v = Verify(file->cms, serial_of.at(id));
      EXPECT_TRUE(v.ok()) << v.status;
    }
  }

  FaultyQueue* faulty_ = nullptr;
};

TEST_F(SigningFaultsTest, AnAbandonedSignatureIsRetriedOnceAndTheRequestSucceeds) {
  faulty_->fault = Fault::kAbandonFirst;
  auto r = Request(admin_, Input({"SN-00", "SN-01", "SN-02"}));
  ASSERT_TRUE(r.ok()) << r.status();
  std::set<std::string> returned;
  std::map<std::string, std::string> serial_of;
  for (const auto& s : r->serials) {
    EXPECT_EQ(StatusName(s.status), "completed") << s.reason;
    returned.insert(s.voucher_id);
    serial_of[s.voucher_id] = s.serial_number;
  }
  ExpectReturnedEqualsAudited(returned, serial_of);
  EXPECT_EQ(service_->metrics().signatures_abandoned.load(), 3u);
  EXPECT_EQ(service_->metrics().sign_retries.load(), 3u);
  EXPECT_EQ(service_->metrics().sign_failures.load(), 0u);
}

TEST_F(SigningFaultsTest, ASignatureFailingTwiceFailsTheRequestWithUnavailableAndStoresNothing) {
  std::string kept = Issue("SN-05");  // a voucher to renew, issued while the HSM works
  const uint64_t audit_before = AuditSize();
  faulty_->fault = Fault::kAbandonAll;

  auto r = Request(admin_, Input({"SN-00", "SN-01"}));
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kUnavailable) << r.status();
  EXPECT_EQ(AuditSize(), audit_before);  // no request.create, no voucher.issue

  auto renewed = Renew(admin_, kept);
  ASSERT_FALSE(renewed.ok());
  EXPECT_EQ(renewed.status().code(), StatusCode::kUnavailable) << renewed.status();
  EXPECT_EQ(AuditSize(), audit_before);
  auto info = service_->GetVoucher(admin_, kept);
  ASSERT_TRUE(info.ok());
  EXPECT_FALSE(info->last_renewal_at.has_value());

  // The HSM is back: the same request succeeds as a whole.
  faulty_->fault = Fault::kNone;
  r = Request(admin_, Input({"SN-00", "SN-01"}));
  ASSERT_TRUE(r.ok()) << r.status();
  for (const auto& s : r->serials) EXPECT_EQ(StatusName(s.status), "completed") << s.reason;
  EXPECT_EQ(service_->metrics().sign_failures.load(), 3u);  // two serials, one renewal
}

TEST_F(SigningFaultsTest, RunAndAbandonRacingCompleteEachVoucherExactlyOnce) {
  faulty_->fault = Fault::kRace;
  std::set<std::string> returned;
  std::map<std::string, std::string> serial_of;
  for (int round = 0; round < 3; ++round) {
    std::vector<std::string> serials;
    for (int i = 0; i < 10; ++i) serials.push_back(absl::StrFormat("SN-%02d", round * 10 + i));
    auto in = Input(serials);
    in.override_conflicts = true;
    auto r = Request(admin_, in);
    // Whichever wins each race, the request is answered once: every voucher signed (the
    // run won, or the retry after the abandon signed it), or kUnavailable and nothing.
    if (!r.ok()) {
      EXPECT_EQ(r.status().code(), StatusCode::kUnavailable) << r.status();
      continue;
    }
    for (const auto& s : r->serials) {
      EXPECT_EQ(StatusName(s.status), "completed") << s.reason;
      EXPECT_TRUE(returned.insert(s.voucher_id).second);
      serial_of[s.voucher_id] = s.serial_number;
    }
  }
  ExpectReturnedEqualsAudited(returned, serial_of);
}

}  // namespace
}  // namespace masa::service::testing
