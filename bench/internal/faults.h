// HSM fault mode: the fault module's rules written on the schedule of --fail-token-at,
// --fail-all-at and --recover-at, and the closed loop's figures by phase of that schedule.
#pragma once

#include <condition_variable>
#include <mutex>
#include <string>
#include <thread>

#include "bench/internal/load_client.h"
#include "bench/internal/options.h"

namespace masa::bench {

// Writes the fault module's rules on the schedule of `o`, from the moment it is started,
// until stopped. Atomic replacement (temp file + rename), as the module wants.
class FaultSchedule {
 public:
  FaultSchedule(const Options& o, std::string rules) : o_(o), rules_(std::move(rules)) {}
  ~FaultSchedule() { Stop(); }
  FaultSchedule(const FaultSchedule&) = delete;
  FaultSchedule& operator=(const FaultSchedule&) = delete;

  void Start();
  // Stops the schedule and clears the rules (every token healthy again).
  void Stop();

 private:
  void Write(const std::string& rules);

  const Options& o_;
  const std::string rules_;
  std::mutex mu_;
  std::condition_variable cv_;
  bool stop_ = false;
  std::thread thread_;
};

// The closed loop's vouchers/s and refusals/s in each phase of the fault schedule, and each
// phase's rate against the healthy one.
void PrintFaultPhases(const Options& o, const PhaseResult& r);

}  // namespace masa::bench
