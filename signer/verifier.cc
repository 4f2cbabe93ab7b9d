#include "signer/verifier.h"

#include <openssl/err.h>

#include "absl/strings/str_cat.h"
#include "common/status.h"
#include "signer/certificate.h"
#include "signer/voucher_json.h"

namespace masa::signer {
namespace {

// Records the failure of `step` in `result`; returns false so callers can `return Fail(...)`.
bool Fail(VerificationResult* result, VerifyStep step, const absl::Status& status) {
  result->failed_step = step;
  result->status = Annotate(status, VerifyStepName(step));
  return false;
}

bool Fail(VerificationResult* result, VerifyStep step, absl::StatusCode code,
          std::string_view message) {
  return Fail(result, step, absl::Status(code, Sv(message)));
}

bool TooLarge(VerificationResult* result, VerifyStep step) {
  return Fail(result, step, absl::StatusCode::kInvalidArgument,
              absl::StrCat("larger than ", kMaxArtifactBytes, " bytes"));
}

absl::StatusOr<UniquePtr<X509>> DecodeDerCertificate(const std::string& der) {
  const auto* p = reinterpret_cast<const unsigned char*>(der.data());
  const auto* end = p + der.size();
  UniquePtr<X509> cert(d2i_X509(nullptr, &p, static_cast<long>(der.size())));
  if (cert == nullptr || p != end) {
    ERR_clear_error();
    return absl::InvalidArgumentError("not one DER X.509 certificate");
  }
  return cert;
}

bool VerifyVoucherSteps(const DeviceProfile& device, std::string_view voucher_der,
                        VerificationResult* result) {
  const absl::Time now = device.clock->Now();
  if (voucher_der.size() > kMaxArtifactBytes) return TooLarge(result, VerifyStep::kParse);
  // signature
  VerifyOptions options;
  options.trust_anchors = device.vendor_trust_anchors;
  options.partial_chain = device.partial_chain;
  options.verification_time = now;
  options.libctx = device.libctx;
  options.propq = device.propq;
  auto verified = VerifySignedData(voucher_der, options);
  if (!verified.ok()) {
    // A structure that does not even parse is a parse failure; everything else is signature.
    auto parsed = ParseSignedData(voucher_der, device.libctx, device.propq);
    return Fail(result, parsed.ok() ? VerifyStep::kSignature : VerifyStep::kParse,
                verified.status());
  }
  result->voucher_signer = std::move(verified->signer);
  if (verified->content_type != CmsContentType::kAnimaJsonVoucher &&
      verified->content_type != CmsContentType::kData) {
    return Fail(
        result, VerifyStep::kParse, absl::StatusCode::kInvalidArgument,
        absl::StrCat("eContentType ", verified->content_type_oid, " is not a JSON voucher"));
  }
  // parse
  auto voucher = DecodeVoucherJson(verified->content);
  if (!voucher.ok()) return Fail(result, VerifyStep::kParse, voucher.status());
  if (absl::Status s = Validate(*voucher); !s.ok()) return Fail(result, VerifyStep::kParse, s);
  result->voucher = *std::move(voucher);
  const Voucher& v = result->voucher;
  // validity
  if (*v.created_on > now + device.clock_skew) {
    return Fail(result, VerifyStep::kValidity, absl::StatusCode::kPermissionDenied,
                absl::StrCat("created-on ", FormatRfc3339(*v.created_on), " is in the future (now ",
                             FormatRfc3339(now), ")"));
  }
  if (v.expires_on.has_value() && now >= *v.expires_on) {
    return Fail(result, VerifyStep::kValidity, absl::StatusCode::kPermissionDenied,
                absl::StrCat("expired at ", FormatRfc3339(*v.expires_on), " (now ",
                             FormatRfc3339(now), ")"));
  }
  // assertion
  if (!device.acceptable_assertions.contains(*v.assertion)) {
    return Fail(
        result, VerifyStep::kAssertion, absl::StatusCode::kPermissionDenied,
        absl::StrCat("\"", Sv(AssertionName(*v.assertion)), "\" is not acceptable to this device"));
  }
  // serial-number
  if (*v.serial_number != device.serial_number) {
    return Fail(result, VerifyStep::kSerialNumber, absl::StatusCode::kPermissionDenied,
                absl::StrCat("voucher is for \"", *v.serial_number, "\", this device is \"",
                             device.serial_number, "\""));
  }
  // idevid-issuer
  if (v.idevid_issuer.has_value() && device.idevid_issuer.has_value() &&
      *v.idevid_issuer != *device.idevid_issuer) {
    return Fail(result, VerifyStep::kIdevidIssuer, absl::StatusCode::kPermissionDenied,
                "does not match the authority key identifier of this device's IDevID");
  }
  // nonce
  if (v.nonce.has_value() || device.expected_nonce.has_value()) {
    if (!v.nonce.has_value()) {
      return Fail(result, VerifyStep::kNonce, absl::StatusCode::kPermissionDenied,
                  "the device sent a nonce but the voucher has none");
    }
    if (!device.expected_nonce.has_value()) {
      return Fail(result, VerifyStep::kNonce, absl::StatusCode::kPermissionDenied,
                  "the voucher has a nonce but the device sent none");
    }
    if (*v.nonce != *device.expected_nonce) {
      return Fail(result, VerifyStep::kNonce, absl::StatusCode::kPermissionDenied,
                  "does not match the nonce the device sent");
    }
  }
  // pinned-domain-cert
  if (!v.pinned_domain_cert.has_value()) {
    return Fail(result, VerifyStep::kPinnedDomainCert, absl::StatusCode::kFailedPrecondition,
                "the voucher pins a public key, not a certificate; this verifier needs a "
                "pinned-domain-cert");
  }
  auto pdc = DecodeDerCertificate(*v.pinned_domain_cert);
  if (!pdc.ok()) return Fail(result, VerifyStep::kPinnedDomainCert, pdc.status());
  result->pinned_domain_cert = *std::move(pdc);
  // platform-key-certificate
  if (v.platform_key_certificate.has_value()) {
    auto pk = DecodeDerCertificate(*v.platform_key_certificate);
    if (!pk.ok()) return Fail(result, VerifyStep::kPlatformKeyCertificate, pk.status());
    if (absl::Status s = CheckIssuedBy(pk->get(), result->pinned_domain_cert.get()); !s.ok()) {
      return Fail(
          result, VerifyStep::kPlatformKeyCertificate,
          absl::PermissionDeniedError(absl::StrCat(
              SubjectName(pk->get()), " was not issued by the pinned-domain-cert: ", s.message())));
    }
    result->platform_key_certificate = *std::move(pk);
  }
  return true;
}

// The bag certificate that is nobody's issuer within the bag.
absl::StatusOr<size_t> FindLeaf(const std::vector<UniquePtr<X509>>& certs) {
  std::optional<size_t> leaf;
  for (size_t i = 0; i < certs.size(); ++i) {
    bool issues_another = false;
    for (size_t j = 0; j < certs.size(); ++j) {
      if (i != j && X509_check_issued(certs[i].get(), certs[j].get()) == X509_V_OK) {
        issues_another = true;
      }
    }
    // X509_check_issued queues an error for a key it cannot decode; left there, it would be
    // reported by the next unrelated FromOpenSslErrors on this thread.
    ERR_clear_error();
    if (issues_another) continue;
    if (leaf.has_value()) {
      return absl::InvalidArgumentError(
          "the certificate bag holds more than one end certificate; cannot tell the owner "
          "certificate");
    }
    leaf = i;
  }
  if (!leaf.has_value()) return absl::InvalidArgumentError("no owner certificate in the bag");
  return *leaf;
}

bool VerifyOwnerSteps(const DeviceProfile& device, const OnboardingArtifacts& artifacts,
                      VerificationResult* result) {
  const absl::Time now = device.clock->Now();
  // owner-certificate
  if (artifacts.owner_certificate.size() > kMaxArtifactBytes) {
    return TooLarge(result, VerifyStep::kOwnerCertificate);
  }
  auto bag = ParseCertificateBag(artifacts.owner_certificate);
  if (!bag.ok()) return Fail(result, VerifyStep::kOwnerCertificate, bag.status());
  if (bag->size() > kMaxCmsCertificates) {
    return Fail(result, VerifyStep::kOwnerCertificate, absl::StatusCode::kInvalidArgument,
                absl::StrCat("the certificate bag holds ", bag->size(), " certificates; at most ",
                             kMaxCmsCertificates, " are accepted"));
  }
  auto leaf_index = FindLeaf(*bag);
  if (!leaf_index.ok()) return Fail(result, VerifyStep::kOwnerCertificate, leaf_index.status());
  X509* leaf = (*bag)[*leaf_index].get();

  UniquePtr<X509_STORE> store(X509_STORE_new());
  X509Stack untrusted(sk_X509_new_null());
  if (store == nullptr || untrusted == nullptr ||
      !X509_STORE_add_cert(store.get(), result->pinned_domain_cert.get())) {
    return Fail(result, VerifyStep::kOwnerCertificate, FromOpenSslErrors("building the store"));
  }
  for (size_t i = 0; i < bag->size(); ++i) {
    if (i != *leaf_index) sk_X509_push(untrusted.get(), UpRef((*bag)[i].get()).release());
  }
  UniquePtr<X509_STORE_CTX> ctx(X509_STORE_CTX_new_ex(device.libctx, device.propq));
  if (ctx == nullptr || !X509_STORE_CTX_init(ctx.get(), store.get(), leaf, untrusted.get())) {
    return Fail(result, VerifyStep::kOwnerCertificate, FromOpenSslErrors("X509_STORE_CTX_init"));
  }
  X509_VERIFY_PARAM* param = X509_STORE_CTX_get0_param(ctx.get());
  X509_VERIFY_PARAM_set_time(param, static_cast<time_t>(absl::ToUnixSeconds(now)));
  X509_VERIFY_PARAM_set_purpose(param, X509_PURPOSE_ANY);
  X509_VERIFY_PARAM_set_depth(param, kMaxChainDepth);
  unsigned long flags = X509_V_FLAG_PARTIAL_CHAIN;
  const std::optional<bool>& revocation = result->voucher.domain_cert_revocation_checks;
  bool use_crls = revocation.value_or(device.crls != nullptr);
  if (use_crls) flags |= X509_V_FLAG_CRL_CHECK | X509_V_FLAG_CRL_CHECK_ALL;
  X509_VERIFY_PARAM_set_flags(param, flags);
  if (use_crls && device.crls != nullptr) X509_STORE_CTX_set0_crls(ctx.get(), device.crls);
  if (X509_verify_cert(ctx.get()) != 1) {
    int err = X509_STORE_CTX_get_error(ctx.get());
    ERR_clear_error();
    return Fail(result, VerifyStep::kOwnerCertificate, absl::StatusCode::kPermissionDenied,
                absl::StrCat(SubjectName(leaf), " does not chain to the pinned-domain-cert ",
                             SubjectName(result->pinned_domain_cert.get()), ": ",
                             X509_verify_cert_error_string(err)));
  }
  result->owner_certificate = UpRef(leaf);
  if (artifacts.conveyed_information.empty()) return true;

  // conveyed-information
  if (artifacts.conveyed_information.size() > kMaxArtifactBytes) {
    return TooLarge(result, VerifyStep::kConveyedInformation);
  }
  auto info =
      VerifySignedDataWithSigner(artifacts.conveyed_information, leaf, device.libctx, device.propq);
  if (!info.ok()) return Fail(result, VerifyStep::kConveyedInformation, info.status());
  if (info->content_type != CmsContentType::kSztpConveyedInfoXml &&
      info->content_type != CmsContentType::kSztpConveyedInfoJson) {
    return Fail(result, VerifyStep::kConveyedInformation, absl::StatusCode::kInvalidArgument,
                absl::StrCat("eContentType ", info->content_type_oid,
                             " is not id-ct-sztpConveyedInfoXML or id-ct-sztpConveyedInfoJSON"));
  }
  result->conveyed_information = std::move(info->content);
  result->conveyed_information_type = info->content_type;
  return true;
}

}  // namespace

std::string_view VerifyStepName(VerifyStep step) {
  switch (step) {
    case VerifyStep::kNone:
      return "none";
    case VerifyStep::kSignature:
      return "signature";
    case VerifyStep::kParse:
      return "parse";
    case VerifyStep::kValidity:
      return "validity";
    case VerifyStep::kAssertion:
      return "assertion";
    case VerifyStep::kSerialNumber:
      return "serial-number";
    case VerifyStep::kIdevidIssuer:
      return "idevid-issuer";
    case VerifyStep::kNonce:
      return "nonce";
    case VerifyStep::kPinnedDomainCert:
      return "pinned-domain-cert";
    case VerifyStep::kPlatformKeyCertificate:
      return "platform-key-certificate";
    case VerifyStep::kOwnerCertificate:
      return "owner-certificate";
    case VerifyStep::kConveyedInformation:
      return "conveyed-information";
  }
  return "unknown";
}

VerificationResult VerifyOwnershipVoucher(const DeviceProfile& device,
                                          std::string_view ownership_voucher) {
  VerificationResult result;
  VerifyVoucherSteps(device, ownership_voucher, &result);
  return result;
}

VerificationResult VerifyOnboarding(const DeviceProfile& device,
                                    const OnboardingArtifacts& artifacts) {
  VerificationResult result;
  if (!VerifyVoucherSteps(device, artifacts.ownership_voucher, &result)) return result;
  if (artifacts.owner_certificate.empty()) {
    if (!artifacts.conveyed_information.empty()) {
      Fail(&result, VerifyStep::kOwnerCertificate, absl::StatusCode::kInvalidArgument,
           "signed conveyed information needs an owner certificate");
    }
    return result;
  }
  VerifyOwnerSteps(device, artifacts, &result);
  return result;
}

absl::StatusOr<std::string> SignConveyedInformation(std::string_view content,
                                                    CmsContentType content_type,
                                                    EVP_PKEY* owner_key, X509* owner_cert,
                                                    const std::vector<X509*>& chain,
                                                    OSSL_LIB_CTX* libctx, const char* propq) {
  if (content_type != CmsContentType::kSztpConveyedInfoXml &&
      content_type != CmsContentType::kSztpConveyedInfoJson) {
    return absl::InvalidArgumentError(
        "conveyed information is id-ct-sztpConveyedInfoXML or id-ct-sztpConveyedInfoJSON");
  }
  MASA_ASSIGN_OR_RETURN(
      auto signer, CmsSigner::Create(owner_key, owner_cert, chain, content_type, libctx, propq));
  return signer->Sign(content);
}

}  // namespace masa::signer
