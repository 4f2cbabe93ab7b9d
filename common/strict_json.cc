#include "common/strict_json.h"

#include <exception>
#include <functional>
#include <optional>
#include <set>
#include <vector>

#include "common/utf8.h"

namespace masa {
namespace {

using nlohmann::json;

// The depth of [ and { outside strings.
bool TooDeep(std::string_view text, int max_depth) {
  int depth = 0;
  bool in_string = false;
  for (size_t i = 0; i < text.size(); ++i) {
    char c = text[i];
    if (in_string) {
      if (c == '\\') {
        ++i;
      } else if (c == '"') {
        in_string = false;
      }
    } else if (c == '"') {
      in_string = true;
    } else if (c == '[' || c == '{') {
      if (++depth > max_depth) return true;
    } else if (c == ']' || c == '}') {
      --depth;
    }
  }
  return false;
}

}  // namespace

StrictJson ParseStrictJson(std::string_view text, int max_depth) {
  StrictJson result;
  if (!IsValidUtf8(text)) {
    result.problem = StrictJson::Problem::kNotUtf8;
    return result;
  }
  if (TooDeep(text, max_depth)) {
    result.problem = StrictJson::Problem::kTooDeep;
    return result;
  }
  // The member names seen so far in each object being parsed, innermost last.
  std::vector<std::set<std::string, std::less<>>> names;
  std::optional<std::string> duplicate;
  auto refuse_duplicates = [&](int /*depth*/, json::parse_event_t event, json& parsed) {
    if (event == json::parse_event_t::object_start) {
      names.emplace_back();
    } else if (event == json::parse_event_t::object_end) {
      if (!names.empty()) names.pop_back();
    } else if (event == json::parse_event_t::key && !names.empty() &&
               !names.back().insert(parsed.get<std::string>()).second && !duplicate) {
      duplicate = parsed.get<std::string>();
    }
    return true;
  };
  try {
    result.value = json::parse(text.begin(), text.end(), refuse_duplicates);
  } catch (const json::parse_error& e) {
    result.problem = StrictJson::Problem::kNotJson;
    result.error_byte = e.byte;
    return result;
  } catch (const std::exception&) {
    result.problem = StrictJson::Problem::kNotJson;
    return result;
  }
  if (duplicate) {
    result.problem = StrictJson::Problem::kDuplicateMember;
    result.duplicate = *std::move(duplicate);
    result.value = json();
  }
  return result;
}

}  // namespace masa
