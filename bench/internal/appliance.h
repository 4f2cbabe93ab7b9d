// The appliance under test: a state provisioned with masactl (dev-init, an organization, the
// serial pool), masad started on it and stopped, and the raw C_Sign ceiling of its token.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "bench/internal/options.h"
#include "common/testing/subprocess.h"

namespace masa::bench {

struct Appliance {
  std::string work;           // our folder
  std::string state;          // the masad state folder inside it
  std::string token;          // the admin bearer token
  std::string officer_token;  // a security officer's (rotation mode)
  std::unique_ptr<subprocess::Daemon> masad;
  uint16_t port = 0;
  uint16_t grpc_port = 0;
  uint16_t metrics_port = 0;  // GET /metrics (plain HTTP); 0 when masad printed none
};

// Runs a tool with stdout and stderr appended to `log`; Die() when it fails.
void RunTool(const std::vector<std::string>& argv, const std::string& log);

// masactl's output (stdout and stderr), and its exit code.
std::pair<int, std::string> Masactl(const std::vector<std::string>& args);

// Makes d->work (a temporary folder, or --keep-state's), provisions d->state in it for `o`
// and reads the tokens. Die() on failure.
void Provision(const Options& o, Appliance* d);

// Starts masad on d->state with its listeners on free loopback ports (log: work/masad.log).
void StartDaemon(Appliance* d);
// SIGTERM and up to 30 s to drain, then SIGKILL. Nothing when not running.
void StopDaemon(Appliance* d);

// The raw C_Sign ceiling of the state's token (masad stopped): signatures/s with `threads`
// sessions signing for `seconds`, and this process's CPU time per signature meanwhile (the
// token is SoftHSM2, in-process: the cost of a signature alone), of which the part inside
// C_SignInit and C_Sign as masad measures it for /metrics (hsm/sign_cpu.h).
struct CSignFigures {
  double per_s = 0;
  double cpu_us_per_signature = 0;
  double inside_cpu_us_per_signature = 0;
};
CSignFigures RawCSign(const std::string& state, int threads, double seconds);
// The mean of two equally long C_Sign phases, each field; the other one when one is empty.
CSignFigures MeanOf(const CSignFigures& a, const CSignFigures& b);

}  // namespace masa::bench
