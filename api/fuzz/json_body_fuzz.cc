// Fuzzes the JSON body reader every REST handler decodes its body with: ParseJsonObject, the
// ObjectReader and QueryReader over what it returns, Dump and IsJsonContentType. The input
// is the body, with a few bytes at its end choosing allow_empty and the readers' limits.
// Beyond not crashing, it asserts:
//  - an accepted body is an object nested at most kMaxJsonDepth deep, every string and key
//    valid UTF-8, and no object had a key twice (a second, plain SAX parse counts the keys
//    the parser saw, which must equal the members the result kept);
//  - the round trip: Dump of the result parses back (ParseJsonObject) to an equal value, and
//    dumping that gives the same text;
//  - every refusal, of ParseJsonObject or of a reader, is kInvalidArgument with a one-line
//    message of printable ASCII no longer than kMaxMessage, so it quotes at most a bounded
//    prefix of the input;
//  - what a reader returns keeps its limits (string length, no NUL, integer range, item
//    count), and a reader asked for every member finishes without "unknown field";
//  - IsJsonContentType does not depend on letter case.
#include <fuzzer/FuzzedDataProvider.h>

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <map>
#include <string>
#include <string_view>
#include <utility>

#include "absl/status/statusor.h"
#include "absl/strings/ascii.h"
#include "api/internal/json_body.h"
#include "common/utf8.h"
#include "nlohmann/json.hpp"

namespace {

using masa::IsValidUtf8;
using masa::api::internal::Dump;
using masa::api::internal::IsJsonContentType;
using masa::api::internal::kMaxJsonDepth;
using masa::api::internal::ObjectReader;
using masa::api::internal::ParseJsonObject;
using masa::api::internal::QueryReader;
using nlohmann::json;

constexpr size_t kMaxMessage = 1024;

void CheckError(const absl::Status& status) {
  if (status.code() != absl::StatusCode::kInvalidArgument) abort();
  if (status.message().empty() || status.message().size() > kMaxMessage) abort();
  for (char c : status.message()) {
    if (c < 0x20 || c > 0x7e) abort();
  }
}

// The handlers name members with constants; the fuzzer reads a member by the name the input
// gave only when it could be such a constant, since the readers quote names as given.
bool Safe(const std::string& name) {
  if (name.empty() || name.size() > 32) return false;
  for (char c : name) {
    if (c < 0x20 || c > 0x7e) return false;
  }
  return true;
}

// Containers on the deepest path (a scalar is 0).
int Depth(const json& v) {
  int deepest = 0;
  if (v.is_object() || v.is_array()) {
    for (const json& child : v) deepest = std::max(deepest, Depth(child));
    return deepest + 1;
  }
  return 0;
}

// Members of every object in `v`, and checks every string and key is UTF-8.
size_t Members(const json& v) {
  size_t n = 0;
  if (v.is_object()) {
    for (auto it = v.begin(); it != v.end(); ++it) {
      if (!IsValidUtf8(it.key())) abort();
      n += 1 + Members(it.value());
    }
  } else if (v.is_array()) {
    for (const json& child : v) n += Members(child);
  } else if (v.is_string()) {
    if (!IsValidUtf8(v.get_ref<const std::string&>())) abort();
  }
  return n;
}

// Counts the keys a parser sees, duplicates included.
struct KeyCounter : json::json_sax_t {
  size_t keys = 0;
  bool null() override { return true; }
  bool boolean(bool) override { return true; }
  bool number_integer(number_integer_t) override { return true; }
  bool number_unsigned(number_unsigned_t) override { return true; }
  bool number_float(number_float_t, const string_t&) override { return true; }
  bool string(string_t&) override { return true; }
  bool binary(binary_t&) override { return true; }
  bool start_object(std::size_t) override { return true; }
  bool key(string_t&) override {
    ++keys;
    return true;
  }
  bool end_object() override { return true; }
  bool start_array(std::size_t) override { return true; }
  bool end_array() override { return true; }
  bool parse_error(std::size_t, const std::string&, const nlohmann::detail::exception&) override {
    return false;
  }
};

void ReadObject(const json& object, const std::string& prefix, FuzzedDataProvider& fdp, int depth) {
  ObjectReader r(object, prefix);
  size_t max_length = fdp.ConsumeIntegralInRange<size_t>(0, 80);
  int64_t min = fdp.ConsumeIntegral<int64_t>();
  int64_t max = fdp.ConsumeIntegral<int64_t>();
  if (min > max) std::swap(min, max);
  bool skip_one = fdp.ConsumeBool();  // leave one member unread: "unknown field"
  bool asked_all = !skip_one;
  for (auto it = object.begin(); it != object.end(); ++it) {
    const std::string& name = it.key();
    if (skip_one || !Safe(name)) {
      skip_one = false;
      asked_all = false;
      continue;
    }
    const json& v = it.value();
    if (v.is_string()) {
      if (fdp.ConsumeBool()) {
        r.Time(name, false);
      } else if (auto s = r.String(name, false, max_length)) {
        if (s->size() > max_length || s->find('\0') != std::string::npos) abort();
      }
    } else if (v.is_boolean()) {
      r.Bool(name, false);
    } else if (v.is_number()) {
      if (auto n = r.Int(name, false, min, max); n && (*n < min || *n > max)) abort();
    } else if (v.is_array()) {
      size_t max_items = fdp.ConsumeIntegralInRange<size_t>(0, 8);
      if (auto items = r.StringArray(name, false, 1, max_items, max_length)) {
        if (items->empty() || items->size() > max_items) abort();
        for (const std::string& s : *items) {
          if (s.empty() || s.size() > max_length || s.find('\0') != std::string::npos) abort();
        }
      }
    } else if (v.is_object()) {
      r.Array(name, false, 0, 1);  // the wrong type: an error naming the member
      if (depth < 3) ReadObject(v, prefix + name + ".", fdp, depth + 1);
    } else {
      r.String(name, false);  // null reads as absent
    }
  }
  if (fdp.ConsumeBool()) r.String("required_member_that_is_absent", true);
  bool read_ok = r.ok();
  absl::Status status = r.Finish();
  if (!status.ok()) CheckError(status);
  if (asked_all && read_ok && !status.ok()) abort();  // "unknown field" for a member read
}

void ReadQuery(const json& object, FuzzedDataProvider& fdp) {
  std::multimap<std::string, std::string> query;
  for (auto it = object.begin(); it != object.end(); ++it) {
    if (it.value().is_string()) query.emplace(it.key(), it.value().get<std::string>());
    if (it.value().is_array()) {
      for (const json& item : it.value()) {
        if (item.is_string()) query.emplace(it.key(), item.get<std::string>());
      }
    }
  }
  QueryReader q(query);
  size_t max_length = fdp.ConsumeIntegralInRange<size_t>(0, 80);
  for (auto it = query.begin(); it != query.end(); it = query.upper_bound(it->first)) {
    if (!Safe(it->first)) continue;
    switch (fdp.ConsumeIntegralInRange<int>(0, 4)) {
      case 0:
        if (auto s = q.String(it->first, max_length)) {
          if (s->size() > max_length || !IsValidUtf8(*s) || s->find('\0') != std::string::npos) {
            abort();
          }
        }
        break;
      case 1:
        q.Bool(it->first);
        break;
      case 2:
        if (auto n = q.Int(it->first, -5, 1000); n && (*n < -5 || *n > 1000)) abort();
        break;
      case 3:
        q.Time(it->first);
        break;
      default:
        break;  // not asked: unknown
    }
  }
  absl::Status status = q.Finish();
  if (!status.ok()) CheckError(status);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  // The body is the whole input; the readers' choices (allow_empty, limits, which accessor)
  // are taken from its last bytes, so a plain-text seed is exactly the body it tests.
  std::string body(reinterpret_cast<const char*>(data), size);
  FuzzedDataProvider choices(data, size);
  bool allow_empty = choices.ConsumeBool();

  if (IsJsonContentType(body) != IsJsonContentType(absl::AsciiStrToUpper(body)) ||
      IsJsonContentType(body) != IsJsonContentType(absl::AsciiStrToLower(body))) {
    abort();
  }

  absl::StatusOr<json> parsed = ParseJsonObject(body, allow_empty);
  if (!parsed.ok()) {
    CheckError(parsed.status());
    return 0;
  }
  const json& value = *parsed;
  if (!value.is_object()) abort();
  if (Depth(value) > kMaxJsonDepth) abort();
  size_t members = Members(value);
  if (body.find_first_not_of(" \t\r\n") != std::string::npos) {
    KeyCounter counter;
    if (!json::sax_parse(body, &counter)) abort();  // it parsed once already
    if (counter.keys != members) abort();           // a key twice in one object was kept
  }

  std::string dumped = Dump(value);
  absl::StatusOr<json> again = ParseJsonObject(dumped, /*allow_empty=*/false);
  if (!again.ok() || *again != value) abort();
  if (Dump(*again) != dumped) abort();

  ReadObject(value, "", choices, 0);
  ReadQuery(value, choices);
  return 0;
}
