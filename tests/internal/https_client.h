// A real HTTPS client for end-to-end tests: each call runs the curl binary against the
// daemon, trusting only the given CA file. Bearer tokens reach curl through a 0600 config
// file (-K), request bodies through a file (--data-binary @FILE): neither is ever in argv.
//
//   HttpsClient client(url, dir + "/tls-ca.pem", scratch);
//   std::string auth = client.AuthFile("admin", secret);
//   HttpAnswer a = client.Call("GET", "/vouchers", auth);
//   EXPECT_EQ(a.status, 200) << a;
#pragma once

#include <atomic>
#include <optional>
#include <ostream>
#include <string>
#include <vector>

#include "absl/time/time.h"
#include "nlohmann/json.hpp"

namespace masa::e2e {

struct HttpAnswer {
  std::string method;
  std::string path;
  int status = 0;            // 0: no HTTP answer (connection refused, reset, timeout)
  std::string content_type;  // as sent, e.g. "application/problem+json"
  std::string body;
  int curl_exit = -1;      // curl's exit code (0 on any HTTP answer, see --fail)
  std::string curl_error;  // curl's stderr

  // The body as JSON; a discarded value (is_discarded()) when it is not JSON.
  nlohmann::json Json() const;
  bool IsProblem() const;  // content type application/problem+json
};
std::ostream& operator<<(std::ostream& os, const HttpAnswer& a);

// One fetch of a batch: the status and where the body went.
struct FetchResult {
  std::string path;
  int status = 0;
  std::string output_file;
};

// Thread-safe: calls may run from several threads at once (each uses its own files).
class HttpsClient {
 public:
  // `base_url` "https://127.0.0.1:PORT"; `ca_file` the PEM the server's chain must lead to;
  // `scratch_dir` an existing private folder for bodies and auth files.
  HttpsClient(std::string base_url, std::string ca_file, std::string scratch_dir);

  void set_base_url(std::string url) { base_url_ = std::move(url); }
  const std::string& base_url() const { return base_url_; }

  // Writes a curl config file (0600) that sends "Authorization: Bearer <secret>"; returns
  // its path, for Call(). `name` must be unique per client.
  std::string AuthFile(const std::string& name, const std::string& secret) const;

  // One request. `auth_file` "" sends no Authorization header. A body, when given, is sent
  // with Content-Type `content_type`. Failures to run curl are test failures.
  HttpAnswer Call(const std::string& method, const std::string& path, const std::string& auth_file,
                  const std::optional<std::string>& body = std::nullopt,
                  const std::string& content_type = "application/json") const;
  HttpAnswer Call(const std::string& method, const std::string& path, const std::string& auth_file,
                  const nlohmann::json& body) const {
    return Call(method, path, auth_file, std::optional<std::string>(body.dump()));
  }

  // GETs every path with one curl process (one kept-alive connection), each body into its
  // own file under `out_dir`; results in the order of `paths`.
  std::vector<FetchResult> FetchAll(const std::vector<std::string>& paths,
                                    const std::string& auth_file, const std::string& out_dir) const;

 private:
  std::string NextName(const std::string& what) const;

  std::string base_url_;
  std::string ca_file_;
  std::string scratch_;
  mutable std::atomic<uint64_t> counter_{0};
};

}  // namespace masa::e2e
