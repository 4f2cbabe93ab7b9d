// An audit entry's fields as JSON, as `masactl audit prove` and `export` show them.
#pragma once

#include "common/base64.h"
#include "common/time.h"
#include "nlohmann/json.hpp"
#include "store/audit.h"

namespace masa::tools::internal {

inline nlohmann::json AuditEntryJson(const store::AuditEntry& e) {
  return nlohmann::json{{"seq", e.seq},
                        {"time", FormatRfc3339(e.time)},
                        {"actor", e.actor},
                        {"action", e.action},
                        {"target", e.target},
                        {"outcome", e.outcome},
                        {"object_hash", Base64Encode(e.object_hash)},
                        {"prev_hash", Base64Encode(e.prev_hash)}};
}

}  // namespace masa::tools::internal
