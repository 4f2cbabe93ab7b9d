#include "common/heap.h"

#include <malloc.h>

#include "absl/strings/str_cat.h"

namespace masa {

HeapFigures CurrentHeap() {
  const struct mallinfo2 mi = mallinfo2();
  return {.in_use = mi.uordblks + mi.hblkhd, .free_held = mi.fordblks, .arena_bytes = mi.arena};
}

bool ReleaseFreeHeap() { return malloc_trim(0) != 0; }

std::string HeapMetrics() {
  const HeapFigures heap = CurrentHeap();
  return absl::StrCat(
      "# HELP masa_heap_in_use_bytes Bytes of the C heap in use (malloc).\n"
      "# TYPE masa_heap_in_use_bytes gauge\nmasa_heap_in_use_bytes ",
      heap.in_use,
      "\n# HELP masa_heap_free_bytes Bytes of free chunks malloc keeps for reuse.\n"
      "# TYPE masa_heap_free_bytes gauge\nmasa_heap_free_bytes ",
      heap.free_held, "\n");
}

}  // namespace masa
