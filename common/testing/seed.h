// Seeds for tests and benchmarks that use randomness, printed and replayable: a run prints
// "seed=N" and MASA_TEST_SEED=N replays it.
//
//   const uint64_t seed = TestSeed("crash-round");  // prints "seed=N (crash-round; ...)"
//   ::testing::Test::RecordProperty("seed", std::to_string(seed));  // in the XML report too
//   std::mt19937_64 rng(seed);
#pragma once

#include <cstdint>
#include <optional>
#include <string_view>

namespace masa {

// The variable that replays a seed.
inline constexpr char kTestSeedVariable[] = "MASA_TEST_SEED";

// The seed of one randomised run: MASA_TEST_SEED when it is set (a decimal number; any
// other value aborts with a message, since a typo must not quietly run another seed), else
// `fixed` when given (a test that is deterministic by default), else a fresh one from
// std::random_device. Prints "seed=N (`what`; replay with MASA_TEST_SEED=N)" on stdout and
// flushes, so the line is there even when the run then crashes. Thread-safe.
uint64_t TestSeed(std::string_view what, std::optional<uint64_t> fixed = std::nullopt);

}  // namespace masa
