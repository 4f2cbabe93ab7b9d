#include "api/internal/key_codec.h"

#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/x509.h>
#include <time.h>

#include <utility>

#include "absl/strings/str_cat.h"
#include "api/internal/codec.h"
#include "api/internal/json_body.h"
#include "common/base64.h"
#include "common/openssl.h"
#include "common/status.h"
#include "common/time.h"

namespace masa::api::internal {
namespace {

using nlohmann::json;

constexpr size_t kSubjectLength = 1024;  // a distinguished name; the service checks it
constexpr size_t kLabelLength = 128;     // CKA_LABEL

constexpr const char* kPurposeNames = "voucher-signing, audit";
constexpr const char* kAlgorithmNames = "p256, p384, rsa3072, ed25519";

json PemArray(const std::vector<std::string>& chain_der) {
  json out = json::array();
  for (const std::string& der : chain_der) out.push_back(PemBlock("CERTIFICATE", der));
  return out;
}

json PublicKeyPem(const std::string& der) {
  return der.empty() ? json(nullptr) : json(PemBlock("PUBLIC KEY", der));
}

absl::StatusOr<absl::Time> AsnTime(const ASN1_TIME* t) {
  struct tm tm {};
  if (t == nullptr || ASN1_TIME_to_tm(t, &tm) != 1) {
    ERR_clear_error();
    return absl::InvalidArgumentError("certificate validity: not an ASN.1 time");
  }
  absl::Time time = absl::FromUnixSeconds(timegm(&tm));
  if (!InRfc3339Range(time)) {
    return absl::InvalidArgumentError("certificate validity: outside the years 0001 to 9999");
  }
  return time;
}

}  // namespace

// ---------------------------------------------------------------------------------------
// Decoding

absl::StatusOr<service::KeyGenerateInput> DecodeKeyGenerate(std::string_view body) {
  MASA_ASSIGN_OR_RETURN(json object, ParseJsonObject(body, /*allow_empty=*/true));
  ObjectReader r(object);
  service::KeyGenerateInput in;
  if (auto v = r.String("purpose", false, 32)) {
    std::optional<service::KeyPurpose> purpose = service::ParseKeyPurpose(*v);
    if (!purpose) {
      r.Fail(absl::StrCat("purpose: must be one of ", kPurposeNames));
    } else {
      in.purpose = *purpose;
    }
  }
  if (auto v = r.String("algorithm", false, 32)) {
    std::optional<service::KeyAlgorithm> algorithm = service::ParseKeyAlgorithm(*v);
    if (!algorithm) {
      r.Fail(absl::StrCat("algorithm: must be one of ", kAlgorithmNames));
    } else {
      in.algorithm = *algorithm;
    }
  }
  if (auto v = r.String("label", false, kLabelLength)) in.label = std::move(*v);
  MASA_RETURN_IF_ERROR(r.Finish());
  return in;
}

absl::StatusOr<std::string> DecodeCsrSubject(std::string_view body) {
  MASA_ASSIGN_OR_RETURN(json object, ParseJsonObject(body, /*allow_empty=*/true));
  ObjectReader r(object);
  std::string subject = r.String("subject", false, kSubjectLength).value_or("");
  MASA_RETURN_IF_ERROR(r.Finish());
  return subject;
}

absl::StatusOr<service::KeyIssueInput> DecodeKeyIssue(std::string_view key_id,
                                                      std::string_view body) {
  MASA_ASSIGN_OR_RETURN(json object, ParseJsonObject(body, /*allow_empty=*/true));
  ObjectReader r(object);
  service::KeyIssueInput in;
  in.key_id = std::string(key_id);
  in.subject = r.String("subject", false, kSubjectLength).value_or("");
  if (auto v = r.Int("validity_days", false, 1, kMaxValidityDays)) {
    in.validity = absl::Hours(24 * *v);
  }
  MASA_RETURN_IF_ERROR(r.Finish());
  return in;
}

// ---------------------------------------------------------------------------------------
// Encoding

std::string PemBlock(std::string_view label, std::string_view der) {
  std::string b64 = Base64Encode(der);
  std::string out = absl::StrCat("-----BEGIN ", Sv(label), "-----\n");
  for (size_t i = 0; i < b64.size(); i += 64) {
    out.append(b64, i, 64);
    out.push_back('\n');
  }
  absl::StrAppend(&out, "-----END ", Sv(label), "-----\n");
  return out;
}

std::string ChainPem(const std::vector<std::string>& chain_der) {
  std::string out;
  for (const std::string& der : chain_der) out += PemBlock("CERTIFICATE", der);
  return out;
}

absl::StatusOr<CertificateFacts> ReadCertificateFacts(std::string_view der) {
  MASA_ASSIGN_OR_RETURN(UniquePtr<X509> cert, ParseCertificate(der));
  CertificateFacts facts;
  facts.subject = SubjectName(cert.get());
  MASA_ASSIGN_OR_RETURN(facts.not_before, AsnTime(X509_get0_notBefore(cert.get())));
  MASA_ASSIGN_OR_RETURN(facts.not_after, AsnTime(X509_get0_notAfter(cert.get())));
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int md_len = 0;
  if (X509_digest(cert.get(), EVP_sha256(), md, &md_len) != 1) {
    return FromOpenSslErrors("certificate fingerprint");
  }
  facts.fingerprint_sha256 = HexEncode(std::string_view(reinterpret_cast<char*>(md), md_len));
  return facts;
}

json KeyJson(const service::KeyInfo& k) {
  return json{{"key_id", k.key_id},
              {"uri", k.uri},
              {"purpose", service::KeyPurposeName(k.purpose)},
              {"algorithm", service::KeyAlgorithmName(k.algorithm)},
              {"state", service::KeyStateName(k.state)},
              {"subject", k.subject},
              {"not_before", OptionalTimeJson(k.not_before)},
              {"not_after", OptionalTimeJson(k.not_after)},
              {"fingerprint_sha256", k.fingerprint_sha256},
              {"chain", PemArray(k.chain_der)},
              {"public_key", PublicKeyPem(k.public_key_der)},
              {"created_at", TimeJson(k.created_at)},
              {"created_by", k.created_by},
              {"activated_at", OptionalTimeJson(k.activated_at)},
              {"retired_at", OptionalTimeJson(k.retired_at)},
              {"first_used_at", OptionalTimeJson(k.first_used_at)},
              {"last_used_at", OptionalTimeJson(k.last_used_at)},
              {"signatures", k.signatures}};
}

json PublishedKeyJson(const service::PublishedKey& k) {
  json out = {{"key_id", k.key_id},
              {"purpose", service::KeyPurposeName(k.purpose)},
              {"state", service::KeyStateName(k.state)},
              {"subject", nullptr},
              {"not_before", nullptr},
              {"not_after", nullptr},
              {"fingerprint_sha256", nullptr},
              {"chain", PemArray(k.chain_der)},
              {"public_key", PublicKeyPem(k.public_key_der)}};
  if (!k.chain_der.empty()) {
    // The service stored this certificate after checking it; one that no longer parses
    // still publishes its bytes, without the facts.
    if (absl::StatusOr<CertificateFacts> facts = ReadCertificateFacts(k.chain_der.front());
        facts.ok()) {
      out["subject"] = facts->subject;
      out["not_before"] = TimeJson(facts->not_before);
      out["not_after"] = TimeJson(facts->not_after);
      out["fingerprint_sha256"] = facts->fingerprint_sha256;
    }
  }
  return out;
}

json KeyApprovalJson(const service::KeyApproval& a) {
  return json{{"approval_id", a.approval_id},
              {"key_id", a.key_id},
              {"action", a.action},
              {"approved_by", a.approved_by},
              {"required", a.required},
              {"created_at", TimeJson(a.created_at)},
              {"expires_at", TimeJson(a.expires_at)}};
}

json KeyActionJson(const service::KeyActionResult& r) {
  return json{{"ok", true},
              {"applied", r.applied},
              {"key", KeyJson(r.key)},
              {"approval", r.approval ? KeyApprovalJson(*r.approval) : json(nullptr)}};
}

}  // namespace masa::api::internal
