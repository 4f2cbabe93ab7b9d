// masactl key: the security officer's HSM key lifecycle (service/keys.h) on a state folder,
// safe while masad serves it: each step is one store transaction, and masad picks up an
// activation within a second (Service::RefreshKeys). The officer is whoever holds the API
// token given in $MASA_TOKEN or --token-file (never on the command line): the service
// authenticates it, checks the security-officer role, and audits each step as that officer.
#include <cstdio>
#include <optional>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/time/time.h"
#include "common/base64.h"
#include "common/file.h"
#include "common/secret.h"
#include "common/status.h"
#include "common/time.h"
#include "tools/cli.h"
#include "tools/commands.h"
#include "tools/stack.h"

namespace masa::tools {
namespace {

constexpr char kUsage[] =
    "usage: masactl key <command> --state DIR [--token-file FILE] ...\n"
    "\n"
    "commands (the officer's API token: $MASA_TOKEN or --token-file FILE):\n"
    "  generate --purpose voucher-signing|audit --algorithm p256|p384|rsa3072|ed25519\n"
    "           [--label L]            a key pair in the HSM, state pending\n"
    "  csr KEY --subject S [--out FILE] a PKCS#10 request signed in the HSM (PEM)\n"
    "  issue KEY [--subject S] [--validity DAYS]\n"
    "                                  a certificate from the vendor CA key in the HSM\n"
    "  import-cert KEY FILE            a certificate chain (PEM, leaf first) from a CA\n"
    "  activate KEY                    make KEY the signing (or audit) key\n"
    "  retire KEY                      retire a pending key\n"
    "  approve APPROVAL                approve an open two-person approval\n"
    "  approvals                       list open approvals\n"
    "  list                            every key: URI, state, certificate, use\n";

// Keys whose certificate ends within this are marked in `key list`.
constexpr absl::Duration kNearExpiry = absl::Hours(24 * 30);

absl::StatusOr<std::unique_ptr<Stack>> OpenState(const Flags::Parsed& args) {
  MASA_ASSIGN_OR_RETURN(MasadConfig config, ConfigForState(*args.Get("state")));
  return OpenStack(config);
}

// The officer, authenticated by the service from their token.
absl::StatusOr<service::Caller> Officer(const Flags::Parsed& args, Stack& stack) {
  absl::StatusOr<Secret> token = absl::NotFoundError("");
  if (auto file = args.Get("token-file")) {
    token = ReadSecretFile(*file);
  } else {
    token = ReadSecretEnv("MASA_TOKEN");
  }
  if (!token.ok()) {
    return absl::InvalidArgumentError(
        "the security officer's API token: set MASA_TOKEN or give --token-file FILE (" +
        std::string(token.status().message()) + ")");
  }
  return stack.service->Authenticate(token->view());
}

std::string When(const std::optional<absl::Time>& t) { return t ? FormatRfc3339(*t) : "-"; }

void PrintKey(const service::KeyInfo& k, absl::Time now) {
  std::printf("%s %s %s %s\n", k.key_id.c_str(), std::string(KeyStateName(k.state)).c_str(),
              std::string(KeyPurposeName(k.purpose)).c_str(),
              std::string(KeyAlgorithmName(k.algorithm)).c_str());
  std::printf("  uri          %s\n", k.uri.c_str());
  if (!k.subject.empty()) {
    bool near = k.not_after && *k.not_after - now < kNearExpiry;
    std::printf("  subject      %s\n", k.subject.c_str());
    std::printf("  valid        %s .. %s%s\n", When(k.not_before).c_str(),
                When(k.not_after).c_str(),
                k.not_after && *k.not_after <= now ? "  EXPIRED"
                : near                             ? "  EXPIRES SOON"
                                                   : "");
    std::printf("  fingerprint  sha256:%s\n", k.fingerprint_sha256.c_str());
  } else {
    std::printf("  subject      (no certificate)\n");
  }
  std::printf("  created      %s by %s\n", FormatRfc3339(k.created_at).c_str(),
              k.created_by.c_str());
  if (k.activated_at) std::printf("  activated    %s\n", FormatRfc3339(*k.activated_at).c_str());
  if (k.retired_at) std::printf("  retired      %s\n", FormatRfc3339(*k.retired_at).c_str());
  std::printf("  used         %s .. %s, %llu signatures\n", When(k.first_used_at).c_str(),
              When(k.last_used_at).c_str(), static_cast<unsigned long long>(k.signatures));
}

void PrintApproval(const service::KeyApproval& a) {
  std::printf("%s %s %s: %zu of %zu (%s), expires %s\n", a.approval_id.c_str(), a.action.c_str(),
              a.key_id.c_str(), a.approved_by.size(), a.required,
              absl::StrJoin(a.approved_by, ", ").c_str(), FormatRfc3339(a.expires_at).c_str());
}

void PrintAction(const service::KeyActionResult& r) {
  if (r.applied) {
    std::printf("%s is now %s\n", r.key.key_id.c_str(),
                std::string(KeyStateName(r.key.state)).c_str());
  } else if (r.approval) {
    std::printf("waiting for approval: ");
    PrintApproval(*r.approval);
  }
}

std::string Pem(const std::string& label, const std::string& der) {
  std::string b64 = Base64Encode(der);
  std::string out = absl::StrCat("-----BEGIN ", label, "-----\n");
  for (size_t i = 0; i < b64.size(); i += 64) absl::StrAppend(&out, b64.substr(i, 64), "\n");
  absl::StrAppend(&out, "-----END ", label, "-----\n");
  return out;
}

// Runs one subcommand: parses, opens the state, authenticates the officer, calls `body`.
int RunKey(
    Flags& flags, const Args& args,
    const std::function<absl::Status(const Flags::Parsed&, Stack&, const service::Caller&)>& body) {
  flags.Option("state", "DIR", "the state folder", true)
      .Option("token-file", "FILE", "the officer's API token (else $MASA_TOKEN)");
  auto parsed = flags.Parse(args);
  if (!parsed.ok()) return ReportError(parsed.status());
  if (parsed->help) {
    std::printf("%s", flags.Help().c_str());
    return 0;
  }
  absl::Status s = [&]() -> absl::Status {
    MASA_ASSIGN_OR_RETURN(auto stack, OpenState(*parsed));
    MASA_ASSIGN_OR_RETURN(service::Caller officer, Officer(*parsed, *stack));
    return body(*parsed, *stack, officer);
  }();
  return s.ok() ? 0 : ReportError(s);
}

}  // namespace

int KeyCommand(const Args& args) {
  if (args.empty()) {
    std::fprintf(stderr, "%s", kUsage);
    return 2;
  }
  const std::string& cmd = args[0];
  const Args rest(args.begin() + 1, args.end());
  if (cmd == "--help" || cmd == "-h") {
    std::printf("%s", kUsage);
    return 0;
  }
  const absl::Time now = absl::Now();
  if (cmd == "generate") {
    Flags flags("masactl key generate --state DIR --purpose P --algorithm A [--label L]",
                "Makes a key pair inside the HSM (sensitive, never extractable), recorded as a\n"
                "pending key. Prints its id, state and PKCS#11 URI.");
    flags.Option("purpose", "P", "voucher-signing or audit", true)
        .Option("algorithm", "A", "p256, p384, rsa3072 or ed25519", true)
        .Option("label", "L", "the CKA_LABEL (default masa-<purpose>-<key id>)");
    return RunKey(flags, rest, [](const Flags::Parsed& a, Stack& stack, const auto& officer) {
      service::KeyGenerateInput in;
      auto purpose = service::ParseKeyPurpose(*a.Get("purpose"));
      auto algorithm = service::ParseKeyAlgorithm(*a.Get("algorithm"));
      if (!purpose) return absl::InvalidArgumentError("--purpose: voucher-signing or audit");
      if (!algorithm) {
        return absl::InvalidArgumentError("--algorithm: p256, p384, rsa3072 or ed25519");
      }
      in.purpose = *purpose;
      in.algorithm = *algorithm;
      in.label = a.GetOr("label", "");
      MASA_ASSIGN_OR_RETURN(service::KeyInfo k, stack.service->GenerateKey(officer, in));
      std::printf("%s %s %s\n", k.key_id.c_str(), std::string(KeyStateName(k.state)).c_str(),
                  k.uri.c_str());
      return absl::OkStatus();
    });
  }
  if (cmd == "csr") {
    Flags flags("masactl key csr KEY --state DIR --subject S [--out FILE]",
                "Writes a PKCS#10 certificate request for KEY, signed inside the HSM (PEM), for\n"
                "an external CA. Then: masactl key import-cert KEY CHAIN.pem");
    flags.Positional("KEY", "the key id")
        .Option("subject", "S", "e.g. \"CN=MASA 2027,O=Vendor\"", true)
        .Option("out", "FILE", "write it to this new file instead of stdout");
    return RunKey(flags, rest, [](const Flags::Parsed& a, Stack& stack, const auto& officer) {
      MASA_ASSIGN_OR_RETURN(std::string der,
                            stack.service->CreateCsr(officer, a.positional[0], *a.Get("subject")));
      std::string pem = Pem("CERTIFICATE REQUEST", der);
      if (auto out = a.Get("out")) return WriteFileAtomic(*out, pem, 0644, true);
      std::printf("%s", pem.c_str());
      return absl::OkStatus();
    });
  }
  if (cmd == "issue") {
    Flags flags("masactl key issue KEY --state DIR [--subject S] [--validity DAYS]",
                "Has the vendor CA key in the HSM ([keys] ca_key) certify KEY. The subject\n"
                "defaults to the active key's; the validity to [keys] certificate_validity_days.");
    flags.Positional("KEY", "the key id")
        .Option("subject", "S", "the certificate's subject")
        .Option("validity", "DAYS", "days of validity");
    return RunKey(flags, rest, [now](const Flags::Parsed& a, Stack& stack, const auto& officer) {
      service::KeyIssueInput in;
      in.key_id = a.positional[0];
      in.subject = a.GetOr("subject", "");
      if (auto days = a.Get("validity")) {
        int n = 0;
        std::string d = *days;
        if (!d.empty() && d.back() == 'd') d.pop_back();
        if (!absl::SimpleAtoi(d, &n) || n < 1 || n > 36500) {
          return absl::InvalidArgumentError("--validity: a number of days, 1 to 36500");
        }
        in.validity = absl::Hours(24) * n;
      }
      MASA_ASSIGN_OR_RETURN(service::KeyInfo k, stack.service->IssueCertificate(officer, in));
      PrintKey(k, now);
      return absl::OkStatus();
    });
  }
  if (cmd == "import-cert") {
    Flags flags("masactl key import-cert KEY FILE --state DIR",
                "Takes KEY's certificate chain from an external CA (PEM, leaf first): the leaf\n"
                "must hold KEY's public key and the chain lead to the configured trust anchor.");
    flags.Positional("KEY FILE", "the key id and the chain file", 2, 2);
    return RunKey(flags, rest, [now](const Flags::Parsed& a, Stack& stack, const auto& officer) {
      MASA_ASSIGN_OR_RETURN(std::string chain, ReadFile(a.positional[1]));
      MASA_ASSIGN_OR_RETURN(service::KeyInfo k,
                            stack.service->ImportCertificate(officer, a.positional[0], chain));
      PrintKey(k, now);
      return absl::OkStatus();
    });
  }
  if (cmd == "activate" || cmd == "retire") {
    bool activate = cmd == "activate";
    Flags flags(absl::StrCat("masactl key ", cmd, " KEY --state DIR"),
                activate ? "Makes pending KEY the active key of its purpose; the previous one is\n"
                           "retired in the same step. A running masad switches within a second.\n"
                           "With the two-person rule ([keys] approvals_required) this opens an\n"
                           "approval that other officers complete with masactl key approve."
                         : "Retires pending KEY (an active key is retired by activating its\n"
                           "successor). A retired key never signs again; its certificate stays\n"
                           "published so its vouchers still verify.");
    flags.Positional("KEY", "the key id");
    return RunKey(
        flags, rest, [activate](const Flags::Parsed& a, Stack& stack, const auto& officer) {
          MASA_ASSIGN_OR_RETURN(service::KeyActionResult r,
                                activate ? stack.service->ActivateKey(officer, a.positional[0])
                                         : stack.service->RetireKey(officer, a.positional[0]));
          PrintAction(r);
          return absl::OkStatus();
        });
  }
  if (cmd == "approve") {
    Flags flags("masactl key approve APPROVAL --state DIR",
                "Approves an open activation or retirement as this officer; the last approval\n"
                "needed applies it.");
    flags.Positional("APPROVAL", "the approval id (masactl key approvals)");
    return RunKey(flags, rest, [](const Flags::Parsed& a, Stack& stack, const auto& officer) {
      MASA_ASSIGN_OR_RETURN(service::KeyActionResult r,
                            stack.service->Approve(officer, a.positional[0]));
      PrintAction(r);
      return absl::OkStatus();
    });
  }
  if (cmd == "approvals") {
    Flags flags("masactl key approvals --state DIR", "Lists the open (unexpired) approvals.");
    return RunKey(flags, rest, [](const Flags::Parsed&, Stack& stack, const auto& officer) {
      MASA_ASSIGN_OR_RETURN(auto approvals, stack.service->ListApprovals(officer));
      for (const auto& ap : approvals) PrintApproval(ap);
      if (approvals.empty()) std::printf("no open approvals\n");
      return absl::OkStatus();
    });
  }
  if (cmd == "list") {
    Flags flags("masactl key list --state DIR",
                "Every key: PKCS#11 URI, state, algorithm, certificate subject, validity and\n"
                "fingerprint, first and last use and signatures. Certificates ending within 30\n"
                "days are marked EXPIRES SOON.");
    return RunKey(flags, rest, [now](const Flags::Parsed&, Stack& stack, const auto& officer) {
      MASA_ASSIGN_OR_RETURN(auto keys, stack.service->ListKeys(officer));
      for (const auto& k : keys) PrintKey(k, now);
      return absl::OkStatus();
    });
  }
  std::fprintf(stderr, "masactl: unknown key command \"%s\"\n%s", cmd.c_str(), kUsage);
  return 2;
}

}  // namespace masa::tools
