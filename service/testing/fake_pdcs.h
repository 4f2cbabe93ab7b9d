// A fake Pdcs: empty answers, or every call fails with one chosen status.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "service/pdcs.h"

namespace masa::service::testing {

// Not thread-safe: tests call it from one thread at a time.
class FakePdcs final : public Pdcs {
 public:
  absl::Status fail_with = absl::OkStatus();  // when not OK, every method returns it
  PdcInfo pdc;                                // what UploadPdc and GetPdc answer

  PdcInput last_upload;  // what it saw

  absl::StatusOr<PdcInfo> UploadPdc(const Caller&, PdcInput input) override {
    if (!fail_with.ok()) return fail_with;
    last_upload = std::move(input);
    return pdc;
  }
  absl::StatusOr<std::vector<PdcInfo>> ListPdcs(const Caller&) const override {
    if (!fail_with.ok()) return fail_with;
    return std::vector<PdcInfo>{};
  }
  absl::StatusOr<PdcInfo> GetPdc(const Caller&, std::string_view) const override {
    if (!fail_with.ok()) return fail_with;
    return pdc;
  }
  absl::Status DeletePdc(const Caller&, std::string_view) override { return fail_with; }
};

}  // namespace masa::service::testing
