#include "api/internal/json_body.h"

#include <charconv>

#include <utility>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "common/status.h"
#include "common/strict_json.h"
#include "common/time.h"
#include "common/utf8.h"

namespace masa::api::internal {
namespace {

using nlohmann::json;

absl::Status Invalid(std::string message) { return absl::InvalidArgumentError(std::move(message)); }

std::string TypeName(const json& value) { return value.type_name(); }

}  // namespace

bool IsJsonContentType(std::string_view content_type) {
  std::vector<absl::string_view> parts =
      absl::StrSplit(absl::string_view(content_type.data(), content_type.size()), ';');
  if (!absl::EqualsIgnoreCase(absl::StripAsciiWhitespace(parts[0]), "application/json")) {
    return false;
  }
  for (size_t i = 1; i < parts.size(); ++i) {
    absl::string_view param = absl::StripAsciiWhitespace(parts[i]);
    if (param.empty()) continue;
    size_t eq = param.find('=');
    if (eq == absl::string_view::npos) return false;
    absl::string_view name = absl::StripAsciiWhitespace(param.substr(0, eq));
    absl::string_view value = absl::StripAsciiWhitespace(param.substr(eq + 1));
    if (value.size() >= 2 && value.front() == '"' && value.back() == '"') {
      value = value.substr(1, value.size() - 2);
    }
    if (absl::EqualsIgnoreCase(name, "charset") && !absl::EqualsIgnoreCase(value, "utf-8")) {
      return false;
    }
  }
  return true;
}

absl::StatusOr<json> ParseJsonObject(std::string_view body, bool allow_empty) {
  if (body.find_first_not_of(" \t\r\n") == std::string_view::npos) {
    if (allow_empty) return json::object();
    return Invalid(
        "the request body is empty; send a JSON object (Content-Type: application/json)");
  }
  StrictJson parsed = ParseStrictJson(body, kMaxJsonDepth);
  switch (parsed.problem) {
    case StrictJson::Problem::kNone:
      break;
    case StrictJson::Problem::kNotUtf8:
      return Invalid("the request body is not valid UTF-8");
    case StrictJson::Problem::kTooDeep:
      return Invalid(absl::StrCat("the request body nests arrays/objects deeper than ",
                                  kMaxJsonDepth, " levels"));
    case StrictJson::Problem::kNotJson:
      if (parsed.error_byte == 0) {
        return Invalid("the request body is not valid JSON; send one JSON object");
      }
      return Invalid(absl::StrCat("the request body is not valid JSON (at byte ", parsed.error_byte,
                                  "); send one JSON object"));
    case StrictJson::Problem::kDuplicateMember:
      return Invalid(absl::StrCat("the request body has the key \"",
                                  ShowUntrusted(parsed.duplicate),
                                  "\" twice in one object; send each member once"));
  }
  json value = std::move(parsed.value);
  if (!value.is_object()) {
    return Invalid(absl::StrCat("the request body must be a JSON object, not ", TypeName(value)));
  }
  return value;
}

ObjectReader::ObjectReader(const json& object, std::string prefix)
    : object_(object), prefix_(std::move(prefix)) {
  if (!object_.is_object()) {
    error_ = absl::StrCat(prefix_.empty() ? "the body" : prefix_.substr(0, prefix_.size() - 1),
                          ": must be a JSON object");
  }
}

void ObjectReader::Fail(std::string message) {
  if (error_.empty()) error_ = std::move(message);
}

const json* ObjectReader::Member(std::string_view name, bool required) {
  seen_.insert(std::string(name));
  if (!error_.empty()) return nullptr;
  auto it = object_.find(std::string(name));
  if (it == object_.end() || it->is_null()) {
    if (required) Fail(absl::StrCat(prefix_, Sv(name), ": required field is missing"));
    return nullptr;
  }
  return &*it;
}

std::optional<std::string> ObjectReader::String(std::string_view name, bool required,
                                                size_t max_length) {
  const json* v = Member(name, required);
  if (v == nullptr) return std::nullopt;
  if (!v->is_string()) {
    Fail(absl::StrCat(prefix_, Sv(name), ": must be a string, not ", TypeName(*v)));
    return std::nullopt;
  }
  const std::string& s = v->get_ref<const std::string&>();
  if (s.size() > max_length) {
    Fail(absl::StrCat(prefix_, Sv(name), ": longer than ", max_length, " bytes"));
    return std::nullopt;
  }
  if (s.find('\0') != std::string::npos) {
    Fail(absl::StrCat(prefix_, Sv(name), ": must not contain NUL characters"));
    return std::nullopt;
  }
  return s;
}

std::optional<bool> ObjectReader::Bool(std::string_view name, bool required) {
  const json* v = Member(name, required);
  if (v == nullptr) return std::nullopt;
  if (!v->is_boolean()) {
    Fail(absl::StrCat(prefix_, Sv(name), ": must be true or false, not ", TypeName(*v)));
    return std::nullopt;
  }
  return v->get<bool>();
}

std::optional<int64_t> ObjectReader::Int(std::string_view name, bool required, int64_t min,
                                         int64_t max) {
  const json* v = Member(name, required);
  if (v == nullptr) return std::nullopt;
  if (!v->is_number_integer()) {
    Fail(absl::StrCat(prefix_, Sv(name), ": must be an integer from ", min, " to ", max));
    return std::nullopt;
  }
  // Unsigned values above INT64_MAX would wrap: compare them before converting.
  if (v->is_number_unsigned() && v->get<uint64_t>() > static_cast<uint64_t>(max)) {
    Fail(absl::StrCat(prefix_, Sv(name), ": must be an integer from ", min, " to ", max));
    return std::nullopt;
  }
  int64_t n = v->get<int64_t>();
  if (n < min || n > max) {
    Fail(absl::StrCat(prefix_, Sv(name), ": must be an integer from ", min, " to ", max));
    return std::nullopt;
  }
  return n;
}

std::optional<absl::Time> ObjectReader::Time(std::string_view name, bool required) {
  std::optional<std::string> s = String(name, required, 64);
  if (!s) return std::nullopt;
  absl::StatusOr<absl::Time> t = ParseRfc3339(*s);
  if (!t.ok()) {
    // The reason quotes the value, already escaped (ShowUntrusted) by ParseRfc3339.
    Fail(absl::StrCat(prefix_, Sv(name),
                      ": must be an RFC 3339 date-time such as 2027-01-31T00:00:00Z (",
                      t.status().message(), ")"));
    return std::nullopt;
  }
  return *t;
}

const json* ObjectReader::Object(std::string_view name, bool required) {
  const json* v = Member(name, required);
  if (v == nullptr) return nullptr;
  if (!v->is_object()) {
    Fail(absl::StrCat(prefix_, Sv(name), ": must be a JSON object, not ", TypeName(*v)));
    return nullptr;
  }
  return v;
}

const json* ObjectReader::Array(std::string_view name, bool required, size_t min_items,
                                size_t max_items) {
  const json* v = Member(name, required);
  if (v == nullptr) return nullptr;
  if (!v->is_array()) {
    Fail(absl::StrCat(prefix_, Sv(name), ": must be an array, not ", TypeName(*v)));
    return nullptr;
  }
  if (v->size() < min_items || v->size() > max_items) {
    Fail(absl::StrCat(prefix_, Sv(name), ": must hold ", min_items, " to ", max_items,
                      " items, not ", v->size()));
    return nullptr;
  }
  return v;
}

std::optional<std::vector<std::string>> ObjectReader::StringArray(std::string_view name,
                                                                  bool required, size_t min_items,
                                                                  size_t max_items,
                                                                  size_t max_length) {
  const json* v = Array(name, required, min_items, max_items);
  if (v == nullptr) return std::nullopt;
  std::vector<std::string> out;
  out.reserve(v->size());
  for (size_t i = 0; i < v->size(); ++i) {
    const json& item = (*v)[i];
    if (!item.is_string() || item.get_ref<const std::string&>().empty() ||
        item.get_ref<const std::string&>().size() > max_length ||
        item.get_ref<const std::string&>().find('\0') != std::string::npos) {
      Fail(absl::StrCat(prefix_, Sv(name), "[", i, "]: must be a non-empty string of at most ",
                        max_length, " bytes"));
      return std::nullopt;
    }
    out.push_back(item.get<std::string>());
  }
  return out;
}

absl::Status ObjectReader::Finish() {
  if (!error_.empty()) return Invalid(error_);
  for (auto it = object_.begin(); it != object_.end(); ++it) {
    if (seen_.find(it.key()) == seen_.end()) {
      return Invalid(absl::StrCat(prefix_, ShowUntrusted(it.key()),
                                  ": unknown field; allowed: ", absl::StrJoin(seen_, ", ")));
    }
  }
  return absl::OkStatus();
}

QueryReader::QueryReader(const std::multimap<std::string, std::string>& query) : query_(query) {}

void QueryReader::Fail(std::string message) {
  if (error_.empty()) error_ = std::move(message);
}

std::optional<std::string> QueryReader::String(std::string_view name, size_t max_length) {
  seen_.insert(std::string(name));
  if (!error_.empty()) return std::nullopt;
  auto [first, last] = query_.equal_range(std::string(name));
  if (first == last) return std::nullopt;
  if (std::next(first) != last) {
    Fail(absl::StrCat("query parameter ", Sv(name), ": given more than once"));
    return std::nullopt;
  }
  const std::string& value = first->second;
  if (value.size() > max_length || !IsValidUtf8(value) || value.find('\0') != std::string::npos) {
    Fail(absl::StrCat("query parameter ", Sv(name), ": must be UTF-8 text of at most ", max_length,
                      " bytes"));
    return std::nullopt;
  }
  return value;
}

std::optional<bool> QueryReader::Bool(std::string_view name) {
  std::optional<std::string> s = String(name, 8);
  if (!s) return std::nullopt;
  if (*s == "true") return true;
  if (*s == "false") return false;
  Fail(absl::StrCat("query parameter ", Sv(name), ": must be true or false"));
  return std::nullopt;
}

std::optional<int64_t> QueryReader::Int(std::string_view name, int64_t min, int64_t max) {
  std::optional<std::string> s = String(name, 24);
  if (!s) return std::nullopt;
  int64_t n = 0;
  auto [ptr, ec] = std::from_chars(s->data(), s->data() + s->size(), n);
  if (ec != std::errc() || ptr != s->data() + s->size() || n < min || n > max) {
    Fail(
        absl::StrCat("query parameter ", Sv(name), ": must be an integer from ", min, " to ", max));
    return std::nullopt;
  }
  return n;
}

std::optional<absl::Time> QueryReader::Time(std::string_view name) {
  std::optional<std::string> s = String(name, 64);
  if (!s) return std::nullopt;
  absl::StatusOr<absl::Time> t = ParseRfc3339(*s);
  if (!t.ok()) {
    Fail(absl::StrCat("query parameter ", Sv(name),
                      ": must be an RFC 3339 date-time such as 2027-01-31T00:00:00Z"));
    return std::nullopt;
  }
  return *t;
}

absl::Status QueryReader::Finish() {
  if (!error_.empty()) return Invalid(error_);
  for (const auto& [key, value] : query_) {
    if (seen_.find(key) == seen_.end()) {
      return Invalid(absl::StrCat("query parameter ", ShowUntrusted(key),
                                  ": unknown; allowed: ", absl::StrJoin(seen_, ", ")));
    }
  }
  return absl::OkStatus();
}

std::string Dump(const json& value) {
  return value.dump(-1, ' ', false, json::error_handler_t::replace);
}

}  // namespace masa::api::internal
