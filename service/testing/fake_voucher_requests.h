// A fake VoucherRequests: answers at once (on the calling thread) with canned results, or
// fails every call with one chosen status; remembers what it was asked.
#pragma once

#include <string>
#include <string_view>
#include <utility>

#include "service/testing/canned.h"
#include "service/voucher_requests.h"

namespace masa::service::testing {

// Not thread-safe: tests call it from one thread at a time.
class FakeVoucherRequests final : public VoucherRequests {
 public:
  absl::Status fail_with = absl::OkStatus();  // when not OK, every method returns it
  VoucherInfo voucher = CannedVoucher();      // what ArchiveVoucher answers

  // What it saw.
  VoucherRequestInput last_request;  // RequestVouchers' input
  std::string last_voucher_id;       // RenewVoucher's or ArchiveVoucher's

  // Request "r-1": the first serial completed as voucher "v-1", every other failed
  // kNotFound.
  absl::Status RequestVouchers(const Caller&, VoucherRequestInput input,
                               RequestCallback done) override {
    if (!fail_with.ok()) return fail_with;
    last_request = input;
    RequestResult result;
    result.req_id = "r-1";
    for (size_t i = 0; i < input.serial_numbers.size(); ++i) {
      SerialResult s;
      s.serial_number = input.serial_numbers[i];
      if (i == 0) {
        s.voucher_id = "v-1";
        s.status = SerialStatus::kCompleted;
      } else {
        s.status = SerialStatus::kFailed;
        s.reason = "not a serial number of your organization";
        s.code = absl::StatusCode::kNotFound;
      }
      result.serials.push_back(std::move(s));
    }
    done(std::move(result));
    return absl::OkStatus();
  }
  // Request "r-2": SN-1 renewed as voucher "v-1".
  absl::Status RenewVoucher(const Caller&, std::string_view id, RenewInput,
                            RequestCallback done) override {
    if (!fail_with.ok()) return fail_with;
    last_voucher_id = std::string(id);
    done(RequestResult{"r-2",
                       {{"SN-1", "v-1", SerialStatus::kCompleted, "", absl::StatusCode::kOk}}});
    return absl::OkStatus();
  }
  absl::StatusOr<VoucherInfo> ArchiveVoucher(const Caller&, std::string_view id) override {
    if (!fail_with.ok()) return fail_with;
    last_voucher_id = std::string(id);
    return voucher;
  }
  // Every call fails with fail_with, or kUnimplemented.
  absl::Status IssueComponentVouchers(const Caller&, ComponentVoucherInput,
                                      ComponentVoucherCallback) override {
    if (!fail_with.ok()) return fail_with;
    return absl::UnimplementedError("FakeVoucherRequests issues no component vouchers");
  }
};

}  // namespace masa::service::testing
