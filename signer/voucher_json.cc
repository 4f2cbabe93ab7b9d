#include "signer/voucher_json.h"

#include <cstdint>
#include <functional>
#include <set>
#include <variant>
#include <vector>

#include <openssl/evp.h>
#include <nlohmann/json.hpp>

#include "absl/strings/str_cat.h"
#include "common/base64.h"
#include "common/json.h"
#include "common/status.h"
#include "common/time.h"
#include "common/utf8.h"

namespace masa::signer {
namespace {

constexpr std::string_view kTopMember = "ietf-voucher:voucher";

class Writer {
 public:
  Writer() {
    out_.reserve(1024);
    out_.append("{\"ietf-voucher:voucher\":{");
  }

  void Key(std::string_view name) {
    if (!first_) out_.push_back(',');
    first_ = false;
    AppendJsonString(&out_, name);
    out_.push_back(':');
  }
  absl::Status Time(std::string_view name, const std::optional<absl::Time>& t) {
    if (!t.has_value()) return absl::OkStatus();
    if (!InRfc3339Range(*t)) {
      return absl::InvalidArgumentError(
          absl::StrCat(Sv(name), ": outside the years 0001 to 9999, which RFC 3339 can write"));
    }
    Key(name);
    AppendJsonString(&out_, FormatRfc3339(*t));
    return absl::OkStatus();
  }
  absl::Status Text(std::string_view name, const std::optional<std::string>& s) {
    if (!s.has_value()) return absl::OkStatus();
    if (!IsValidUtf8(*s)) {
      return absl::InvalidArgumentError(absl::StrCat(Sv(name), ": not valid UTF-8"));
    }
    Key(name);
    AppendJsonString(&out_, *s);
    return absl::OkStatus();
  }
  void Binary(std::string_view name, const std::optional<std::string>& b) {
    if (!b.has_value()) return;
    Key(name);
    out_.push_back('"');
    // Straight into the output with OpenSSL's block encoder (RFC 4648 base64 with padding,
    // no line breaks, as Base64Encode): the pinned-domain-cert is most of a voucher and
    // encoding it character by character was a visible share of signing one.
    size_t at = out_.size();
    out_.resize(at + 4 * ((b->size() + 2) / 3) + 1);  // EVP_EncodeBlock adds a NUL
    int n = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out_.data() + at),
                            reinterpret_cast<const unsigned char*>(b->data()),
                            static_cast<int>(b->size()));
    out_.resize(at + static_cast<size_t>(n));
    out_.push_back('"');
  }
  void Enum(std::string_view name, std::string_view value) {
    Key(name);
    AppendJsonString(&out_, value);
  }
  void Bool(std::string_view name, const std::optional<bool>& b) {
    if (!b.has_value()) return;
    Key(name);
    out_.append(*b ? "true" : "false");
  }
  std::string Finish() && {
    out_.append("}}");
    return std::move(out_);
  }

 private:
  std::string out_;
  bool first_ = true;
};

// The JSON type of a member, for messages.
enum class JsonType { kNull, kBool, kNumber, kString, kObject, kArray };

std::string_view JsonTypeName(JsonType t) {
  switch (t) {
    case JsonType::kNull:
      return "null";
    case JsonType::kBool:
      return "boolean";
    case JsonType::kNumber:
      return "number";
    case JsonType::kString:
      return "string";
    case JsonType::kObject:
      return "object";
    case JsonType::kArray:
      return "array";
  }
  return "?";
}

struct Member {
  std::string name;
  JsonType type = JsonType::kNull;
  std::string text;   // kString
  bool flag = false;  // kBool
};

// A SAX consumer for exactly {"<top>":{<scalar members>}}. It records the inner members in
// order and stops at the first structural problem (unknown top member, duplicate, nesting),
// because nlohmann's DOM parser silently keeps the last of duplicate keys.
class VoucherSax {
 public:
  using json = nlohmann::json;

  bool null() { return Scalar(JsonType::kNull); }
  bool boolean(bool v) {
    if (!Scalar(JsonType::kBool)) return false;
    if (depth_ == 2) members_.back().flag = v;
    return true;
  }
  bool number_integer(json::number_integer_t) { return Scalar(JsonType::kNumber); }
  bool number_unsigned(json::number_unsigned_t) { return Scalar(JsonType::kNumber); }
  bool number_float(json::number_float_t, const json::string_t&) {
    return Scalar(JsonType::kNumber);
  }
  bool string(json::string_t& v) {
    if (!Scalar(JsonType::kString)) return false;
    if (depth_ == 2) members_.back().text = std::move(v);
    return true;
  }
  bool binary(json::binary_t&) { return Fail("binary values are not JSON"); }

  bool start_object(std::size_t) {
    if (depth_ == 0) {
      depth_ = 1;
      return true;
    }
    if (depth_ == 1 && pending_top_) {
      depth_ = 2;
      return true;
    }
    if (depth_ == 2) {
      return Fail(absl::StrCat(Sv(members_.back().name), ": wrong JSON type object"));
    }
    return Fail("unexpected object");
  }
  bool key(json::string_t& k) {
    if (depth_ == 1) {
      if (seen_top_) {
        return Fail(k == kTopMember ? absl::StrCat(Sv(kTopMember), ": duplicate member")
                                    : absl::StrCat(Sv(k), ": unknown top-level member"));
      }
      if (k != kTopMember) return Fail(absl::StrCat(Sv(k), ": unknown top-level member"));
      seen_top_ = true;
      pending_top_ = true;
      return true;
    }
    if (depth_ == 2) {
      if (!names_.insert(k).second) return Fail(absl::StrCat(Sv(k), ": duplicate member"));
      members_.push_back(Member{k, JsonType::kNull, "", false});
      return true;
    }
    return Fail("unexpected key");
  }
  bool end_object() {
    --depth_;
    if (depth_ == 1) pending_top_ = false;
    return true;
  }
  bool start_array(std::size_t) {
    if (depth_ == 2) {
      return Fail(absl::StrCat(Sv(members_.back().name), ": wrong JSON type array"));
    }
    if (depth_ == 1) {
      return Fail(absl::StrCat(Sv(kTopMember), ": expected an object, found an array"));
    }
    return Fail("the top level is not a JSON object");
  }
  bool end_array() { return true; }
  bool parse_error(std::size_t position, const std::string&, const nlohmann::detail::exception&) {
    return Fail(absl::StrCat("malformed JSON at byte ", position));
  }

  const std::string& error() const { return error_; }
  bool saw_voucher() const { return seen_top_; }
  std::vector<Member>& members() { return members_; }

 private:
  bool Scalar(JsonType type) {
    if (depth_ == 2) {
      members_.back().type = type;
      return true;
    }
    if (depth_ == 1) {
      return Fail(
          absl::StrCat(Sv(kTopMember), ": expected an object, found ", Sv(JsonTypeName(type))));
    }
    return Fail("the top level is not a JSON object");
  }
  bool Fail(std::string message) {
    if (error_.empty()) error_ = std::move(message);
    return false;
  }

  int depth_ = 0;
  bool seen_top_ = false;
  bool pending_top_ = false;
  std::set<std::string> names_;
  std::vector<Member> members_;
  std::string error_;
};

absl::Status TypeError(const Member& m, JsonType expected) {
  return absl::InvalidArgumentError(absl::StrCat(Sv(m.name), ": expected a JSON ",
                                                 Sv(JsonTypeName(expected)), ", found ",
                                                 Sv(JsonTypeName(m.type))));
}

absl::StatusOr<std::string> GetString(const Member& m) {
  if (m.type != JsonType::kString) return TypeError(m, JsonType::kString);
  return m.text;
}

absl::StatusOr<absl::Time> GetTime(const Member& m) {
  MASA_ASSIGN_OR_RETURN(std::string text, GetString(m));
  auto t = ParseRfc3339(text);
  if (!t.ok()) return Annotate(t.status(), m.name);
  return *t;
}

absl::StatusOr<std::string> GetBinary(const Member& m) {
  MASA_ASSIGN_OR_RETURN(std::string text, GetString(m));
  auto bytes = Base64Decode(text);
  if (!bytes.ok()) return Annotate(bytes.status(), m.name);
  return *std::move(bytes);
}

// Standard base64 first; then base64url, with or without padding.
absl::StatusOr<std::string> GetLiberalBinary(const Member& m) {
  MASA_ASSIGN_OR_RETURN(std::string text, GetString(m));
  auto bytes = Base64Decode(text);
  if (bytes.ok()) return *std::move(bytes);
  std::string_view unpadded = text;
  if (unpadded.size() % 4 == 0) {
    while (!unpadded.empty() && unpadded.back() == '=' && text.size() - unpadded.size() < 2) {
      unpadded.remove_suffix(1);
    }
  }
  auto url = Base64UrlDecode(unpadded);
  if (url.ok()) return *std::move(url);
  return absl::InvalidArgumentError(
      absl::StrCat(Sv(m.name), ": neither base64 nor base64url (", bytes.status().message(), ")"));
}

}  // namespace

absl::StatusOr<std::string> EncodeVoucherJson(const Voucher& v) {
  Writer w;
  MASA_RETURN_IF_ERROR(w.Time("created-on", v.created_on));
  MASA_RETURN_IF_ERROR(w.Time("expires-on", v.expires_on));
  if (v.assertion.has_value()) {
    w.Enum("assertion", AssertionName(*v.assertion));
  }
  MASA_RETURN_IF_ERROR(w.Text("serial-number", v.serial_number));
  w.Binary("idevid-issuer", v.idevid_issuer);
  w.Binary("pinned-domain-cert", v.pinned_domain_cert);
  w.Bool("domain-cert-revocation-checks", v.domain_cert_revocation_checks);
  w.Binary("nonce", v.nonce);
  w.Binary("pinned-domain-pubk", v.pinned_domain_pubk);
  w.Binary("pinned-domain-pubk-sha256", v.pinned_domain_pubk_sha256);
  MASA_RETURN_IF_ERROR(w.Time("last-renewal-date", v.last_renewal_date));
  MASA_RETURN_IF_ERROR(w.Text("est-domain", v.est_domain));
  MASA_RETURN_IF_ERROR(w.Text("additional-configuration", v.additional_configuration));
  w.Binary(kPlatformKeyCertificateMember, v.platform_key_certificate);
  return std::move(w).Finish();
}

absl::StatusOr<Voucher> DecodeVoucherJson(std::string_view json) {
  VoucherSax sax;
  bool ok = false;
  try {
    ok = nlohmann::json::sax_parse(json.begin(), json.end(), &sax);
  } catch (const std::exception& e) {
    return absl::InvalidArgumentError(absl::StrCat("malformed JSON: ", e.what()));
  }
  if (!ok) {
    return absl::InvalidArgumentError(sax.error().empty() ? "malformed JSON" : sax.error());
  }
  if (!sax.saw_voucher()) {
    return absl::InvalidArgumentError(absl::StrCat(Sv(kTopMember), ": missing top-level member"));
  }
  Voucher v;
  using Handler = std::function<absl::Status(const Member&)>;
  auto time_into = [](std::optional<absl::Time>* field) -> Handler {
    return [field](const Member& m) -> absl::Status {
      MASA_ASSIGN_OR_RETURN(*field, GetTime(m));
      return absl::OkStatus();
    };
  };
  auto binary_into = [](std::optional<std::string>* field) -> Handler {
    return [field](const Member& m) -> absl::Status {
      MASA_ASSIGN_OR_RETURN(*field, GetBinary(m));
      return absl::OkStatus();
    };
  };
  auto string_into = [](std::optional<std::string>* field) -> Handler {
    return [field](const Member& m) -> absl::Status {
      MASA_ASSIGN_OR_RETURN(*field, GetString(m));
      return absl::OkStatus();
    };
  };
  const std::pair<std::string_view, Handler> kLeaves[] = {
      {"created-on", time_into(&v.created_on)},
      {"expires-on", time_into(&v.expires_on)},
      {"assertion",
       [&v](const Member& m) -> absl::Status {
         MASA_ASSIGN_OR_RETURN(std::string text, GetString(m));
         v.assertion = ParseAssertion(text);
         if (!v.assertion.has_value()) {
           return absl::InvalidArgumentError(
               absl::StrCat("assertion: unknown value \"", text, "\""));
         }
         return absl::OkStatus();
       }},
      {"serial-number", string_into(&v.serial_number)},
      {"idevid-issuer", binary_into(&v.idevid_issuer)},
      {"pinned-domain-cert", binary_into(&v.pinned_domain_cert)},
      {"domain-cert-revocation-checks",
       [&v](const Member& m) -> absl::Status {
         if (m.type != JsonType::kBool) return TypeError(m, JsonType::kBool);
         v.domain_cert_revocation_checks = m.flag;
         return absl::OkStatus();
       }},
      {"nonce",
       [&v](const Member& m) -> absl::Status {
         MASA_ASSIGN_OR_RETURN(v.nonce, GetLiberalBinary(m));
         return absl::OkStatus();
       }},
      {"pinned-domain-pubk", binary_into(&v.pinned_domain_pubk)},
      {"pinned-domain-pubk-sha256", binary_into(&v.pinned_domain_pubk_sha256)},
      {"last-renewal-date", time_into(&v.last_renewal_date)},
      {"est-domain", string_into(&v.est_domain)},
      {"additional-configuration", string_into(&v.additional_configuration)},
      {kPlatformKeyCertificateMember, binary_into(&v.platform_key_certificate)},
  };
  for (const Member& m : sax.members()) {
    const Handler* handler = nullptr;
    for (const auto& [name, h] : kLeaves) {
      if (name == m.name) handler = &h;
    }
    if (handler == nullptr) {
      return absl::InvalidArgumentError(absl::StrCat(Sv(m.name), ": unknown member"));
    }
    MASA_RETURN_IF_ERROR((*handler)(m));
  }
  return v;
}

}  // namespace masa::signer
