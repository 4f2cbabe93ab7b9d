// The CPU time this process spent inside the HSM's signing calls, summed over every Token
// and thread: the signature's own cost, for /metrics, so that a benchmark can tell it apart
// from the rest of the service's CPU in the same run and process.
//
//   hsm::SignCpu so_far = hsm::SignCpuSoFar();
//   double us_per_call = so_far.timed_calls ? so_far.timed_cpu_ns / 1e3 / so_far.timed_calls : 0;
#pragma once

#include <cstdint>

namespace masa::hsm {

// A signing call is timed once in this many on each thread (its first one included):
// a thread's CPU clock is read through a system call (1.7 us each on this project's 2-core
// VM, two per call, 5 % of a P-256 signature), and a sample is enough for an average.
inline constexpr uint64_t kSignCpuSampleEvery = 16;

struct SignCpu {
  // The signing calls: one per signature attempted (those that failed included, and every
  // retry, probe and opening test signature), whoever called Token::Sign.
  uint64_t calls = 0;
  // The calls timed (one in kSignCpuSampleEvery on each thread) and their thread CPU time
  // (user and system, CLOCK_THREAD_CPUTIME_ID) from just before C_SignInit to just after
  // the last C_Sign: the module's work on the calling thread. With a software token
  // (SoftHSM2) that is the signature itself; a hardware HSM's own work is not on this
  // machine and shows only as the wait's system time. timed_cpu_ns / timed_calls is the CPU
  // of one signing call.
  uint64_t timed_calls = 0;
  uint64_t timed_cpu_ns = 0;
};

// The totals since the process started. Never decreases. Thread-safe; the fields are read
// apart, so a reader racing a signature may see its CPU without its call, or the other way
// round (off by one call at most per signing thread).
SignCpu SignCpuSoFar();

}  // namespace masa::hsm
