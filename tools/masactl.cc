// masactl: the operator's, security officer's and offline tool of the MASA appliance.
#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

#include "tools/commands.h"

namespace {

struct Group {
  const char* name;
  const char* summary;
  int (*run)(const masa::tools::Args&);
};

constexpr Group kGroups[] = {
    {"dev-init", "create a development SoftHSM2 token, keys and PKI in a state folder",
     masa::tools::DevInitCommand},
    {"voucher", "sign, show and verify ownership vouchers", masa::tools::VoucherCommand},
    {"audit", "verify, prove and export the audit log", masa::tools::AuditCommand},
    {"store", "back up, migrate, or copy the store to PostgreSQL", masa::tools::StoreCommand},
    {"org", "create a customer organization with its first admin and token",
     masa::tools::OrgCommand},
    {"vendor", "add a vendor principal (account-team, support, security-officer)",
     masa::tools::VendorCommand},
    {"serials", "assign device serial numbers to an organization", masa::tools::SerialsCommand},
    {"token", "issue a new API token for a principal (minted by no token)",
     masa::tools::TokenCommand},
    {"key", "the security officer's HSM key lifecycle (generate, issue, activate, list)",
     masa::tools::KeyCommand},
};

void PrintUsage(FILE* out) {
  std::fprintf(out, "usage: masactl <command> [options]\n\ncommands:\n");
  for (const Group& g : kGroups) std::fprintf(out, "  %-10s %s\n", g.name, g.summary);
  std::fprintf(out, "\n'masactl <command> --help' describes each command.\n");
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) {
    PrintUsage(stderr);
    return 2;
  }
  std::string name = argv[1];
  if (name == "--help" || name == "-h" || name == "help") {
    PrintUsage(stdout);
    return 0;
  }
  masa::tools::Args args(argv + 2, argv + argc);
  for (const Group& g : kGroups) {
    if (name == g.name) return g.run(args);
  }
  std::fprintf(stderr, "masactl: unknown command \"%s\"\n\n", name.c_str());
  PrintUsage(stderr);
  return 2;
}
