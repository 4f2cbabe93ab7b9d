// The key routes of the REST API: the certificates anyone may fetch to verify vouchers
// (GET /keys, GET /keys/{key_id}/chain.pem, no token), and the security officer's key
// lifecycle (service/keys.h), every permission decision left to the service.
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "api/internal/key_codec.h"
#include "api/internal/problem.h"
#include "api/internal/responses.h"
#include "api/internal/rest_api_impl.h"
#include "api/internal/tar.h"
#include "common/status.h"
#include "service/keys.h"

namespace masa::api::internal {
namespace {

using nlohmann::json;
using queue::HttpResponse;

// 200 when the action took effect, 202 while it waits for more security officers.
HttpResponse ActionResponse(const service::KeyActionResult& result) {
  return JsonResponse(result.applied ? 200 : 202, KeyActionJson(result));
}

// True for "application/pem-certificate-chain", in any case, with or without parameters.
bool IsPemChainType(std::string_view content_type) {
  absl::string_view type = Sv(content_type.substr(0, content_type.find(';')));
  return absl::EqualsIgnoreCase(absl::StripAsciiWhitespace(type), Sv(kPemChainMediaType));
}

}  // namespace

absl::StatusOr<HttpResponse> RestApiImpl::ListPublishedKeys(Call& call) {
  MASA_RETURN_IF_ERROR(NoQuery(call));
  MASA_ASSIGN_OR_RETURN(std::vector<service::PublishedKey> keys,
                        options_.services.keys->PublishedKeys());
  json out = json::array();
  for (const service::PublishedKey& k : keys) out.push_back(PublishedKeyJson(k));
  return Ok(OkWith("keys", std::move(out)));
}

absl::StatusOr<HttpResponse> RestApiImpl::GetKeyChain(Call& call) {
  MASA_RETURN_IF_ERROR(NoQuery(call));
  const std::string& key_id = Param(call, "key_id");
  MASA_ASSIGN_OR_RETURN(std::vector<service::PublishedKey> keys,
                        options_.services.keys->PublishedKeys());
  for (const service::PublishedKey& k : keys) {
    if (k.key_id != key_id) continue;
    if (k.chain_der.empty()) {
      return absl::NotFoundError(
          "this key has no certificate; GET /keys publishes its public key instead");
    }
    // No Content-Disposition: verifiers read it in place, as they read a CA's chain.
    HttpResponse r;
    r.content_type = std::string(kPemChainMediaType);
    r.body = ChainPem(k.chain_der);
    return r;
  }
  return absl::NotFoundError(
      "no published key has this id (pending keys are not published); GET /keys lists them");
}

absl::StatusOr<HttpResponse> RestApiImpl::ListManagedKeys(Call& call) {
  MASA_RETURN_IF_ERROR(NoQuery(call));
  MASA_ASSIGN_OR_RETURN(std::vector<service::KeyInfo> keys,
                        options_.services.keys->ListKeys(call.caller));
  json out = json::array();
  for (const service::KeyInfo& k : keys) out.push_back(KeyJson(k));
  return Ok(OkWith("keys", std::move(out)));
}

absl::StatusOr<HttpResponse> RestApiImpl::GenerateKey(Call& call) {
  MASA_RETURN_IF_ERROR(NoQuery(call));
  MASA_ASSIGN_OR_RETURN(service::KeyGenerateInput in, DecodeKeyGenerate(call.request.body));
  MASA_ASSIGN_OR_RETURN(service::KeyInfo k,
                        options_.services.keys->GenerateKey(call.caller, std::move(in)));
  return JsonResponse(201, OkWith("key", KeyJson(k)));
}

absl::StatusOr<HttpResponse> RestApiImpl::CreateKeyCsr(Call& call) {
  MASA_RETURN_IF_ERROR(NoQuery(call));
  MASA_ASSIGN_OR_RETURN(std::string subject, DecodeCsrSubject(call.request.body));
  const std::string& key_id = Param(call, "key_id");
  MASA_ASSIGN_OR_RETURN(std::string der,
                        options_.services.keys->CreateCsr(call.caller, key_id, subject));
  return FileResponse("application/x-pem-file", SafeFileName(key_id, ".csr.pem"),
                      PemBlock("CERTIFICATE REQUEST", der));
}

absl::StatusOr<HttpResponse> RestApiImpl::IssueKeyCertificate(Call& call) {
  MASA_RETURN_IF_ERROR(NoQuery(call));
  MASA_ASSIGN_OR_RETURN(service::KeyIssueInput in,
                        DecodeKeyIssue(Param(call, "key_id"), call.request.body));
  MASA_ASSIGN_OR_RETURN(service::KeyInfo k,
                        options_.services.keys->IssueCertificate(call.caller, std::move(in)));
  return Ok(OkWith("key", KeyJson(k)));
}

absl::StatusOr<HttpResponse> RestApiImpl::ImportKeyCertificate(Call& call) {
  MASA_RETURN_IF_ERROR(NoQuery(call));
  std::string type = call.request.Header("content-type");
  if (!IsPemChainType(type)) {
    if (type.size() > 80) type = type.substr(0, 80) + "...";
    return Problem(415, "urn:masa:problem:unsupported-media-type", "Unsupported media type",
                   absl::StrCat("The body must be the certificate chain as PEM, leaf first, "
                                "sent with \"Content-Type: ",
                                Sv(kPemChainMediaType), "\"; got ",
                                type.empty() ? "no Content-Type" : "\"" + type + "\"", "."),
                   {{"Accept", std::string(kPemChainMediaType)}});
  }
  if (absl::StripAsciiWhitespace(Sv(call.request.body)).empty()) {
    return absl::InvalidArgumentError(
        "body: the certificate chain (PEM, leaf first, up to the trust anchor) is empty");
  }
  MASA_ASSIGN_OR_RETURN(service::KeyInfo k,
                        options_.services.keys->ImportCertificate(
                            call.caller, Param(call, "key_id"), call.request.body));
  return Ok(OkWith("key", KeyJson(k)));
}

absl::StatusOr<HttpResponse> RestApiImpl::ActivateKey(Call& call) {
  MASA_RETURN_IF_ERROR(NoQuery(call));
  MASA_RETURN_IF_ERROR(ParseJsonObject(call.request.body, /*allow_empty=*/true).status());
  MASA_ASSIGN_OR_RETURN(service::KeyActionResult result,
                        options_.services.keys->ActivateKey(call.caller, Param(call, "key_id")));
  return ActionResponse(result);
}

absl::StatusOr<HttpResponse> RestApiImpl::RetireKey(Call& call) {
  MASA_RETURN_IF_ERROR(NoQuery(call));
  MASA_RETURN_IF_ERROR(ParseJsonObject(call.request.body, /*allow_empty=*/true).status());
  MASA_ASSIGN_OR_RETURN(service::KeyActionResult result,
                        options_.services.keys->RetireKey(call.caller, Param(call, "key_id")));
  return ActionResponse(result);
}

absl::StatusOr<HttpResponse> RestApiImpl::ListKeyApprovals(Call& call) {
  MASA_RETURN_IF_ERROR(NoQuery(call));
  MASA_ASSIGN_OR_RETURN(std::vector<service::KeyApproval> approvals,
                        options_.services.keys->ListApprovals(call.caller));
  json out = json::array();
  for (const service::KeyApproval& a : approvals) out.push_back(KeyApprovalJson(a));
  return Ok(OkWith("approvals", std::move(out)));
}

absl::StatusOr<HttpResponse> RestApiImpl::ApproveKeyAction(Call& call) {
  MASA_RETURN_IF_ERROR(NoQuery(call));
  MASA_RETURN_IF_ERROR(ParseJsonObject(call.request.body, /*allow_empty=*/true).status());
  MASA_ASSIGN_OR_RETURN(service::KeyActionResult result,
                        options_.services.keys->Approve(call.caller, Param(call, "approval_id")));
  return ActionResponse(result);
}

}  // namespace masa::api::internal
