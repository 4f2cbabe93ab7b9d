#include "tools/serials_file.h"

#include <algorithm>
#include <cctype>
#include <map>
#include <string>

#include <nlohmann/json.hpp>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "common/base64.h"
#include "common/status.h"

namespace masa::tools {
namespace {

enum class Column { kSerial, kModel, kIen, kMac, kEk, kEkCert, kPpk };

// The column a header (or JSON member) name means; nullopt for an unknown one.
std::optional<Column> ColumnNamed(std::string name) {
  static const std::map<std::string, Column> kNames = {
      {"serial", Column::kSerial},  {"serial_number", Column::kSerial},
      {"model", Column::kModel},    {"ien", Column::kIen},
      {"mac", Column::kMac},        {"mac_addr", Column::kMac},
      {"ek", Column::kEk},          {"endorsement_key", Column::kEk},
      {"ek_cert", Column::kEkCert}, {"ek_certificate", Column::kEkCert},
      {"ppk", Column::kPpk},        {"platform_primary_key", Column::kPpk},
  };
  absl::AsciiStrToLower(&name);
  auto it = kNames.find(name);
  if (it == kNames.end()) return std::nullopt;
  return it->second;
}

bool IsHex(std::string_view s) {
  if (s.size() % 2 != 0 || s.substr(0, 2) != "30") return false;
  for (char c : s) {
    if (!std::isxdigit(static_cast<unsigned char>(c))) return false;
  }
  return true;
}

absl::StatusOr<std::string> Binary(std::string_view text) {
  if (IsHex(text)) {
    std::string out;
    for (size_t i = 0; i < text.size(); i += 2) {
      out.push_back(static_cast<char>(std::stoi(std::string(text.substr(i, 2)), nullptr, 16)));
    }
    return out;
  }
  auto der = Base64Decode(text);
  if (!der.ok()) return absl::InvalidArgumentError("not base64 or hex");
  return der;
}

// Sets `column` of `s` to `value` ("" sets nothing).
absl::Status Set(service::SerialAssignment& s, Column column, std::string value) {
  value = std::string(absl::StripAsciiWhitespace(value));
  if (value.empty()) return absl::OkStatus();
  switch (column) {
    case Column::kSerial:
      s.serial_number = value;
      break;
    case Column::kModel:
      s.model = value;
      break;
    case Column::kIen:
      s.ien = value;
      break;
    case Column::kMac:
      s.mac_addr = value;
      break;
    case Column::kEk: {
      MASA_ASSIGN_OR_RETURN(s.tpm.endorsement_key, Binary(value));
      break;
    }
    case Column::kEkCert: {
      MASA_ASSIGN_OR_RETURN(s.tpm.ek_certificate, Binary(value));
      break;
    }
    case Column::kPpk: {
      MASA_ASSIGN_OR_RETURN(s.tpm.platform_primary_key, Binary(value));
      break;
    }
  }
  return absl::OkStatus();
}

const char* ColumnName(Column c) {
  switch (c) {
    case Column::kSerial:
      return "serial";
    case Column::kModel:
      return "model";
    case Column::kIen:
      return "ien";
    case Column::kMac:
      return "mac";
    case Column::kEk:
      return "ek";
    case Column::kEkCert:
      return "ek_cert";
    case Column::kPpk:
      return "ppk";
  }
  return "?";
}

absl::Status JsonLine(const std::string& line, service::SerialAssignment& s) {
  nlohmann::json j = nlohmann::json::parse(line, nullptr, /*allow_exceptions=*/false);
  if (!j.is_object()) return absl::InvalidArgumentError("not a JSON object");
  auto take = [&](const nlohmann::json& object, bool nested) -> absl::Status {
    for (const auto& [key, value] : object.items()) {
      if (!nested && key == "tpm") continue;
      std::optional<Column> c = ColumnNamed(key);
      if (!c || (nested && *c != Column::kEk && *c != Column::kEkCert && *c != Column::kPpk)) {
        return absl::InvalidArgumentError("unknown member \"" + key + "\"");
      }
      if (!value.is_string()) return absl::InvalidArgumentError(key + ": not a string");
      if (absl::Status st = Set(s, *c, value.get<std::string>()); !st.ok()) {
        return absl::InvalidArgumentError(absl::StrCat(key, ": ", st.message()));
      }
    }
    return absl::OkStatus();
  };
  MASA_RETURN_IF_ERROR(take(j, false));
  if (j.contains("tpm")) {
    if (!j["tpm"].is_object()) return absl::InvalidArgumentError("tpm: not an object");
    MASA_RETURN_IF_ERROR(take(j["tpm"], true));
  }
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<std::vector<service::SerialAssignment>> ParseSerialsFile(std::string_view text,
                                                                        std::string_view name) {
  enum class Form { kUnknown, kPlain, kCsv, kJson } form = Form::kUnknown;
  std::vector<Column> header;
  std::vector<service::SerialAssignment> out;
  int line_no = 0;
  const std::string file(name);
  for (absl::string_view line : absl::StrSplit(absl::string_view(text.data(), text.size()), '\n')) {
    ++line_no;
    line = absl::StripAsciiWhitespace(line);
    if (line.empty() || line[0] == '#') continue;
    auto bad = [&](absl::string_view why) {
      return absl::InvalidArgumentError(absl::StrCat(file, " line ", line_no, ": ", why));
    };
    std::vector<std::string> f = absl::StrSplit(line, ',');
    for (auto& x : f) x = std::string(absl::StripAsciiWhitespace(x));
    if (form == Form::kUnknown) {
      if (line[0] == '{') {
        form = Form::kJson;
      } else if (std::any_of(f.begin(), f.end(), [](const std::string& x) {
                   return ColumnNamed(x) == Column::kSerial;
                 })) {
        form = Form::kCsv;
        for (const std::string& h : f) {
          std::optional<Column> c = ColumnNamed(h);
          if (!c) return bad("unknown column \"" + h + "\"");
          for (Column seen : header) {
            if (seen == *c) return bad(absl::StrCat("column ", ColumnName(*c), " given twice"));
          }
          header.push_back(*c);
        }
        continue;
      } else {
        form = Form::kPlain;
      }
    }
    service::SerialAssignment s;
    switch (form) {
      case Form::kPlain:
        if (f.size() > 3 || f[0].empty()) return bad("expected SERIAL[,MODEL[,IEN]]");
        s = {f.size() > 2 ? f[2] : "", f[0], f.size() > 1 ? f[1] : "", "", {}};
        break;
      case Form::kCsv:
        if (f.size() != header.size()) {
          return bad(absl::StrCat(f.size(), " fields, the header names ", header.size()));
        }
        for (size_t i = 0; i < f.size(); ++i) {
          if (absl::Status st = Set(s, header[i], f[i]); !st.ok()) {
            return bad(absl::StrCat(ColumnName(header[i]), ": ", st.message()));
          }
        }
        break;
      case Form::kJson:
        if (absl::Status st = JsonLine(std::string(line), s); !st.ok()) return bad(st.message());
        break;
      case Form::kUnknown:
        break;
    }
    if (s.serial_number.empty()) return bad("no serial number");
    out.push_back(std::move(s));
  }
  return out;
}

}  // namespace masa::tools
