#include <cstdio>

#include "tools/commands.h"

namespace masa::tools {

int DevInitCommand(const Args&) {
  std::fprintf(stderr, "masactl: dev-init is not available yet\n");
  return 1;
}

}  // namespace masa::tools
