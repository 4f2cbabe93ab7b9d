// masad's configuration: a TOML file whose every key has a documented default, so an empty
// file (or none) runs on the embedded development defaults. Relative paths are resolved
// against the folder of the configuration file.
//
//   MASA_ASSIGN_OR_RETURN(MasadConfig config, LoadConfig("/etc/masa/masad.toml"));
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "signer/voucher.h"
#include "store/store.h"

namespace masa::tools {

struct MasadConfig {
  // [server]
  std::string listen_address = "127.0.0.1";
  uint16_t listen_port = 8443;
  std::string tls_certificate;  // PEM chain, leaf first; empty: plain HTTP (loopback only)
  std::string tls_key;          // PEM file, or a pkcs11: URI of a key in the HSM
  bool plain_http = false;      // must be set explicitly to serve without TLS (loopback only)
  size_t max_header_bytes = 16 * 1024;
  size_t max_body_bytes = 1024 * 1024;
  size_t max_connections = 1024;
  // Connections one client (IPv4 address, IPv6 /64) may hold at once; more are closed at
  // once. At most max_connections; one client never gets more than 3/4 of max_connections.
  size_t max_connections_per_client = 64;
  // The TLS handshake and the request head must be complete this soon after a connection
  // is accepted (idle connections are dropped); the whole request within request_timeout.
  absl::Duration header_timeout = absl::Seconds(10);
  absl::Duration request_timeout = absl::Seconds(30);
  absl::Duration idle_timeout = absl::Seconds(60);

  // [metrics]
  // "ADDRESS:PORT" of the listener that serves GET /metrics (Prometheus text, no token,
  // counts across every organization), plain HTTP on a loopback address only; "" disables
  // it. The API listener does not serve /metrics.
  std::string metrics_listen = "127.0.0.1:9464";

  // [grpc]
  // "ADDRESS:PORT" of the OVGS gRPC API (ovgs.v1.OwnershipVoucherService), TLS with
  // [server] tls_certificate and tls_key (a PEM file: gRPC cannot use a pkcs11: key), the
  // same tokens as the REST API; "" (the default) serves no gRPC.
  std::string grpc_listen;
  // The largest request message accepted (larger: RESOURCE_EXHAUSTED).
  size_t grpc_max_message_bytes = 4 * 1024 * 1024;

  // [hsm]
  std::string pkcs11_module = "/usr/lib/softhsm/libsofthsm2.so";
  std::string softhsm_conf;  // sets SOFTHSM2_CONF when non-empty (SoftHSM2 only)
  std::string token_label = "masa-dev";
  std::string pin_file = "user.pin";  // the user PIN; $MASA_HSM_PIN wins when set
  // tokens: the PKCS#11 tokens that hold the same signing and audit keys, as RFC 7512
  // token URIs ("pkcs11:token=LABEL?module-path=/path/lib.so&pin-source=file:/path/pin");
  // several add HSM capacity and survive one failing. A missing module-path is set to
  // `module` when parsed; without pin-source the PIN is $MASA_HSM_PIN or `pin_file`'s; a
  // relative pin-source file is resolved against the configuration's folder. Empty (the
  // default): the one token `token` of `module` (see HsmTokenUris).
  std::vector<std::string> tokens;
  // A signing call that has not returned this long after it started is abandoned: the job
  // is retried once (on another token when there is one) and the token is marked down
  // until a probe finds it working again, every probe_interval.
  absl::Duration call_timeout = absl::Seconds(5);
  absl::Duration probe_interval = absl::Seconds(1);

  // [signing]
  std::string signing_key = "pkcs11:token=masa-dev;object=masa-signing;type=private";
  std::string signing_certificate = "masa.pem";
  std::string signing_chain = "trust-anchor.pem";  // up to and including the vendor root
  std::string vendor_ien = "9";
  absl::Duration default_validity = absl::Hours(24 * 365);
  absl::Duration max_validity = absl::Hours(24 * 365 * 3);

  // [voucher]
  // assertion: the "assertion" leaf of the vouchers masad issues and of `masactl voucher
  // sign`: "verified", "logged", "proximity" or "agent-proximity" (the YANG enum). A renewal
  // keeps the assertion its voucher was signed with.
  signer::Assertion default_assertion = signer::Assertion::kLogged;

  // [audit]
  std::string audit_key = "pkcs11:token=masa-dev;object=masa-audit;type=private";
  std::string audit_origin = "masa.example/audit";
  uint64_t checkpoint_every_entries = 1000;
  absl::Duration checkpoint_every = absl::Seconds(60);

  // [keys] the security officers' key lifecycle (masactl key)
  // The vendor CA key in the HSM, which certifies new signing keys (masactl key issue); its
  // certificate chain is [signing] chain (the CA first, up to and including the anchor).
  std::string ca_key = "pkcs11:token=masa-dev;object=vendor-ca;type=private";
  size_t approvals_required = 1;  // officers an activation or retirement needs (1: no rule)
  absl::Duration approval_ttl = absl::Hours(24);
  absl::Duration certificate_validity = absl::Hours(24 * 730);

  // [store]
  std::string state_dir = ".";  // holds store/ (the LMDB environment)
  // The LMDB map, reserved once at open (address space, not disk: data.mdb grows only as
  // data is written); see StoreOptions::max_map_size. Default 1 TiB.
  uint64_t max_map_bytes = store::StoreOptions().max_map_size;
  // Commits start at most this often under load (StoreOptions::min_commit_interval).
  absl::Duration min_commit_interval = absl::Milliseconds(4);
  // backend = "postgres": the libpq connection string of the shared store
  // (StoreOptions::postgres); empty for backend = "lmdb", the default.
  std::string postgres;
  // This node's name in audit entries, the checkpoint lease and /metrics (empty: the host
  // name and process id).
  std::string node_id;

  // [queue]
  size_t workers = 2;            // signer threads, one HSM session each
  size_t queue_capacity = 4096;  // sign jobs waiting at most; beyond: 503 + Retry-After
  size_t max_batch = 32;
  int worker_nice = 5;  // signer threads yield the CPU to ingress and commits
  // max_queue_delay_ms: a voucher request whose signatures would wait longer than this to
  // start is answered 503 + Retry-After at once (WorkQueueOptions::max_queue_delay); 0 = off.
  // Off by default: clients that resend at once instead of honouring Retry-After (the closed
  // loop of load_bench) turn shedding into a storm of refused requests that took 35 % of a
  // core and halved the vouchers signed. Where clients honour Retry-After, set 10: the
  // queue's share of the 25 ms p99 target, leaving the rest for signing and the durable
  // commit (under an open-loop overload it held p99 at 0.15 s where it grew to 15 s without).
  absl::Duration max_queue_delay = absl::ZeroDuration();

  // [web] the web application served from / of the API listener.
  // root: the folder holding index.html and assets/. "" (the default) resolves to
  // DefaultWebRoot(): where `cmake --install` put web/, or else, for a masad run from its
  // build tree, the source tree's web/.
  std::string web_root;
  std::string licence_file;                           // the licence terms; "" = <root>/licence.txt
  absl::Duration session_lifetime = absl::Hours(12);  // session_lifetime_hours
  absl::Duration session_idle_timeout = absl::Minutes(30);  // session_idle_minutes

  // [oidc] single sign-on ("Sign in using <name>"); no [oidc] section: no SSO.
  bool oidc = false;        // the section is present
  std::string oidc_issuer;  // https, or http on a loopback host
  std::string oidc_client_id;
  std::string oidc_client_secret_file;  // the client secret, mode 0600 (never in the config)
  std::string oidc_redirect_uri;        // https://HOST:PORT/auth/oidc/callback as registered
  std::string oidc_name = "SSO";
  std::string oidc_ca_file;  // PEM CAs of the provider's TLS certificate; "" = the system's

  std::string config_dir = ".";  // folder of the file, for resolving relative paths
};

// The default [web] root: the installed share/masa/web when it holds index.html, else the
// source tree's web/ (a masad run from its build tree), else the installed path.
std::string DefaultWebRoot();

// Reads and validates `path`. kNotFound: no file; kInvalidArgument: a TOML syntax error
// (with line and column), an unknown section or key, a wrong type or an out-of-range value,
// each naming the key. Relative paths in the result are already resolved.
absl::StatusOr<MasadConfig> LoadConfig(const std::string& path);

// Parses TOML text as if it were a file in folder `dir` (for tests and --check-config).
absl::StatusOr<MasadConfig> ParseConfig(const std::string& text, const std::string& dir);

// The checks across keys that ParseConfig makes (TLS or plain_http, gRPC's TLS key, ...),
// for a configuration changed after loading (masad's command-line overrides).
absl::Status ValidateConfig(const MasadConfig& config);

// The [hsm] tokens as URIs: `tokens` when set, else the single "pkcs11:token=<token>?
// module-path=<module>" (percent-encoded where RFC 7512 needs; its PIN: $MASA_HSM_PIN or
// pin_file).
std::vector<std::string> HsmTokenUris(const MasadConfig& config);

// Replaces listen_address/listen_port from "ADDRESS:PORT" ("[::1]:0" for IPv6).
absl::Status OverrideListen(const std::string& listen, MasadConfig* config);

// Splits "ADDRESS:PORT" ("[::1]:9464" for IPv6). kInvalidArgument when it is not that.
absl::Status SplitListen(const std::string& listen, std::string* address, uint16_t* port);

// The configuration as TOML with every key, for `masad --print-config` and documentation.
std::string FormatConfig(const MasadConfig& config);

}  // namespace masa::tools
