// The two probe targets of tests/fuzz_sh_test.sh, which checks that scripts/fuzz.sh fails on
// a finding and passes a clean run. Built only with MASA_FUZZ and never listed in
// fuzz_targets.txt, so the fuzz pass itself does not run them. Built with
// MASA_FUZZ_PROBE_CRASH, the target reads one byte past a heap buffer (an AddressSanitizer
// report) when its input starts with the magic text its one seed holds; built without, it
// finds nothing whatever its input.
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <memory>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
#ifdef MASA_FUZZ_PROBE_CRASH
  static constexpr char kMagic[] = "fuzz.sh self-test: a finding";
  if (size >= sizeof kMagic - 1 && std::memcmp(data, kMagic, sizeof kMagic - 1) == 0) {
    auto buffer = std::make_unique<char[]>(size);
    volatile char past_the_end = buffer.get()[size];
    (void)past_the_end;
  }
#else
  (void)data;
  (void)size;
#endif
  return 0;
}
