// The masactl command groups. Each takes the arguments after its own name
// ("masactl voucher sign ..." -> VoucherCommand({"sign", ...})) and returns the exit code.
#pragma once

#include <string>
#include <vector>

namespace masa::tools {

using Args = std::vector<std::string>;

int DevInitCommand(const Args& args);  // tools/masactl_dev.cc
int VoucherCommand(const Args& args);  // tools/masactl_voucher.cc
int AuditCommand(const Args& args);    // tools/masactl_audit.cc
int StoreCommand(const Args& args);    // tools/masactl_audit.cc
int OrgCommand(const Args& args);      // tools/masactl_org.cc
int VendorCommand(const Args& args);   // tools/masactl_org.cc
int SerialsCommand(const Args& args);  // tools/masactl_org.cc
int TokenCommand(const Args& args);    // tools/masactl_org.cc
int KeyCommand(const Args& args);      // tools/masactl_key.cc

}  // namespace masa::tools
