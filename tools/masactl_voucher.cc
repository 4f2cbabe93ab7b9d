// masactl voucher sign | show | verify.
#include <pwd.h>
#include <unistd.h>

#include <cstdio>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/time/clock.h"
#include "common/base64.h"
#include "common/file.h"
#include "common/sha256.h"
#include "common/status.h"
#include "common/time.h"
#include "signer/certificate.h"
#include "signer/cms.h"
#include "signer/verifier.h"
#include "signer/voucher.h"
#include "signer/voucher_json.h"
#include "store/audit.h"
#include "store/records.h"
#include "store/store.h"
#include "tools/cli.h"
#include "tools/commands.h"
#include "tools/stack.h"
#include "tools/state.h"

namespace masa::tools {
namespace {

int PrintHelp(const Flags& flags) {
  std::printf("%s", flags.Help().c_str());
  return 0;
}

// Reads a CMS structure from a file holding DER, PEM ("-----BEGIN CMS-----" or PKCS7) or
// bare base64 (as SZTP and BRSKI carry them in JSON), and returns the DER.
absl::StatusOr<std::string> ReadCmsFile(const std::string& path) {
  absl::StatusOr<std::string> file = ReadFile(path);
  if (!file.ok()) return file.status();
  const std::string& data = *file;
  if (data.empty()) return absl::InvalidArgumentError(absl::StrCat(path, " is empty"));
  if (absl::StartsWith(data, "\x30")) return data;  // a DER SEQUENCE
  std::string text;
  bool in_pem = false;
  for (absl::string_view line : absl::StrSplit(data, '\n')) {
    line = absl::StripAsciiWhitespace(line);
    if (absl::StartsWith(line, "-----BEGIN")) {
      in_pem = true;
      continue;
    }
    if (absl::StartsWith(line, "-----END")) break;
    if (!in_pem && absl::StrContains(data, "-----BEGIN")) continue;
    absl::StrAppend(&text, line);
  }
  auto der = Base64Decode(text);
  if (!der.ok()) {
    return absl::InvalidArgumentError(
        absl::StrCat(path, " is neither DER, PEM nor base64 CMS: ", der.status().message()));
  }
  return *der;
}

absl::StatusOr<std::vector<UniquePtr<X509>>> ReadCertificates(const std::string& path) {
  MASA_ASSIGN_OR_RETURN(std::string data, ReadFile(path));
  auto certs = ParseCertificates(data);
  if (!certs.ok()) return Annotate(certs.status(), path);
  return certs;
}

// The one certificate in `path`; kInvalidArgument naming `what` when it holds another count.
absl::StatusOr<UniquePtr<X509>> ReadOneCertificate(const std::string& path, std::string_view what) {
  MASA_ASSIGN_OR_RETURN(auto certs, ReadCertificates(path));
  if (certs.size() != 1) {
    return absl::InvalidArgumentError(absl::StrCat(
        path, " holds ", certs.size(), " certificates; the ", Sv(what), " is exactly one"));
  }
  return std::move(certs[0]);
}

// "masactl:<user>": the local operator, as the audit log names whoever signs offline.
std::string LocalOperator() {
  const struct passwd* pw = getpwuid(geteuid());
  return absl::StrCat("masactl:", pw != nullptr && pw->pw_name != nullptr
                                      ? std::string(pw->pw_name)
                                      : absl::StrCat("uid-", geteuid()));
}

// Signs with the production key, so the signature is audited like the daemon's: the CMS is
// made, then its audit entry ("voucher.sign" by the local operator, the CMS hash) is durable
// in the state's store, and only then is the file written. A state without a store yet gets
// one (as masad's first start would): every signature with the MASA key is in the log.
absl::Status Sign(const Flags::Parsed& args) {
  const std::string state_dir = *args.Get("state");
  if (!PathExists(state_dir)) {
    return absl::NotFoundError(
        absl::StrCat("state folder ", state_dir, " does not exist; run masactl dev-init first"));
  }
  MASA_ASSIGN_OR_RETURN(MasadConfig config, ConfigForState(state_dir));
  signer::Voucher voucher;
  // Whole seconds: some deployed device parsers reject fractional times.
  voucher.created_on = absl::FromUnixSeconds(absl::ToUnixSeconds(absl::Now()));
  voucher.serial_number = *args.Get("serial");
  std::string assertion =
      args.GetOr("assertion", std::string(signer::AssertionName(config.default_assertion)));
  voucher.assertion = signer::ParseAssertion(assertion);
  if (!voucher.assertion) {
    return absl::InvalidArgumentError(
        absl::StrCat("--assertion must be verified, logged, proximity or agent-proximity, not \"",
                     assertion, "\""));
  }
  if (auto expires = args.Get("expires")) {
    absl::StatusOr<absl::Time> t = ParseRfc3339(*expires);
    if (!t.ok()) return Annotate(t.status(), "--expires");
    voucher.expires_on = *t;
  }
  signer::CmsContentType content_type = signer::CmsContentType::kAnimaJsonVoucher;
  std::string type = args.GetOr("content-type", "voucher");
  if (type == "data") {
    content_type = signer::CmsContentType::kData;
  } else if (type != "voucher") {
    return absl::InvalidArgumentError(
        absl::StrCat("--content-type must be voucher or data, not \"", type, "\""));
  }
  MASA_ASSIGN_OR_RETURN(UniquePtr<X509> pdc, ReadOneCertificate(*args.Get("pdc"), "PDC"));
  MASA_ASSIGN_OR_RETURN(voucher.pinned_domain_cert, CertificateToDer(pdc.get()));
  if (auto path = args.Get("platform-cert")) {
    MASA_ASSIGN_OR_RETURN(UniquePtr<X509> pk, ReadOneCertificate(*path, "platform certificate"));
    if (absl::Status s = signer::CheckIssuedBy(pk.get(), pdc.get()); !s.ok()) {
      return absl::InvalidArgumentError(
          absl::StrCat(*path, ": not issued by the pinned-domain certificate: ", s.message()));
    }
    MASA_ASSIGN_OR_RETURN(voucher.platform_key_certificate, CertificateToDer(pk.get()));
  }
  if (args.Has("revocation-checks")) voucher.domain_cert_revocation_checks = true;
  const std::string out = *args.Get("out");
  if (!args.Has("force") && PathExists(out)) {
    return absl::AlreadyExistsError(absl::StrCat(out, " exists; pass --force to replace it"));
  }

  MASA_ASSIGN_OR_RETURN(std::unique_ptr<Stack> stack, OpenStack(config));
  std::vector<X509*> chain;
  for (const auto& c : stack->chain) chain.push_back(c.get());
  MASA_ASSIGN_OR_RETURN(auto signer, signer::VoucherSigner::Create(
                                         stack->signing_key.get(), stack->signing_cert.get(), chain,
                                         content_type, stack->provider->libctx(), nullptr));
  MASA_ASSIGN_OR_RETURN(std::string der, signer->Sign(voucher));
  const std::string actor = LocalOperator();
  const std::string ien = config.vendor_ien;
  const std::string serial = *voucher.serial_number;
  const std::string outcome =
      absl::StrCat("ok: assertion ", assertion, ", pinned ", SubjectName(pdc.get()));
  store::WriteBatch batch;
  batch.Do([&](store::WriteTxn& txn) -> absl::Status {
    // Named like the daemon's serial targets, so the owning organization's audit view shows it.
    std::string target = absl::StrCat("serial:", ien, "/", serial);
    auto component = txn.Get<store::Component>(store::ComponentKey(ien, serial));
    if (component.ok()) {
      target = absl::StrCat(component->organization_id, "/", target);
    } else if (!absl::IsNotFound(component.status())) {
      return component.status();
    }
    return txn.Append({actor, "voucher.sign", target, outcome, Sha256(der)}).status();
  });
  auto committed = stack->store->Write(std::move(batch));
  if (!committed.ok()) return Annotate(committed.status(), "auditing the signature");
  MASA_RETURN_IF_ERROR(WriteFileAtomic(out, der, 0644, !args.Has("force")));
  std::printf("signed voucher for serial %s (%s, %zu bytes) -> %s\n",
              voucher.serial_number->c_str(), type == "data" ? "id-data" : "id-ct-animaJSONVoucher",
              der.size(), out.c_str());
  std::printf("audited: voucher.sign by %s\n", actor.c_str());
  return absl::OkStatus();
}

// Subject, issuer and SHA-256 fingerprint of the platform key certificate, indented.
std::string DescribePlatformCertificate(X509* cert) {
  std::string der = CertificateToDer(cert).value_or("");
  std::string fingerprint;
  for (unsigned char c : Sha256(der)) {
    if (!fingerprint.empty()) fingerprint.push_back(':');
    absl::StrAppend(&fingerprint, absl::Hex(c, absl::kZeroPad2));
  }
  UniquePtr<BIO> bio(BIO_new(BIO_s_mem()));
  X509_NAME_print_ex(bio.get(), X509_get_issuer_name(cert), 0, XN_FLAG_RFC2253);
  char* data = nullptr;
  long len = BIO_get_mem_data(bio.get(), &data);
  return absl::StrCat("  subject: ", SubjectName(cert),
                      "\n  issuer: ", absl::string_view(data, static_cast<size_t>(len)),
                      "\n  SHA-256: ", absl::AsciiStrToUpper(fingerprint), "\n");
}

absl::Status Show(const Flags::Parsed& args) {
  MASA_ASSIGN_OR_RETURN(std::string der, ReadCmsFile(args.positional[0]));
  MASA_ASSIGN_OR_RETURN(signer::ParsedSignedData cms, signer::ParseSignedData(der));
  std::printf("%s\n", cms.content.c_str());
  std::printf("content type: %s%s\n", cms.content_type_oid.c_str(),
              cms.content_type == signer::CmsContentType::kAnimaJsonVoucher
                  ? " (id-ct-animaJSONVoucher)"
              : cms.content_type == signer::CmsContentType::kData ? " (id-data)"
                                                                  : "");
  for (const auto& si : cms.signers) {
    std::string subject = si.certificate ? SubjectName(cms.certificates[*si.certificate].get())
                                         : std::string("(certificate not included)");
    std::printf("signer: %s\n  issuer: %s\n  algorithm: %s with %s\n", subject.c_str(),
                si.issuer.c_str(), si.signature_algorithm.c_str(), si.digest_algorithm.c_str());
  }
  for (const auto& cert : cms.certificates) {
    std::printf("certificate: %s\n", SubjectName(cert.get()).c_str());
  }
  // The extended voucher's platform key certificate, shown (not verified: see verify).
  auto voucher = signer::DecodeVoucherJson(cms.content);
  if (voucher.ok() && voucher->platform_key_certificate) {
    auto pk = ParseCertificates(*voucher->platform_key_certificate);
    if (!pk.ok() || pk->size() != 1) {
      std::printf("platform-key-certificate: not one DER X.509 certificate\n");
    } else {
      std::printf("platform-key-certificate:\n%s",
                  DescribePlatformCertificate((*pk)[0].get()).c_str());
    }
  }
  return absl::OkStatus();
}

// Why a voucher may fail at the signature step, naming its signer and the given anchors.
std::string SignatureHint(const Flags::Parsed& args) {
  std::string signer = "its signer";
  if (auto der = ReadCmsFile(args.positional[0]); der.ok()) {
    if (auto cms = signer::ParseSignedData(*der);
        cms.ok() && !cms->signers.empty() && cms->signers[0].certificate) {
      signer = SubjectName(cms->certificates[*cms->signers[0].certificate].get());
    }
  }
  std::string anchors;
  if (auto certs = ReadCertificates(*args.Get("trust-anchor")); certs.ok()) {
    for (const auto& c : *certs)
      absl::StrAppend(&anchors, anchors.empty() ? "" : "; ", SubjectName(c.get()));
  }
  return absl::StrCat("the voucher was signed by \"", signer,
                      "\"; the trust anchor must be the CA that issued it (or one above), or "
                      "that signing certificate itself; given: ",
                      anchors.empty() ? "(none readable)" : anchors);
}

int VerifyVoucher(const Flags::Parsed& args) {
  auto run = [&]() -> absl::StatusOr<signer::VerificationResult> {
    MASA_ASSIGN_OR_RETURN(auto anchors, ReadCertificates(*args.Get("trust-anchor")));
    std::string voucher, owner, info;
    MASA_ASSIGN_OR_RETURN(voucher, ReadCmsFile(args.positional[0]));
    if (auto f = args.Get("owner-cert")) {
      MASA_ASSIGN_OR_RETURN(owner, ReadCmsFile(*f));
    }
    if (auto f = args.Get("conveyed-info")) {
      if (owner.empty()) {
        return absl::InvalidArgumentError("--conveyed-info needs --owner-cert, which signs it");
      }
      MASA_ASSIGN_OR_RETURN(info, ReadCmsFile(*f));
    }
    FixedClock clock(absl::Now());
    if (auto at = args.Get("at")) {
      absl::StatusOr<absl::Time> t = ParseRfc3339(*at);
      if (!t.ok()) return Annotate(t.status(), "--at");
      clock.Set(*t);
    }
    signer::DeviceProfile device;
    for (const auto& a : anchors) device.vendor_trust_anchors.push_back(a.get());
    device.serial_number = *args.Get("serial");
    device.clock = &clock;
    if (auto nonce = args.Get("nonce")) {
      auto raw = Base64Decode(*nonce);
      if (!raw.ok()) raw = Base64UrlDecode(*nonce);
      if (!raw.ok()) return absl::InvalidArgumentError("--nonce is not base64");
      device.expected_nonce = *raw;
    }
    return signer::VerifyOnboarding(device, {voucher, owner, info});
  };
  auto result = run();
  if (!result.ok()) return ReportError(result.status());
  if (!result->ok()) {
    std::fprintf(stderr, "masactl: verification FAILED at step %s\n  %s\n",
                 std::string(signer::VerifyStepName(result->failed_step)).c_str(),
                 std::string(result->status.message()).c_str());
    if (result->failed_step == signer::VerifyStep::kSignature) {
      std::fprintf(stderr, "  %s\n", SignatureHint(args).c_str());
    }
    return 1;
  }
  std::printf("voucher signature: OK (signer %s)\n",
              SubjectName(result->voucher_signer.get()).c_str());
  std::printf(
      "voucher: serial-number %s, assertion %s, created-on %s%s\n",
      result->voucher.serial_number->c_str(),
      std::string(signer::AssertionName(*result->voucher.assertion)).c_str(),
      FormatRfc3339(*result->voucher.created_on).c_str(),
      result->voucher.expires_on
          ? absl::StrCat(", expires-on ", FormatRfc3339(*result->voucher.expires_on)).c_str()
          : "");
  std::printf("pinned-domain-cert: %s\n", SubjectName(result->pinned_domain_cert.get()).c_str());
  if (result->platform_key_certificate) {
    std::printf("platform-key-certificate: OK (issued by the pinned-domain-cert)\n%s",
                DescribePlatformCertificate(result->platform_key_certificate.get()).c_str());
  }
  if (result->owner_certificate) {
    std::printf("owner certificate: OK (%s)\n",
                SubjectName(result->owner_certificate.get()).c_str());
  }
  if (args.Get("conveyed-info")) {
    std::printf("conveyed information: OK (%zu bytes)\n", result->conveyed_information.size());
  }
  std::printf("verification OK\n");
  return 0;
}

// Prints the command list to `out`: stdout for --help, stderr for a usage error.
int Usage(FILE* out) {
  std::fprintf(out,
               "usage: masactl voucher <sign|show|verify> [options]\n"
               "  sign    sign a voucher for one serial number with the HSM key\n"
               "  show    print a voucher's JSON and signer\n"
               "  verify  verify a voucher as a device would (RFC 8572 section 5.4)\n");
  return 2;
}

}  // namespace

int VoucherCommand(const Args& args) {
  if (args.empty()) return Usage(stderr);
  const std::string& sub = args[0];
  Args rest(args.begin() + 1, args.end());
  if (sub == "--help" || sub == "-h") {
    Usage(stdout);
    return 0;
  }
  if (sub == "sign") {
    Flags flags("masactl voucher sign --state DIR --serial S --pdc FILE --out FILE [options]",
                "Signs an ownership voucher (RFC 8366) pinning the domain certificate FILE to\n"
                "serial number S, with the MASA key in the HSM of state DIR. The signature is\n"
                "audited (voucher.sign by masactl:<user>) in DIR's store, which is created when\n"
                "absent, before FILE is written.");
    flags.Option("state", "DIR", "state folder made by masactl dev-init", true)
        .Option("serial", "S", "the device serial number", true)
        .Option("pdc", "FILE", "pinned-domain certificate, PEM or DER", true)
        .Option("out", "FILE", "where to write the voucher (DER CMS, .vcj)", true)
        .Option("expires", "TIME",
                "expires-on, RFC 3339 (default: none, a nonceless voucher "
                "without expiry)")
        .Option("assertion", "A",
                "verified, logged, proximity or agent-proximity (default: [voucher] assertion "
                "of DIR/masad.toml, else logged)")
        .Option("platform-cert", "FILE",
                "the owner's UEFI platform key certificate, PEM or DER, issued by the PDC; "
                "carried as masa-extended-voucher:platform-key-certificate")
        .Option("content-type", "T", "voucher (id-ct-animaJSONVoucher, default) or data (id-data)")
        .Switch("revocation-checks", "set domain-cert-revocation-checks to true")
        .Switch("force", "replace FILE if it exists");
    auto parsed = flags.Parse(rest);
    if (!parsed.ok()) return ReportError(parsed.status());
    if (parsed->help) return PrintHelp(flags);
    absl::Status s = Sign(*parsed);
    return s.ok() ? 0 : ReportError(s);
  }
  if (sub == "show") {
    Flags flags("masactl voucher show FILE", "Prints the voucher JSON in FILE and its signer.");
    flags.Positional("FILE", "a voucher: DER, PEM or base64 CMS");
    auto parsed = flags.Parse(rest);
    if (!parsed.ok()) return ReportError(parsed.status());
    if (parsed->help) return PrintHelp(flags);
    absl::Status s = Show(*parsed);
    return s.ok() ? 0 : ReportError(s);
  }
  if (sub == "verify") {
    Flags flags(
        "masactl voucher verify --trust-anchor FILE --serial S [options] VOUCHER",
        "Verifies VOUCHER as a device does (RFC 8572 section 5.4): the signature against\n"
        "the vendor trust anchor, created-on/expires-on against the clock, the assertion,\n"
        "the serial number, the pinned-domain-cert, then optionally that the owner\n"
        "certificate chains to it and that the conveyed information is signed by the owner.\n"
        "Exits 0 only when every step passes; otherwise names the step that failed.");
    flags.Option("trust-anchor", "FILE", "vendor trust anchor(s), PEM or DER", true)
        .Option("serial", "S", "this device's serial number", true)
        .Option("owner-cert", "FILE", "owner certificate: CMS without signers (DER/PEM/base64)")
        .Option("conveyed-info", "FILE", "signed onboarding information (CMS .42/.43)")
        .Option("nonce", "B64", "the nonce this device sent (base64)")
        .Option("at", "TIME", "verify as of this RFC 3339 time instead of now")
        .Positional("VOUCHER", "the voucher: DER, PEM or base64 CMS");
    auto parsed = flags.Parse(rest);
    if (!parsed.ok()) return ReportError(parsed.status());
    if (parsed->help) return PrintHelp(flags);
    return VerifyVoucher(*parsed);
  }
  std::fprintf(stderr, "masactl: unknown voucher command \"%s\"\n", sub.c_str());
  return Usage(stderr);
}

}  // namespace masa::tools
