#include "tools/cli.h"

#include <cstdio>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"

namespace masa::tools {

Flags::Flags(std::string usage, std::string summary)
    : usage_(std::move(usage)), summary_(std::move(summary)) {}

Flags& Flags::Option(const std::string& name, const std::string& value_name,
                     const std::string& help, bool required) {
  specs_[name] = Spec{value_name, help, required};
  order_.push_back(name);
  return *this;
}

Flags& Flags::RepeatedOption(const std::string& name, const std::string& value_name,
                             const std::string& help) {
  Option(name, value_name, help);
  specs_[name].repeated = true;
  return *this;
}

std::vector<std::string> Flags::Parsed::GetAll(const std::string& name) const {
  if (auto it = repeated.find(name); it != repeated.end()) return it->second;
  if (auto one = Get(name)) return {*one};
  return {};
}

Flags& Flags::Switch(const std::string& name, const std::string& help) {
  specs_[name] = Spec{"", help, false};
  order_.push_back(name);
  return *this;
}

Flags& Flags::Positional(const std::string& name, const std::string& help, size_t min, size_t max) {
  positional_name_ = name;
  positional_help_ = help;
  positional_min_ = min;
  positional_max_ = max;
  return *this;
}

std::optional<std::string> Flags::Parsed::Get(const std::string& name) const {
  auto it = options.find(name);
  if (it == options.end()) return std::nullopt;
  return it->second;
}

std::string Flags::Parsed::GetOr(const std::string& name, const std::string& fallback) const {
  auto it = options.find(name);
  return it == options.end() ? fallback : it->second;
}

absl::StatusOr<Flags::Parsed> Flags::Parse(const std::vector<std::string>& args) const {
  Parsed parsed;
  for (size_t i = 0; i < args.size(); ++i) {
    const std::string& arg = args[i];
    if (arg == "--help" || arg == "-h") {
      parsed.help = true;
      return parsed;
    }
    if (arg == "--") {
      for (++i; i < args.size(); ++i) parsed.positional.push_back(args[i]);
      break;
    }
    if (!absl::StartsWith(arg, "--")) {
      parsed.positional.push_back(arg);
      continue;
    }
    std::string name = arg.substr(2);
    std::optional<std::string> value;
    if (size_t eq = name.find('='); eq != std::string::npos) {
      value = name.substr(eq + 1);
      name = name.substr(0, eq);
    }
    auto spec = specs_.find(name);
    if (spec == specs_.end()) {
      return absl::InvalidArgumentError(absl::StrCat("unknown option --", name, " (see --help)"));
    }
    if (spec->second.value_name.empty()) {
      if (value) return absl::InvalidArgumentError(absl::StrCat("--", name, " takes no value"));
      parsed.switches.insert(name);
      continue;
    }
    if (!value) {
      if (i + 1 >= args.size()) {
        return absl::InvalidArgumentError(
            absl::StrCat("--", name, " needs a value (", spec->second.value_name, ")"));
      }
      value = args[++i];
    }
    if (spec->second.repeated) {
      parsed.repeated[name].push_back(*value);
    } else if (parsed.options.count(name)) {
      return absl::InvalidArgumentError(absl::StrCat("--", name, " given twice"));
    }
    parsed.options[name] = *value;
  }
  for (const auto& name : order_) {
    const Spec& spec = specs_.at(name);
    if (spec.required && !parsed.options.count(name)) {
      return absl::InvalidArgumentError(
          absl::StrCat("missing --", name, " ", spec.value_name, " (see --help)"));
    }
  }
  if (parsed.positional.size() < positional_min_ || parsed.positional.size() > positional_max_) {
    if (positional_max_ == 0) {
      return absl::InvalidArgumentError(
          absl::StrCat("unexpected argument \"", parsed.positional.front(), "\""));
    }
    return absl::InvalidArgumentError(absl::StrCat(
        "expected ", positional_min_ == positional_max_ ? "" : "at least ", positional_min_, " ",
        positional_name_, " argument(s), got ", parsed.positional.size()));
  }
  return parsed;
}

std::string Flags::Help() const {
  std::string out = absl::StrCat("usage: ", usage_, "\n\n", summary_, "\n");
  if (!order_.empty()) out += "\noptions:\n";
  for (const auto& name : order_) {
    const Spec& spec = specs_.at(name);
    std::string left =
        absl::StrCat("  --", name, spec.value_name.empty() ? "" : " " + spec.value_name);
    if (left.size() < 28) left.resize(28, ' ');
    absl::StrAppend(&out, left, " ", spec.help, spec.required ? " (required)" : "", "\n");
  }
  if (!positional_name_.empty()) {
    absl::StrAppend(&out, "\narguments:\n  ", positional_name_, "  ", positional_help_, "\n");
  }
  absl::StrAppend(&out, "  --help                       show this help\n");
  return out;
}

int ExitCodeFor(absl::StatusCode code) {
  switch (code) {
    case absl::StatusCode::kOk:
      return 0;
    case absl::StatusCode::kInvalidArgument:
    case absl::StatusCode::kOutOfRange:
      return 2;
    case absl::StatusCode::kNotFound:
      return 3;
    case absl::StatusCode::kPermissionDenied:
    case absl::StatusCode::kUnauthenticated:
      return 4;
    case absl::StatusCode::kFailedPrecondition:
    case absl::StatusCode::kAlreadyExists:
      return 5;
    case absl::StatusCode::kUnavailable:
    case absl::StatusCode::kResourceExhausted:
      return 6;
    case absl::StatusCode::kDataLoss:
      return 7;
    default:
      return 1;
  }
}

namespace {
const char* program_name = "masactl";
}  // namespace

void SetProgramName(const char* name) { program_name = name; }

int ReportError(const absl::Status& status) {
  std::fprintf(stderr, "%s: %s\n", program_name, std::string(status.message()).c_str());
  return ExitCodeFor(status.code());
}

int RunParsed(Flags& flags, const std::vector<std::string>& args,
              const std::function<absl::Status(const Flags::Parsed&)>& body) {
  auto parsed = flags.Parse(args);
  if (!parsed.ok()) return ReportError(parsed.status());
  if (parsed->help) {
    std::printf("%s", flags.Help().c_str());
    return 0;
  }
  absl::Status s = body(*parsed);
  return s.ok() ? 0 : ReportError(s);
}

}  // namespace masa::tools
