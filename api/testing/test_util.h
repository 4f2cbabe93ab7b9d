// Test support: drive a RestApi without a server.
#pragma once

#include <future>
#include <string>

#include "api/rest_api.h"
#include "service/metrics.h"
#include "service/testing/fake_audit_views.h"
#include "service/testing/fake_authenticator.h"
#include "service/testing/fake_keys.h"
#include "service/testing/fake_organizations.h"
#include "service/testing/fake_pdcs.h"
#include "service/testing/fake_principals.h"
#include "service/testing/fake_serials.h"
#include "service/testing/fake_sessions.h"
#include "service/testing/fake_tokens.h"
#include "service/testing/fake_voucher_requests.h"
#include "service/testing/fake_voucher_views.h"

namespace masa::api::testing {

// One fake per service interface the REST API calls (service/testing/), combined; a test
// sets the fakes it cares about (e.g. voucher_views.fail_with) and leaves the others.
struct FakeServices {
  service::testing::FakeAuthenticator authenticator;
  service::testing::FakeOrganizations organizations;
  service::testing::FakePrincipals principals;
  service::testing::FakeTokens tokens;
  service::testing::FakePdcs pdcs;
  service::testing::FakeSerials serials;
  service::testing::FakeVoucherRequests voucher_requests;
  service::testing::FakeVoucherViews voucher_views;
  service::testing::FakeAuditViews audit;
  service::testing::FakeKeys keys;
  service::testing::FakeSessions sessions;
  service::Metrics metrics;
  size_t queue_depth = 7;

  RestApiServices services() {
    return {.authenticator = &authenticator,
            .organizations = &organizations,
            .principals = &principals,
            .tokens = &tokens,
            .pdcs = &pdcs,
            .serials = &serials,
            .voucher_requests = &voucher_requests,
            .voucher_views = &voucher_views,
            .audit = &audit,
            .keys = &keys,
            .metrics = &metrics,
            .sessions = &sessions,
            .queue_depth = [this] { return queue_depth; }};
  }
};

inline queue::HttpRequest MakeRequest(std::string method, std::string path, std::string body = "",
                                      bool with_token = true) {
  queue::HttpRequest r;
  r.method = std::move(method);
  r.path = std::move(path);
  r.body = std::move(body);
  if (!r.body.empty()) r.headers["content-type"] = "application/json";
  if (with_token)
    r.headers["authorization"] =
        "Bearer " + std::string(service::testing::FakeAuthenticator::kToken);
  return r;
}

// Handles `request` and waits (up to 10 s) for the one answer.
inline queue::HttpResponse Call(queue::HttpHandler& api, queue::HttpRequest request) {
  auto promise = std::make_shared<std::promise<queue::HttpResponse>>();
  std::future<queue::HttpResponse> future = promise->get_future();
  api.Handle(std::move(request),
             [promise](queue::HttpResponse r) { promise->set_value(std::move(r)); });
  if (future.wait_for(std::chrono::seconds(10)) != std::future_status::ready) {
    queue::HttpResponse none;
    none.status = -1;
    return none;
  }
  return future.get();
}

inline std::string HeaderOf(const queue::HttpResponse& r, std::string_view name) {
  for (const auto& [k, v] : r.headers) {
    if (k == name) return v;
  }
  return "";
}

}  // namespace masa::api::testing
