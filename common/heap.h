// The C heap of this process: what it holds, and giving free memory back. Speaks to
// gperftools' tcmalloc when the process is linked with it (masad, tools/CMakeLists.txt), else
// to glibc's malloc.
//
// glibc keeps memory freed by a thread in that thread's arena (up to 8 per core) for reuse,
// and returns it to the system only from the top of an arena. In masad, where signer, store
// and network threads allocate in bursts, freed memory scattered over many arenas shows as
// a heap (RssAnon) that creeps up over a long run although what is in use stays flat
// (measured: 22 MB held, 9 MB in use, 13 MB free in 16 arenas after two minutes of load).
#pragma once

#include <cstddef>
#include <string>

namespace masa {

// What the allocator holds now (tcmalloc's properties, or glibc's mallinfo2). Meaningless
// under a sanitizer's allocator.
struct HeapFigures {
  size_t in_use = 0;       // bytes in allocated chunks, arenas and mmapped blocks
  size_t free_held = 0;    // bytes in free chunks that malloc keeps (RSS where touched)
  size_t arena_bytes = 0;  // bytes obtained from the system for the arenas (sbrk and heaps)
};
HeapFigures CurrentHeap();

// Returns free pages to the system: tcmalloc's page heap (ReleaseFreeMemory; its thread and
// central caches stay), or glibc's whole free pages of every arena (malloc_trim(0)). The
// RSS goes, the address space stays. Takes the allocator's locks in turn, for about a
// millisecond per some megabytes: call it from a background thread, not often.
// True when some memory was given back.
bool ReleaseFreeHeap();

// Prometheus text: masa_heap_in_use_bytes and masa_heap_free_bytes (gauges).
std::string HeapMetrics();

}  // namespace masa
