// Components as OVGS sees them (Serials: GetSerials, ListComponents, RemoveSerial,
// PlaceSerials as AddSerial), the device data loaded with an assignment (model, MAC
// address, TPM data), and the PDC settings OVGS adds (revocation_checks, expiry_time).
#include <openssl/x509.h>

#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "absl/strings/str_format.h"
#include "service/testing/hsm_fixture.h"

namespace masa::service::testing {
namespace {

using absl::StatusCode;

class ComponentsTest : public ServiceTest {
 protected:
  absl::Status Assign(SerialAssignment s, std::string group = "") {
    return service_->AssignSerials(account_team_, {"org-acme", group, {std::move(s)}, false})
        .status();
  }
  absl::StatusOr<SerialDetails> Get(const Caller& c, std::string serial, std::string ien = "") {
    auto r = service_->GetSerials(c, {{ien, serial}});
    if (!r.ok()) return r.status();
    return (*r)[0];
  }
};

TEST_F(ComponentsTest, DeviceDataIsStoredWithTheAssignmentAndShown) {
  const std::string ek = PublicKeyDer(), ppk = PublicKeyDer();
  ASSERT_TRUE(Assign({"", "TPM-1", "DCS-7800-SUP", "00-1C-73-AA-BB-CC", {ek, "", ppk}}).ok());
  ASSERT_TRUE(Assign({"", "TPM-2", "", "", {"", acme_pdc_.der, ""}}, east_).ok());
  auto one = Get(admin_, "TPM-1");
  ASSERT_TRUE(one.ok()) << one.status();
  EXPECT_EQ(one->serial.ien, "9");
  EXPECT_EQ(one->model, "DCS-7800-SUP");
  EXPECT_EQ(one->mac_addr, "00:1c:73:aa:bb:cc");
  EXPECT_EQ(one->tpm.endorsement_key, ek);
  EXPECT_EQ(one->tpm.platform_primary_key, ppk);
  EXPECT_EQ(one->group_ids, std::vector<std::string>{"org-acme"});
  auto two = Get(admin_, "TPM-2", "9");
  ASSERT_TRUE(two.ok()) << two.status();
  EXPECT_EQ(two->tpm.ek_certificate, acme_pdc_.der);
  EXPECT_TRUE(two->tpm.endorsement_key.empty());
  EXPECT_EQ(two->group_ids, (std::vector<std::string>{east_, "org-acme"}));
  // The same data again changes nothing; an empty field keeps what is stored; new TPM data
  // replaces the old whole.
  auto again = service_->AssignSerials(
      account_team_, {"org-acme", "", {{"", "TPM-1", "", "00:1c:73:aa:bb:cc", {}}}, false});
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(again->unchanged, 1u);
  ASSERT_TRUE(Assign({"", "TPM-1", "", "", {"", acme_pdc_.der, ""}}).ok());
  one = Get(admin_, "TPM-1");
  EXPECT_EQ(one->model, "DCS-7800-SUP");
  EXPECT_EQ(one->mac_addr, "00:1c:73:aa:bb:cc");
  EXPECT_TRUE(one->tpm.endorsement_key.empty());
  EXPECT_TRUE(one->tpm.platform_primary_key.empty());
  EXPECT_EQ(one->tpm.ek_certificate, acme_pdc_.der);
}

TEST_F(ComponentsTest, BadDeviceDataIsRefusedNamingTheSerial) {
  const std::string ek = PublicKeyDer();
  for (const SerialAssignment& bad : std::vector<SerialAssignment>{
           {"", "BAD-1", "", "00:1c:73:aa:bb", {}},
           {"", "BAD-2", "", "00:1c:73:aa:bb:zz", {}},
           {"", "BAD-3", "", "", {ek, acme_pdc_.der, ""}},
           {"", "BAD-4", "", "", {"not der", "", ""}},
           {"", "BAD-5", "", "", {"", ek, ""}},  // a key where a certificate belongs
           {"", "BAD-6", "", "", {"", "", ek + "x"}},
       }) {
    absl::Status s = Assign(bad);
    EXPECT_EQ(s.code(), StatusCode::kInvalidArgument) << bad.serial_number;
    EXPECT_NE(s.message().find(bad.serial_number), std::string::npos) << s;
    EXPECT_EQ(Get(admin_, bad.serial_number).status().code(), StatusCode::kNotFound);
  }
}

TEST_F(ComponentsTest, GetSerialsAnswersInOrderAllOrNothing) {
  auto r = service_->GetSerials(admin_, {{"", "EAST-3"}, {"9", "SN-07"}, {"", "SN-02"}});
  ASSERT_TRUE(r.ok()) << r.status();
  ASSERT_EQ(r->size(), 3u);
  EXPECT_EQ((*r)[0].serial.serial_number, "EAST-3");
  EXPECT_EQ((*r)[0].group_ids, (std::vector<std::string>{east_, "org-acme"}));
  EXPECT_EQ((*r)[1].serial.serial_number, "SN-07");
  EXPECT_EQ((*r)[1].model, "ASR-9001");
  EXPECT_EQ((*r)[2].serial.serial_number, "SN-02");
  EXPECT_EQ(service_->GetSerials(admin_, {{"", "SN-01"}, {"", "NOPE"}}).status().code(),
            StatusCode::kNotFound);
  EXPECT_EQ(service_->GetSerials(admin_, {{"", "OT-1"}}).status().code(), StatusCode::kNotFound);
  EXPECT_EQ(service_->GetSerials(admin_, {{"30065", "SN-01"}}).status().code(),
            StatusCode::kInvalidArgument);
  // A requestor of east sees east's serials only.
  Caller east = User(admin_, "east@acme.example", Role::kRequestor, east_);
  EXPECT_TRUE(Get(east, "EAST-0").ok());
  EXPECT_EQ(Get(east, "SN-01").status().code(), StatusCode::kNotFound);
  // The vendor's account team sees every organization's.
  EXPECT_TRUE(Get(account_team_, "OT-1").ok());
}

TEST_F(ComponentsTest, ListComponentsOfTheRootIsEveryComponentOfTheOrganization) {
  auto root = service_->ListComponents(admin_, "org-acme");
  ASSERT_TRUE(root.ok()) << root.status();
  ASSERT_EQ(root->size(), 35u);                             // SN-00..29 and EAST-0..4, not OT-1
  EXPECT_EQ(root->front().serial.serial_number, "EAST-0");  // (ien, serial) order
  EXPECT_EQ(root->back().serial.serial_number, "SN-29");
  auto east = service_->ListComponents(admin_, east_);
  ASSERT_TRUE(east.ok()) << east.status();
  ASSERT_EQ(east->size(), 5u);
  EXPECT_EQ((*east)[4].serial.serial_number, "EAST-4");
  Caller east_user = User(admin_, "east@acme.example", Role::kRequestor, east_);
  EXPECT_EQ(service_->ListComponents(east_user, east_)->size(), 5u);
  EXPECT_EQ(service_->ListComponents(east_user, "org-acme").status().code(), StatusCode::kNotFound);
  EXPECT_EQ(service_->ListComponents(other_admin_, east_).status().code(), StatusCode::kNotFound);
}

TEST_F(ComponentsTest, AddSerialMovesBetweenGroupsWithPermissionOnBoth) {
  auto west = service_->CreateGroup(admin_, "org-acme", "west");
  ASSERT_TRUE(west.ok()) << west.status();
  const std::string w = west->group_id;
  // Already there: unchanged.
  auto r = service_->PlaceSerials(admin_, east_, {{"", "EAST-0"}});
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->unchanged, 1u);
  EXPECT_EQ(r->assigned, 0u);
  // An assigner of west only cannot take EAST-0 out of east.
  Caller west_assigner = User(admin_, "wa@acme.example", Role::kAssigner, w);
  EXPECT_EQ(service_->PlaceSerials(west_assigner, w, {{"", "EAST-0"}}).status().code(),
            StatusCode::kNotFound);
  // An admin of both moves it: it leaves east for west.
  r = service_->PlaceSerials(admin_, w, {{"", "EAST-0"}});
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->assigned, 1u);
  EXPECT_EQ(Get(admin_, "EAST-0")->group_ids, (std::vector<std::string>{w, "org-acme"}));
  EXPECT_EQ(service_->ListComponents(admin_, east_)->size(), 4u);
  EXPECT_EQ(service_->PlaceSerials(admin_, w, {{"30065", "EAST-1"}}).status().code(),
            StatusCode::kInvalidArgument);
}

TEST_F(ComponentsTest, RemoveSerialTakesItBackToTheRootGroup) {
  Caller requestor = User(admin_, "r@acme.example", Role::kRequestor);
  EXPECT_EQ(service_->RemoveSerial(requestor, {"", "EAST-1"}, east_).code(),
            StatusCode::kPermissionDenied);
  EXPECT_EQ(service_->RemoveSerial(admin_, {"", "EAST-1"}, "org-acme").code(),
            StatusCode::kInvalidArgument);
  EXPECT_EQ(service_->RemoveSerial(admin_, {"30065", "EAST-1"}, east_).code(),
            StatusCode::kInvalidArgument);
  EXPECT_EQ(service_->RemoveSerial(other_admin_, {"", "EAST-1"}, east_).code(),
            StatusCode::kNotFound);
  const uint64_t audit = AuditSize();
  ASSERT_TRUE(service_->RemoveSerial(admin_, {"", "EAST-1"}, east_).ok());
  EXPECT_EQ(Get(admin_, "EAST-1")->group_ids, std::vector<std::string>{"org-acme"});
  EXPECT_EQ(AuditSize(), audit + 1);
  EXPECT_EQ(AuditActions().back(), "serial.remove");
  EXPECT_EQ(service_->RemoveSerial(admin_, {"", "EAST-1"}, east_).code(), StatusCode::kNotFound);
  EXPECT_EQ(service_->RemoveSerial(admin_, {"", "SN-01"}, east_).code(), StatusCode::kNotFound);
}

TEST_F(ComponentsTest, PdcSettingsAreStoredAndReturned) {
  const absl::Time expiry = clock_.Now() + absl::Hours(24 * 10);
  auto pdc = service_->UploadPdc(admin_, {"", acme_pdc_.der, "", true, expiry});
  ASSERT_TRUE(pdc.ok()) << pdc.status();
  EXPECT_TRUE(pdc->revocation_checks);
  EXPECT_EQ(pdc->expiry_time, expiry);
  auto got = service_->GetPdc(admin_, pdc->cert_id);
  ASSERT_TRUE(got.ok()) << got.status();
  EXPECT_TRUE(got->revocation_checks);
  EXPECT_EQ(got->expiry_time, expiry);
  EXPECT_EQ(got->certificate_der, acme_pdc_.der);
  bool listed = false;
  auto all = service_->ListPdcs(admin_);
  ASSERT_TRUE(all.ok()) << all.status();
  for (const PdcInfo& p : *all) {
    if (p.cert_id == pdc->cert_id) listed = p.revocation_checks && p.expiry_time == expiry;
  }
  EXPECT_TRUE(listed);
  // The same triple in the same group; other settings or another group are other PDCs.
  EXPECT_EQ(service_->UploadPdc(admin_, {"", acme_pdc_.pem, "", true, expiry}).status().code(),
            StatusCode::kAlreadyExists);
  EXPECT_TRUE(service_->UploadPdc(admin_, {"", acme_pdc_.pem, "", false, expiry}).ok());
  EXPECT_TRUE(
      service_->UploadPdc(admin_, {"", acme_pdc_.pem, "", true, expiry + absl::Hours(1)}).ok());
  EXPECT_TRUE(service_->UploadPdc(admin_, {"", acme_pdc_.pem, east_, true, expiry}).ok());
  // expiry_time in the past, malformed or expired certificates.
  EXPECT_EQ(
      service_->UploadPdc(admin_, {"", acme_pdc2_.pem, "", true, clock_.Now()}).status().code(),
      StatusCode::kInvalidArgument);
  EXPECT_EQ(
      service_->UploadPdc(admin_, {"", "not a certificate", "", true, expiry}).status().code(),
      StatusCode::kInvalidArgument);
  Owner old = MakeOwner("CN=Old,O=Acme Corp", clock_.Now() - absl::Hours(48), absl::Hours(1));
  EXPECT_EQ(service_->UploadPdc(admin_, {"", old.pem, "", true, expiry}).status().code(),
            StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace masa::service::testing
