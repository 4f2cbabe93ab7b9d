#include "common/testing/seed.h"

#include <cstdio>
#include <cstdlib>
#include <random>
#include <string>

#include "absl/strings/numbers.h"

namespace masa {

uint64_t TestSeed(std::string_view what, std::optional<uint64_t> fixed) {
  uint64_t seed = 0;
  if (const char* env = std::getenv(kTestSeedVariable); env != nullptr && *env != '\0') {
    if (!absl::SimpleAtoi(env, &seed)) {
      std::fprintf(stderr, "%s=%s is not a decimal seed\n", kTestSeedVariable, env);
      std::abort();
    }
  } else if (fixed) {
    seed = *fixed;
  } else {
    std::random_device source;
    seed = (uint64_t{source()} << 32) | source();
  }
  const std::string label(what);
  std::printf("seed=%llu (%s; replay with %s=%llu)\n", static_cast<unsigned long long>(seed),
              label.c_str(), kTestSeedVariable, static_cast<unsigned long long>(seed));
  std::fflush(stdout);
  return seed;
}

}  // namespace masa
