// A fake VoucherViews: knows one voucher (and the files of one request), or fails every call
// with one chosen status. Thread-safe as the interface is: handlers may call it at once.
#pragma once

#include <functional>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include "service/testing/canned.h"
#include "service/voucher_views.h"

namespace masa::service::testing {

class FakeVoucherViews final : public VoucherViews {
 public:
  // Set before use, read by the calls.
  absl::Status fail_with = absl::OkStatus();  // when not OK, every method returns it
  VoucherInfo voucher = CannedVoucher();      // the one voucher; other ids are kNotFound
  std::string cms = std::string("\x30\x82\x00\x01\xff", 5);
  std::vector<VoucherFile> request_files;  // what DownloadRequest answers
  std::function<void()> on_get_voucher;    // runs first in GetVoucher (e.g. to block)

  // What it saw: the last ListVouchers input.
  ListVouchersInput last_list() const {
    std::lock_guard<std::mutex> lock(mu_);
    return last_list_;
  }

  absl::StatusOr<VoucherInfo> GetVoucher(const Caller&, std::string_view id) const override {
    if (on_get_voucher) on_get_voucher();
    if (!fail_with.ok()) return fail_with;
    if (id != voucher.voucher_id) return absl::NotFoundError("no voucher with this id");
    return voucher;
  }
  absl::StatusOr<VoucherFile> DownloadVoucher(const Caller&, std::string_view id) const override {
    if (!fail_with.ok()) return fail_with;
    if (id != voucher.voucher_id) return absl::NotFoundError("no voucher with this id");
    return VoucherFile{voucher.voucher_id, voucher.req_id, "9", voucher.serial_number, cms};
  }
  absl::StatusOr<RequestInfo> GetRequest(const Caller&, std::string_view) const override {
    if (!fail_with.ok()) return fail_with;
    RequestInfo r;
    r.req_id = voucher.req_id;
    r.vouchers.push_back(voucher);
    return r;
  }
  absl::StatusOr<std::vector<VoucherFile>> DownloadRequest(const Caller&,
                                                           std::string_view) const override {
    if (!fail_with.ok()) return fail_with;
    return request_files;
  }
  absl::StatusOr<VoucherPage> ListVouchers(const Caller&,
                                           const ListVouchersInput& input) const override {
    {
      std::lock_guard<std::mutex> lock(mu_);
      last_list_ = input;
    }
    if (!fail_with.ok()) return fail_with;
    VoucherPage page;
    page.vouchers.push_back(voucher);
    page.total = 1;
    return page;
  }

 private:
  mutable std::mutex mu_;
  mutable ListVouchersInput last_list_;
};

}  // namespace masa::service::testing
