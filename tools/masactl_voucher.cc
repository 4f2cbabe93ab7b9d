#include <cstdio>

#include "tools/commands.h"

namespace masa::tools {

int VoucherCommand(const Args&) {
  std::fprintf(stderr, "masactl: voucher commands are not available yet\n");
  return 1;
}

}  // namespace masa::tools
