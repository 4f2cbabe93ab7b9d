// Test support: drive a RestApi without a server.
#pragma once

#include <future>
#include <string>

#include "api/rest_api.h"
#include "api/internal/fake_service.h"

namespace masa::api::testing {

inline queue::HttpRequest MakeRequest(std::string method, std::string path,
                                      std::string body = "", bool with_token = true) {
  queue::HttpRequest r;
  r.method = std::move(method);
  r.path = std::move(path);
  r.body = std::move(body);
  if (!r.body.empty()) r.headers["content-type"] = "application/json";
  if (with_token) r.headers["authorization"] = "Bearer " + std::string(FakeService::kToken);
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
