// A fake Serials: every serial given counts as assigned, or every call fails with one
// chosen status.
#pragma once

#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "service/serials.h"

namespace masa::service::testing {

// Not thread-safe: tests call it from one thread at a time.
class FakeSerials final : public Serials {
 public:
  absl::Status fail_with = absl::OkStatus();  // when not OK, every method returns it

  AssignInput last_assign;                // what it saw
  SerialDetails details;                  // what GetSerials answers for each serial (with its ref)
  std::vector<SerialDetails> components;  // what ListComponents answers
  // The serial and group RemoveSerial saw last.
  std::pair<SerialRef, std::string> last_removed;

  absl::StatusOr<AssignResult> AssignSerials(const Caller&, AssignInput input) override {
    if (!fail_with.ok()) return fail_with;
    last_assign = input;
    return AssignResult{input.serials.size(), 0};
  }
  absl::StatusOr<AssignResult> PlaceSerials(const Caller&, std::string_view,
                                            const std::vector<SerialRef>& serials) override {
    if (!fail_with.ok()) return fail_with;
    return AssignResult{serials.size(), 0};
  }
  absl::Status RemoveSerial(const Caller&, const SerialRef& serial,
                            std::string_view group) override {
    last_removed = {serial, std::string(group)};
    return fail_with;
  }
  absl::StatusOr<std::vector<SerialDetails>> GetSerials(
      const Caller&, const std::vector<SerialRef>& serials) const override {
    if (!fail_with.ok()) return fail_with;
    std::vector<SerialDetails> out(serials.size(), details);
    for (size_t i = 0; i < serials.size(); ++i) out[i].serial = serials[i];
    return out;
  }
  absl::StatusOr<std::vector<SerialDetails>> ListComponents(const Caller&,
                                                            std::string_view) const override {
    if (!fail_with.ok()) return fail_with;
    return components;
  }
};

}  // namespace masa::service::testing
