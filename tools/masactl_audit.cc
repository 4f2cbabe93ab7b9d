// masactl audit / store: placeholder until the store lands.
#include <cstdio>

#include "tools/commands.h"

namespace masa::tools {

int AuditCommand(const Args&) {
  std::fprintf(stderr, "masactl: audit commands are not available yet\n");
  return 1;
}

int StoreCommand(const Args&) {
  std::fprintf(stderr, "masactl: store commands are not available yet\n");
  return 1;
}

}  // namespace masa::tools
