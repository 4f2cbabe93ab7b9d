// Strict decoding of JSON request bodies and query strings: every failure is a
// kInvalidArgument whose message names the field and says what is expected. No
// nlohmann::json exception leaves this layer.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "common/utf8.h"  // IsValidUtf8 for this layer and its callers
#include "nlohmann/json.hpp"

namespace masa::api::internal {

// Nesting deeper than this (arrays/objects) is refused before parsing.
inline constexpr int kMaxJsonDepth = 16;

// Parses `body` as one JSON object. An empty (or all-whitespace) body is {} when
// `allow_empty`, else an error. kInvalidArgument: not JSON (with the byte offset), invalid
// UTF-8, nested deeper than kMaxJsonDepth, a key twice in one object (naming the key, as
// Shown), or not an object. Messages quote no more of the body than Shown's 64 bytes.
// Bounds, for a body of n bytes (n under the HTTP server's body limit): memory O(n); time
// O(n log n), since each key goes into a set of its object's keys; the nesting is checked
// before parsing, so nothing recurses deeper than kMaxJsonDepth.
absl::StatusOr<nlohmann::json> ParseJsonObject(std::string_view body, bool allow_empty);

// Reads the members of one JSON object with type checks, remembering the first problem.
// Accessors return nullopt for an absent member (or after an error). Finish() reports the
// first problem, or a member nobody asked for ("unknown field", its name as Shown). `prefix`
// names the object in messages ("serials[3]."). Strings must not contain NUL. Messages are
// printable ASCII and quote at most a bounded prefix of a member's name or value.
class ObjectReader {
 public:
  ObjectReader(const nlohmann::json& object, std::string prefix = "");

  std::optional<std::string> String(std::string_view name, bool required,
                                    size_t max_length = 64 * 1024);
  std::optional<bool> Bool(std::string_view name, bool required);
  std::optional<int64_t> Int(std::string_view name, bool required, int64_t min, int64_t max);
  std::optional<absl::Time> Time(std::string_view name, bool required);
  // A member that must be a JSON object (read it with an ObjectReader of its own).
  const nlohmann::json* Object(std::string_view name, bool required);
  // A member that must be an array of at most `max_items` elements (min_items when present).
  const nlohmann::json* Array(std::string_view name, bool required, size_t min_items,
                              size_t max_items);
  std::optional<std::vector<std::string>> StringArray(std::string_view name, bool required,
                                                      size_t min_items, size_t max_items,
                                                      size_t max_length);

  // Records a problem found by the caller (first one wins).
  void Fail(std::string message);
  bool ok() const { return error_.empty(); }
  absl::Status Finish();

 private:
  const nlohmann::json* Member(std::string_view name, bool required);

  const nlohmann::json& object_;
  std::string prefix_;
  std::set<std::string, std::less<>> seen_;
  std::string error_;
};

// Query parameters: each may appear once; unknown names are refused (the name as Shown).
class QueryReader {
 public:
  explicit QueryReader(const std::multimap<std::string, std::string>& query);

  std::optional<std::string> String(std::string_view name, size_t max_length = 1024);
  std::optional<bool> Bool(std::string_view name);
  std::optional<int64_t> Int(std::string_view name, int64_t min, int64_t max);
  std::optional<absl::Time> Time(std::string_view name);
  void Fail(std::string message);
  absl::Status Finish();

 private:
  const std::multimap<std::string, std::string>& query_;
  std::set<std::string, std::less<>> seen_;
  std::string error_;
};

// Serializes for a response: never throws; invalid UTF-8 in strings becomes U+FFFD.
std::string Dump(const nlohmann::json& value);

// True when a request body with this Content-Type value may be read as JSON:
// application/json, case-insensitive, with optional parameters of which a charset must be
// utf-8 (RFC 8259 section 8.1). Structured-suffix types (application/*+json) are not: each
// names its own format (merge-patch, problem, ...), which the API does not speak.
bool IsJsonContentType(std::string_view content_type);

}  // namespace masa::api::internal
