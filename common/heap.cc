#include "common/heap.h"

#include <malloc.h>

#include "absl/strings/str_cat.h"

// gperftools' tcmalloc (masad links it when installed, tools/CMakeLists.txt): its C API,
// weak so that a process on glibc's malloc (tests, masactl) links without it and sees null.
extern "C" {
__attribute__((weak)) void MallocExtension_ReleaseFreeMemory();
__attribute__((weak)) int MallocExtension_GetNumericProperty(const char* property, size_t* value);
}

namespace masa {
namespace {

size_t TcmallocProperty(const char* name) {
  size_t value = 0;
  return MallocExtension_GetNumericProperty(name, &value) != 0 ? value : 0;
}

}  // namespace

HeapFigures CurrentHeap() {
  if (MallocExtension_GetNumericProperty != nullptr) {
    return {.in_use = TcmallocProperty("generic.current_allocated_bytes"),
            .free_held = TcmallocProperty("tcmalloc.pageheap_free_bytes") +
                         TcmallocProperty("tcmalloc.central_cache_free_bytes") +
                         TcmallocProperty("tcmalloc.transfer_cache_free_bytes") +
                         TcmallocProperty("tcmalloc.thread_cache_free_bytes"),
            .arena_bytes = TcmallocProperty("generic.heap_size")};
  }
  const struct mallinfo2 mi = mallinfo2();
  return {.in_use = mi.uordblks + mi.hblkhd, .free_held = mi.fordblks, .arena_bytes = mi.arena};
}

bool ReleaseFreeHeap() {
  if (MallocExtension_ReleaseFreeMemory != nullptr) {
    const size_t before = TcmallocProperty("tcmalloc.pageheap_unmapped_bytes");
    MallocExtension_ReleaseFreeMemory();
    return TcmallocProperty("tcmalloc.pageheap_unmapped_bytes") > before;
  }
  return malloc_trim(0) != 0;
}

std::string HeapMetrics() {
  const HeapFigures heap = CurrentHeap();
  return absl::StrCat(
      "# HELP masa_heap_in_use_bytes Bytes of the C heap in use (malloc).\n"
      "# TYPE masa_heap_in_use_bytes gauge\nmasa_heap_in_use_bytes ",
      heap.in_use,
      "\n# HELP masa_heap_free_bytes Bytes of free memory the allocator keeps for reuse.\n"
      "# TYPE masa_heap_free_bytes gauge\nmasa_heap_free_bytes ",
      heap.free_held, "\n");
}

}  // namespace masa
