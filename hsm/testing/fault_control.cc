#include "hsm/testing/fault_control.h"

#include <stdlib.h>

#include <cerrno>

#include "common/file.h"
#include "common/status.h"
#include "hsm/testing/softhsm_token.h"

#ifndef MASA_PKCS11_FAULT_MODULE
#define MASA_PKCS11_FAULT_MODULE "libmasa_pkcs11_fault.so"
#endif

namespace masa::hsm::testing {

std::string FaultModulePath() { return MASA_PKCS11_FAULT_MODULE; }

absl::StatusOr<std::unique_ptr<FaultControl>> FaultControl::Create() {
  MASA_ASSIGN_OR_RETURN(std::string config, SoftHsmConfigPath());
  std::string dir = config.substr(0, config.rfind('/'));
  std::string path = dir + "/fault-rules";
  // Same values every time: setenv is only racy against concurrent getenv, and the module
  // reads these once, when loaded after this.
  if (setenv("MASA_FAULT_CONTROL", path.c_str(), 1) != 0 ||
      setenv("MASA_FAULT_MODULE", SoftHsmModulePath().c_str(), 1) != 0) {
    return FromErrno(errno, "setenv MASA_FAULT_CONTROL for", path);
  }
  std::unique_ptr<FaultControl> control(new FaultControl(path));
  MASA_RETURN_IF_ERROR(control->Clear());
  return control;
}

FaultControl::~FaultControl() { (void)Clear(); }

absl::Status FaultControl::Set(std::string_view rules) {
  return WriteFileAtomic(path_, rules, 0600);
}

absl::Status FaultControl::Clear() { return Set(""); }

}  // namespace masa::hsm::testing
