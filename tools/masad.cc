// masad: the MASA appliance daemon. Serves the REST API over HTTPS on the configured
// address, signs vouchers with the HSM key, keeps everything in the LMDB store with a
// tamper-evident audit log. SIGTERM drains requests in flight: nothing acknowledged is lost.
// Prometheus /metrics is served on a listener of its own ([metrics] listen, loopback), and
// the OVGS gRPC API on another ([grpc] listen, TLS with the same certificate), when set.
// The web application is served from / of the API listener ([web] root), with single sign-on
// when [oidc] is set.
//
//   masad --config /etc/masa/masad.toml
//   masad --config FILE --check-config     validate and exit
//   masad --config FILE --print-config     the effective configuration, every key
#include <signal.h>

#include <atomic>
#include <cstdio>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/notification.h"
#include "api/grpc/grpc_server.h"
#include "api/rest_api.h"
#include "api/web/oidc.h"
#include "common/file.h"
#include "common/heap.h"
#include "common/log.h"
#include "common/secret.h"
#include "common/status.h"
#include "queue/http_server.h"
#include "queue/systemd_notify.h"
#include "tools/cli.h"
#include "tools/config.h"
#include "tools/stack.h"

namespace masa::tools {
namespace {

// The TLS key: a pkcs11: URI (through the provider) or a PEM file.
absl::StatusOr<UniquePtr<EVP_PKEY>> LoadTlsKey(const MasadConfig& config, const Stack& stack) {
  if (absl::StartsWith(config.tls_key, "pkcs11:")) {
    return stack.provider->LoadPrivateKey(config.tls_key);
  }
  MASA_ASSIGN_OR_RETURN(std::string pem, ReadFile(config.tls_key));
  UniquePtr<BIO> bio(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
  UniquePtr<EVP_PKEY> key(PEM_read_bio_PrivateKey_ex(bio.get(), nullptr, nullptr, nullptr,
                                                     stack.provider->libctx(), nullptr));
  if (key == nullptr) {
    return FromOpenSslErrors(absl::StrCat("reading the TLS key ", config.tls_key),
                             absl::StatusCode::kInvalidArgument);
  }
  return key;
}

absl::Status CheckConfig(const MasadConfig& config) {
  for (const std::string* file : {&config.signing_certificate, &config.signing_chain}) {
    MASA_ASSIGN_OR_RETURN(std::string pem, ReadFile(*file));
    MASA_RETURN_IF_ERROR(Annotate(ParseCertificates(pem).status(), *file));
  }
  if (!config.tls_certificate.empty()) {
    MASA_ASSIGN_OR_RETURN(std::string pem, ReadFile(config.tls_certificate));
    MASA_RETURN_IF_ERROR(Annotate(ParseCertificates(pem).status(), config.tls_certificate));
  }
  if (!PathExists(config.pkcs11_module)) {
    return absl::NotFoundError(absl::StrCat("PKCS#11 module ", config.pkcs11_module, " not found"));
  }
  return absl::OkStatus();
}

// "127.0.0.1:8443", "[::1]:8443".
std::string HostPort(const std::string& address, uint16_t port) {
  return address.find(':') != std::string::npos ? absl::StrCat("[", address, "]:", port)
                                                : absl::StrCat(address, ":", port);
}

// The /metrics listener: plain HTTP, loopback only (HttpServer refuses anything else).
absl::StatusOr<std::unique_ptr<queue::HttpServer>> StartMetrics(const MasadConfig& config,
                                                                api::RestApi* api) {
  queue::HttpServerOptions m;
  MASA_RETURN_IF_ERROR(SplitListen(config.metrics_listen, &m.address, &m.port));
  m.allow_plain_http_on_loopback = true;
  m.max_connections = 32;  // a scraper or two
  m.max_connections_per_client = 32;
  m.max_body_bytes = 1024;
  auto server = queue::HttpServer::Create(m, api->metrics_handler());
  if (!server.ok()) return Annotate(server.status(), "[metrics] listen");
  MASA_RETURN_IF_ERROR(Annotate((*server)->Start(), "[metrics] listen"));
  return server;
}

// The OVGS gRPC listener: TLS with the [server] certificate chain and its PEM key (the
// configuration refuses a pkcs11: key for it, which gRPC cannot sign with).
absl::StatusOr<std::unique_ptr<api::GrpcServer>> StartGrpc(const MasadConfig& config,
                                                           service::Service& service) {
  api::GrpcServerOptions options;
  MASA_RETURN_IF_ERROR(
      Annotate(SplitListen(config.grpc_listen, &options.address, &options.port), "[grpc] listen"));
  MASA_ASSIGN_OR_RETURN(options.tls_chain_pem, ReadFile(config.tls_certificate));
  MASA_ASSIGN_OR_RETURN(std::string key, ReadFile(config.tls_key));
  options.tls_key_pem = Secret(std::move(key));
  options.max_receive_message_bytes = config.grpc_max_message_bytes;
  auto server = api::GrpcServer::Start(std::move(options), api::GrpcServices::Of(service));
  if (!server.ok()) return Annotate(server.status(), "[grpc] listen");
  return server;
}

// The web application's options: its files, the licence terms ([web] licence_file; the
// default <root>/licence.txt may be missing, then a placeholder text is shown) and the
// OpenID Connect relying party when [oidc] is set (the provider must answer at start).
struct Web {
  api::RestApiWebOptions options;
  std::unique_ptr<api::web::OidcClient> oidc;
};

absl::StatusOr<Web> PrepareWeb(const MasadConfig& config) {
  Web web;
  web.options.root = config.web_root;
  if (!PathExists(config.web_root + "/index.html")) {
    Log(LogLevel::kWarning, absl::StrCat("masad: [web] root ", config.web_root,
                                         " holds no index.html; the web application answers 404"));
  }
  absl::StatusOr<std::string> licence = ReadFile(config.licence_file);
  if (licence.ok()) {
    web.options.licence_text = *std::move(licence);
  } else if (config.licence_file == config.web_root + "/licence.txt" &&
             !PathExists(config.licence_file)) {
    web.options.licence_text =
        "No licence terms are configured for this appliance ([web] licence_file).\n";
  } else {
    return Annotate(licence.status(), "[web] licence_file");
  }
  if (config.oidc) {
    api::web::OidcOptions oidc;
    oidc.issuer = config.oidc_issuer;
    oidc.client_id = config.oidc_client_id;
    absl::StatusOr<Secret> secret = ReadSecretFile(config.oidc_client_secret_file);
    if (!secret.ok()) return Annotate(secret.status(), "[oidc] client_secret_file");
    oidc.client_secret = *std::move(secret);
    oidc.redirect_uri = config.oidc_redirect_uri;
    oidc.ca_file = config.oidc_ca_file;
    auto client = api::web::OidcClient::Create(std::move(oidc));
    if (!client.ok()) return Annotate(client.status(), "[oidc]");
    web.oidc = *std::move(client);
    web.options.oidc = web.oidc.get();
    web.options.oidc_name = config.oidc_name;
  }
  return web;
}

absl::Status Serve(const MasadConfig& config) {
  // Signals are taken synchronously by sigwait below; every thread inherits the mask.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGTERM);
  sigaddset(&signals, SIGINT);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);
  signal(SIGPIPE, SIG_IGN);

  MASA_ASSIGN_OR_RETURN(std::unique_ptr<Stack> stack, OpenStack(config));
  MASA_ASSIGN_OR_RETURN(Web web, PrepareWeb(config));
  std::atomic<bool> ready{false};
  // Ready while serving and while some HSM token can sign: with every token down /readyz
  // says 503, so a load balancer sends requests elsewhere until a probe brings one back.
  MASA_ASSIGN_OR_RETURN(
      auto api,
      api::RestApi::Create({.services = api::RestApiServices::Of(*stack->service),
                            .web = web.options,
                            .work_queue = stack->work_queue.get(),
                            .ready =
                                [&] {
                                  return ready.load() && stack->token_group->ready() &&
                                         stack->store->Reachable();
                                },
                            .extra_metrics = [&] { return HsmMetrics(*stack) + HeapMetrics(); }}));
  queue::HttpServerOptions http;
  http.address = config.listen_address;
  http.port = config.listen_port;
  http.allow_plain_http_on_loopback = config.plain_http && config.tls_certificate.empty();
  http.max_header_bytes = config.max_header_bytes;
  http.max_body_bytes = config.max_body_bytes;
  http.max_connections = config.max_connections;
  http.max_connections_per_client = config.max_connections_per_client;
  http.header_timeout = config.header_timeout;
  http.request_timeout = config.request_timeout;
  http.idle_timeout = config.idle_timeout;
  http.libctx = stack->provider->libctx();
  std::vector<UniquePtr<X509>> tls_chain;
  UniquePtr<EVP_PKEY> tls_key;
  if (!config.tls_certificate.empty()) {
    MASA_ASSIGN_OR_RETURN(std::string pem, ReadFile(config.tls_certificate));
    MASA_ASSIGN_OR_RETURN(tls_chain, ParseCertificates(pem));
    MASA_ASSIGN_OR_RETURN(tls_key, LoadTlsKey(config, *stack));
    for (const auto& c : tls_chain) http.tls_chain.push_back(c.get());
    http.tls_key = tls_key.get();
  }
  MASA_ASSIGN_OR_RETURN(auto server, queue::HttpServer::Create(http, api.get()));
  MASA_RETURN_IF_ERROR(server->Start());
  api->SetServer(server.get());
  std::unique_ptr<queue::HttpServer> metrics;
  if (!config.metrics_listen.empty()) {
    MASA_ASSIGN_OR_RETURN(metrics, StartMetrics(config, api.get()));
  }
  std::unique_ptr<api::GrpcServer> grpc;
  if (!config.grpc_listen.empty()) {
    MASA_ASSIGN_OR_RETURN(grpc, StartGrpc(config, *stack->service));
  }
  ready = true;
  // Tests and scripts read these lines; the metrics and gRPC lines come first, so they are
  // there once the "listening" line is.
  if (metrics != nullptr) {
    std::string address;
    uint16_t port = 0;
    MASA_RETURN_IF_ERROR(SplitListen(config.metrics_listen, &address, &port));
    std::printf("masad metrics on http://%s/metrics\n", HostPort(address, metrics->port()).c_str());
  }
  if (grpc != nullptr) {
    std::string address;
    uint16_t port = 0;
    MASA_RETURN_IF_ERROR(SplitListen(config.grpc_listen, &address, &port));
    std::printf("masad grpc on %s\n", HostPort(address, grpc->port()).c_str());
  }
  const std::string origin = absl::StrCat(config.tls_certificate.empty() ? "http" : "https", "://",
                                          HostPort(config.listen_address, server->port()));
  const std::string sso = config.oidc ? absl::StrCat(" or ", config.oidc_name) : "";
  std::printf("masad web application on %s/ (sign in with an API token%s)\n", origin.c_str(),
              sso.c_str());
  Log(LogLevel::kInfo,
      absl::StrCat("masad: web application on ", origin, "/ from ", config.web_root));
  std::printf("masad listening on %s\n", origin.c_str());
  std::fflush(stdout);
  queue::NotifyReady();
  // Key rotation: an activation (masactl key activate, another process) reaches this one
  // through the store; RefreshKeys every second switches the running keys (OpenStack made
  // the first call). An error is logged once until it changes; the keys stay as they were.
  // The same thread gives the heap's free pages back every 10 s (common/heap.h): without it
  // memory freed after bursts stays resident in the threads' malloc arenas, and the heap
  // (RssAnon) creeps up over a long run while what is in use stays flat.
  absl::Notification stop_refresh;
  std::thread refresher([&stop_refresh, service = stack->service.get()] {
    std::string last_error;
    for (int tick = 1; !stop_refresh.WaitForNotificationWithTimeout(absl::Seconds(1)); ++tick) {
      if (tick % 10 == 0) ReleaseFreeHeap();
      absl::Status s = service->RefreshKeys();
      std::string error = s.ok() ? "" : s.ToString();
      if (!error.empty() && error != last_error) {
        Log(LogLevel::kWarning, "masad: switching keys: " + error);
      }
      last_error = std::move(error);
    }
  });

  int received = 0;
  sigwait(&signals, &received);
  Log(LogLevel::kInfo, absl::StrCat("masad: signal ", received, ", draining"));
  queue::NotifyStopping();
  ready = false;
  stop_refresh.Notify();
  refresher.join();
  // In-flight requests are answered once their vouchers are durable: the server waits for
  // them, then the stack finishes queued jobs and commits before it closes.
  if (metrics != nullptr) metrics->Shutdown(absl::ZeroDuration());
  metrics.reset();
  // Both APIs drain at once: neither takes new calls while the other finishes its own.
  std::thread grpc_drain;
  if (grpc != nullptr) grpc_drain = std::thread([&grpc] { grpc->Shutdown(absl::Seconds(20)); });
  server->Shutdown(absl::Seconds(20));
  if (grpc_drain.joinable()) grpc_drain.join();
  grpc.reset();
  server.reset();
  api.reset();
  stack.reset();
  Log(LogLevel::kInfo, "masad: stopped");
  return absl::OkStatus();
}

}  // namespace
}  // namespace masa::tools

int main(int argc, char** argv) {
  using masa::tools::Flags;
  masa::tools::SetProgramName("masad");
  Flags flags("masad --config FILE [--check-config | --print-config]",
              "The MASA appliance daemon: the REST API over HTTPS, vouchers signed in the HSM,\n"
              "records and a tamper-evident audit log in LMDB. SIGTERM drains and stops.");
  flags.Option("config", "FILE", "the TOML configuration (see --print-config)", true)
      .Option("listen", "ADDR:PORT",
              "override [server] listen (port 0: any free port; the "
              "port is printed)")
      .Option("metrics-listen", "ADDR:PORT",
              "override [metrics] listen (loopback; port 0: any free port, printed; \"\": "
              "no metrics listener)")
      .Option("grpc-listen", "ADDR:PORT",
              "override [grpc] listen (port 0: any free port, printed; \"\": no gRPC)")
      .Switch("check-config", "validate the configuration and the files it names, then exit")
      .Switch("print-config", "print the effective configuration with every key, then exit");
  auto parsed = flags.Parse(std::vector<std::string>(argv + 1, argv + argc));
  if (!parsed.ok()) return masa::tools::ReportError(parsed.status());
  if (parsed->help) {
    std::printf("%s", flags.Help().c_str());
    return 0;
  }
  auto config = masa::tools::LoadConfig(*parsed->Get("config"));
  if (!config.ok()) return masa::tools::ReportError(config.status());
  if (auto listen = parsed->Get("listen")) {
    absl::Status s = masa::tools::OverrideListen(*listen, &*config);
    if (!s.ok()) return masa::tools::ReportError(s);
  }
  if (auto listen = parsed->Get("metrics-listen")) {
    if (!listen->empty()) {
      std::string address;
      uint16_t port = 0;
      absl::Status s = masa::tools::SplitListen(*listen, &address, &port);
      if (!s.ok()) return masa::tools::ReportError(masa::Annotate(s, "--metrics-listen"));
    }
    config->metrics_listen = *listen;
  }
  if (auto listen = parsed->Get("grpc-listen")) {
    config->grpc_listen = *listen;
    if (!listen->empty()) {
      // The same checks as the file's [grpc] listen: TLS, a PEM key.
      absl::Status s = masa::tools::ValidateConfig(*config);
      if (!s.ok()) return masa::tools::ReportError(masa::Annotate(s, "--grpc-listen"));
    }
  }
  if (parsed->Has("print-config")) {
    std::printf("%s", masa::tools::FormatConfig(*config).c_str());
    return 0;
  }
  if (parsed->Has("check-config")) {
    absl::Status s = masa::tools::CheckConfig(*config);
    if (!s.ok()) return masa::tools::ReportError(s);
    std::printf("configuration OK\n");
    return 0;
  }
  absl::Status s = masa::tools::Serve(*config);
  return s.ok() ? 0 : masa::tools::ReportError(s);
}
