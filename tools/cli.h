// A small command-line parser for masactl and masad: "--flag value" / "--flag=value" options,
// boolean switches, positional arguments, and generated --help text.
#pragma once

#include <functional>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "absl/status/statusor.h"

namespace masa::tools {

// Declares what a command accepts, then parses argv against it.
//   Flags flags("masactl voucher sign", "Signs a voucher for one serial number.");
//   flags.Option("state", "DIR", "state folder", /*required=*/true);
//   flags.Switch("verbose", "print more");
//   MASA_ASSIGN_OR_RETURN(auto args, flags.Parse(argv));
class Flags {
 public:
  Flags(std::string usage, std::string summary);

  Flags& Option(const std::string& name, const std::string& value_name, const std::string& help,
                bool required = false);
  // An option that may be given several times (GetAll answers every value, in order).
  Flags& RepeatedOption(const std::string& name, const std::string& value_name,
                        const std::string& help);
  Flags& Switch(const std::string& name, const std::string& help);
  // Positional arguments, by name, in order; `min`..`max` of them.
  Flags& Positional(const std::string& name, const std::string& help, size_t min = 1,
                    size_t max = 1);

  struct Parsed {
    std::map<std::string, std::string> options;  // a repeated option: its last value
    std::map<std::string, std::vector<std::string>> repeated;
    std::set<std::string> switches;
    std::vector<std::string> positional;
    bool help = false;  // --help or -h was given: print Help() and exit 0

    std::optional<std::string> Get(const std::string& name) const;
    std::string GetOr(const std::string& name, const std::string& fallback) const;
    bool Has(const std::string& name) const { return switches.count(name) > 0; }
    // Every value of a RepeatedOption (or the one value of an Option), in order.
    std::vector<std::string> GetAll(const std::string& name) const;
  };

  // kInvalidArgument for an unknown flag, a missing value or required option, or the
  // wrong number of positional arguments; the message says which.
  absl::StatusOr<Parsed> Parse(const std::vector<std::string>& args) const;
  std::string Help() const;

 private:
  struct Spec {
    std::string value_name;  // empty for a switch
    std::string help;
    bool required = false;
    bool repeated = false;
  };
  std::string usage_;
  std::string summary_;
  std::map<std::string, Spec> specs_;
  std::vector<std::string> order_;
  std::string positional_name_;
  std::string positional_help_;
  size_t positional_min_ = 0;
  size_t positional_max_ = 0;
};

// The name error messages start with ("masactl" unless set, e.g. "masad").
void SetProgramName(const char* name);

// Prints "<program>: <message>" to stderr and returns the exit code for the status's code
// (the one table: 2 bad input, 3 not found, 4 permission, 5 precondition, 6 unavailable,
// 7 data loss, 1 other).
int ReportError(const absl::Status& status);
int ExitCodeFor(absl::StatusCode code);

// One subcommand: parses `args` against `flags` (an error is reported), prints the help when
// asked, else runs `body` and reports its error. The process's exit code.
int RunParsed(Flags& flags, const std::vector<std::string>& args,
              const std::function<absl::Status(const Flags::Parsed&)>& body);

}  // namespace masa::tools
