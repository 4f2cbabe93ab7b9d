#include "common/heap.h"

#include <fstream>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/match.h"
#include "gtest/gtest.h"

namespace masa {
namespace {

#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
constexpr bool kSanitizerAllocator = true;
#elif defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(thread_sanitizer)
constexpr bool kSanitizerAllocator = true;
#else
constexpr bool kSanitizerAllocator = false;
#endif
#else
constexpr bool kSanitizerAllocator = false;
#endif

// RssAnon of this process in KB (/proc/self/status).
long RssAnonKb() {
  std::ifstream status("/proc/self/status");
  std::string line;
  while (std::getline(status, line)) {
    if (absl::StartsWith(line, "RssAnon:")) return std::stol(line.substr(8));
  }
  return -1;
}

// A burst on another thread (its own arena) that frees all but the last block: the freed
// memory lies below a live chunk, so the arena cannot shrink from its top and keeps it,
// which is what a long run of masad showed as creeping heap.
TEST(HeapTest, ReleaseFreeHeapGivesBackWhatABurstLeftBehind) {
  if (kSanitizerAllocator) GTEST_SKIP() << "a sanitizer's allocator replaces malloc";
  constexpr size_t kBlocks = 2000, kBlockBytes = 16 * 1024;  // 32 MB in arena chunks
  std::vector<char*> kept;
  std::thread burst([&] {
    std::vector<char*> blocks;
    for (size_t i = 0; i < kBlocks; ++i) {
      char* p = static_cast<char*>(malloc(kBlockBytes));
      for (size_t j = 0; j < kBlockBytes; j += 4096) p[j] = 1;  // touch: resident
      blocks.push_back(p);
    }
    for (size_t i = 0; i + 1 < kBlocks; ++i) free(blocks[i]);
    kept.push_back(blocks.back());
  });
  burst.join();
  const HeapFigures held = CurrentHeap();
  EXPECT_GE(held.free_held, (kBlocks - 1) * kBlockBytes);
  const long before_kb = RssAnonKb();

  ReleaseFreeHeap();

  const long after_kb = RssAnonKb();
  // At least three quarters of the freed 32 MB left the resident heap.
  EXPECT_LT(after_kb, before_kb - static_cast<long>(kBlocks * kBlockBytes / 1024 * 3 / 4))
      << "RssAnon before " << before_kb << " KB, after " << after_kb << " KB";
  for (char* p : kept) free(p);
}

TEST(HeapTest, MetricsNameInUseAndFreeBytes) {
  const std::string text = HeapMetrics();
  EXPECT_TRUE(absl::StrContains(text, "\nmasa_heap_in_use_bytes ")) << text;
  EXPECT_TRUE(absl::StrContains(text, "\nmasa_heap_free_bytes ")) << text;
}

}  // namespace
}  // namespace masa
