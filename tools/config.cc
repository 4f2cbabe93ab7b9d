#include "tools/config.h"

#include <algorithm>
#include <set>

#include <toml++/toml.h>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "common/file.h"
#include "common/status.h"
#include "common/utf8.h"

namespace masa::tools {
namespace {

// Reads typed values out of one TOML table, remembering which keys were known so that a
// misspelt key is an error rather than silently ignored.
class Section {
 public:
  Section(const toml::table* table, std::string name) : table_(table), name_(std::move(name)) {}

  absl::Status String(const char* key, std::string* out) {
    const toml::node* node = Find(key);
    if (node == nullptr) return absl::OkStatus();
    if (!node->is_string()) return WrongType(key, "a string");
    *out = node->as_string()->get();
    return absl::OkStatus();
  }

  // An array of strings (may be empty).
  absl::Status Strings(const char* key, std::vector<std::string>* out) {
    const toml::node* node = Find(key);
    if (node == nullptr) return absl::OkStatus();
    const toml::array* array = node->as_array();
    if (array == nullptr) return WrongType(key, "an array of strings");
    std::vector<std::string> values;
    for (const toml::node& item : *array) {
      if (!item.is_string()) return WrongType(key, "an array of strings");
      values.push_back(item.as_string()->get());
    }
    *out = std::move(values);
    return absl::OkStatus();
  }

  absl::Status Bool(const char* key, bool* out) {
    const toml::node* node = Find(key);
    if (node == nullptr) return absl::OkStatus();
    if (!node->is_boolean()) return WrongType(key, "true or false");
    *out = node->as_boolean()->get();
    return absl::OkStatus();
  }

  template <typename T>
  absl::Status Integer(const char* key, T* out, int64_t min, int64_t max) {
    const toml::node* node = Find(key);
    if (node == nullptr) return absl::OkStatus();
    if (!node->is_integer()) return WrongType(key, "a whole number");
    int64_t v = node->as_integer()->get();
    if (v < min || v > max) {
      return absl::InvalidArgumentError(
          absl::StrFormat("%s: %d is out of range (%d to %d)", Name(key), v, min, max));
    }
    *out = static_cast<T>(v);
    return absl::OkStatus();
  }

  absl::Status Seconds(const char* key, absl::Duration* out, int64_t min, int64_t max) {
    int64_t seconds = absl::ToInt64Seconds(*out);
    MASA_RETURN_IF_ERROR(Integer(key, &seconds, min, max));
    *out = absl::Seconds(seconds);
    return absl::OkStatus();
  }

  absl::Status Days(const char* key, absl::Duration* out, int64_t min, int64_t max) {
    int64_t days = absl::ToInt64Hours(*out) / 24;
    MASA_RETURN_IF_ERROR(Integer(key, &days, min, max));
    *out = absl::Hours(24 * days);
    return absl::OkStatus();
  }

  // Every key of the table must have been asked for.
  absl::Status NoUnknownKeys() const {
    if (table_ == nullptr) return absl::OkStatus();
    for (const auto& [key, node] : *table_) {
      if (!known_.count(std::string(key.str()))) {
        return absl::InvalidArgumentError(absl::StrCat("unknown key ",
                                                       Name(ShowUntrusted(key.str()).c_str()),
                                                       " (line ", node.source().begin.line, ")"));
      }
    }
    return absl::OkStatus();
  }

 private:
  const toml::node* Find(const char* key) {
    known_.insert(key);
    return table_ == nullptr ? nullptr : table_->get(key);
  }
  std::string Name(const char* key) const { return absl::StrCat("[", name_, "] ", key); }
  absl::Status WrongType(const char* key, const char* expected) const {
    return absl::InvalidArgumentError(absl::StrCat(Name(key), " must be ", expected));
  }

  const toml::table* table_;
  std::string name_;
  std::set<std::string> known_;
};

std::string Resolve(const std::string& dir, const std::string& path) {
  if (path.empty() || path[0] == '/' || absl::StartsWith(path, "pkcs11:")) return path;
  return dir == "." ? path : absl::StrCat(dir, "/", path);
}

// RFC 7512 / RFC 3986 percent-encoding of a path-attribute or query value: everything but
// unreserved characters and '/' (for file paths).
std::string PercentEncode(std::string_view s) {
  std::string out;
  for (unsigned char c : s) {
    if (absl::ascii_isalnum(c) || c == '-' || c == '.' || c == '_' || c == '~' || c == '/') {
      out.push_back(static_cast<char>(c));
    } else {
      absl::StrAppendFormat(&out, "%%%02X", c);
    }
  }
  return out;
}

// Checks one [hsm] tokens entry and resolves a relative pin-source file against `dir`.
// kInvalidArgument naming the entry's position (never its text past the path: the query
// could hold a pin-value).
absl::StatusOr<std::string> CheckTokenUri(const std::string& uri, size_t index,
                                          const std::string& dir, const std::string& module) {
  const std::string where = absl::StrCat("[hsm] tokens[", index, "]");
  if (!absl::StartsWith(uri, "pkcs11:")) {
    return absl::InvalidArgumentError(absl::StrCat(where, " must be a pkcs11: token URI"));
  }
  const size_t q = uri.find('?');
  std::string path = uri.substr(7, q == std::string::npos ? std::string::npos : q - 7);
  bool has_token = false;
  for (absl::string_view attr : absl::StrSplit(path, ';')) {
    if (absl::StartsWith(attr, "token=") && attr.size() > 6) has_token = true;
    if (absl::StartsWith(attr, "object=") || absl::StartsWith(attr, "type=")) {
      return absl::InvalidArgumentError(
          absl::StrCat(where, " names a token, not an object: drop object= and type="));
    }
  }
  if (!has_token) {
    return absl::InvalidArgumentError(
        absl::StrCat(where, " needs token=LABEL, e.g. \"pkcs11:token=masa-1?module-path=",
                     "/usr/lib/softhsm/libsofthsm2.so&pin-source=file:/etc/masa/user.pin\""));
  }
  std::vector<std::string> query;
  if (q == std::string::npos) return absl::StrCat(uri, "?module-path=", PercentEncode(module));
  for (absl::string_view attr : absl::StrSplit(uri.substr(q + 1), '&')) {
    if (absl::StartsWith(attr, "pin-value=")) {
      return absl::InvalidArgumentError(
          absl::StrCat(where,
                       " has a pin-value: a PIN does not belong in the configuration, use "
                       "pin-source=file:PATH"));
    }
    if (absl::StartsWith(attr, "pin-source=file:") && attr.size() > 16 && attr[16] != '/') {
      query.push_back(absl::StrCat("pin-source=file:", Resolve(dir, std::string(attr.substr(16)))));
    } else if (absl::StartsWith(attr, "module-path=") || absl::StartsWith(attr, "pin-source=")) {
      query.emplace_back(attr);
    } else {
      return absl::InvalidArgumentError(absl::StrCat(
          where, " has an unknown query attribute (module-path and pin-source are known)"));
    }
  }
  if (std::none_of(query.begin(), query.end(),
                   [](const std::string& a) { return absl::StartsWith(a, "module-path="); })) {
    query.insert(query.begin(), absl::StrCat("module-path=", PercentEncode(module)));
  }
  return absl::StrCat(uri.substr(0, q), "?", absl::StrJoin(query, "&"));
}

}  // namespace

absl::Status ValidateConfig(const MasadConfig& c) {
  if (c.tls_certificate.empty() != c.tls_key.empty()) {
    return absl::InvalidArgumentError("[server] tls_certificate and tls_key go together");
  }
  if (c.tls_certificate.empty() && !c.plain_http) {
    return absl::InvalidArgumentError(
        "[server] needs tls_certificate and tls_key, or plain_http = true (loopback only)");
  }
  if (c.max_connections_per_client > c.max_connections) {
    return absl::InvalidArgumentError(
        "[server] max_connections_per_client exceeds max_connections");
  }
  if (!c.metrics_listen.empty()) {
    std::string address;
    uint16_t port = 0;
    MASA_RETURN_IF_ERROR(
        Annotate(SplitListen(c.metrics_listen, &address, &port), "[metrics] listen"));
  }
  if (!c.grpc_listen.empty()) {
    std::string address;
    uint16_t port = 0;
    MASA_RETURN_IF_ERROR(Annotate(SplitListen(c.grpc_listen, &address, &port), "[grpc] listen"));
    if (c.tls_certificate.empty()) {
      return absl::InvalidArgumentError(
          "[grpc] listen needs [server] tls_certificate and tls_key: gRPC is served over TLS "
          "only");
    }
    if (absl::StartsWith(c.tls_key, "pkcs11:")) {
      // The URI's query may hold a PIN (RFC 7512 pin-value): name the key by its path only.
      std::string key = c.tls_key.substr(0, c.tls_key.find('?'));
      return absl::InvalidArgumentError(absl::StrCat(
          "[grpc] listen needs [server] tls_key in a PEM file: gRPC cannot sign its TLS "
          "handshakes with the HSM key ",
          ShowUntrusted(key), "; serve gRPC with a PEM key or leave [grpc] listen empty"));
    }
  }
  if (c.default_validity > c.max_validity) {
    return absl::InvalidArgumentError("[signing] default_validity_days exceeds max_validity_days");
  }
  if (c.vendor_ien.empty() || c.vendor_ien.find_first_not_of("0123456789") != std::string::npos) {
    return absl::InvalidArgumentError(
        "[signing] vendor_ien must be a decimal IANA enterprise number");
  }
  if (c.session_idle_timeout > c.session_lifetime) {
    return absl::InvalidArgumentError("[web] session_idle_minutes exceeds session_lifetime_hours");
  }
  if (c.oidc) {
    for (auto [key, value] : {std::pair{"issuer", &c.oidc_issuer},
                              {"client_id", &c.oidc_client_id},
                              {"client_secret_file", &c.oidc_client_secret_file},
                              {"redirect_uri", &c.oidc_redirect_uri},
                              {"name", &c.oidc_name}}) {
      if (value->empty()) {
        return absl::InvalidArgumentError(absl::StrCat(
            "[oidc] ", key, " is required for single sign-on (or remove the [oidc] section)"));
      }
    }
    if (!absl::StartsWith(c.oidc_issuer, "https://") &&
        !absl::StartsWith(c.oidc_issuer, "http://")) {
      return absl::InvalidArgumentError(
          absl::StrCat("[oidc] issuer must be an https:// URL (http:// only on loopback), not \"",
                       ShowUntrusted(c.oidc_issuer), "\""));
    }
    if (!absl::EndsWith(c.oidc_redirect_uri, "/auth/oidc/callback")) {
      return absl::InvalidArgumentError(absl::StrCat(
          "[oidc] redirect_uri must be this daemon's /auth/oidc/callback as the browser "
          "reaches it (e.g. https://masa.example.com:8443/auth/oidc/callback), not \"",
          ShowUntrusted(c.oidc_redirect_uri), "\""));
    }
  }
  return absl::OkStatus();
}

std::string DefaultWebRoot() {
  const std::string installed = MASA_INSTALLED_WEB_ROOT;
  if (PathExists(installed + "/index.html")) return installed;
  const std::string source = MASA_SOURCE_WEB_ROOT;
  if (PathExists(source + "/index.html")) return source;
  return installed;
}

absl::StatusOr<MasadConfig> ParseConfig(const std::string& text, const std::string& dir) {
  toml::table root;
  try {
    root = toml::parse(text);
  } catch (const toml::parse_error& e) {
    return absl::InvalidArgumentError(absl::StrCat("configuration line ", e.source().begin.line,
                                                   " column ", e.source().begin.column, ": ",
                                                   ShowUntrusted(e.description(), 256)));
  }
  static const std::set<std::string> kSections = {"server",  "hsm",  "signing", "voucher",
                                                  "audit",   "keys", "store",   "queue",
                                                  "metrics", "grpc", "web",     "oidc"};
  for (const auto& [key, node] : root) {
    std::string name(key.str());
    if (!kSections.count(name) || !node.is_table()) {
      return absl::InvalidArgumentError(absl::StrCat(
          "unknown section [", ShowUntrusted(name), "] (line ", node.source().begin.line,
          "); sections are [server], [hsm], [signing], [voucher], [audit], [keys], [store], [queue], "
          "[metrics], [grpc], [web], [oidc]"));
    }
  }
  MasadConfig c;
  c.config_dir = dir;
  auto table = [&](const char* name) { return root[name].as_table(); };

  Section server(table("server"), "server");
  std::string listen = absl::StrCat(c.listen_address, ":", c.listen_port);
  MASA_RETURN_IF_ERROR(server.String("listen", &listen));
  MASA_RETURN_IF_ERROR(Annotate(OverrideListen(listen, &c), "[server] listen"));
  MASA_RETURN_IF_ERROR(server.String("tls_certificate", &c.tls_certificate));
  MASA_RETURN_IF_ERROR(server.String("tls_key", &c.tls_key));
  MASA_RETURN_IF_ERROR(server.Bool("plain_http", &c.plain_http));
  MASA_RETURN_IF_ERROR(server.Integer("max_header_bytes", &c.max_header_bytes, 1024, 1 << 20));
  MASA_RETURN_IF_ERROR(server.Integer("max_body_bytes", &c.max_body_bytes, 1024, 64 << 20));
  MASA_RETURN_IF_ERROR(server.Integer("max_connections", &c.max_connections, 1, 1 << 20));
  MASA_RETURN_IF_ERROR(
      server.Integer("max_connections_per_client", &c.max_connections_per_client, 1, 1 << 20));
  MASA_RETURN_IF_ERROR(server.Seconds("header_timeout_seconds", &c.header_timeout, 1, 3600));
  MASA_RETURN_IF_ERROR(server.Seconds("request_timeout_seconds", &c.request_timeout, 1, 3600));
  MASA_RETURN_IF_ERROR(server.Seconds("idle_timeout_seconds", &c.idle_timeout, 1, 3600));
  MASA_RETURN_IF_ERROR(server.NoUnknownKeys());

  Section hsm(table("hsm"), "hsm");
  MASA_RETURN_IF_ERROR(hsm.String("module", &c.pkcs11_module));
  MASA_RETURN_IF_ERROR(hsm.String("softhsm_conf", &c.softhsm_conf));
  MASA_RETURN_IF_ERROR(hsm.String("token", &c.token_label));
  MASA_RETURN_IF_ERROR(hsm.String("pin_file", &c.pin_file));
  MASA_RETURN_IF_ERROR(hsm.Strings("tokens", &c.tokens));
  for (size_t i = 0; i < c.tokens.size(); ++i) {
    MASA_ASSIGN_OR_RETURN(c.tokens[i], CheckTokenUri(c.tokens[i], i, dir, c.pkcs11_module));
    for (size_t j = 0; j < i; ++j) {
      if (c.tokens[j] == c.tokens[i]) {
        return absl::InvalidArgumentError(
            absl::StrCat("[hsm] tokens[", i, "] repeats tokens[", j, "]"));
      }
    }
  }
  int64_t call_timeout_ms = absl::ToInt64Milliseconds(c.call_timeout);
  MASA_RETURN_IF_ERROR(hsm.Integer("call_timeout_ms", &call_timeout_ms, 10, 600'000));
  c.call_timeout = absl::Milliseconds(call_timeout_ms);
  int64_t probe_interval_ms = absl::ToInt64Milliseconds(c.probe_interval);
  MASA_RETURN_IF_ERROR(hsm.Integer("probe_interval_ms", &probe_interval_ms, 10, 3'600'000));
  c.probe_interval = absl::Milliseconds(probe_interval_ms);
  MASA_RETURN_IF_ERROR(hsm.NoUnknownKeys());

  Section signing(table("signing"), "signing");
  MASA_RETURN_IF_ERROR(signing.String("key", &c.signing_key));
  MASA_RETURN_IF_ERROR(signing.String("certificate", &c.signing_certificate));
  MASA_RETURN_IF_ERROR(signing.String("chain", &c.signing_chain));
  MASA_RETURN_IF_ERROR(signing.String("vendor_ien", &c.vendor_ien));
  MASA_RETURN_IF_ERROR(signing.Days("default_validity_days", &c.default_validity, 1, 3650));
  MASA_RETURN_IF_ERROR(signing.Days("max_validity_days", &c.max_validity, 1, 36500));
  MASA_RETURN_IF_ERROR(signing.NoUnknownKeys());

  Section voucher(table("voucher"), "voucher");
  std::string assertion(signer::AssertionName(c.default_assertion));
  MASA_RETURN_IF_ERROR(voucher.String("assertion", &assertion));
  if (auto a = signer::ParseAssertion(assertion)) {
    c.default_assertion = *a;
  } else {
    return absl::InvalidArgumentError(
        absl::StrCat("[voucher] assertion: \"", ShowUntrusted(assertion),
                     "\" is not one of verified, logged, proximity, agent-proximity"));
  }
  MASA_RETURN_IF_ERROR(voucher.NoUnknownKeys());

  Section audit(table("audit"), "audit");
  MASA_RETURN_IF_ERROR(audit.String("key", &c.audit_key));
  MASA_RETURN_IF_ERROR(audit.String("origin", &c.audit_origin));
  MASA_RETURN_IF_ERROR(
      audit.Integer("checkpoint_every_entries", &c.checkpoint_every_entries, 1, 1 << 30));
  MASA_RETURN_IF_ERROR(audit.Seconds("checkpoint_every_seconds", &c.checkpoint_every, 1, 86400));
  MASA_RETURN_IF_ERROR(audit.NoUnknownKeys());

  Section keys(table("keys"), "keys");
  MASA_RETURN_IF_ERROR(keys.String("ca_key", &c.ca_key));
  MASA_RETURN_IF_ERROR(keys.Integer("approvals_required", &c.approvals_required, 1, 16));
  MASA_RETURN_IF_ERROR(keys.Seconds("approval_ttl_seconds", &c.approval_ttl, 60, 86400 * 30));
  MASA_RETURN_IF_ERROR(keys.Days("certificate_validity_days", &c.certificate_validity, 1, 36500));
  MASA_RETURN_IF_ERROR(keys.NoUnknownKeys());

  Section store(table("store"), "store");
  MASA_RETURN_IF_ERROR(store.String("state_dir", &c.state_dir));
  uint64_t map_mb = c.max_map_bytes >> 20;
  MASA_RETURN_IF_ERROR(store.Integer("max_map_size_mb", &map_mb, 16, int64_t{1} << 24));
  c.max_map_bytes = map_mb << 20;
  int64_t interval_ms = absl::ToInt64Milliseconds(c.min_commit_interval);
  MASA_RETURN_IF_ERROR(store.Integer("min_commit_interval_ms", &interval_ms, 0, 100));
  c.min_commit_interval = absl::Milliseconds(interval_ms);
  std::string backend = "lmdb";
  MASA_RETURN_IF_ERROR(store.String("backend", &backend));
  MASA_RETURN_IF_ERROR(store.String("postgres", &c.postgres));
  MASA_RETURN_IF_ERROR(store.String("node_id", &c.node_id));
  if (backend != "lmdb" && backend != "postgres") {
    return absl::InvalidArgumentError(absl::StrCat("[store] backend = \"", ShowUntrusted(backend),
                                                   "\": it is \"lmdb\" or \"postgres\""));
  }
  if (backend == "postgres" && c.postgres.empty()) {
    return absl::InvalidArgumentError(
        "[store] backend = \"postgres\" needs postgres = \"<libpq connection string>\", e.g. "
        "\"host=db1,db2 dbname=masa user=masa target_session_attrs=read-write\"");
  }
  if (backend == "lmdb" && !c.postgres.empty()) {
    return absl::InvalidArgumentError(
        "[store] postgres is set but backend is \"lmdb\": set backend = \"postgres\" to use it");
  }
  MASA_RETURN_IF_ERROR(store.NoUnknownKeys());

  Section queue(table("queue"), "queue");
  MASA_RETURN_IF_ERROR(queue.Integer("workers", &c.workers, 1, 256));
  MASA_RETURN_IF_ERROR(queue.Integer("capacity", &c.queue_capacity, 20, 1 << 20));
  MASA_RETURN_IF_ERROR(queue.Integer("max_batch", &c.max_batch, 1, 4096));
  MASA_RETURN_IF_ERROR(queue.Integer("worker_nice", &c.worker_nice, 0, 19));
  int64_t max_queue_delay_ms = absl::ToInt64Milliseconds(c.max_queue_delay);
  MASA_RETURN_IF_ERROR(queue.Integer("max_queue_delay_ms", &max_queue_delay_ms, 0, 60'000));
  c.max_queue_delay = absl::Milliseconds(max_queue_delay_ms);
  MASA_RETURN_IF_ERROR(queue.NoUnknownKeys());

  Section metrics(table("metrics"), "metrics");
  MASA_RETURN_IF_ERROR(metrics.String("listen", &c.metrics_listen));
  MASA_RETURN_IF_ERROR(metrics.NoUnknownKeys());

  Section grpc(table("grpc"), "grpc");
  MASA_RETURN_IF_ERROR(grpc.String("listen", &c.grpc_listen));
  MASA_RETURN_IF_ERROR(
      grpc.Integer("max_message_bytes", &c.grpc_max_message_bytes, 1024, 64 * 1024 * 1024));
  MASA_RETURN_IF_ERROR(grpc.NoUnknownKeys());

  Section web(table("web"), "web");
  MASA_RETURN_IF_ERROR(web.String("root", &c.web_root));
  MASA_RETURN_IF_ERROR(web.String("licence_file", &c.licence_file));
  int64_t lifetime_hours = absl::ToInt64Hours(c.session_lifetime);
  MASA_RETURN_IF_ERROR(web.Integer("session_lifetime_hours", &lifetime_hours, 1, 24 * 30));
  c.session_lifetime = absl::Hours(lifetime_hours);
  int64_t idle_minutes = absl::ToInt64Minutes(c.session_idle_timeout);
  MASA_RETURN_IF_ERROR(web.Integer("session_idle_minutes", &idle_minutes, 1, 24 * 60));
  c.session_idle_timeout = absl::Minutes(idle_minutes);
  MASA_RETURN_IF_ERROR(web.NoUnknownKeys());

  const toml::table* oidc_table = table("oidc");
  Section oidc(oidc_table, "oidc");
  c.oidc = oidc_table != nullptr;
  MASA_RETURN_IF_ERROR(oidc.String("issuer", &c.oidc_issuer));
  MASA_RETURN_IF_ERROR(oidc.String("client_id", &c.oidc_client_id));
  MASA_RETURN_IF_ERROR(oidc.String("client_secret_file", &c.oidc_client_secret_file));
  MASA_RETURN_IF_ERROR(oidc.String("redirect_uri", &c.oidc_redirect_uri));
  MASA_RETURN_IF_ERROR(oidc.String("name", &c.oidc_name));
  MASA_RETURN_IF_ERROR(oidc.String("ca_file", &c.oidc_ca_file));
  MASA_RETURN_IF_ERROR(oidc.NoUnknownKeys());

  if (c.web_root.empty()) c.web_root = DefaultWebRoot();
  for (std::string* path : {&c.tls_certificate, &c.tls_key, &c.softhsm_conf, &c.pin_file,
                            &c.signing_certificate, &c.signing_chain, &c.state_dir, &c.web_root,
                            &c.licence_file, &c.oidc_client_secret_file, &c.oidc_ca_file}) {
    *path = Resolve(dir, *path);
  }
  if (c.licence_file.empty()) c.licence_file = c.web_root + "/licence.txt";
  MASA_RETURN_IF_ERROR(ValidateConfig(c));
  return c;
}

std::vector<std::string> HsmTokenUris(const MasadConfig& c) {
  if (!c.tokens.empty()) return c.tokens;
  return {absl::StrCat("pkcs11:token=", PercentEncode(c.token_label),
                       "?module-path=", PercentEncode(c.pkcs11_module))};
}

absl::Status OverrideListen(const std::string& listen, MasadConfig* c) {
  return SplitListen(listen, &c->listen_address, &c->listen_port);
}

absl::Status SplitListen(const std::string& listen, std::string* address_out, uint16_t* port_out) {
  size_t colon = listen.rfind(':');
  if (colon == std::string::npos || colon == 0) {
    return absl::InvalidArgumentError("must be ADDRESS:PORT, e.g. 127.0.0.1:8443");
  }
  std::string address = listen.substr(0, colon);
  if (address.size() > 2 && address.front() == '[' && address.back() == ']') {
    address = address.substr(1, address.size() - 2);
  }
  int port = 0;
  if (!absl::SimpleAtoi(listen.substr(colon + 1), &port) || port < 0 || port > 65535) {
    return absl::InvalidArgumentError(absl::StrCat("bad port in \"", ShowUntrusted(listen), "\""));
  }
  *address_out = address;
  *port_out = static_cast<uint16_t>(port);
  return absl::OkStatus();
}

absl::StatusOr<MasadConfig> LoadConfig(const std::string& path) {
  MASA_ASSIGN_OR_RETURN(std::string text, ReadFile(path));
  std::string dir = ".";
  if (size_t slash = path.rfind('/'); slash != std::string::npos) {
    dir = slash == 0 ? "/" : path.substr(0, slash);
  }
  auto config = ParseConfig(text, dir);
  if (!config.ok()) return Annotate(config.status(), path);
  return config;
}

namespace {

// A TOML basic string: quotes, backslashes and control characters escaped, so that any
// value ParseConfig accepted is written back as the same value.
std::string TomlString(std::string_view s) {
  std::string out = "\"";
  for (char c : s) {
    if (c == '"' || c == '\\') {
      out.push_back('\\');
      out.push_back(c);
    } else if ((c >= 0 && c < 0x20) || c == 0x7f) {
      absl::StrAppendFormat(&out, "\\u%04X", static_cast<unsigned char>(c));
    } else {
      out.push_back(c);
    }
  }
  out.push_back('"');
  return out;
}

}  // namespace

std::string FormatConfig(const MasadConfig& c) {
  auto q = [](const std::string& s) { return TomlString(s); };
  // SplitListen takes one pair of brackets off the address: put them on whenever the
  // address has a colon (IPv6) or brackets of its own, so that the listen value reads back.
  bool bracket =
      c.listen_address.find(':') != std::string::npos || absl::StartsWith(c.listen_address, "[");
  std::string listen = bracket ? absl::StrCat("[", c.listen_address, "]:", c.listen_port)
                               : absl::StrCat(c.listen_address, ":", c.listen_port);
  return absl::StrCat(
      "[server]\nlisten = ", q(listen), "\ntls_certificate = ", q(c.tls_certificate),
      "\ntls_key = ", q(c.tls_key), "\nplain_http = ", c.plain_http ? "true" : "false",
      "\nmax_header_bytes = ", c.max_header_bytes, "\nmax_body_bytes = ", c.max_body_bytes,
      "\nmax_connections = ", c.max_connections,
      "\nmax_connections_per_client = ", c.max_connections_per_client,
      "\nheader_timeout_seconds = ", absl::ToInt64Seconds(c.header_timeout),
      "\nrequest_timeout_seconds = ", absl::ToInt64Seconds(c.request_timeout),
      "\nidle_timeout_seconds = ", absl::ToInt64Seconds(c.idle_timeout),
      "\n\n[hsm]\nmodule = ", q(c.pkcs11_module), "\nsofthsm_conf = ", q(c.softhsm_conf),
      "\ntoken = ", q(c.token_label), "\npin_file = ", q(c.pin_file), "\ntokens = [",
      absl::StrJoin(c.tokens, ", ",
                    [](std::string* out, const std::string& t) { out->append(TomlString(t)); }),
      "]\ncall_timeout_ms = ", absl::ToInt64Milliseconds(c.call_timeout),
      "\nprobe_interval_ms = ", absl::ToInt64Milliseconds(c.probe_interval),
      "\n\n[signing]\nkey = ", q(c.signing_key), "\ncertificate = ", q(c.signing_certificate),
      "\nchain = ", q(c.signing_chain), "\nvendor_ien = ", q(c.vendor_ien),
      "\ndefault_validity_days = ", absl::ToInt64Hours(c.default_validity) / 24,
      "\nmax_validity_days = ", absl::ToInt64Hours(c.max_validity) / 24,
      "\n\n[voucher]\nassertion = ", q(std::string(signer::AssertionName(c.default_assertion))),
      "\n\n[audit]\nkey = ", q(c.audit_key), "\norigin = ", q(c.audit_origin),
      "\ncheckpoint_every_entries = ", c.checkpoint_every_entries,
      "\ncheckpoint_every_seconds = ", absl::ToInt64Seconds(c.checkpoint_every),
      "\n\n[keys]\nca_key = ", q(c.ca_key), "\napprovals_required = ", c.approvals_required,
      "\napproval_ttl_seconds = ", absl::ToInt64Seconds(c.approval_ttl),
      "\ncertificate_validity_days = ", absl::ToInt64Hours(c.certificate_validity) / 24,
      "\n\n[store]\nstate_dir = ", q(c.state_dir), "\nmax_map_size_mb = ", c.max_map_bytes >> 20,
      "\nmin_commit_interval_ms = ", absl::ToInt64Milliseconds(c.min_commit_interval),
      c.postgres.empty() ? "\nbackend = \"lmdb\""
                         : absl::StrCat("\nbackend = \"postgres\"\npostgres = ", q(c.postgres)),
      c.node_id.empty() ? "" : absl::StrCat("\nnode_id = ", q(c.node_id)),
      "\n\n[queue]\nworkers = ", c.workers, "\ncapacity = ", c.queue_capacity,
      "\nmax_batch = ", c.max_batch, "\nworker_nice = ", c.worker_nice,
      "\nmax_queue_delay_ms = ", absl::ToInt64Milliseconds(c.max_queue_delay),
      "\n\n[metrics]\nlisten = ", q(c.metrics_listen), "\n\n[grpc]\nlisten = ", q(c.grpc_listen),
      "\nmax_message_bytes = ", c.grpc_max_message_bytes, "\n\n[web]\nroot = ", q(c.web_root),
      "\nlicence_file = ", q(c.licence_file),
      "\nsession_lifetime_hours = ", absl::ToInt64Hours(c.session_lifetime),
      "\nsession_idle_minutes = ", absl::ToInt64Minutes(c.session_idle_timeout), "\n",
      c.oidc ? absl::StrCat("\n[oidc]\nissuer = ", q(c.oidc_issuer),
                            "\nclient_id = ", q(c.oidc_client_id),
                            "\nclient_secret_file = ", q(c.oidc_client_secret_file),
                            "\nredirect_uri = ", q(c.oidc_redirect_uri),
                            "\nname = ", q(c.oidc_name), "\nca_file = ", q(c.oidc_ca_file), "\n")
             : std::string());
}

}  // namespace masa::tools
