#include "api/web/internal/id_token.h"

#include <cjose/cjose.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <memory>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "api/web/internal/provider_http.h"
#include "common/base64.h"
#include "common/secret.h"
#include "common/status.h"
#include "common/time.h"
#include "common/utf8.h"

namespace masa::api::web::internal {
namespace {

using nlohmann::json;

constexpr size_t kMaxKeys = 100;

struct JwsDeleter {
  void operator()(cjose_jws_t* p) const { cjose_jws_release(p); }
};
struct JwkDeleter {
  void operator()(cjose_jwk_t* p) const { cjose_jwk_release(p); }
};
using JwsPtr = std::unique_ptr<cjose_jws_t, JwsDeleter>;
using JwkPtr = std::unique_ptr<cjose_jwk_t, JwkDeleter>;

absl::Status Refused(std::string_view why) {
  return absl::UnauthenticatedError(absl::StrCat("the identity provider's ID token ", Sv(why)));
}

std::string CjoseReason(const cjose_err& err) {
  return err.message != nullptr ? ShowUntrusted(err.message, 120) : "unknown error";
}

// kty and curve the alg needs.
struct AlgFamily {
  const char* kty;
  const char* crv;  // nullptr: any RSA key
};
std::optional<AlgFamily> FamilyOf(std::string_view alg) {
  if (alg == "RS256" || alg == "RS384" || alg == "RS512" || alg == "PS256") {
    return AlgFamily{"RSA", nullptr};
  }
  if (alg == "ES256") return AlgFamily{"EC", "P-256"};
  if (alg == "ES384") return AlgFamily{"EC", "P-384"};
  return std::nullopt;
}

// An imported key, and whether cjose sees it as the type the JSON says.
absl::StatusOr<JwkPtr> ImportKey(const Jwk& key) {
  cjose_err err{};
  JwkPtr jwk(cjose_jwk_import(key.json.data(), key.json.size(), &err));
  if (jwk == nullptr) return absl::InvalidArgumentError(CjoseReason(err));
  cjose_jwk_kty_t kty = cjose_jwk_get_kty(jwk.get(), &err);
  if (key.kty == "RSA") {
    if (kty != CJOSE_JWK_KTY_RSA) return absl::InvalidArgumentError("not an RSA key");
    size_t bits = cjose_jwk_get_keysize(jwk.get(), &err);
    if (bits < 2048 || bits > 16384) {
      return absl::InvalidArgumentError(absl::StrCat("an RSA key of ", bits, " bits"));
    }
  } else {
    if (kty != CJOSE_JWK_KTY_EC) return absl::InvalidArgumentError("not an EC key");
    int want = key.crv == "P-256" ? CJOSE_JWK_EC_P_256 : CJOSE_JWK_EC_P_384;
    if (static_cast<int>(cjose_jwk_EC_get_curve(jwk.get(), &err)) != want) {
      return absl::InvalidArgumentError("its curve is not the one named");
    }
  }
  return jwk;
}

// A NumericDate (RFC 7519 section 2): seconds since the epoch, possibly fractional.
std::optional<absl::Time> NumericDate(const json& value) {
  double seconds;
  if (value.is_number_integer() || value.is_number_unsigned() || value.is_number_float()) {
    seconds = value.get<double>();
  } else {
    return std::nullopt;
  }
  if (!std::isfinite(seconds) || seconds < 0 || seconds > 253402300799.0) return std::nullopt;
  return absl::FromUnixSeconds(static_cast<int64_t>(std::floor(seconds)));
}

bool IsBase64UrlChar(char c) { return absl::ascii_isalnum(c) || c == '-' || c == '_'; }

// Whether `text` is base64url characters only, without padding: what cjose's decoder may
// be given (Debian's libcjose 0.6.2 aborts the process, by assert, on a '=' inside a value).
bool IsBase64UrlText(std::string_view text) {
  return std::all_of(text.begin(), text.end(), IsBase64UrlChar);
}

// Three base64url parts joined by dots: a compact JWS as cjose may import it.
bool IsCompactJws(std::string_view token) {
  return std::count(token.begin(), token.end(), '.') == 2 &&
         std::all_of(token.begin(), token.end(),
                     [](char c) { return c == '.' || IsBase64UrlChar(c); });
}

// Whether `utf8` (well-formed) holds white space or a control character: ASCII's, DEL, the
// C1 controls and NO-BREAK SPACE (U+0080..U+00A0), and Unicode's other white space (U+1680,
// U+2000..U+200A, U+2028, U+2029, U+202F, U+205F, U+3000), read from the encoded bytes.
bool HasSpaceOrControl(std::string_view utf8) {
  auto byte = [&](size_t i) -> uint8_t { return i < utf8.size() ? utf8[i] : 0; };
  for (size_t i = 0; i < utf8.size(); ++i) {
    uint8_t b = byte(i);
    if (b <= 0x20 || b == 0x7f) return true;
    if (b == 0xc2 && byte(i + 1) <= 0xa0) return true;
    if (b == 0xe1 && byte(i + 1) == 0x9a && byte(i + 2) == 0x80) return true;
    if (b == 0xe3 && byte(i + 1) == 0x80 && byte(i + 2) == 0x80) return true;
    if (b == 0xe2) {
      uint8_t c = byte(i + 2);
      if (byte(i + 1) == 0x80 && (c <= 0x8a || c == 0xa8 || c == 0xa9 || c == 0xaf)) return true;
      if (byte(i + 1) == 0x81 && c == 0x9f) return true;
    }
  }
  return false;
}

const json* Member(const json& object, const char* name) {
  auto it = object.find(name);
  return it == object.end() ? nullptr : &*it;
}

}  // namespace

absl::StatusOr<std::vector<Jwk>> ParseJwks(std::string_view body, std::string_view url) {
  std::string what = absl::StrCat("the JWKS at ", Sv(url));
  MASA_ASSIGN_OR_RETURN(json jwks, ParseProviderJson(body, what));
  const json* keys = Member(jwks, "keys");
  if (keys == nullptr || !keys->is_array()) {
    return absl::UnavailableError(absl::StrCat(what, " has no \"keys\" array"));
  }
  std::vector<Jwk> usable;
  for (size_t i = 0; i < keys->size() && i < kMaxKeys; ++i) {
    const json& k = (*keys)[i];
    if (!k.is_object()) continue;
    auto text = [&](const char* name) {
      const json* v = Member(k, name);
      return v != nullptr && v->is_string() ? v->get<std::string>() : std::string();
    };
    const json* use = Member(k, "use");
    if (use != nullptr && (!use->is_string() || use->get<std::string>() != "sig")) continue;
    Jwk key{.kid = text("kid"),
            .kty = text("kty"),
            .crv = text("crv"),
            .alg = text("alg"),
            .json = k.dump()};
    // The members cjose decodes (RFC 7518 section 6), checked before it sees them.
    bool encoded = true;
    for (const char* name : {"n", "e", "d", "p", "q", "dp", "dq", "qi", "x", "y"}) {
      const json* v = Member(k, name);
      encoded =
          encoded && (v == nullptr || !v->is_string() || IsBase64UrlText(v->get<std::string>()));
    }
    if (!encoded) continue;
    if (key.kty == "RSA") {
      key.crv.clear();
    } else if (key.kty != "EC" || (key.crv != "P-256" && key.crv != "P-384")) {
      continue;
    }
    if (!ImportKey(key).ok()) continue;
    usable.push_back(std::move(key));
  }
  if (usable.empty()) {
    return absl::UnavailableError(
        absl::StrCat(what,
                     " holds no signing key this daemon can use (RSA, or EC on P-256 "
                     "or P-384)"));
  }
  return usable;
}

absl::StatusOr<JwsHeader> ReadJwsHeader(std::string_view token) {
  if (token.size() > kMaxIdTokenBytes) {
    return Refused(absl::StrCat("is longer than ", kMaxIdTokenBytes / 1024, " KiB"));
  }
  size_t dot = token.find('.');
  size_t count = 0;
  for (char c : token) count += c == '.';
  if (dot == std::string_view::npos || count != 2) {
    return Refused(count == 4 ? "is encrypted (a JWE), which this daemon does not accept"
                              : "is not a signed JWT (three dot-separated parts)");
  }
  if (!IsCompactJws(token)) return Refused("has a part that is not base64url");
  absl::StatusOr<std::string> header_json = Base64UrlDecode(token.substr(0, dot));
  if (!header_json.ok()) return Refused("has a header that is not base64url");
  MASA_ASSIGN_OR_RETURN(json header, ParseProviderJson(*header_json, "the ID token's header",
                                                       absl::StatusCode::kUnauthenticated));
  const json* alg = Member(header, "alg");
  if (alg == nullptr || !alg->is_string()) return Refused("names no signature algorithm (alg)");
  JwsHeader out;
  out.alg = alg->get<std::string>();
  if (out.alg == "none") return Refused("is not signed (alg \"none\")");
  if (!FamilyOf(out.alg)) {
    return Refused(absl::StrCat("is signed with alg \"", ShowUntrusted(out.alg),
                                "\"; accepted are RS256, RS384, RS512, PS256, ES256 and ES384"));
  }
  if (Member(header, "crit") != nullptr) return Refused("has critical header extensions (crit)");
  if (const json* kid = Member(header, "kid"); kid != nullptr) {
    if (!kid->is_string() || kid->get<std::string>().size() > 1024) {
      return Refused("has a key id (kid) that is not a short string");
    }
    out.kid = kid->get<std::string>();
  }
  return out;
}

std::vector<const Jwk*> KeysFor(const JwsHeader& header, const std::vector<Jwk>& keys) {
  std::vector<const Jwk*> fit;
  std::optional<AlgFamily> family = FamilyOf(header.alg);
  if (!family) return fit;
  for (const Jwk& key : keys) {
    if (header.kid && key.kid != *header.kid) continue;
    if (key.kty != family->kty || (family->crv != nullptr && key.crv != family->crv)) continue;
    if (!key.alg.empty() && key.alg != header.alg) continue;
    fit.push_back(&key);
  }
  return fit;
}

absl::StatusOr<json> VerifyIdTokenSignature(std::string_view token, const JwsHeader& header,
                                            const std::vector<const Jwk*>& candidates) {
  if (!IsCompactJws(token)) return Refused("is not three base64url parts");
  cjose_err err{};
  JwsPtr jws(cjose_jws_import(token.data(), token.size(), &err));
  if (jws == nullptr) return Refused(absl::StrCat("is not a valid JWS (", CjoseReason(err), ")"));
  // cjose's reading of the header must agree with ours (the alg we allowed is the one used).
  const char* alg = cjose_header_get(cjose_jws_get_protected(jws.get()), CJOSE_HDR_ALG, &err);
  if (alg == nullptr || header.alg != alg) return Refused("has an ambiguous header");
  bool verified = false;
  for (const Jwk* key : candidates) {
    absl::StatusOr<JwkPtr> jwk = ImportKey(*key);
    if (!jwk.ok()) continue;
    if (cjose_jws_verify(jws.get(), jwk->get(), &err)) {
      verified = true;
      break;
    }
  }
  if (!verified) {
    return Refused(absl::StrCat("has a signature that does not verify with the provider's key",
                                header.kid ? absl::StrCat(" \"", ShowUntrusted(*header.kid), "\"")
                                           : std::string("s")));
  }
  uint8_t* payload = nullptr;
  size_t payload_len = 0;
  if (!cjose_jws_get_plaintext(jws.get(), &payload, &payload_len, &err) || payload == nullptr) {
    return Refused("has no readable claims");
  }
  return ParseProviderJson(std::string_view(reinterpret_cast<const char*>(payload), payload_len),
                           "the claims of the identity provider's ID token",
                           absl::StatusCode::kUnauthenticated);
}

absl::StatusOr<service::VerifiedIdentity> CheckIdTokenClaims(const json& claims,
                                                             const IdTokenExpectations& expect) {
  auto string_claim = [&](const char* name) -> std::optional<std::string> {
    const json* v = Member(claims, name);
    if (v == nullptr || !v->is_string()) return std::nullopt;
    return v->get<std::string>();
  };
  std::optional<std::string> iss = string_claim("iss");
  if (!iss) return Refused("has no issuer (iss)");
  if (*iss != expect.issuer) {
    return Refused(absl::StrCat("was issued by \"", ShowUntrusted(*iss, 200),
                                "\", not by the configured issuer \"", expect.issuer, "\""));
  }
  const json* aud = Member(claims, "aud");
  bool audience_ok = false;
  size_t audiences = 0;
  if (aud != nullptr && aud->is_string()) {
    audiences = 1;
    audience_ok = aud->get<std::string>() == expect.client_id;
  } else if (aud != nullptr && aud->is_array()) {
    audiences = aud->size();
    for (const json& a : *aud)
      audience_ok |= a.is_string() && a.get<std::string>() == expect.client_id;
  }
  if (!audience_ok) {
    return Refused(
        absl::StrCat("is not meant for this daemon: its audience (aud) does not hold "
                     "the client id \"",
                     expect.client_id, "\""));
  }
  const json* azp = Member(claims, "azp");
  if (azp != nullptr || audiences > 1) {
    if (azp == nullptr || !azp->is_string() || azp->get<std::string>() != expect.client_id) {
      return Refused(
          absl::StrCat("has several audiences and its authorized party (azp) is not "
                       "the client id \"",
                       expect.client_id, "\""));
    }
  }
  const json* exp_claim = Member(claims, "exp");
  std::optional<absl::Time> exp = exp_claim ? NumericDate(*exp_claim) : std::nullopt;
  if (!exp) return Refused("has no valid expiry (exp)");
  if (expect.now >= *exp + expect.clock_skew) {
    return Refused(absl::StrCat("expired at ", FormatRfc3339(*exp), " (now ",
                                FormatRfc3339(expect.now), "); sign in again"));
  }
  const json* iat_claim = Member(claims, "iat");
  std::optional<absl::Time> iat = iat_claim ? NumericDate(*iat_claim) : std::nullopt;
  if (!iat) return Refused("has no valid issue time (iat)");
  if (*iat > expect.now + expect.clock_skew) {
    return Refused(absl::StrCat("was issued in the future (iat ", FormatRfc3339(*iat), ", now ",
                                FormatRfc3339(expect.now),
                                "); check the clocks of this daemon and the provider"));
  }
  if (const json* nbf_claim = Member(claims, "nbf"); nbf_claim != nullptr) {
    std::optional<absl::Time> nbf = NumericDate(*nbf_claim);
    if (!nbf) return Refused("has an invalid not-before time (nbf)");
    if (*nbf > expect.now + expect.clock_skew) {
      return Refused(absl::StrCat("is not valid before ", FormatRfc3339(*nbf), " (now ",
                                  FormatRfc3339(expect.now), ")"));
    }
  }
  std::optional<std::string> nonce = string_claim("nonce");
  if (!nonce || !SecretsEqual(*nonce, expect.nonce)) {
    return Refused("does not carry this sign-in's nonce (a replayed or foreign token)");
  }
  std::optional<std::string> sub = string_claim("sub");
  if (!sub || sub->empty() || sub->size() > 255) return Refused("has no valid subject (sub)");
  service::VerifiedIdentity identity{.issuer = *iss, .subject = *sub, .email = ""};
  if (claims.contains("email")) {
    MASA_ASSIGN_OR_RETURN(identity.email, ReadEmail(claims, "the identity provider's ID token"));
  }
  return identity;
}

absl::StatusOr<std::string> ReadEmail(const json& claims, std::string_view source) {
  auto refused = [&](std::string_view why) {
    return absl::UnauthenticatedError(absl::StrCat(Sv(source), " ", Sv(why)));
  };
  const json* member = Member(claims, "email");
  if (member == nullptr || !member->is_string() || member->get<std::string>().empty()) {
    return refused(
        "carries no e-mail address; the provider must release the \"email\" claim to this "
        "client (scope \"email\")");
  }
  std::string email = member->get<std::string>();
  if (email.size() > 320 || email.find('@') == std::string::npos || !IsValidUtf8(email) ||
      HasSpaceOrControl(email) || email.find_first_of("<>\"") != std::string::npos) {
    return refused(
        absl::StrCat("carries an invalid e-mail address \"", ShowUntrusted(email), "\""));
  }
  if (const json* verified = Member(claims, "email_verified"); verified != nullptr) {
    bool ok = (verified->is_boolean() && verified->get<bool>()) ||
              (verified->is_string() && verified->get<std::string>() == "true");
    if (!ok) {
      return refused(absl::StrCat("says the e-mail address ", ShowUntrusted(email),
                                  " is not verified (email_verified)"));
    }
  }
  return email;
}

}  // namespace masa::api::web::internal
