// masactl org create | vendor add | serials assign: administration of a state folder through
// the same service the daemon runs, on the same store. Safe while masad serves the folder:
// LMDB serializes the two processes' commits, each re-reads the audit log's head inside its
// write transaction, and masad reads principals, tokens and serials from the store on every
// request (see store/store.h, "Several processes").
#include <cstdio>
#include <optional>

#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "common/file.h"
#include "common/status.h"
#include "tools/cli.h"
#include "tools/commands.h"
#include "tools/serials_file.h"
#include "tools/stack.h"

namespace masa::tools {
namespace {

// Prints or stores the one-time token secret. With --token-out the secret goes only to a
// new 0600 file; otherwise it is printed once on stdout (never on stderr or in logs).
absl::Status DeliverToken(const service::NewToken& token, const Flags::Parsed& args) {
  if (auto out = args.Get("token-out")) {
    MASA_RETURN_IF_ERROR(WriteFileAtomic(*out, token.secret.view(), 0600, true));
    std::printf("token %s (expires %s) written to %s\n", token.info.token_id.c_str(),
                FormatRfc3339(token.info.expires_at).c_str(), out->c_str());
  } else {
    std::printf("token %s (expires %s), shown once:\n%.*s\n", token.info.token_id.c_str(),
                FormatRfc3339(token.info.expires_at).c_str(),
                static_cast<int>(token.secret.view().size()), token.secret.view().data());
  }
  return absl::OkStatus();
}

absl::StatusOr<std::unique_ptr<Stack>> Open(const Flags::Parsed& args) {
  MASA_ASSIGN_OR_RETURN(MasadConfig config, ConfigForState(*args.Get("state")));
  return OpenStack(config);
}

int Usage(FILE* out, const char* text) {
  std::fprintf(out, "%s", text);
  return out == stdout ? 0 : 2;
}

}  // namespace

int OrgCommand(const Args& args) {
  constexpr char kUsage[] =
      "usage: masactl org create --state DIR --name NAME --admin USERNAME [--token-out FILE]\n";
  if (args.empty()) return Usage(stderr, kUsage);
  if (args[0] == "--help" || args[0] == "-h") return Usage(stdout, kUsage);
  if (args[0] != "create") {
    std::fprintf(stderr, "masactl: unknown org command \"%s\"\n", args[0].c_str());
    return Usage(stderr, kUsage);
  }
  Flags flags("masactl org create --state DIR --name NAME --admin USERNAME [--token-out FILE]",
              "Creates organization org-NAME, its first admin user USERNAME (e-mail style) and\n"
              "that admin's first API token. The token secret is shown once.");
  flags.Option("state", "DIR", "the state folder", true)
      .Option("name", "NAME", "organization name: a-z, 0-9 and '-'", true)
      .Option("admin", "USERNAME", "the first admin, e.g. alice@example.com", true)
      .Option("token-out", "FILE", "write the token secret to this new 0600 file instead");
  return RunParsed(flags, Args(args.begin() + 1, args.end()), [](const Flags::Parsed& a) {
    MASA_ASSIGN_OR_RETURN(auto stack, Open(a));
    MASA_ASSIGN_OR_RETURN(auto result,
                          stack->service->CreateOrganization(*a.Get("name"), *a.Get("admin")));
    std::printf("organization %s, admin %s (%s)\n", result.organization_id.c_str(),
                result.principal.name.c_str(), result.principal.principal_id.c_str());
    return DeliverToken(result.token, a);
  });
}

int VendorCommand(const Args& args) {
  constexpr char kUsage[] =
      "usage: masactl vendor add --state DIR --username USERNAME --role ROLE [--token-out FILE]\n";
  if (args.empty()) return Usage(stderr, kUsage);
  if (args[0] == "--help" || args[0] == "-h") return Usage(stdout, kUsage);
  if (args[0] != "add") {
    std::fprintf(stderr, "masactl: unknown vendor command \"%s\"\n", args[0].c_str());
    return Usage(stderr, kUsage);
  }
  Flags flags("masactl vendor add --state DIR --username USERNAME --role ROLE [--token-out FILE]",
              "Adds a principal to the vendor's own organization with an internal role:\n"
              "account-team (assign serials, view every organization), support, or\n"
              "security-officer (HSM keys). Prints its first token once.");
  flags.Option("state", "DIR", "the state folder", true)
      .Option("username", "USERNAME", "e.g. bob@vendor.example", true)
      .Option("role", "ROLE", "account-team, support or security-officer", true)
      .Option("token-out", "FILE", "write the token secret to this new 0600 file instead");
  return RunParsed(flags, Args(args.begin() + 1, args.end()), [](const Flags::Parsed& a) {
    // The role's name is parsed here, at the edge; the service takes the enum.
    std::optional<service::Role> role = service::ParseRole(*a.Get("role"));
    if (!role) {
      return absl::InvalidArgumentError(absl::StrCat(
          "role \"", *a.Get("role"),
          "\": a vendor principal takes one of the vendor roles support, account-team or "
          "security-officer"));
    }
    MASA_ASSIGN_OR_RETURN(auto stack, Open(a));
    MASA_ASSIGN_OR_RETURN(auto result,
                          stack->service->CreateVendorPrincipal(*a.Get("username"), *role));
    std::printf("vendor principal %s (%s), role %s\n", result.principal.name.c_str(),
                result.principal.principal_id.c_str(), a.Get("role")->c_str());
    return DeliverToken(result.token, a);
  });
}

int TokenCommand(const Args& args) {
  constexpr char kUsage[] =
      "usage: masactl token issue --state DIR --org ORG --username USERNAME [--days N]\n"
      "                           [--token-out FILE]\n";
  if (args.empty()) return Usage(stderr, kUsage);
  if (args[0] == "--help" || args[0] == "-h") return Usage(stdout, kUsage);
  if (args[0] != "issue") {
    std::fprintf(stderr, "masactl: unknown token command \"%s\"\n", args[0].c_str());
    return Usage(stderr, kUsage);
  }
  Flags flags("masactl token issue --state DIR --org ORG --username USERNAME [--days N]",
              "Issues a new API token for an existing principal of an organization, minted by\n"
              "no other token. A token never outlives the token that minted it, so this is how\n"
              "an organization whose tokens have all expired or been revoked gets back in.\n"
              "Audited (token.create by masactl). The secret is shown once.");
  flags.Option("state", "DIR", "the state folder", true)
      .Option("org", "ORG", "the organization id, e.g. org-example", true)
      .Option("username", "USERNAME", "the principal's username (or principal id)", true)
      .Option("days", "N", "validity in days, 1 to 183 (default 30)")
      .Option("token-out", "FILE", "write the token secret to this new 0600 file instead");
  return RunParsed(flags, Args(args.begin() + 1, args.end()), [](const Flags::Parsed& a) {
    std::optional<absl::Duration> validity;
    if (auto days = a.Get("days")) {
      int n = 0;
      if (!absl::SimpleAtoi(*days, &n) || n < 1 || n > 183) {
        return absl::InvalidArgumentError("--days must be a whole number from 1 to 183");
      }
      validity = absl::Hours(24) * n;
    }
    MASA_ASSIGN_OR_RETURN(auto stack, Open(a));
    MASA_ASSIGN_OR_RETURN(
        auto token, stack->service->IssueTokenOffline(*a.Get("org"), *a.Get("username"), validity));
    std::printf("principal %s of %s\n", token.info.principal_id.c_str(), a.Get("org")->c_str());
    return DeliverToken(token, a);
  });
}

int SerialsCommand(const Args& args) {
  constexpr char kUsage[] =
      "usage: masactl serials assign --state DIR --org ORG [--group G] [--reassign]\n"
      "                              (--serials S1,S2,... | --file FILE)\n";
  if (args.empty()) return Usage(stderr, kUsage);
  if (args[0] == "--help" || args[0] == "-h") return Usage(stdout, kUsage);
  if (args[0] != "assign") {
    std::fprintf(stderr, "masactl: unknown serials command \"%s\"\n", args[0].c_str());
    return Usage(stderr, kUsage);
  }
  Flags flags(
      "masactl serials assign --state DIR --org ORG (--serials LIST | --file FILE)",
      "Assigns device serial numbers to organization ORG (e.g. org-acme), optionally\n"
      "to one of its groups, with their device data. FILE is one of (blank lines and\n"
      "lines starting with # are skipped):\n"
      "  - one serial per line: SERIAL[,MODEL[,IEN]]\n"
      "  - CSV whose header line names the columns, serial first or anywhere:\n"
      "    serial,model,ien,mac,ek,ek_cert,ppk (any subset with serial, any order)\n"
      "  - JSON lines: {\"serial\":\"S\",\"model\":\"M\",\"mac_addr\":\"00:1c:73:aa:bb:cc\",\n"
      "    \"tpm\":{\"endorsement_key\"|\"ek_certificate\":B,\"platform_primary_key\":B}}\n"
      "TPM values (EK public key or EK certificate, platform primary key) are DER in\n"
      "base64 or hex. A MAC address is six hex octets separated by : or -.");
  flags.Option("state", "DIR", "the state folder", true)
      .Option("org", "ORG", "the organization id", true)
      .Option("group", "G", "a group of that organization (default its root)")
      .Option("serials", "LIST", "comma-separated serial numbers")
      .Option("file", "FILE", "serial numbers and device data (formats above)")
      .Switch("reassign", "move serials that belong to another organization");
  return RunParsed(flags, Args(args.begin() + 1, args.end()), [](const Flags::Parsed& a) {
    service::AssignInput input;
    input.organization_id = *a.Get("org");
    input.group_id = a.GetOr("group", "");
    input.reassign = a.Has("reassign");
    if (auto list = a.Get("serials")) {
      for (absl::string_view s : absl::StrSplit(*list, ',', absl::SkipWhitespace())) {
        input.serials.push_back({"", std::string(absl::StripAsciiWhitespace(s)), "", "", {}});
      }
    }
    if (auto file = a.Get("file")) {
      MASA_ASSIGN_OR_RETURN(std::string text, ReadFile(*file));
      MASA_ASSIGN_OR_RETURN(auto serials, ParseSerialsFile(text, *file));
      for (auto& s : serials) input.serials.push_back(std::move(s));
    }
    if (input.serials.empty()) {
      return absl::InvalidArgumentError("no serial numbers given (--serials or --file)");
    }
    MASA_ASSIGN_OR_RETURN(auto stack, Open(a));
    MASA_ASSIGN_OR_RETURN(auto result, stack->service->AssignSerialsOffline(std::move(input)));
    std::printf("assigned %zu serial number(s) to %s (%zu already there)\n", result.assigned,
                a.Get("org")->c_str(), result.unchanged);
    return absl::OkStatus();
  });
}

}  // namespace masa::tools
