// Canned records for fakes and front-end tests: one voucher as a service would describe it.
#pragma once

#include "absl/time/time.h"
#include "service/voucher_types.h"

namespace masa::service::testing {

// Voucher "v-1" of request "r-1", serial SN-1 of org-acme, completed, asserted "logged".
inline VoucherInfo CannedVoucher() {
  VoucherInfo v;
  v.voucher_id = "v-1";
  v.req_id = "r-1";
  v.organization_id = "org-acme";
  v.serial_number = "SN-1";
  v.requested_at = absl::FromUnixSeconds(1800000000);
  v.created_at = absl::FromUnixSeconds(1800000001);
  v.expires_at = absl::FromUnixSeconds(1900000000);
  v.assertion = signer::Assertion::kLogged;
  v.status = VoucherStatus::kCompleted;
  v.pdc_organization = "Acme";
  v.pdc_id = "pdc-1";
  v.requested_by = "alice@acme.example";
  v.requested_by_id = "p-1";
  v.os_type = "ios-xr";
  v.content_type_oid = "1.2.840.113549.1.9.16.1.40";
  return v;
}

}  // namespace masa::service::testing
