// A stored component (store::Component) as the service shows it: its vendor-side TPM data
// and its OVGS serial details. Shared by serials.cc and component_vouchers.cc.
#pragma once

#include <string>

#include "service/serials.h"
#include "service/types.h"
#include "store/records.h"

namespace masa::service::internal {

inline TpmInfo TpmOf(const store::Component& c) {
  return {c.tpm_endorsement_key, c.tpm_ek_certificate, c.tpm_platform_primary_key};
}

// group_ids: the group below the root it is placed in (if any), then the organization id.
inline SerialDetails DetailsOf(const store::Component& c) {
  SerialDetails d;
  d.serial = {c.ien, c.serial_number};
  d.organization_id = c.organization_id;
  if (!c.group_id.empty() && c.group_id != c.organization_id) d.group_ids.push_back(c.group_id);
  d.group_ids.push_back(c.organization_id);
  d.model = c.model;
  d.mac_addr = c.mac_addr;
  d.tpm = TpmOf(c);
  return d;
}

}  // namespace masa::service::internal
