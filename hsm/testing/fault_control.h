// Test support: drive the PKCS#11 fault module (hsm/testing/fault_module.cc, whose header
// documents the rule syntax) from a test.
//
//   MASA_ASSIGN_OR_RETURN(auto faults, masa::hsm::testing::FaultControl::Create());
//   auto module = masa::hsm::Module::Load(masa::hsm::testing::FaultModulePath());
//   ...
//   faults->Set("masa-test-1 C_Sign device_error\n");   // every C_Sign on that token fails
//   faults->Clear();                                     // and works again
//
// The module reads MASA_FAULT_MODULE and MASA_FAULT_CONTROL once, when it is first loaded:
// create the FaultControl (which sets both) before loading the fault module.
#pragma once

#include <memory>
#include <string>
#include <string_view>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

namespace masa::hsm::testing {

// Path of libmasa_pkcs11_fault.so in the build tree.
std::string FaultModulePath();

// The rule file of this process. Thread-safe; one rule file per process, shared by every
// FaultControl (the module reads one).
class FaultControl {
 public:
  // Points MASA_FAULT_CONTROL at <softhsm dir>/fault-rules (created once per process, see
  // SoftHsmConfigPath) and MASA_FAULT_MODULE at the SoftHSM2 module. Starts with no rules.
  static absl::StatusOr<std::unique_ptr<FaultControl>> Create();
  // Clears the rules.
  ~FaultControl();
  FaultControl(const FaultControl&) = delete;
  FaultControl& operator=(const FaultControl&) = delete;

  // Replaces the rules with `rules` (lines as the module's header describes), atomically
  // (temp file + rename): a call sees either the old rules or the new ones.
  absl::Status Set(std::string_view rules);
  // No faults from the next call on.
  absl::Status Clear();

  const std::string& path() const { return path_; }

 private:
  explicit FaultControl(std::string path) : path_(std::move(path)) {}
  std::string path_;
};

}  // namespace masa::hsm::testing
