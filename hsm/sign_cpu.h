// The CPU time this process spent inside the HSM's signing calls, summed over every Token
// and thread: the signature's own cost, for /metrics, so that a benchmark can tell it apart
// from the rest of the service's CPU in the same run and process.
//
//   hsm::SignCpu so_far = hsm::SignCpuSoFar();
//   double us_per_call = so_far.calls ? so_far.cpu_ns / 1e3 / so_far.calls : 0;
#pragma once

#include <cstdint>

namespace masa::hsm {

struct SignCpu {
  // Thread CPU time (user and system, CLOCK_THREAD_CPUTIME_ID) from just before C_SignInit
  // to just after the last C_Sign of each call: the module's work on the calling thread.
  // With a software token (SoftHSM2) that is the signature itself; a hardware HSM's own
  // work is not on this machine and shows only as the wait's system time.
  uint64_t cpu_ns = 0;
  // The calls timed: one per signature attempted (those that failed included, and every
  // retry, probe and opening test signature), whoever called Token::Sign.
  uint64_t calls = 0;
};

// The totals since the process started. Never decreases. Thread-safe; the two fields are
// read apart, so a reader racing a signature may see its CPU without its call, or the other
// way round (off by one call at most per signing thread).
SignCpu SignCpuSoFar();

}  // namespace masa::hsm
