// Fuzzes the reading of an identity provider's ID token and answers (api/web/internal/
// id_token.h, provider_http.h): the JOSE header, the key choice, the signature, the claims,
// the e-mail address, the JWKS, the provider's JSON and URLs. Keys are made once per process
// (OpenSSL): "fixed" keys that never sign anything (EC P-256 with kid and alg, RSA 2048 with
// a kid, EC P-384 with neither) and one signing key (EC P-256, kid "ec-sign"). The input is
// split at its first two NULs into a JOSE header (empty: {"alg":"ES256","kid":"ec-sign"}),
// claims, and a rest; the target signs header and claims with the signing key (ES256) into a
// token, so that the claims are reached through a really signed token, and reads the rest as
// a token of its own, a JWKS, a URL and a JSON answer. Beyond not crashing, it asserts:
//  - ReadJwsHeader accepts only three dot-separated base64url parts (no padding: cjose
//    aborts on some) of at most kMaxIdTokenBytes whose header is a JSON object with an alg
//    of RS256, RS384, RS512, PS256, ES256 or ES384 (so never none, HMAC or anything else),
//    no crit, and the kid it answers (a string of at most 1024 bytes), if any;
//  - KeysFor answers exactly the keys, in order, whose kid, kty, curve and alg fit;
//  - the rest never verifies against the fixed keys; the signed token verifies only with
//    alg ES256 and a kid naming the signing key or none, always so with the default header
//    and claims that are one JSON object, its claims then being exactly what was signed; one
//    changed signature character makes it fail;
//  - CheckIdTokenClaims accepts exactly when the rules of id_token.h hold, checked again here
//    (iss; aud and azp; exp, iat, nbf against the clock and its skew; nonce; sub; email),
//    and answers the claims' iss, sub and email; ReadEmail likewise, and refuses control
//    characters and white space anywhere in the address;
//  - ParseJwks keeps at most 100 signing keys, each RSA or EC on P-256 or P-384 with "use"
//    absent or "sig", and the kid and alg the key's JSON gives; ParseProviderJson answers an
//    object equal to nlohmann's reading; CheckProviderUrl accepts only printable ASCII
//    "https://host...", or "http://host..." with a loopback host, with no user name;
//  - every failure is kUnauthenticated (token, claims, e-mail), kUnavailable (JWKS, answers)
//    or kInvalidArgument (URLs) with one printable line that quotes neither a token's
//    signature nor the expected nonce (unless the token's own header or claims carried it).
// Bounds per input: the token at most kMaxIdTokenBytes (64 KiB), answers at most
// kMaxProviderAnswerBytes and 16 levels deep, 100 keys of a JWKS, RSA keys of 16384 bits.
#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/rsa.h>

#include <algorithm>
#include <cctype>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "api/web/internal/id_token.h"
#include "api/web/internal/provider_http.h"
#include "common/base64.h"
#include "common/openssl.h"
#include "common/testing/fuzz.h"
#include "common/utf8.h"
#include "nlohmann/json.hpp"

namespace {

using masa::UniquePtr;
using masa::api::web::internal::CheckIdTokenClaims;
using masa::api::web::internal::CheckProviderUrl;
using masa::api::web::internal::IdTokenExpectations;
using masa::api::web::internal::IsLoopbackHttpUrl;
using masa::api::web::internal::Jwk;
using masa::api::web::internal::JwsHeader;
using masa::api::web::internal::KeysFor;
using masa::api::web::internal::kMaxIdTokenBytes;
using masa::api::web::internal::ParseJwks;
using masa::api::web::internal::ParseProviderJson;
using masa::api::web::internal::ReadEmail;
using masa::api::web::internal::ReadJwsHeader;
using masa::api::web::internal::VerifyIdTokenSignature;
using masa::testing::IsPrintableLine;
using nlohmann::json;

constexpr char kIssuer[] = "https://idp.example";
constexpr char kClientId[] = "masa-client";
constexpr char kNonce[] = "n-0S2vq1fYk3";
constexpr char kJwksUrl[] = "https://idp.example/jwks";
constexpr int64_t kNow = 1795996800;  // 2026-11-30T00:00:00Z
constexpr int64_t kSkew = 120;
constexpr char kDefaultHeader[] = R"({"alg":"ES256","kid":"ec-sign"})";

void Require(bool ok) {
  if (!ok) abort();
}

// An OpenSSL key's big-number parameter, big-endian, left-padded to `pad` bytes if given.
std::string Bn(const EVP_PKEY* key, const char* name, int pad = 0) {
  BIGNUM* bn = nullptr;
  Require(EVP_PKEY_get_bn_param(key, name, &bn) == 1);
  UniquePtr<BIGNUM> owned(bn);
  std::string out(pad > 0 ? pad : BN_num_bytes(bn), '\0');
  BN_bn2binpad(bn, reinterpret_cast<unsigned char*>(out.data()), static_cast<int>(out.size()));
  return out;
}

json EcJwk(const EVP_PKEY* key, const char* crv, int bytes) {
  return {{"kty", "EC"},
          {"crv", crv},
          {"x", masa::Base64UrlEncode(Bn(key, OSSL_PKEY_PARAM_EC_PUB_X, bytes))},
          {"y", masa::Base64UrlEncode(Bn(key, OSSL_PKEY_PARAM_EC_PUB_Y, bytes))}};
}

struct Keys {
  std::vector<Jwk> fixed;    // their private halves never sign anything
  std::vector<Jwk> signing;  // the fixed ones and the signing key's public half
  UniquePtr<EVP_PKEY> signer;
};

const Keys& TheKeys() {
  static const Keys* keys = [] {
    auto* k = new Keys;
    UniquePtr<EVP_PKEY> ec256(EVP_EC_gen("P-256"));
    UniquePtr<EVP_PKEY> ec384(EVP_EC_gen("P-384"));
    UniquePtr<EVP_PKEY> rsa(EVP_RSA_gen(2048));
    k->signer.reset(EVP_EC_gen("P-256"));
    Require(ec256 && ec384 && rsa && k->signer);
    json a = EcJwk(ec256.get(), "P-256", 32);
    a["kid"] = "ec-1";
    a["alg"] = "ES256";
    a["use"] = "sig";
    json b = {{"kty", "RSA"},
              {"kid", "rsa-1"},
              {"n", masa::Base64UrlEncode(Bn(rsa.get(), OSSL_PKEY_PARAM_RSA_N))},
              {"e", masa::Base64UrlEncode(Bn(rsa.get(), OSSL_PKEY_PARAM_RSA_E))}};
    json c = EcJwk(ec384.get(), "P-384", 48);
    json s = EcJwk(k->signer.get(), "P-256", 32);
    s["kid"] = "ec-sign";
    s["alg"] = "ES256";
    absl::StatusOr<std::vector<Jwk>> fixed = ParseJwks(json{{"keys", {a, b, c}}}.dump(), kJwksUrl);
    absl::StatusOr<std::vector<Jwk>> all = ParseJwks(json{{"keys", {s, a, b, c}}}.dump(), kJwksUrl);
    Require(fixed.ok() && fixed->size() == 3 && all.ok() && all->size() == 4);
    k->fixed = *std::move(fixed);
    k->signing = *std::move(all);
    return k;
  }();
  return *keys;
}

// ES256 (RFC 7518 section 3.4): ECDSA over SHA-256, the signature as r || s.
std::string SignEs256(const EVP_PKEY* key, std::string_view input) {
  UniquePtr<EVP_MD_CTX> ctx(EVP_MD_CTX_new());
  auto* in = reinterpret_cast<const unsigned char*>(input.data());
  size_t len = 0;
  Require(EVP_DigestSignInit(ctx.get(), nullptr, EVP_sha256(), nullptr,
                             const_cast<EVP_PKEY*>(key)) == 1 &&
          EVP_DigestSign(ctx.get(), nullptr, &len, in, input.size()) == 1);
  std::string der(len, '\0');
  Require(EVP_DigestSign(ctx.get(), reinterpret_cast<unsigned char*>(der.data()), &len, in,
                         input.size()) == 1);
  auto* p = reinterpret_cast<const unsigned char*>(der.data());
  UniquePtr<ECDSA_SIG> sig(d2i_ECDSA_SIG(nullptr, &p, static_cast<long>(len)));
  Require(sig != nullptr);
  std::string raw(64, '\0');
  auto* out = reinterpret_cast<unsigned char*>(raw.data());
  BN_bn2binpad(ECDSA_SIG_get0_r(sig.get()), out, 32);
  BN_bn2binpad(ECDSA_SIG_get0_s(sig.get()), out + 32, 32);
  return raw;
}

const json* Member(const json& object, const char* name) {
  if (!object.is_object()) return nullptr;
  auto it = object.find(name);
  return it == object.end() ? nullptr : &*it;
}

std::string Text(const json& object, const char* name) {
  const json* v = Member(object, name);
  return v != nullptr && v->is_string() ? v->get<std::string>() : "";
}

// A token's parts: the header's JSON text ("" when not base64url) and the signature part.
struct Parts {
  std::string header;
  std::string_view signature;
};
Parts PartsOf(std::string_view token) {
  Parts parts;
  absl::StatusOr<std::string> header = masa::Base64UrlDecode(token.substr(0, token.find('.')));
  if (header.ok()) parts.header = *header;
  size_t last = token.rfind('.');
  if (last != std::string_view::npos) parts.signature = token.substr(last + 1);
  return parts;
}

// A refusal: the code, one printable line, no token signature quoted (a signature part the
// header also holds may come back through a quoted kid), and the nonce only when `carried`
// (the token's own header or claims) holds it.
void CheckRefusal(const absl::Status& status, absl::StatusCode code, std::string_view token,
                  std::string_view carried = "") {
  Require(!status.ok() && status.code() == code && IsPrintableLine(std::string(status.message())));
  std::string message(status.message());
  if (!token.empty()) {
    Parts parts = PartsOf(token);
    if (parts.signature.size() >= 16 && message.find(parts.signature) != std::string::npos) {
      Require(parts.header.find(parts.signature) != std::string::npos);
    }
  }
  if (message.find(kNonce) != std::string::npos) {
    Require(carried.find(kNonce) != std::string_view::npos);
  }
}

bool AllowedAlg(const std::string& alg) {
  for (const char* a : {"RS256", "RS384", "RS512", "PS256", "ES256", "ES384"}) {
    if (alg == a) return true;
  }
  return false;
}

// ReadJwsHeader's answer against the header the token carries.
std::optional<JwsHeader> CheckHeader(std::string_view token) {
  absl::StatusOr<JwsHeader> header = ReadJwsHeader(token);
  Parts parts = PartsOf(token);
  if (!header.ok()) {
    CheckRefusal(header.status(), absl::StatusCode::kUnauthenticated, token, parts.header);
    return std::nullopt;
  }
  Require(token.size() <= kMaxIdTokenBytes && std::count(token.begin(), token.end(), '.') == 2);
  Require(std::all_of(token.begin(), token.end(), [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_' || c == '.';
  }));
  json parsed = json::parse(parts.header, nullptr, false);
  Require(parsed.is_object());
  const json* alg = Member(parsed, "alg");
  Require(alg != nullptr && alg->is_string() && alg->get<std::string>() == header->alg);
  Require(AllowedAlg(header->alg) && Member(parsed, "crit") == nullptr);
  const json* kid = Member(parsed, "kid");
  if (kid == nullptr) {
    Require(!header->kid.has_value());
  } else {
    Require(kid->is_string() && kid->get<std::string>().size() <= 1024 && header->kid &&
            *header->kid == kid->get<std::string>());
  }
  return *header;
}

std::vector<const Jwk*> CheckKeysFor(const JwsHeader& header, const std::vector<Jwk>& keys) {
  std::vector<const Jwk*> fit = KeysFor(header, keys);
  bool ec = header.alg[0] == 'E';
  const char* crv = header.alg == "ES256" ? "P-256" : "P-384";
  std::vector<const Jwk*> expected;
  for (const Jwk& key : keys) {
    if (header.kid && key.kid != *header.kid) continue;
    if (key.kty != (ec ? "EC" : "RSA") || (ec && key.crv != crv)) continue;
    if (!key.alg.empty() && key.alg != header.alg) continue;
    expected.push_back(&key);
  }
  Require(fit == expected);
  return fit;
}

// A NumericDate in whole seconds, as id_token.h reads it.
std::optional<int64_t> Seconds(const json* value) {
  if (value == nullptr || !value->is_number()) return std::nullopt;
  double d = value->get<double>();
  if (!std::isfinite(d) || d < 0 || d > 253402300799.0) return std::nullopt;
  return static_cast<int64_t>(std::floor(d));
}

// Unicode White_Space and control characters (Cc): none may be in an e-mail address.
bool IsSpaceOrControl(uint32_t c) {
  return c < 0x21 || (c >= 0x7f && c <= 0xa0) || c == 0x1680 || (c >= 0x2000 && c <= 0x200a) ||
         c == 0x2028 || c == 0x2029 || c == 0x202f || c == 0x205f || c == 0x3000;
}

bool GoodAddress(const std::string& email) {
  if (email.empty() || email.size() > 320 || email.find('@') == std::string::npos ||
      !masa::IsValidUtf8(email)) {
    return false;
  }
  for (size_t i = 0; i < email.size();) {
    auto b = static_cast<unsigned char>(email[i]);
    size_t n = b < 0x80 ? 1 : b < 0xe0 ? 2 : b < 0xf0 ? 3 : 4;
    uint32_t c = n == 1 ? b : b & (0x7f >> n);
    for (size_t j = 1; j < n; ++j) c = (c << 6) | (static_cast<unsigned char>(email[i + j]) & 0x3f);
    if (IsSpaceOrControl(c) || c == '<' || c == '>' || c == '"') return false;
    i += n;
  }
  return true;
}

// ReadEmail's rules, checked again: the address, or nullopt when it must be refused.
std::optional<std::string> ExpectedEmail(const json& claims) {
  const json* email = Member(claims, "email");
  if (email == nullptr || !email->is_string() || !GoodAddress(email->get<std::string>())) {
    return std::nullopt;
  }
  const json* verified = Member(claims, "email_verified");
  if (verified != nullptr && !(verified->is_boolean() && verified->get<bool>()) &&
      !(verified->is_string() && verified->get<std::string>() == "true")) {
    return std::nullopt;
  }
  return email->get<std::string>();
}

void CheckEmail(const json& claims) {
  absl::StatusOr<std::string> email = ReadEmail(claims, "the UserInfo answer");
  std::optional<std::string> expected = ExpectedEmail(claims);
  if (!email.ok()) {
    Require(!expected);
    CheckRefusal(email.status(), absl::StatusCode::kUnauthenticated, "", claims.dump());
    return;
  }
  Require(expected && *email == *expected);
}

// CheckIdTokenClaims against the rules of id_token.h; `token` is the one that carried them.
void CheckClaims(const json& claims, std::string_view token) {
  IdTokenExpectations expect{.issuer = kIssuer,
                             .client_id = kClientId,
                             .nonce = kNonce,
                             .now = absl::FromUnixSeconds(kNow),
                             .clock_skew = absl::Seconds(kSkew)};
  absl::StatusOr<masa::service::VerifiedIdentity> identity = CheckIdTokenClaims(claims, expect);

  bool good = Text(claims, "iss") == kIssuer && Member(claims, "iss")->is_string();
  const json* aud = Member(claims, "aud");
  size_t audiences = 0;
  bool ours = false;
  if (aud != nullptr && aud->is_string()) {
    audiences = 1;
    ours = aud->get<std::string>() == kClientId;
  } else if (aud != nullptr && aud->is_array()) {
    audiences = aud->size();
    for (const json& a : *aud) ours = ours || (a.is_string() && a.get<std::string>() == kClientId);
  }
  good = good && ours;
  const json* azp = Member(claims, "azp");
  if (azp != nullptr || audiences > 1) {
    good = good && azp != nullptr && azp->is_string() && azp->get<std::string>() == kClientId;
  }
  std::optional<int64_t> exp = Seconds(Member(claims, "exp"));
  std::optional<int64_t> iat = Seconds(Member(claims, "iat"));
  good = good && exp && kNow < *exp + kSkew && iat && *iat <= kNow + kSkew;
  if (const json* nbf = Member(claims, "nbf"); nbf != nullptr) {
    std::optional<int64_t> not_before = Seconds(nbf);
    good = good && not_before && *not_before <= kNow + kSkew;
  }
  const json* nonce = Member(claims, "nonce");
  good = good && nonce != nullptr && nonce->is_string() && nonce->get<std::string>() == kNonce;
  const json* sub = Member(claims, "sub");
  good = good && sub != nullptr && sub->is_string() && !sub->get<std::string>().empty() &&
         sub->get<std::string>().size() <= 255;
  std::optional<std::string> email;
  if (claims.contains("email")) {
    email = ExpectedEmail(claims);
    good = good && email.has_value();
  }

  if (!identity.ok()) {
    Require(!good);
    CheckRefusal(identity.status(), absl::StatusCode::kUnauthenticated, token,
                 PartsOf(token).header + claims.dump());
    return;
  }
  Require(good && identity->issuer == kIssuer && identity->subject == sub->get<std::string>() &&
          identity->email == email.value_or(""));
}

// The token the input's header and claims make, signed with the signing key.
void CheckSignedToken(std::string_view header_text, std::string_view claims_text) {
  const Keys& keys = TheKeys();
  bool default_header = header_text.empty();
  if (default_header) header_text = kDefaultHeader;
  std::string input = masa::Base64UrlEncode(header_text) + "." + masa::Base64UrlEncode(claims_text);
  std::string token = input + "." + masa::Base64UrlEncode(SignEs256(keys.signer.get(), input));

  std::optional<JwsHeader> header = CheckHeader(token);
  if (default_header && token.size() <= kMaxIdTokenBytes) Require(header.has_value());
  if (!header) return;
  std::vector<const Jwk*> candidates = CheckKeysFor(*header, keys.signing);
  absl::StatusOr<json> claims = VerifyIdTokenSignature(token, *header, candidates);

  // One signature character changed (the first: all its bits count).
  std::string tampered = token;
  char& first = tampered[input.size() + 1];
  first = first == 'A' ? 'B' : 'A';
  absl::StatusOr<json> forged = VerifyIdTokenSignature(tampered, *header, candidates);
  CheckRefusal(forged.status(), absl::StatusCode::kUnauthenticated, tampered, header_text);

  json expected = json::parse(claims_text, nullptr, false);
  bool strict_object = ParseProviderJson(claims_text, "claims").ok();
  if (!claims.ok()) {
    Require(!(default_header && strict_object));
    CheckRefusal(claims.status(), absl::StatusCode::kUnauthenticated, token,
                 std::string(header_text) + std::string(claims_text));
    return;
  }
  Require(header->alg == "ES256" && (!header->kid || *header->kid == "ec-sign"));
  Require(strict_object && claims->is_object() && *claims == expected);
  CheckClaims(*claims, token);
}

// The rest as a token of its own: it never verifies against keys that signed nothing.
void CheckForeignToken(std::string_view token) {
  std::optional<JwsHeader> header = CheckHeader(token);
  if (!header) return;
  std::vector<const Jwk*> candidates = CheckKeysFor(*header, TheKeys().fixed);
  absl::StatusOr<json> claims = VerifyIdTokenSignature(token, *header, candidates);
  Require(!claims.ok());
  CheckRefusal(claims.status(), absl::StatusCode::kUnauthenticated, token, PartsOf(token).header);
}

void CheckJwks(std::string_view body) {
  absl::StatusOr<std::vector<Jwk>> keys = ParseJwks(body, kJwksUrl);
  if (!keys.ok()) {
    CheckRefusal(keys.status(), absl::StatusCode::kUnavailable, "", body);
    Require(keys.status().message().find(kJwksUrl) != std::string_view::npos);
    return;
  }
  Require(!keys->empty() && keys->size() <= 100);
  for (const Jwk& key : *keys) {
    json k = json::parse(key.json, nullptr, false);
    Require(k.is_object() && Text(k, "kty") == key.kty && Text(k, "kid") == key.kid &&
            Text(k, "alg") == key.alg);
    const json* use = Member(k, "use");
    Require(use == nullptr || (use->is_string() && use->get<std::string>() == "sig"));
    Require((key.kty == "RSA" && key.crv.empty()) ||
            (key.kty == "EC" && (key.crv == "P-256" || key.crv == "P-384") &&
             Text(k, "crv") == key.crv));
  }
  for (const char* alg : {"RS256", "PS256", "ES256", "ES384"}) {
    CheckKeysFor(JwsHeader{.alg = alg, .kid = std::nullopt}, *keys);
    CheckKeysFor(JwsHeader{.alg = alg, .kid = (*keys)[0].kid}, *keys);
  }
}

void CheckAnswer(std::string_view body) {
  absl::StatusOr<json> answer = ParseProviderJson(body, "the discovery document");
  if (!answer.ok()) {
    CheckRefusal(answer.status(), absl::StatusCode::kUnavailable, "", body);
    return;
  }
  json expected = json::parse(body, nullptr, false);
  Require(answer->is_object() && *answer == expected);
  CheckEmail(*answer);
  CheckClaims(*answer, "");
}

void CheckUrl(std::string_view url) {
  absl::Status status = CheckProviderUrl(url, "the issuer");
  if (!status.ok()) {
    CheckRefusal(status, absl::StatusCode::kInvalidArgument, "", url);
    return;
  }
  std::string lower(url);
  for (char& c : lower) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  Require(url.size() <= 2048 &&
          std::all_of(url.begin(), url.end(), [](char c) { return c > 0x20 && c < 0x7f; }));
  bool https = lower.rfind("https://", 0) == 0;
  Require(https || (lower.rfind("http://", 0) == 0 && IsLoopbackHttpUrl(url)));
  std::string_view after = url.substr(https ? 8 : 7);
  std::string_view authority = after.substr(0, after.find_first_of("/?#"));
  Require(!authority.empty() && authority.find('@') == std::string_view::npos);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view input(reinterpret_cast<const char*>(data), size);
  std::string_view parts[3];
  for (int i = 0; i < 3; ++i) {
    size_t nul = i < 2 ? input.find('\0') : std::string_view::npos;
    parts[i] = input.substr(0, nul);
    input = nul == std::string_view::npos ? std::string_view() : input.substr(nul + 1);
  }
  CheckSignedToken(parts[0], parts[1]);
  CheckForeignToken(parts[2]);
  CheckJwks(parts[2]);
  CheckAnswer(parts[2]);
  CheckUrl(parts[2]);
  return 0;
}
