// The RestApi implementation: the route table (data), dispatch, authentication and the
// handlers. Internal: tests use it to reach the route table.
#pragma once

#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "api/internal/prometheus.h"
#include "api/internal/router.h"
#include "api/rest_api.h"
#include "common/secret.h"
#include "queue/http_server.h"
#include "queue/work_queue.h"
#include "service/types.h"
#include "service/voucher_types.h"

namespace masa::api::internal {

// One request on its way through a handler.
struct Call {
  queue::HttpRequest request;
  std::map<std::string, std::string> params;  // path parameters
  service::Caller caller;                     // set for authenticated routes
  // The session cookie's secret when the caller was authenticated by it (not by a bearer
  // token); empty otherwise.
  Secret session;
  queue::HttpResponder respond;  // counts the status, then sends
};

class RestApiImpl;
// A handler returns the answer, or an error status (answered as problem+json by the one
// table), or kDeferred when it arranged to answer later through call.respond itself.
using Handler = absl::StatusOr<queue::HttpResponse> (RestApiImpl::*)(Call& call);

struct Route {
  RouteSpec spec;
  Handler handler;
  bool authenticated = true;  // needs a bearer token or the session cookie
  bool offload = true;        // runs on the API's worker threads, not the loop thread
};

// status of the response a deferred handler returns.
inline constexpr int kDeferred = 0;

class RestApiImpl final : public RestApi {
 public:
  RestApiImpl(const RestApiOptions& options, std::string openapi,
              std::unique_ptr<queue::WorkQueue> workers);
  ~RestApiImpl() override;

  void Handle(queue::HttpRequest request, queue::HttpResponder respond) override;
  const std::string& OpenApiDocument() const override { return openapi_; }
  void SetServer(const queue::HttpServer* server) override {
    server_.store(server, std::memory_order_release);
  }
  queue::HttpHandler* metrics_handler() override { return &metrics_handler_; }

  // The route table, in the order routes are listed.
  static const std::vector<Route>& Routes();
  static std::vector<RouteSpec> RouteSpecs();

 private:
  void Dispatch(const Route& route, std::shared_ptr<Call> call);
  queue::HttpResponse Fail(const absl::Status& status) const;
  // Authenticates the call of an authenticated route: an "Authorization: Bearer" API
  // token, or else the session cookie (with the CSRF rule for state changes). Sets
  // call.caller (and call.session), or returns the refusal to answer.
  std::optional<queue::HttpResponse> AuthenticateCall(Call& call) const;

  // Public.
  absl::StatusOr<queue::HttpResponse> Healthz(Call& call);
  absl::StatusOr<queue::HttpResponse> Readyz(Call& call);
  absl::StatusOr<queue::HttpResponse> OpenApi(Call& call);
  // Vouchers and requests.
  absl::StatusOr<queue::HttpResponse> RequestOv(Call& call);
  absl::StatusOr<queue::HttpResponse> GetVoucher(Call& call);
  absl::StatusOr<queue::HttpResponse> DownloadVoucher(Call& call);
  absl::StatusOr<queue::HttpResponse> RenewVoucher(Call& call);
  absl::StatusOr<queue::HttpResponse> ArchiveVoucher(Call& call);
  absl::StatusOr<queue::HttpResponse> VoucherProof(Call& call);
  absl::StatusOr<queue::HttpResponse> ListVouchers(Call& call);
  absl::StatusOr<queue::HttpResponse> GetRequest(Call& call);
  absl::StatusOr<queue::HttpResponse> DownloadRequest(Call& call);
  // PDCs.
  absl::StatusOr<queue::HttpResponse> UploadPdc(Call& call);
  absl::StatusOr<queue::HttpResponse> ListPdcs(Call& call);
  absl::StatusOr<queue::HttpResponse> GetPdc(Call& call);
  absl::StatusOr<queue::HttpResponse> DeletePdc(Call& call);
  // Principals, bindings, groups.
  absl::StatusOr<queue::HttpResponse> InviteUser(Call& call);
  absl::StatusOr<queue::HttpResponse> CreateServiceAccount(Call& call);
  absl::StatusOr<queue::HttpResponse> ListPrincipals(Call& call);
  absl::StatusOr<queue::HttpResponse> DisablePrincipal(Call& call);
  absl::StatusOr<queue::HttpResponse> CreateBinding(Call& call);
  absl::StatusOr<queue::HttpResponse> ListBindings(Call& call);
  absl::StatusOr<queue::HttpResponse> DeleteBinding(Call& call);
  absl::StatusOr<queue::HttpResponse> AddGrant(Call& call);
  absl::StatusOr<queue::HttpResponse> RemoveGrant(Call& call);
  absl::StatusOr<queue::HttpResponse> CreateGroup(Call& call);
  absl::StatusOr<queue::HttpResponse> ListGroups(Call& call);
  absl::StatusOr<queue::HttpResponse> DeleteGroup(Call& call);
  absl::StatusOr<queue::HttpResponse> GetGroup(Call& call);
  absl::StatusOr<queue::HttpResponse> AddDelegatedOrg(Call& call);
  absl::StatusOr<queue::HttpResponse> RemoveDelegatedOrg(Call& call);
  absl::StatusOr<queue::HttpResponse> AddUserRole(Call& call);
  absl::StatusOr<queue::HttpResponse> RemoveUserRole(Call& call);
  absl::StatusOr<queue::HttpResponse> GetUserRoles(Call& call);
  // Tokens.
  absl::StatusOr<queue::HttpResponse> CreateOrganization(Call& call);
  absl::StatusOr<queue::HttpResponse> ListOrganizations(Call& call);
  absl::StatusOr<queue::HttpResponse> CreateToken(Call& call);
  absl::StatusOr<queue::HttpResponse> ListTokens(Call& call);
  absl::StatusOr<queue::HttpResponse> RevokeToken(Call& call);
  // Serials and audit.
  absl::StatusOr<queue::HttpResponse> AssignSerials(Call& call);
  absl::StatusOr<queue::HttpResponse> PlaceSerials(Call& call);
  absl::StatusOr<queue::HttpResponse> GetSerial(Call& call);
  absl::StatusOr<queue::HttpResponse> LookupSerials(Call& call);
  absl::StatusOr<queue::HttpResponse> ListComponents(Call& call);
  absl::StatusOr<queue::HttpResponse> RemoveSerial(Call& call);
  absl::StatusOr<queue::HttpResponse> ListAudit(Call& call);
  // Keys (rest_api_keys.cc): the published certificates (no token) and the security
  // officer's lifecycle.
  absl::StatusOr<queue::HttpResponse> ListPublishedKeys(Call& call);
  absl::StatusOr<queue::HttpResponse> GetKeyChain(Call& call);
  absl::StatusOr<queue::HttpResponse> ListManagedKeys(Call& call);
  absl::StatusOr<queue::HttpResponse> GenerateKey(Call& call);
  absl::StatusOr<queue::HttpResponse> CreateKeyCsr(Call& call);
  absl::StatusOr<queue::HttpResponse> IssueKeyCertificate(Call& call);
  absl::StatusOr<queue::HttpResponse> ImportKeyCertificate(Call& call);
  absl::StatusOr<queue::HttpResponse> ActivateKey(Call& call);
  absl::StatusOr<queue::HttpResponse> RetireKey(Call& call);
  absl::StatusOr<queue::HttpResponse> ListKeyApprovals(Call& call);
  absl::StatusOr<queue::HttpResponse> ApproveKeyAction(Call& call);

  // The web application (api/web/auth_routes.cc): sign-in, the session, licence terms.
  absl::StatusOr<queue::HttpResponse> AuthConfig(Call& call);
  absl::StatusOr<queue::HttpResponse> AuthToken(Call& call);
  absl::StatusOr<queue::HttpResponse> AuthSession(Call& call);
  absl::StatusOr<queue::HttpResponse> AuthLogout(Call& call);
  absl::StatusOr<queue::HttpResponse> GetLicence(Call& call);
  absl::StatusOr<queue::HttpResponse> AcceptLicence(Call& call);
  // Single sign-on (api/web/oidc_routes.cc).
  absl::StatusOr<queue::HttpResponse> OidcLogin(Call& call);
  absl::StatusOr<queue::HttpResponse> OidcCallback(Call& call);
  // The web application's files (api/web/static_files.cc): /, /index.html, /assets/...;
  // not in the route table (nor the OpenAPI document).
  absl::StatusOr<queue::HttpResponse> StaticFile(Call& call);
  // True for the paths StaticFile serves.
  static bool IsStaticPath(std::string_view path);
  // The session document of GET /auth/session and POST /auth/token for `caller`;
  // `session_secret` empty for a bearer token (no csrf_token then).
  absl::StatusOr<queue::HttpResponse> SessionDocument(const service::Caller& caller,
                                                      std::string_view session_secret);

  // The metrics listener's handler.
  class MetricsHandler final : public queue::HttpHandler {
   public:
    explicit MetricsHandler(const RestApiImpl* api) : api_(api) {}
    void Handle(queue::HttpRequest request, queue::HttpResponder respond) override;

   private:
    const RestApiImpl* api_;
  };
  // The exposition of every counter, now.
  queue::HttpResponse Metrics() const;

  // The callback RequestVouchers/RenewVoucher answer through.
  service::RequestCallback AnswerLater(queue::HttpResponder respond) const;

  RestApiOptions options_;
  std::string licence_version_;  // hex SHA-256 of options_.web.licence_text
  std::string openapi_;
  std::unique_ptr<queue::WorkQueue> workers_;  // null: handlers run on the calling thread
  std::atomic<const queue::HttpServer*> server_{nullptr};
  std::shared_ptr<HttpCodeCounter> http_codes_ = std::make_shared<HttpCodeCounter>();
  MetricsHandler metrics_handler_{this};
};

// The OpenAPI 3.1 document (built from its own table of operations in openapi.cc, which
// the consistency test checks against RestApiImpl::Routes()). kInternal if the embedded
// schemas do not parse (a build defect).
absl::StatusOr<std::string> BuildOpenApiDocument();

}  // namespace masa::api::internal
