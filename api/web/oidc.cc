#include "api/web/oidc.h"

#include <unistd.h>

#include <openssl/crypto.h>
#include <openssl/rand.h>

#include <algorithm>
#include <map>
#include <utility>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/synchronization/mutex.h"
#include "api/web/internal/id_token.h"
#include "api/web/internal/provider_http.h"
#include "common/base64.h"
#include "common/log.h"
#include "common/secret.h"
#include "common/sha256.h"
#include "common/status.h"
#include "common/utf8.h"

namespace masa::api::web {
namespace {

using internal::HttpAnswer;
using internal::HttpClient;
using internal::Jwk;
using nlohmann::json;

constexpr size_t kMaxPendingLogins = 10000;
// An ID token signed with a key the JWKS does not hold makes the provider's documents be
// read again, but not more often than this (a stream of made-up key ids cannot turn this
// daemon into a load generator against the provider).
constexpr absl::Duration kRefetchInterval = absl::Minutes(1);

struct ProviderMetadata {
  std::string authorization_endpoint;
  std::string token_endpoint;
  std::string jwks_uri;
  std::string userinfo_endpoint;  // "" when the provider names none
};

using Keys = std::shared_ptr<const std::vector<Jwk>>;

absl::Status Refused(std::string message) { return absl::UnauthenticatedError(std::move(message)); }

void Wipe(std::string& s) {
  if (!s.empty()) OPENSSL_cleanse(s.data(), s.size());
}

// 32 random bytes, base64url (43 characters).
absl::StatusOr<std::string> RandomValue() {
  unsigned char bytes[32];
  if (RAND_bytes(bytes, sizeof(bytes)) != 1) {
    return absl::InternalError("the random generator failed");
  }
  std::string out =
      Base64UrlEncode(std::string_view(reinterpret_cast<char*>(bytes), sizeof(bytes)));
  OPENSSL_cleanse(bytes, sizeof(bytes));
  return out;
}

std::string DiscoveryUrl(std::string_view issuer) {
  while (!issuer.empty() && issuer.back() == '/') issuer.remove_suffix(1);
  return absl::StrCat(Sv(issuer), "/.well-known/openid-configuration");
}

// A listed capability: absent lists mean the protocol's default, which is what we use.
bool ListedOrAbsent(const json& doc, const char* name, std::string_view want) {
  auto it = doc.find(name);
  if (it == doc.end() || !it->is_array()) return true;
  return std::any_of(it->begin(), it->end(),
                     [&](const json& v) { return v.is_string() && v.get<std::string>() == want; });
}

absl::StatusOr<ProviderMetadata> Discover(const HttpClient& http, const std::string& issuer) {
  const std::string url = DiscoveryUrl(issuer);
  const std::string what = absl::StrCat("the discovery document at ", url);
  MASA_ASSIGN_OR_RETURN(HttpAnswer answer, http.Get(url));
  if (answer.status != 200) {
    return absl::UnavailableError(absl::StrCat(url, " answered HTTP ", answer.status));
  }
  MASA_ASSIGN_OR_RETURN(json doc, internal::ParseProviderJson(answer.body, what));
  auto url_member = [&](const char* name) -> absl::StatusOr<std::string> {
    auto it = doc.find(name);
    if (it == doc.end() || !it->is_string()) {
      return absl::UnavailableError(absl::StrCat(what, " has no \"", name, "\""));
    }
    std::string value = it->get<std::string>();
    absl::Status ok = internal::CheckProviderUrl(value, absl::StrCat(what, ": its ", name));
    if (!ok.ok()) return absl::UnavailableError(ok.message());
    // An https provider sends this daemon (and its client secret) nowhere in plain http.
    if (internal::IsLoopbackHttpUrl(value) && !internal::IsLoopbackHttpUrl(issuer)) {
      return absl::UnavailableError(absl::StrCat(what, ": its ", name, " \"",
                                                 ShowUntrusted(value, 200),
                                                 "\" is plain http while the issuer is https"));
    }
    return value;
  };
  auto issuer_member = doc.find("issuer");
  if (issuer_member == doc.end() || !issuer_member->is_string()) {
    return absl::UnavailableError(absl::StrCat(what, " has no \"issuer\""));
  }
  if (issuer_member->get<std::string>() != issuer) {
    return absl::UnavailableError(absl::StrCat(
        what, " names the issuer \"", ShowUntrusted(issuer_member->get<std::string>(), 200),
        "\", not the configured \"", issuer, "\" (they must be equal, character for character)"));
  }
  ProviderMetadata metadata;
  MASA_ASSIGN_OR_RETURN(metadata.authorization_endpoint, url_member("authorization_endpoint"));
  MASA_ASSIGN_OR_RETURN(metadata.token_endpoint, url_member("token_endpoint"));
  MASA_ASSIGN_OR_RETURN(metadata.jwks_uri, url_member("jwks_uri"));
  if (doc.contains("userinfo_endpoint")) {
    MASA_ASSIGN_OR_RETURN(metadata.userinfo_endpoint, url_member("userinfo_endpoint"));
  }
  if (!ListedOrAbsent(doc, "code_challenge_methods_supported", "S256")) {
    return absl::UnavailableError(absl::StrCat(what, " does not offer PKCE with S256"));
  }
  if (!ListedOrAbsent(doc, "token_endpoint_auth_methods_supported", "client_secret_basic")) {
    return absl::UnavailableError(
        absl::StrCat(what, " does not offer client_secret_basic at its token endpoint"));
  }
  return metadata;
}

absl::StatusOr<Keys> FetchJwks(const HttpClient& http, const std::string& url) {
  MASA_ASSIGN_OR_RETURN(HttpAnswer answer, http.Get(url));
  if (answer.status != 200) {
    return absl::UnavailableError(absl::StrCat(url, " answered HTTP ", answer.status));
  }
  MASA_ASSIGN_OR_RETURN(std::vector<Jwk> keys, internal::ParseJwks(answer.body, url));
  return std::make_shared<const std::vector<Jwk>>(std::move(keys));
}

absl::Status CheckOptions(const OidcOptions& o) {
  auto bad = [](std::string message) { return absl::InvalidArgumentError(std::move(message)); };
  MASA_RETURN_IF_ERROR(internal::CheckProviderUrl(o.issuer, "the OIDC issuer"));
  if (o.issuer.find('?') != std::string::npos) {
    return bad("the OIDC issuer must not have a query (?...)");
  }
  if (o.client_id.empty() || o.client_id.size() > 1024 || !IsValidUtf8(o.client_id) ||
      std::any_of(o.client_id.begin(), o.client_id.end(),
                  [](char c) { return static_cast<unsigned char>(c) < 0x20 || c == 0x7f; })) {
    return bad("the OIDC client_id must be a non-empty line of text");
  }
  if (o.client_secret.empty()) return bad("the OIDC client secret is empty");
  MASA_RETURN_IF_ERROR(internal::CheckProviderUrl(o.redirect_uri, "the OIDC redirect_uri"));
  std::vector<absl::string_view> scopes = absl::StrSplit(o.scopes, ' ', absl::SkipEmpty());
  if (std::find(scopes.begin(), scopes.end(), "openid") == scopes.end()) {
    return bad(
        absl::StrCat("the OIDC scopes \"", ShowUntrusted(o.scopes), "\" must include \"openid\""));
  }
  if (!IsValidUtf8(o.scopes) || o.scopes.find_first_of("\r\n\t") != std::string::npos) {
    return bad("the OIDC scopes must be one line of space-separated names");
  }
  if (!o.ca_file.empty() && access(o.ca_file.c_str(), R_OK) != 0) {
    return bad(absl::StrCat("the OIDC ca_file ", o.ca_file, " cannot be read"));
  }
  if (o.login_timeout <= absl::ZeroDuration())
    return bad("the OIDC login_timeout must be positive");
  if (o.clock_skew < absl::ZeroDuration()) return bad("the OIDC clock_skew must not be negative");
  if (o.http_timeout <= absl::ZeroDuration()) return bad("the OIDC http_timeout must be positive");
  return absl::OkStatus();
}

class OidcClientImpl final : public OidcClient {
 public:
  OidcClientImpl(OidcOptions options, ProviderMetadata metadata, Keys keys)
      : options_(std::move(options)),
        clock_(options_.clock != nullptr ? options_.clock : &SystemClock()),
        http_({.ca_file = options_.ca_file, .timeout = options_.http_timeout}),
        metadata_(std::move(metadata)), keys_(std::move(keys)) {}

  absl::StatusOr<OidcLogin> Begin() override;
  absl::StatusOr<service::VerifiedIdentity> Finish(std::string_view code, std::string_view state,
                                                   std::string_view browser_binding) override;
  void ForgetState(std::string_view state) override;

 private:
  struct Pending {
    std::string nonce;
    std::string verifier;  // the PKCE code_verifier; wiped when the login ends
    std::string binding;
    absl::Time expires;
  };

  // The pending login of `state`, removed (each state is used once).
  absl::StatusOr<Pending> TakePending(std::string_view state, std::string_view binding);
  struct Tokens {
    std::string id_token;
    std::string access_token;  // "" when the provider sent none
    ~Tokens() {
      Wipe(id_token);
      Wipe(access_token);
    }
  };
  // The tokens for `code`, from the token endpoint.
  absl::StatusOr<Tokens> ExchangeCode(std::string_view code, const Pending& login);
  // The e-mail address from the UserInfo endpoint, for an ID token without one (some
  // providers, npm oidc-provider by default among them, put the scope's claims only there).
  // Its answer must be about the same `subject` (OpenID Connect Core 1.0 section 5.3.2).
  absl::StatusOr<std::string> UserInfoEmail(const std::string& access_token,
                                            const std::string& subject);
  // The keys that may have signed a token with `header`, reading the provider's documents
  // again (at most once per kRefetchInterval) when the JWKS holds none.
  absl::StatusOr<std::vector<Jwk>> KeysFor(const internal::JwsHeader& header);

  const OidcOptions options_;
  const Clock* const clock_;
  const HttpClient http_;

  absl::Mutex mu_;
  ProviderMetadata metadata_ ABSL_GUARDED_BY(mu_);
  Keys keys_ ABSL_GUARDED_BY(mu_);
  absl::Time last_refetch_ ABSL_GUARDED_BY(mu_) = absl::InfinitePast();
  absl::Time last_eviction_warning_ ABSL_GUARDED_BY(mu_) = absl::InfinitePast();
  std::map<std::string, Pending, std::less<>> pending_ ABSL_GUARDED_BY(mu_);
};

absl::StatusOr<OidcLogin> OidcClientImpl::Begin() {
  MASA_ASSIGN_OR_RETURN(std::string state, RandomValue());
  MASA_ASSIGN_OR_RETURN(std::string nonce, RandomValue());
  MASA_ASSIGN_OR_RETURN(std::string verifier, RandomValue());
  MASA_ASSIGN_OR_RETURN(std::string binding, RandomValue());
  const std::string challenge = Base64UrlEncode(Sha256(verifier));
  using internal::PercentEncode;
  std::string endpoint;
  {
    absl::MutexLock lock(&mu_);
    endpoint = metadata_.authorization_endpoint;
  }
  OidcLogin login;
  login.authorization_url =
      absl::StrCat(endpoint, endpoint.find('?') == std::string::npos ? "?" : "&",
                   "response_type=code&client_id=", PercentEncode(options_.client_id),
                   "&redirect_uri=", PercentEncode(options_.redirect_uri),
                   "&scope=", PercentEncode(options_.scopes), "&state=", state, "&nonce=", nonce,
                   "&code_challenge=", challenge, "&code_challenge_method=S256");
  login.browser_binding = binding;

  const absl::Time now = clock_->Now();
  absl::MutexLock lock(&mu_);
  if (pending_.size() >= kMaxPendingLogins) {
    // Expired logins go first; if the table is still full, the one that expires first.
    for (auto it = pending_.begin(); it != pending_.end();) {
      if (it->second.expires <= now) {
        Wipe(it->second.verifier);
        it = pending_.erase(it);
      } else {
        ++it;
      }
    }
    if (pending_.size() >= kMaxPendingLogins) {
      auto oldest = std::min_element(pending_.begin(), pending_.end(), [](auto& a, auto& b) {
        return a.second.expires < b.second.expires;
      });
      Wipe(oldest->second.verifier);
      pending_.erase(oldest);
      if (now - last_eviction_warning_ >= absl::Minutes(1)) {  // one line, not a flood
        last_eviction_warning_ = now;
        Log(LogLevel::kWarning,
            "oidc: more than 10000 sign-ins in progress; dropping the oldest to begin new ones");
      }
    }
  }
  pending_[state] = Pending{.nonce = std::move(nonce),
                            .verifier = std::move(verifier),
                            .binding = std::move(binding),
                            .expires = now + options_.login_timeout};
  return login;
}

void OidcClientImpl::ForgetState(std::string_view state) {
  absl::MutexLock lock(&mu_);
  auto it = pending_.find(state);
  if (it == pending_.end()) return;
  Wipe(it->second.verifier);
  pending_.erase(it);
}

absl::StatusOr<OidcClientImpl::Pending> OidcClientImpl::TakePending(std::string_view state,
                                                                    std::string_view binding) {
  Pending login;
  {
    absl::MutexLock lock(&mu_);
    auto it = pending_.find(state);
    if (it == pending_.end()) {
      return Refused(
          "this sign-in is unknown, was already completed, or was started before the daemon "
          "restarted; sign in again");
    }
    login = std::move(it->second);
    pending_.erase(it);
  }
  absl::Status refused;
  if (clock_->Now() >= login.expires) {
    refused = Refused(absl::StrCat("this sign-in took longer than ",
                                   absl::FormatDuration(options_.login_timeout),
                                   " to complete; sign in again"));
  } else if (binding.empty()) {
    refused = Refused(
        "this browser did not send the sign-in cookie (__Host-masa_oidc); allow cookies for "
        "this site and sign in again");
  } else if (!SecretsEqual(binding, login.binding)) {
    refused = Refused(
        "this sign-in was started in another browser (its cookie does not match); sign in "
        "again");
  }
  if (!refused.ok()) {
    Wipe(login.verifier);
    return refused;
  }
  return login;
}

absl::StatusOr<OidcClientImpl::Tokens> OidcClientImpl::ExchangeCode(std::string_view code,
                                                                    const Pending& login) {
  using internal::PercentEncode;
  std::string token_endpoint;
  {
    absl::MutexLock lock(&mu_);
    token_endpoint = metadata_.token_endpoint;
  }
  // RFC 6749 section 2.3.1: client_secret_basic form-encodes the id and the secret first.
  std::string credentials = absl::StrCat(PercentEncode(options_.client_id), ":",
                                         PercentEncode(options_.client_secret.view()));
  std::string authorization = absl::StrCat("Basic ", Base64Encode(credentials));
  std::string form = absl::StrCat("grant_type=authorization_code&code=", PercentEncode(code),
                                  "&redirect_uri=", PercentEncode(options_.redirect_uri),
                                  "&code_verifier=", PercentEncode(login.verifier));
  absl::StatusOr<HttpAnswer> answer = http_.PostForm(token_endpoint, form, authorization);
  Wipe(credentials);
  Wipe(authorization);
  Wipe(form);
  if (!answer.ok()) return answer.status();
  const std::string what = absl::StrCat("the answer of the token endpoint ", token_endpoint);
  absl::StatusOr<json> doc = internal::ParseProviderJson(answer->body, what);
  Wipe(answer->body);
  if (answer->status != 200) {
    std::string error;
    if (doc.ok() && doc->contains("error") && (*doc)["error"].is_string()) {
      error = absl::StrCat(": ", ShowUntrusted((*doc)["error"].get<std::string>()));
      if (doc->contains("error_description") && (*doc)["error_description"].is_string()) {
        error += absl::StrCat(
            " (", ShowUntrusted((*doc)["error_description"].get<std::string>(), 200), ")");
      }
    }
    std::string message = absl::StrCat(
        "the identity provider refused the sign-in at its token "
        "endpoint: HTTP ",
        answer->status, error);
    if (answer->status >= 400 && answer->status < 500) return Refused(message);
    return absl::UnavailableError(message);
  }
  if (!doc.ok()) return doc.status();
  auto id_token = doc->find("id_token");
  if (id_token == doc->end() || !id_token->is_string()) {
    return Refused(
        "the identity provider's token endpoint answered without an ID token (is \"openid\" "
        "among the scopes?)");
  }
  Tokens tokens;
  tokens.id_token = id_token->get<std::string>();
  if (auto access = doc->find("access_token"); access != doc->end() && access->is_string()) {
    tokens.access_token = access->get<std::string>();
  }
  return tokens;
}

absl::StatusOr<std::string> OidcClientImpl::UserInfoEmail(const std::string& access_token,
                                                          const std::string& subject) {
  std::string endpoint;
  {
    absl::MutexLock lock(&mu_);
    endpoint = metadata_.userinfo_endpoint;
  }
  const char* kNoEmail =
      "the identity provider's ID token carries no e-mail address; the provider must release "
      "the \"email\" claim to this client (scope \"email\")";
  if (endpoint.empty() || access_token.empty()) return Refused(kNoEmail);
  std::string authorization = absl::StrCat("Bearer ", access_token);
  absl::StatusOr<HttpAnswer> answer = http_.Get(endpoint, authorization);
  Wipe(authorization);
  if (!answer.ok()) return answer.status();
  if (answer->status != 200) {
    std::string message = absl::StrCat("the identity provider's UserInfo endpoint ", endpoint,
                                       " answered HTTP ", answer->status, " (", kNoEmail, ")");
    if (answer->status >= 400 && answer->status < 500) return Refused(message);
    return absl::UnavailableError(message);
  }
  MASA_ASSIGN_OR_RETURN(
      json claims,
      internal::ParseProviderJson(answer->body,
                                  absl::StrCat("the answer of the UserInfo endpoint ", endpoint)));
  auto sub = claims.find("sub");
  if (sub == claims.end() || !sub->is_string() || sub->get<std::string>() != subject) {
    return Refused(
        "the identity provider's UserInfo endpoint answered about another subject (sub) than "
        "its ID token");
  }
  return internal::ReadEmail(claims, "the identity provider's UserInfo answer");
}

absl::StatusOr<std::vector<Jwk>> OidcClientImpl::KeysFor(const internal::JwsHeader& header) {
  auto copy = [&](const Keys& keys) {
    std::vector<Jwk> out;
    for (const Jwk* key : internal::KeysFor(header, *keys)) out.push_back(*key);
    return out;
  };
  {
    absl::MutexLock lock(&mu_);
    std::vector<Jwk> fit = copy(keys_);
    if (!fit.empty()) return fit;
    const absl::Time now = clock_->Now();
    if (now - last_refetch_ < kRefetchInterval) return fit;
    last_refetch_ = now;
  }
  // A key the JWKS does not hold: the provider may have rotated its keys since.
  Log(LogLevel::kInfo, "oidc: an ID token names a key the JWKS does not hold; reading it again");
  MASA_ASSIGN_OR_RETURN(ProviderMetadata metadata, Discover(http_, options_.issuer));
  MASA_ASSIGN_OR_RETURN(Keys keys, FetchJwks(http_, metadata.jwks_uri));
  absl::MutexLock lock(&mu_);
  metadata_ = std::move(metadata);
  keys_ = std::move(keys);
  return copy(keys_);
}

absl::StatusOr<service::VerifiedIdentity> OidcClientImpl::Finish(std::string_view code,
                                                                 std::string_view state,
                                                                 std::string_view browser_binding) {
  if (state.empty() || state.size() > 512) return Refused("the sign-in answer carries no state");
  MASA_ASSIGN_OR_RETURN(Pending login, TakePending(state, browser_binding));
  absl::StatusOr<service::VerifiedIdentity> identity =
      [&]() -> absl::StatusOr<service::VerifiedIdentity> {
    if (code.empty() || code.size() > 4096) {
      return Refused("the identity provider's answer carries no authorization code");
    }
    MASA_ASSIGN_OR_RETURN(Tokens tokens, ExchangeCode(code, login));
    MASA_ASSIGN_OR_RETURN(internal::JwsHeader header, internal::ReadJwsHeader(tokens.id_token));
    MASA_ASSIGN_OR_RETURN(std::vector<Jwk> keys, KeysFor(header));
    if (keys.empty()) {
      return Refused(absl::StrCat(
          "the identity provider's ID token is signed with a key it does not publish",
          header.kid ? absl::StrCat(" (kid \"", ShowUntrusted(*header.kid), "\")") : ""));
    }
    std::vector<const Jwk*> candidates;
    for (const Jwk& key : keys) candidates.push_back(&key);
    MASA_ASSIGN_OR_RETURN(json claims,
                          internal::VerifyIdTokenSignature(tokens.id_token, header, candidates));
    MASA_ASSIGN_OR_RETURN(
        service::VerifiedIdentity who,
        internal::CheckIdTokenClaims(claims, {.issuer = options_.issuer,
                                              .client_id = options_.client_id,
                                              .nonce = login.nonce,
                                              .now = clock_->Now(),
                                              .clock_skew = options_.clock_skew}));
    if (who.email.empty()) {
      MASA_ASSIGN_OR_RETURN(who.email, UserInfoEmail(tokens.access_token, who.subject));
    }
    return who;
  }();
  Wipe(login.verifier);
  return identity;
}

}  // namespace

absl::StatusOr<std::unique_ptr<OidcClient>> OidcClient::Create(OidcOptions options) {
  MASA_RETURN_IF_ERROR(CheckOptions(options));
  HttpClient http({.ca_file = options.ca_file, .timeout = options.http_timeout});
  MASA_ASSIGN_OR_RETURN(ProviderMetadata metadata, Discover(http, options.issuer));
  MASA_ASSIGN_OR_RETURN(Keys keys, FetchJwks(http, metadata.jwks_uri));
  return std::unique_ptr<OidcClient>(
      new OidcClientImpl(std::move(options), std::move(metadata), std::move(keys)));
}

}  // namespace masa::api::web
