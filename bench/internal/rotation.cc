#include "bench/internal/rotation.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <openssl/cms.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <memory>
#include <thread>

#include "common/openssl.h"
#include "nlohmann/json.hpp"

namespace masa::bench {
namespace {

using nlohmann::json;

std::string OpenSslError() {
  char buf[256] = "unknown";
  if (unsigned long e = ERR_get_error(); e != 0) ERR_error_string_n(e, buf, sizeof(buf));
  ERR_clear_error();
  return buf;
}

// A published voucher-signing key: its chain below the anchor and the anchor as trust.
struct PublishedChain {
  std::string key_id;
  X509Stack certs{sk_X509_new_null()};
  UniquePtr<X509_STORE> trust{X509_STORE_new()};
};

std::vector<PublishedChain> FetchChains(const RotationTarget& t, std::string* problem) {
  std::vector<PublishedChain> out;
  HttpsAnswer keys = HttpsCall(t.port, t.tls_ca, "", "GET", "/keys");
  json listing = json::parse(keys.body, nullptr, false);
  if (keys.status != 200 || !listing.is_object()) {
    *problem = "GET /keys answered " + std::to_string(keys.status) + ": " + keys.body;
    return out;
  }
  for (const json& k : listing["keys"]) {
    if (k["purpose"] != "voucher-signing" || k["chain"].empty()) continue;
    PublishedChain c;
    c.key_id = k["key_id"];
    const size_t n = k["chain"].size();
    for (size_t i = 0; i < n; ++i) {
      auto cert = ParseCertificate(k["chain"][i].get<std::string>());
      if (!cert.ok()) {
        *problem = "GET /keys: " + std::string(cert.status().message());
        return {};
      }
      // The last certificate is the trust anchor: trusted, not merely offered.
      if (i + 1 == n) {
        X509_STORE_add_cert(c.trust.get(), cert->get());
      } else {
        sk_X509_push(c.certs.get(), cert->release());
      }
    }
    out.push_back(std::move(c));
  }
  return out;
}

bool Verifies(const std::string& der, const PublishedChain& chain) {
  const unsigned char* p = reinterpret_cast<const unsigned char*>(der.data());
  UniquePtr<CMS_ContentInfo> cms(d2i_CMS_ContentInfo(nullptr, &p, static_cast<long>(der.size())));
  if (!cms) {
    ERR_clear_error();
    return false;
  }
  const int ok = CMS_verify(cms.get(), chain.certs.get(), chain.trust.get(), nullptr, nullptr,
                            CMS_BINARY | CMS_NOINTERN);
  ERR_clear_error();
  return ok == 1;
}

}  // namespace

HttpsAnswer HttpsCall(uint16_t port, const std::string& tls_ca, const std::string& token,
                      const std::string& method, const std::string& path, const std::string& body,
                      const std::string& content_type) {
  HttpsAnswer a;
  std::unique_ptr<SSL_CTX, decltype(&SSL_CTX_free)> ctx(SSL_CTX_new(TLS_client_method()),
                                                        &SSL_CTX_free);
  if (!ctx || SSL_CTX_load_verify_locations(ctx.get(), tls_ca.c_str(), nullptr) != 1) {
    a.body = "TLS context: " + OpenSslError();
    return a;
  }
  SSL_CTX_set_verify(ctx.get(), SSL_VERIFY_PEER, nullptr);
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(port);
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0) {
    close(fd);
    a.body = "connect failed";
    return a;
  }
  SSL* ssl = SSL_new(ctx.get());
  X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(ssl), "127.0.0.1");
  SSL_set_fd(ssl, fd);
  std::string request = method + " " + path +
                        " HTTP/1.1\r\nHost: 127.0.0.1:" + std::to_string(port) +
                        "\r\nConnection: close\r\n";
  if (!token.empty()) request += "Authorization: Bearer " + token + "\r\n";
  if (!body.empty()) request += "Content-Type: " + content_type + "\r\n";
  request += "Content-Length: " + std::to_string(body.size()) + "\r\n\r\n" + body;
  std::string in;
  if (SSL_connect(ssl) != 1 ||
      SSL_write(ssl, request.data(), static_cast<int>(request.size())) <= 0) {
    a.body = "TLS: " + OpenSslError();
  } else {
    char buf[16384];
    for (;;) {
      int n = SSL_read(ssl, buf, sizeof(buf));
      if (n <= 0) break;
      in.append(buf, n);
    }
    ERR_clear_error();
  }
  SSL_free(ssl);
  close(fd);
  const size_t head_end = in.find("\r\n\r\n");
  if (head_end == std::string::npos || in.size() < 12) {
    if (a.body.empty()) a.body = "no HTTP answer";
    return a;
  }
  a.status = std::atoi(in.c_str() + 9);
  a.body = in.substr(head_end + 4);
  return a;
}

RotationResult RotateSigningKey(const RotationTarget& t, int64_t t0_ns, double at_seconds) {
  RotationResult r;
  const int64_t due = t0_ns + static_cast<int64_t>(at_seconds * 1e9);
  if (int64_t wait = due - NowNs(); wait > 0) {
    std::this_thread::sleep_for(std::chrono::nanoseconds(wait));
  }
  auto since = [&] { return (NowNs() - t0_ns) / 1e9; };
  auto fail = [&](const std::string& what, const HttpsAnswer& a) {
    r.failure = what + " answered " + std::to_string(a.status) + ": " + a.body.substr(0, 400);
    return r;
  };
  HttpsAnswer listing = HttpsCall(t.port, t.tls_ca, "", "GET", "/keys");
  json keys = json::parse(listing.body, nullptr, false);
  if (listing.status != 200 || !keys.is_object()) return fail("GET /keys", listing);
  for (const json& k : keys["keys"]) {
    if (k["purpose"] == "voucher-signing" && k["state"] == "active") r.old_key_id = k["key_id"];
  }
  r.generate_at = since();
  HttpsAnswer made = HttpsCall(t.port, t.tls_ca, t.officer_token, "POST", "/keys",
                               R"({"purpose":"voucher-signing","algorithm":"p256"})");
  json key = json::parse(made.body, nullptr, false);
  if (made.status != 201 || !key.is_object()) return fail("POST /keys", made);
  r.new_key_id = key["key"]["key_id"];
  HttpsAnswer issued =
      HttpsCall(t.port, t.tls_ca, t.officer_token, "POST", "/keys/" + r.new_key_id + "/issue",
                R"({"subject":"CN=MASA load_bench rotated,O=Load Bench Vendor"})");
  if (issued.status != 200) return fail("POST /keys/" + r.new_key_id + "/issue", issued);
  r.issued_at = since();
  HttpsAnswer activated =
      HttpsCall(t.port, t.tls_ca, t.officer_token, "POST", "/keys/" + r.new_key_id + "/activate");
  if (activated.status != 200) return fail("POST /keys/" + r.new_key_id + "/activate", activated);
  r.activated_at = since();
  return r;
}

VerifyReport VerifySamples(const RotationTarget& t, const std::vector<VoucherSample>& samples,
                           double activated_at) {
  VerifyReport report;
  std::vector<PublishedChain> chains = FetchChains(t, &report.first_problem);
  report.published_keys = chains.size();
  for (const VoucherSample& s : samples) {
    HttpsAnswer cms =
        HttpsCall(t.port, t.tls_ca, t.admin_token, "GET", "/voucher/" + s.voucher_id + "/download");
    if (cms.status != 200) {
      ++report.download_failures;
      if (report.first_problem.empty()) {
        report.first_problem = "download of " + s.voucher_id + ": " + std::to_string(cms.status);
      }
      continue;
    }
    const PublishedChain* by = nullptr;
    for (const PublishedChain& c : chains) {
      if (Verifies(cms.body, c)) {
        by = &c;
        break;
      }
    }
    if (by == nullptr) {
      ++report.unverified;
      if (report.first_problem.empty()) report.first_problem = s.voucher_id + " verified by none";
      continue;
    }
    ++(s.at < activated_at ? report.before : report.after)[by->key_id];
  }
  HttpsAnswer managed = HttpsCall(t.port, t.tls_ca, t.officer_token, "GET", "/keys/managed");
  json list = json::parse(managed.body, nullptr, false);
  if (managed.status == 200 && list.is_object()) {
    for (const json& k : list["keys"]) {
      if (k["purpose"] == "voucher-signing") report.signatures[k["key_id"]] = k["signatures"];
    }
  }
  return report;
}

}  // namespace masa::bench
