#include "api/rest_api.h"

#include <map>
#include <set>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "api/internal/codec.h"
#include "api/internal/json_body.h"
#include "api/internal/problem.h"
#include "api/internal/responses.h"
#include "api/internal/rest_api_impl.h"
#include "api/internal/tar.h"
#include "api/web/session_cookie.h"
#include "common/base64.h"
#include "common/sha256.h"
#include "common/status.h"
#include "common/time.h"
#include "service/service.h"

namespace masa::api {
namespace internal {
namespace {

using nlohmann::json;
using queue::HttpResponse;

constexpr std::string_view kVoucherMediaType = "application/voucher-cms+json";

HttpResponse Deferred() {
  HttpResponse r;
  r.status = kDeferred;
  return r;
}

}  // namespace

// ---------------------------------------------------------------------------------------
// The route table. The OpenAPI document lists exactly these (checked by a test).

const std::vector<Route>& RestApiImpl::Routes() {
  using R = RestApiImpl;
  static const std::vector<Route>* routes = new std::vector<Route>{
      {{"GET", "/healthz", "getHealth"}, &R::Healthz, false, false},
      {{"GET", "/readyz", "getReadiness"}, &R::Readyz, false, false},
      {{"GET", "/openapi.json", "getOpenApi"}, &R::OpenApi, false, false},

      // The web application's sign-in (api/web/).
      {{"GET", "/auth/config", "getAuthConfig"}, &R::AuthConfig, false, false},
      {{"POST", "/auth/token", "signInWithToken"}, &R::AuthToken, false},
      {{"GET", "/auth/session", "getSession"}, &R::AuthSession},
      {{"POST", "/auth/logout", "signOut"}, &R::AuthLogout},
      {{"GET", "/auth/licence", "getLicence"}, &R::GetLicence, false, false},
      {{"POST", "/auth/licence", "acceptLicence"}, &R::AcceptLicence},
      {{"GET", "/auth/oidc/login", "beginSsoLogin"}, &R::OidcLogin, false},
      {{"GET", "/auth/oidc/callback", "finishSsoLogin"}, &R::OidcCallback, false},

      {{"POST", "/request/ov", "requestVouchers"}, &R::RequestOv},
      {{"GET", "/request/{req_id}", "getRequest"}, &R::GetRequest},
      {{"GET", "/request/{req_id}/download", "downloadRequest"}, &R::DownloadRequest},
      {{"GET", "/voucher/{voucher_id}", "getVoucher"}, &R::GetVoucher},
      {{"GET", "/voucher/{voucher_id}/download", "downloadVoucher"}, &R::DownloadVoucher},
      {{"POST", "/voucher/{voucher_id}/renew", "renewVoucher"}, &R::RenewVoucher},
      {{"POST", "/voucher/{voucher_id}/archive", "archiveVoucher"}, &R::ArchiveVoucher},
      {{"GET", "/voucher/{voucher_id}/proof", "getVoucherProof"}, &R::VoucherProof},
      {{"GET", "/vouchers", "listVouchers"}, &R::ListVouchers},

      {{"POST", "/pdc", "uploadPdc"}, &R::UploadPdc},
      {{"GET", "/pdcs", "listPdcs"}, &R::ListPdcs},
      {{"GET", "/pdc/{cert_id}", "getPdc"}, &R::GetPdc},
      {{"DELETE", "/pdc/{cert_id}", "deletePdc"}, &R::DeletePdc},

      {{"POST", "/users", "inviteUser"}, &R::InviteUser},
      {{"POST", "/service-accounts", "createServiceAccount"}, &R::CreateServiceAccount},
      {{"GET", "/principals", "listPrincipals"}, &R::ListPrincipals},
      {{"POST", "/principals/{principal_id}/disable", "disablePrincipal"}, &R::DisablePrincipal},
      {{"POST", "/bindings", "createBinding"}, &R::CreateBinding},
      {{"GET", "/bindings", "listBindings"}, &R::ListBindings},
      {{"DELETE", "/bindings/{binding_id}", "deleteBinding"}, &R::DeleteBinding},
      {{"POST", "/bindings/{binding_id}/grants", "addGrant"}, &R::AddGrant},
      {{"DELETE", "/bindings/{binding_id}/grants/{grant}", "removeGrant"}, &R::RemoveGrant},
      {{"POST", "/groups", "createGroup"}, &R::CreateGroup},
      {{"GET", "/groups", "listGroups"}, &R::ListGroups},
      {{"DELETE", "/groups/{group_id}", "deleteGroup"}, &R::DeleteGroup},
      {{"GET", "/groups/{group_id}", "getGroup"}, &R::GetGroup},
      {{"POST", "/groups/{group_id}/delegated-orgs", "addDelegatedOrg"}, &R::AddDelegatedOrg},
      {{"DELETE", "/groups/{group_id}/delegated-orgs/{organization_id}", "removeDelegatedOrg"},
       &R::RemoveDelegatedOrg},
      {{"POST", "/groups/{group_id}/users", "addUserRole"}, &R::AddUserRole},
      {{"DELETE", "/groups/{group_id}/users/{username}", "removeUserRole"}, &R::RemoveUserRole},
      {{"GET", "/users/{username}/roles", "getUserRoles"}, &R::GetUserRoles},

      {{"POST", "/organizations", "createOrganization"}, &R::CreateOrganization},
      {{"GET", "/organizations", "listOrganizations"}, &R::ListOrganizations},

      {{"POST", "/tokens", "createToken"}, &R::CreateToken},
      {{"GET", "/tokens", "listTokens"}, &R::ListTokens},
      {{"DELETE", "/tokens/{token_id}", "revokeToken"}, &R::RevokeToken},

      {{"POST", "/serials/assign", "assignSerials"}, &R::AssignSerials},
      {{"POST", "/serials/place", "placeSerials"}, &R::PlaceSerials},
      {{"GET", "/serial/{serial_number}", "getSerial"}, &R::GetSerial},
      {{"POST", "/serials/lookup", "lookupSerials"}, &R::LookupSerials},
      {{"GET", "/groups/{group_id}/components", "listComponents"}, &R::ListComponents},
      {{"DELETE", "/groups/{group_id}/components/{serial_number}", "removeSerial"},
       &R::RemoveSerial},
      {{"GET", "/audit", "listAudit"}, &R::ListAudit},

      // Verifiers fetch the certificates without a token; the officer's list of every key
      // (pending ones too) is a path of its own, since one path has one authentication rule.
      {{"GET", "/keys", "listPublishedKeys"}, &R::ListPublishedKeys, false},
      {{"GET", "/keys/{key_id}/chain.pem", "getKeyChain"}, &R::GetKeyChain, false},
      {{"GET", "/keys/managed", "listManagedKeys"}, &R::ListManagedKeys},
      {{"POST", "/keys", "generateKey"}, &R::GenerateKey},
      {{"POST", "/keys/{key_id}/csr", "createKeyCsr"}, &R::CreateKeyCsr},
      {{"POST", "/keys/{key_id}/issue", "issueKeyCertificate"}, &R::IssueKeyCertificate},
      {{"PUT", "/keys/{key_id}/certificate", "importKeyCertificate"}, &R::ImportKeyCertificate},
      {{"POST", "/keys/{key_id}/activate", "activateKey"}, &R::ActivateKey},
      {{"POST", "/keys/{key_id}/retire", "retireKey"}, &R::RetireKey},
      {{"GET", "/key-approvals", "listKeyApprovals"}, &R::ListKeyApprovals},
      {{"POST", "/key-approvals/{approval_id}/approve", "approveKeyAction"}, &R::ApproveKeyAction},
  };
  return *routes;
}

std::vector<RouteSpec> RestApiImpl::RouteSpecs() {
  std::vector<RouteSpec> specs;
  for (const Route& r : Routes()) specs.push_back(r.spec);
  return specs;
}

// ---------------------------------------------------------------------------------------
// Dispatch

RestApiImpl::RestApiImpl(const RestApiOptions& options, std::string openapi,
                         std::unique_ptr<queue::WorkQueue> workers)
    : options_(options), licence_version_(HexEncode(Sha256(options.web.licence_text))),
      openapi_(std::move(openapi)), workers_(std::move(workers)) {
  server_.store(options.server);
}

RestApiImpl::~RestApiImpl() {
  // Runs the handlers still waiting, so every accepted request is answered.
  if (workers_) workers_->Shutdown();
}

HttpResponse RestApiImpl::Fail(const absl::Status& status) const {
  return ProblemResponse(status, options_.retry_after_seconds);
}

void RestApiImpl::Handle(queue::HttpRequest request, queue::HttpResponder respond) {
  auto call = std::make_shared<Call>();
  call->respond = [codes = http_codes_, respond = std::move(respond),
                   tls = request.tls](HttpResponse r) {
    codes->Count(r.status);
    web::AddSecurityHeaders(tls, r);
    respond(std::move(r));
  };
  const std::vector<Route>& routes = Routes();
  static const std::vector<RouteSpec> specs = RouteSpecs();
  // The web application's files: GET and HEAD, no authentication, read on a worker.
  static const Route kStatic{{"GET", "/assets/{path}", "webFile"}, &RestApiImpl::StaticFile, false};
  RouteLookup lookup;
  if (IsStaticPath(request.path)) {
    if (request.method == "GET" || request.method == "HEAD") {
      lookup.index = static_cast<int>(routes.size());
    } else {
      lookup.allowed = {"GET", "HEAD"};
    }
  } else {
    lookup = FindRoute(specs, request.method, request.path);
  }
  if (lookup.index < 0) {
    if (lookup.allowed.empty()) {
      call->respond(Problem(404, "urn:masa:problem:no-such-route", "Not found",
                            "No resource at this path; GET /openapi.json lists the API."));
    } else {
      std::string allow = absl::StrJoin(lookup.allowed, ", ");
      call->respond(Problem(405, "urn:masa:problem:method-not-allowed", "Method not allowed",
                            absl::StrCat("This resource answers ", allow, "."),
                            {{"Allow", allow}}));
    }
    return;
  }
  const Route& route =
      lookup.index == static_cast<int>(routes.size()) ? kStatic : routes[lookup.index];
  call->request = std::move(request);
  call->params = std::move(lookup.params);
  if (!route.offload || !workers_) {
    Dispatch(route, std::move(call));
    return;
  }
  queue::WorkQueue::Job job;
  job.run = [this, &route, call] { Dispatch(route, call); };
  job.cancel = [this, call] {
    call->respond(Fail(absl::UnavailableError("the server is shutting down; retry shortly")));
  };
  std::vector<queue::WorkQueue::Job> jobs;
  jobs.push_back(std::move(job));
  if (absl::Status s = workers_->TryEnqueueAll(std::move(jobs)); !s.ok()) {
    call->respond(Fail(absl::ResourceExhaustedError(
        "the API has too many requests waiting; retry after the time in Retry-After")));
  }
}

void RestApiImpl::Dispatch(const Route& route, std::shared_ptr<Call> call) {
  if (route.authenticated) {
    if (std::optional<HttpResponse> refused = AuthenticateCall(*call)) {
      call->respond(*std::move(refused));
      return;
    }
  }
  // Every POST route reads a JSON body (some an optional one); GET and DELETE routes read
  // none. A POST without a body (archive, disable) needs no Content-Type.
  if (call->request.method == "POST" && !call->request.body.empty()) {
    std::string type = call->request.Header("content-type");
    if (!IsJsonContentType(type)) {
      if (type.size() > 80) type = type.substr(0, 80) + "...";
      call->respond(
          Problem(415, "urn:masa:problem:unsupported-media-type", "Unsupported media type",
                  absl::StrCat("The request body must be JSON sent with \"Content-Type: "
                               "application/json\" (a charset, if given, utf-8); got ",
                               type.empty() ? "no Content-Type" : "\"" + type + "\"", "."),
                  {{"Accept", std::string(kJson)}}));
      return;
    }
  }
  absl::StatusOr<HttpResponse> response = (this->*route.handler)(*call);
  if (!response.ok()) {
    call->respond(Fail(response.status()));
  } else if (response->status != kDeferred) {
    call->respond(*std::move(response));
  }
}

service::RequestCallback RestApiImpl::AnswerLater(queue::HttpResponder respond) const {
  // Runs on a store or worker thread after this handler returned; the responder carries
  // the answer back to the server's loop.
  int retry_after = options_.retry_after_seconds;
  return
      [respond = std::move(respond), retry_after](absl::StatusOr<service::RequestResult> result) {
        if (!result.ok()) {
          respond(ProblemResponse(result.status(), retry_after));
          return;
        }
        HttpResponse r;
        r.status = 200;
        r.content_type = std::string(kJson);
        r.body = RequestResultBody(*result);
        respond(std::move(r));
      };
}

// ---------------------------------------------------------------------------------------
// Public routes

absl::StatusOr<HttpResponse> RestApiImpl::Healthz(Call&) {
  HttpResponse r;
  r.content_type = "text/plain; charset=utf-8";
  r.body = "ok\n";
  return r;
}

absl::StatusOr<HttpResponse> RestApiImpl::Readyz(Call&) {
  HttpResponse r;
  r.content_type = "text/plain; charset=utf-8";
  bool ready = !options_.ready || options_.ready();
  r.status = ready ? 200 : 503;
  r.body = ready ? "ready\n" : "not ready\n";
  if (!ready) {
    r.headers.emplace_back("Retry-After", std::to_string(options_.retry_after_seconds));
  }
  return r;
}

HttpResponse RestApiImpl::Metrics() const {
  MetricsInputs in;
  in.service = options_.services.metrics;
  in.queue_depth = options_.work_queue             ? options_.work_queue->depth()
                   : options_.services.queue_depth ? options_.services.queue_depth()
                                                   : 0;
  if (const queue::HttpServer* server = server_.load(std::memory_order_acquire)) {
    in.open_connections = server->open_connections();
    in.requests_in_flight = server->requests_in_flight();
  }
  in.http = http_codes_.get();
  // A scrape while the store cannot be read still answers every other family.
  if (absl::StatusOr<std::vector<service::PublishedKey>> keys =
          options_.services.keys->PublishedKeys();
      keys.ok()) {
    in.keys = *std::move(keys);
  }
  in.now = (options_.clock != nullptr ? *options_.clock : SystemClock()).Now();
  HttpResponse r;
  r.content_type = std::string(kPrometheusContentType);
  r.body = RenderMetrics(in);
  if (options_.extra_metrics) r.body += options_.extra_metrics();
  return r;
}

void RestApiImpl::MetricsHandler::Handle(queue::HttpRequest request, queue::HttpResponder respond) {
  if (request.path != "/metrics") {
    respond(Problem(404, "urn:masa:problem:no-such-route", "Not found",
                    "This listener serves GET /metrics only."));
  } else if (request.method != "GET" && request.method != "HEAD") {
    respond(Problem(405, "urn:masa:problem:method-not-allowed", "Method not allowed",
                    "This resource answers GET.", {{"Allow", "GET"}}));
  } else {
    respond(api_->Metrics());
  }
}

absl::StatusOr<HttpResponse> RestApiImpl::OpenApi(Call&) {
  HttpResponse r;
  r.content_type = std::string(kJson);
  r.body = openapi_;
  return r;
}

// ---------------------------------------------------------------------------------------
// Vouchers and requests

absl::StatusOr<HttpResponse> RestApiImpl::RequestOv(Call& call) {
  MASA_RETURN_IF_ERROR(NoQuery(call));
  MASA_ASSIGN_OR_RETURN(service::VoucherRequestInput input,
                        DecodeVoucherRequest(call.request.body));
  // `done` runs only after an OK return; on an error it never runs and the error answers.
  MASA_RETURN_IF_ERROR(options_.services.voucher_requests->RequestVouchers(
      call.caller, std::move(input), AnswerLater(call.respond)));
  return Deferred();
}

absl::StatusOr<HttpResponse> RestApiImpl::GetVoucher(Call& call) {
  MASA_RETURN_IF_ERROR(NoQuery(call));
  MASA_ASSIGN_OR_RETURN(service::VoucherInfo v, options_.services.voucher_views->GetVoucher(
                                                    call.caller, Param(call, "voucher_id")));
  return Ok(OkWith("voucher", VoucherJson(v)));
}

absl::StatusOr<HttpResponse> RestApiImpl::DownloadVoucher(Call& call) {
  MASA_RETURN_IF_ERROR(NoQuery(call));
  MASA_ASSIGN_OR_RETURN(service::VoucherFile file, options_.services.voucher_views->DownloadVoucher(
                                                       call.caller, Param(call, "voucher_id")));
  return FileResponse(kVoucherMediaType, SafeFileName(file.serial_number, ".vcj"),
                      std::move(file.cms));
}

absl::StatusOr<HttpResponse> RestApiImpl::RenewVoucher(Call& call) {
  MASA_RETURN_IF_ERROR(NoQuery(call));
  MASA_ASSIGN_OR_RETURN(service::RenewInput input, DecodeRenew(call.request.body));
  MASA_RETURN_IF_ERROR(options_.services.voucher_requests->RenewVoucher(
      call.caller, Param(call, "voucher_id"), std::move(input), AnswerLater(call.respond)));
  return Deferred();
}

absl::StatusOr<HttpResponse> RestApiImpl::ArchiveVoucher(Call& call) {
  MASA_RETURN_IF_ERROR(NoQuery(call));
  MASA_RETURN_IF_ERROR(ParseJsonObject(call.request.body, /*allow_empty=*/true).status());
  MASA_ASSIGN_OR_RETURN(service::VoucherInfo v, options_.services.voucher_requests->ArchiveVoucher(
                                                    call.caller, Param(call, "voucher_id")));
  return Ok(OkWith("voucher", VoucherJson(v)));
}

absl::StatusOr<HttpResponse> RestApiImpl::VoucherProof(Call& call) {
  MASA_RETURN_IF_ERROR(NoQuery(call));
  MASA_ASSIGN_OR_RETURN(
      service::VoucherInclusionProof proof,
      options_.services.audit->InclusionProof(call.caller, Param(call, "voucher_id")));
  return Ok(ProofJson(proof));
}

absl::StatusOr<HttpResponse> RestApiImpl::ListVouchers(Call& call) {
  MASA_ASSIGN_OR_RETURN(service::ListVouchersInput input, DecodeListVouchers(call.request.query));
  MASA_ASSIGN_OR_RETURN(service::VoucherPage page,
                        options_.services.voucher_views->ListVouchers(call.caller, input));
  return Ok(VoucherPageJson(page));
}

absl::StatusOr<HttpResponse> RestApiImpl::GetRequest(Call& call) {
  MASA_RETURN_IF_ERROR(NoQuery(call));
  MASA_ASSIGN_OR_RETURN(service::RequestInfo r, options_.services.voucher_views->GetRequest(
                                                    call.caller, Param(call, "req_id")));
  return Ok(OkWith("request", RequestInfoJson(r)));
}

absl::StatusOr<HttpResponse> RestApiImpl::DownloadRequest(Call& call) {
  MASA_RETURN_IF_ERROR(NoQuery(call));
  const std::string& req_id = Param(call, "req_id");
  MASA_ASSIGN_OR_RETURN(std::vector<service::VoucherFile> files,
                        options_.services.voucher_views->DownloadRequest(call.caller, req_id));
  std::vector<TarEntry> entries;
  std::set<std::string> names;
  for (service::VoucherFile& f : files) {
    std::string name = SafeFileName(f.serial_number, ".vcj");
    // Two vouchers of one serial number (different IENs) must not overwrite each other.
    for (int n = 2; !names.insert(name).second; ++n) {
      name = SafeFileName(absl::StrCat(f.serial_number, "-", n), ".vcj");
    }
    entries.push_back({std::move(name), std::move(f.cms)});
  }
  absl::Time now = absl::Now();
  MASA_ASSIGN_OR_RETURN(std::string tar, WriteTar(entries, now));
  // Named by the request's UUID, also when it was asked for by an id of the older form.
  const std::string& name = files.empty() ? req_id : files.front().req_id;
  return FileResponse("application/x-tar", SafeFileName(name, ".tar"), std::move(tar));
}

// ---------------------------------------------------------------------------------------
// PDCs

absl::StatusOr<HttpResponse> RestApiImpl::UploadPdc(Call& call) {
  MASA_RETURN_IF_ERROR(NoQuery(call));
  MASA_ASSIGN_OR_RETURN(service::PdcInput input, DecodePdc(call.request.body));
  MASA_ASSIGN_OR_RETURN(service::PdcInfo pdc,
                        options_.services.pdcs->UploadPdc(call.caller, std::move(input)));
  return JsonResponse(201, OkWith("pdc", PdcJson(pdc)));
}

absl::StatusOr<HttpResponse> RestApiImpl::ListPdcs(Call& call) {
  MASA_RETURN_IF_ERROR(NoQuery(call));
  MASA_ASSIGN_OR_RETURN(std::vector<service::PdcInfo> pdcs,
                        options_.services.pdcs->ListPdcs(call.caller));
  json list = json::array();
  for (const service::PdcInfo& p : pdcs) list.push_back(PdcJson(p));
  return Ok(OkWith("pdcs", std::move(list)));
}

absl::StatusOr<HttpResponse> RestApiImpl::GetPdc(Call& call) {
  MASA_RETURN_IF_ERROR(NoQuery(call));
  MASA_ASSIGN_OR_RETURN(service::PdcInfo pdc,
                        options_.services.pdcs->GetPdc(call.caller, Param(call, "cert_id")));
  return Ok(OkWith("pdc", PdcJson(pdc)));
}

absl::StatusOr<HttpResponse> RestApiImpl::DeletePdc(Call& call) {
  MASA_RETURN_IF_ERROR(NoQuery(call));
  MASA_RETURN_IF_ERROR(options_.services.pdcs->DeletePdc(call.caller, Param(call, "cert_id")));
  return Ok(json{{"ok", true}});
}

// ---------------------------------------------------------------------------------------
// Principals, bindings, groups

absl::StatusOr<HttpResponse> RestApiImpl::InviteUser(Call& call) {
  MASA_RETURN_IF_ERROR(NoQuery(call));
  MASA_ASSIGN_OR_RETURN(std::string username, DecodeUsername(call.request.body));
  MASA_ASSIGN_OR_RETURN(service::PrincipalInfo p,
                        options_.services.principals->InviteUser(call.caller, username));
  return JsonResponse(201, OkWith("principal", PrincipalJson(p)));
}

absl::StatusOr<HttpResponse> RestApiImpl::CreateServiceAccount(Call& call) {
  MASA_RETURN_IF_ERROR(NoQuery(call));
  MASA_ASSIGN_OR_RETURN(std::string name, DecodeAccountName(call.request.body));
  MASA_ASSIGN_OR_RETURN(service::PrincipalInfo p,
                        options_.services.principals->CreateServiceAccount(call.caller, name));
  return JsonResponse(201, OkWith("principal", PrincipalJson(p)));
}

absl::StatusOr<HttpResponse> RestApiImpl::ListPrincipals(Call& call) {
  MASA_RETURN_IF_ERROR(NoQuery(call));
  MASA_ASSIGN_OR_RETURN(std::vector<service::PrincipalInfo> list,
                        options_.services.principals->ListPrincipals(call.caller));
  json out = json::array();
  for (const service::PrincipalInfo& p : list) out.push_back(PrincipalJson(p));
  return Ok(OkWith("principals", std::move(out)));
}

absl::StatusOr<HttpResponse> RestApiImpl::DisablePrincipal(Call& call) {
  MASA_RETURN_IF_ERROR(NoQuery(call));
  MASA_RETURN_IF_ERROR(ParseJsonObject(call.request.body, /*allow_empty=*/true).status());
  MASA_RETURN_IF_ERROR(
      options_.services.principals->DisablePrincipal(call.caller, Param(call, "principal_id")));
  return Ok(json{{"ok", true}});
}

absl::StatusOr<HttpResponse> RestApiImpl::CreateBinding(Call& call) {
  MASA_RETURN_IF_ERROR(NoQuery(call));
  MASA_ASSIGN_OR_RETURN(BindingInput in, DecodeBinding(call.request.body));
  MASA_ASSIGN_OR_RETURN(
      service::BindingInfo b,
      options_.services.principals->BindRole(call.caller, in.principal_id, in.group_id, in.role));
  return JsonResponse(201, OkWith("binding", BindingJson(b)));
}

absl::StatusOr<HttpResponse> RestApiImpl::ListBindings(Call& call) {
  MASA_ASSIGN_OR_RETURN(std::string principal_id, DecodePrincipalFilter(call.request.query));
  MASA_ASSIGN_OR_RETURN(std::vector<service::BindingInfo> list,
                        options_.services.principals->ListBindings(call.caller, principal_id));
  json out = json::array();
  for (const service::BindingInfo& b : list) out.push_back(BindingJson(b));
  return Ok(OkWith("bindings", std::move(out)));
}

absl::StatusOr<HttpResponse> RestApiImpl::DeleteBinding(Call& call) {
  MASA_RETURN_IF_ERROR(NoQuery(call));
  MASA_RETURN_IF_ERROR(
      options_.services.principals->DeleteBinding(call.caller, Param(call, "binding_id")));
  return Ok(json{{"ok", true}});
}

absl::StatusOr<HttpResponse> RestApiImpl::AddGrant(Call& call) {
  MASA_RETURN_IF_ERROR(NoQuery(call));
  MASA_ASSIGN_OR_RETURN(service::Grant grant, DecodeGrant(call.request.body));
  MASA_ASSIGN_OR_RETURN(service::BindingInfo b, options_.services.principals->GrantPermission(
                                                    call.caller, Param(call, "binding_id"), grant));
  return Ok(OkWith("binding", BindingJson(b)));
}

absl::StatusOr<HttpResponse> RestApiImpl::RemoveGrant(Call& call) {
  MASA_RETURN_IF_ERROR(NoQuery(call));
  MASA_ASSIGN_OR_RETURN(service::Grant grant, ParseGrantParam(Param(call, "grant")));
  MASA_ASSIGN_OR_RETURN(service::BindingInfo b, options_.services.principals->RevokePermission(
                                                    call.caller, Param(call, "binding_id"), grant));
  return Ok(OkWith("binding", BindingJson(b)));
}

absl::StatusOr<HttpResponse> RestApiImpl::CreateGroup(Call& call) {
  MASA_RETURN_IF_ERROR(NoQuery(call));
  MASA_ASSIGN_OR_RETURN(GroupInput in, DecodeGroup(call.request.body));
  MASA_ASSIGN_OR_RETURN(service::GroupInfo g, options_.services.organizations->CreateGroup(
                                                  call.caller, in.parent_id, in.name));
  return JsonResponse(201, OkWith("group", GroupJson(g)));
}

absl::StatusOr<HttpResponse> RestApiImpl::ListGroups(Call& call) {
  MASA_RETURN_IF_ERROR(NoQuery(call));
  MASA_ASSIGN_OR_RETURN(std::vector<service::GroupInfo> list,
                        options_.services.organizations->ListGroups(call.caller));
  json out = json::array();
  for (const service::GroupInfo& g : list) out.push_back(GroupJson(g));
  return Ok(OkWith("groups", std::move(out)));
}

absl::StatusOr<HttpResponse> RestApiImpl::DeleteGroup(Call& call) {
  MASA_RETURN_IF_ERROR(NoQuery(call));
  MASA_RETURN_IF_ERROR(
      options_.services.organizations->DeleteGroup(call.caller, Param(call, "group_id")));
  return Ok(json{{"ok", true}});
}

absl::StatusOr<HttpResponse> RestApiImpl::GetGroup(Call& call) {
  MASA_RETURN_IF_ERROR(NoQuery(call));
  MASA_ASSIGN_OR_RETURN(service::GroupDetails d, options_.services.organizations->GetGroup(
                                                     call.caller, Param(call, "group_id")));
  return Ok(OkWith("group", GroupDetailsJson(d)));
}

absl::StatusOr<HttpResponse> RestApiImpl::AddDelegatedOrg(Call& call) {
  MASA_RETURN_IF_ERROR(NoQuery(call));
  MASA_ASSIGN_OR_RETURN(std::string org, DecodeDelegatedOrg(call.request.body));
  const std::string& group_id = Param(call, "group_id");
  MASA_RETURN_IF_ERROR(
      options_.services.organizations->AddDelegatedOrganization(call.caller, group_id, org));
  return JsonResponse(201,
                      OkWith("delegation", json{{"group_id", group_id}, {"organization_id", org}}));
}

absl::StatusOr<HttpResponse> RestApiImpl::RemoveDelegatedOrg(Call& call) {
  MASA_RETURN_IF_ERROR(NoQuery(call));
  MASA_RETURN_IF_ERROR(options_.services.organizations->RemoveDelegatedOrganization(
      call.caller, Param(call, "group_id"), Param(call, "organization_id")));
  return Ok(json{{"ok", true}});
}

absl::StatusOr<HttpResponse> RestApiImpl::AddUserRole(Call& call) {
  MASA_RETURN_IF_ERROR(NoQuery(call));
  MASA_ASSIGN_OR_RETURN(UserRoleInput in,
                        DecodeUserRole(call.request.body, call.caller.organization_id()));
  MASA_ASSIGN_OR_RETURN(service::BindingInfo b,
                        options_.services.principals->AddUserRole(
                            call.caller, in.user, Param(call, "group_id"), in.role));
  return JsonResponse(201, OkWith("binding", BindingJson(b)));
}

absl::StatusOr<HttpResponse> RestApiImpl::RemoveUserRole(Call& call) {
  MASA_ASSIGN_OR_RETURN(
      service::UserRef user,
      DecodeUserQuery(Param(call, "username"), call.request.query, call.caller.organization_id()));
  MASA_RETURN_IF_ERROR(
      options_.services.principals->RemoveUserRole(call.caller, user, Param(call, "group_id")));
  return Ok(json{{"ok", true}});
}

absl::StatusOr<HttpResponse> RestApiImpl::GetUserRoles(Call& call) {
  MASA_ASSIGN_OR_RETURN(
      service::UserRef user,
      DecodeUserQuery(Param(call, "username"), call.request.query, call.caller.organization_id()));
  using RoleMap = std::map<std::string, service::Role>;
  MASA_ASSIGN_OR_RETURN(RoleMap roles,
                        options_.services.principals->GetUserRoles(call.caller, user));
  return Ok(UserRolesJson(user, roles));
}

// ---------------------------------------------------------------------------------------
// Organizations

absl::StatusOr<HttpResponse> RestApiImpl::CreateOrganization(Call& call) {
  MASA_RETURN_IF_ERROR(NoQuery(call));
  MASA_ASSIGN_OR_RETURN(OrganizationInput in, DecodeOrganization(call.request.body));
  MASA_ASSIGN_OR_RETURN(
      service::BootstrapResult made,
      options_.services.organizations->CreateOrganization(call.caller, in.name, in.admin_username));
  json token = TokenJson(made.token.info);
  token["secret"] = std::string(made.token.secret.view());
  HttpResponse r = JsonResponse(
      201, json{{"ok", true},
                {"organization",
                 OrganizationJson({made.organization_id, in.name, made.principal.created_at})},
                {"admin", PrincipalJson(made.principal)},
                {"token", std::move(token)}});
  // Like POST /tokens: the answer carries a secret and must not be cached on its way.
  r.headers.emplace_back("Cache-Control", "no-store");
  return r;
}

absl::StatusOr<HttpResponse> RestApiImpl::ListOrganizations(Call& call) {
  MASA_RETURN_IF_ERROR(NoQuery(call));
  MASA_ASSIGN_OR_RETURN(std::vector<service::OrganizationInfo> list,
                        options_.services.organizations->ListOrganizations(call.caller));
  json out = json::array();
  for (const service::OrganizationInfo& o : list) out.push_back(OrganizationJson(o));
  return Ok(OkWith("organizations", std::move(out)));
}

// ---------------------------------------------------------------------------------------
// Tokens

absl::StatusOr<HttpResponse> RestApiImpl::CreateToken(Call& call) {
  MASA_RETURN_IF_ERROR(NoQuery(call));
  MASA_ASSIGN_OR_RETURN(service::TokenInput in, DecodeToken(call.request.body));
  MASA_ASSIGN_OR_RETURN(service::NewToken token,
                        options_.services.tokens->CreateToken(call.caller, std::move(in)));
  json out = TokenJson(token.info);
  out["secret"] = std::string(token.secret.view());
  HttpResponse r = JsonResponse(201, OkWith("token", std::move(out)));
  // The one answer that carries a secret must not be cached anywhere on its way.
  r.headers.emplace_back("Cache-Control", "no-store");
  return r;
}

absl::StatusOr<HttpResponse> RestApiImpl::ListTokens(Call& call) {
  MASA_ASSIGN_OR_RETURN(std::string principal_id, DecodePrincipalFilter(call.request.query));
  MASA_ASSIGN_OR_RETURN(std::vector<service::TokenInfo> list,
                        options_.services.tokens->ListTokens(call.caller, principal_id));
  json out = json::array();
  for (const service::TokenInfo& t : list) out.push_back(TokenJson(t));
  return Ok(OkWith("tokens", std::move(out)));
}

absl::StatusOr<HttpResponse> RestApiImpl::RevokeToken(Call& call) {
  MASA_RETURN_IF_ERROR(NoQuery(call));
  MASA_RETURN_IF_ERROR(options_.services.tokens->RevokeToken(call.caller, Param(call, "token_id")));
  return Ok(json{{"ok", true}});
}

// ---------------------------------------------------------------------------------------
// Serials and audit

absl::StatusOr<HttpResponse> RestApiImpl::AssignSerials(Call& call) {
  MASA_RETURN_IF_ERROR(NoQuery(call));
  MASA_ASSIGN_OR_RETURN(service::AssignInput in, DecodeAssign(call.request.body));
  MASA_ASSIGN_OR_RETURN(service::AssignResult result,
                        options_.services.serials->AssignSerials(call.caller, std::move(in)));
  return Ok(AssignResultJson(result));
}

absl::StatusOr<HttpResponse> RestApiImpl::PlaceSerials(Call& call) {
  MASA_RETURN_IF_ERROR(NoQuery(call));
  MASA_ASSIGN_OR_RETURN(PlaceInput in, DecodePlace(call.request.body));
  MASA_ASSIGN_OR_RETURN(service::AssignResult result, options_.services.serials->PlaceSerials(
                                                          call.caller, in.group_id, in.serials));
  return Ok(AssignResultJson(result));
}

absl::StatusOr<HttpResponse> RestApiImpl::GetSerial(Call& call) {
  MASA_ASSIGN_OR_RETURN(service::SerialRef ref,
                        DecodeSerialQuery(Param(call, "serial_number"), call.request.query));
  MASA_ASSIGN_OR_RETURN(std::vector<service::SerialDetails> found,
                        options_.services.serials->GetSerials(call.caller, {ref}));
  if (found.size() != 1) {
    return absl::InternalError("Serials::GetSerials answered other than one serial for one");
  }
  return Ok(OkWith("serial", SerialDetailsJson(found.front())));
}

absl::StatusOr<HttpResponse> RestApiImpl::LookupSerials(Call& call) {
  MASA_RETURN_IF_ERROR(NoQuery(call));
  MASA_ASSIGN_OR_RETURN(std::vector<service::SerialRef> refs,
                        DecodeSerialLookup(call.request.body));
  MASA_ASSIGN_OR_RETURN(std::vector<service::SerialDetails> found,
                        options_.services.serials->GetSerials(call.caller, refs));
  json out = json::array();
  for (const service::SerialDetails& d : found) out.push_back(SerialDetailsJson(d));
  return Ok(OkWith("serials", std::move(out)));
}

absl::StatusOr<HttpResponse> RestApiImpl::ListComponents(Call& call) {
  MASA_RETURN_IF_ERROR(NoQuery(call));
  MASA_ASSIGN_OR_RETURN(
      std::vector<service::SerialDetails> found,
      options_.services.serials->ListComponents(call.caller, Param(call, "group_id")));
  json out = json::array();
  for (const service::SerialDetails& d : found) out.push_back(SerialDetailsJson(d));
  return Ok(OkWith("components", std::move(out)));
}

absl::StatusOr<HttpResponse> RestApiImpl::RemoveSerial(Call& call) {
  MASA_ASSIGN_OR_RETURN(service::SerialRef ref,
                        DecodeSerialQuery(Param(call, "serial_number"), call.request.query));
  MASA_RETURN_IF_ERROR(
      options_.services.serials->RemoveSerial(call.caller, ref, Param(call, "group_id")));
  return Ok(json{{"ok", true}});
}

absl::StatusOr<HttpResponse> RestApiImpl::ListAudit(Call& call) {
  MASA_ASSIGN_OR_RETURN(service::AuditQuery query, DecodeAuditQuery(call.request.query));
  MASA_ASSIGN_OR_RETURN(service::AuditPage page,
                        options_.services.audit->ListAudit(call.caller, query));
  return Ok(AuditPageJson(page));
}

}  // namespace internal

RestApiServices RestApiServices::Of(service::Service& service) {
  return {.authenticator = &service,
          .organizations = &service,
          .principals = &service,
          .tokens = &service,
          .pdcs = &service,
          .serials = &service,
          .voucher_requests = &service,
          .voucher_views = &service,
          .audit = &service,
          .keys = &service,
          .metrics = &service.metrics(),
          .sessions = &service,
          .queue_depth = [&service] { return service.queue_depth(); }};
}

absl::StatusOr<std::unique_ptr<RestApi>> RestApi::Create(const RestApiOptions& options) {
  const RestApiServices& s = options.services;
  if (!s.authenticator || !s.organizations || !s.principals || !s.tokens || !s.pdcs || !s.serials ||
      !s.voucher_requests || !s.voucher_views || !s.audit || !s.keys || !s.metrics || !s.sessions) {
    return absl::InvalidArgumentError("RestApi: every one of options.services is required");
  }
  MASA_ASSIGN_OR_RETURN(std::string openapi, internal::BuildOpenApiDocument());
  std::unique_ptr<queue::WorkQueue> workers;
  if (options.handler_threads > 0) {
    if (options.handler_queue_capacity == 0) {
      return absl::InvalidArgumentError("RestApi: handler_queue_capacity must be positive");
    }
    MASA_ASSIGN_OR_RETURN(workers,
                          queue::WorkQueue::Create({.workers = options.handler_threads,
                                                    .capacity = options.handler_queue_capacity,
                                                    .max_batch = 1,
                                                    .name = "masa-api"}));
  }
  return std::unique_ptr<RestApi>(
      new internal::RestApiImpl(options, std::move(openapi), std::move(workers)));
}

}  // namespace masa::api
