// The REST API of the appliance: routes, JSON encoding of the service's structs, the OpenAPI
// 3.1 document at /openapi.json, RFC 9457 problem+json errors, /healthz and /readyz, and the
// web application (api/web/: its files, the /auth/* sign-in routes). It decodes,
// authenticates the caller through the service (an "Authorization: Bearer" API token, or
// else the web session cookie, whose state-changing calls must carry the CSRF token), calls
// the service, and encodes; every permission decision stays in service/. The Prometheus /metrics (no token,
// counts across every tenant) has a handler of its own, for a listener of its own that only
// the operator reaches (loopback), as Prometheus exporters do.
//
//   MASA_ASSIGN_OR_RETURN(auto api, api::RestApi::Create(
//       {.services = api::RestApiServices::Of(*service), ...}));
//   MASA_ASSIGN_OR_RETURN(auto server, queue::HttpServer::Create(http_options, api.get()));
//   MASA_ASSIGN_OR_RETURN(auto metrics, queue::HttpServer::Create(loopback_options,
//                                                                 api->metrics_handler()));
#pragma once

#include <cstddef>
#include <functional>
#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "common/time.h"
#include "queue/http_server.h"
#include "queue/work_queue.h"
#include "service/audit_views.h"
#include "service/authentication.h"
#include "service/keys.h"
#include "service/metrics.h"
#include "service/organizations.h"
#include "service/pdcs.h"
#include "service/principals.h"
#include "service/serials.h"
#include "service/sessions.h"
#include "service/tokens.h"
#include "service/voucher_requests.h"
#include "service/voucher_views.h"

namespace masa::service {
class Service;
}  // namespace masa::service

namespace masa::api {
namespace web {
class OidcClient;
}  // namespace web

// The service interfaces the REST API calls: every one is required, none is owned, and each
// must outlive the RestApi. In the daemon one service::Service implements them all (Of());
// tests give small fakes (service/testing/).
struct RestApiServices {
  const service::Authenticator* authenticator = nullptr;
  service::Organizations* organizations = nullptr;  // and groups
  service::Principals* principals = nullptr;        // and role bindings
  service::Tokens* tokens = nullptr;
  service::Pdcs* pdcs = nullptr;
  service::Serials* serials = nullptr;
  service::VoucherRequests* voucher_requests = nullptr;
  const service::VoucherViews* voucher_views = nullptr;
  const service::AuditViews* audit = nullptr;
  // The key lifecycle, and the published certificates (GET /keys, and per key the seconds
  // to its certificate's expiry in /metrics).
  service::Keys* keys = nullptr;
  const service::Metrics* metrics = nullptr;  // the service's counters, for /metrics
  // Web sessions (the session cookie, sign-in, the caller's profile, licence acceptance).
  service::Sessions* sessions = nullptr;
  // The signing queue's depth for /metrics when RestApiOptions::work_queue is not given.
  std::function<size_t()> queue_depth;

  // Every interface of `service`, which must outlive the RestApi.
  static RestApiServices Of(service::Service& service);
};

// The web application (api/web/): its files, licence terms and single sign-on. The /auth/*
// routes are always served; without a root, / and /assets/ answer 404.
struct RestApiWebOptions {
  // The folder holding index.html and assets/ (masad: [web] root). "" = no web files.
  std::string root;
  // The licence terms shown at the first sign-in (GET /auth/licence); their version is the
  // hex SHA-256 of this text.
  std::string licence_text;
  // The OpenID Connect relying party of "Sign in using SSO"; null = no SSO (/auth/oidc/*
  // answer 404). Not owned; must outlive the RestApi.
  web::OidcClient* oidc = nullptr;
  std::string oidc_name = "SSO";  // the button says "Sign in using <oidc_name>"
};

struct RestApiOptions {
  RestApiServices services;
  RestApiWebOptions web = {};
  queue::WorkQueue* work_queue = nullptr;  // not owned; for queue depth in /metrics
  // Not owned, may be set later: the API's server, whose connections /metrics reports.
  const queue::HttpServer* server = nullptr;
  // /readyz answers 200 only while this says so (false during start-up and draining).
  std::function<bool()> ready = [] { return true; };
  // What /metrics measures the seconds to each key certificate's expiry from. Not owned;
  // null: the system clock.
  const Clock* clock = nullptr;
  // More Prometheus text (whole families, # HELP and # TYPE included) appended to /metrics,
  // e.g. the HSM tokens' state, which the daemon knows and the API does not. May be empty.
  std::function<std::string()> extra_metrics = nullptr;
  // Seconds a 503 asks the client to wait (Retry-After) when the signing queue is full.
  int retry_after_seconds = 1;
  // Threads that run the handlers of authenticated routes (service calls may wait for a
  // durable store commit, which must not stall the server's event loop), and how many
  // requests may wait for one; beyond that the answer is 503 with Retry-After. 0 threads:
  // handlers run on the thread that calls Handle() (tests).
  size_t handler_threads = 2;
  size_t handler_queue_capacity = 1024;
};

class RestApi : public queue::HttpHandler {
 public:
  // kInvalidArgument when one of options.services is missing, or handler_queue_capacity is 0 while
  // handler_threads is not. Handle() may be called from any thread; answers are given
  // exactly once, possibly on another thread.
  static absl::StatusOr<std::unique_ptr<RestApi>> Create(const RestApiOptions& options);
  ~RestApi() override = default;

  // The OpenAPI 3.1 document served at /openapi.json.
  virtual const std::string& OpenApiDocument() const = 0;
  // Lets /metrics report the API server's connections once it exists.
  virtual void SetServer(const queue::HttpServer* server) = 0;
  // The handler of the metrics listener: GET (or HEAD) /metrics answers the Prometheus text
  // exposition (format 0.0.4) of this API's counters; any other path is 404 and any other
  // method 405, problem+json. The API's own handler (this object) answers /metrics with 404.
  // Owned by the RestApi; answers on the calling thread.
  virtual queue::HttpHandler* metrics_handler() = 0;
};

}  // namespace masa::api
