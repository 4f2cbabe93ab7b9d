// The file `masactl serials assign --file` reads: serial numbers with their vendor-side
// device data (model, IEN, MAC address, TPM data). Three forms, told apart by the first
// line that is neither blank nor a comment (#):
//
//  1. Plain lines (the original form): SERIAL[,MODEL[,IEN]].
//  2. CSV with a header line naming the columns, in any order, case-insensitive (a first
//     line with a field named serial or serial_number is the header):
//       serial (required; also serial_number), model, ien, mac (also mac_addr),
//       ek (also endorsement_key), ek_cert (also ek_certificate),
//       ppk (also platform_primary_key)
//     e.g.  serial,model,mac,ek_cert,ppk
//           JPE1001,DCS-7800-SUP,00:1c:73:aa:bb:cc,MIIC...,MFkw...
//     An empty cell is no value. Fields are not quoted: no value holds a comma.
//  3. JSON lines: one object per line, e.g.
//       {"serial":"JPE1001","model":"DCS-7800-SUP","mac_addr":"00:1c:73:aa:bb:cc",
//        "tpm":{"ek_certificate":"MIIC...","platform_primary_key":"MFkw..."}}
//     with the same names as the CSV columns (long or short), TPM values at the top level
//     or under "tpm".
// TPM values (EK public key or EK certificate, platform primary key) are DER, written as
// base64 or as hex (hex is recognised by its "30" start: base64 DER starts with "M").
// The service checks the values themselves (service/serials.h).
#pragma once

#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "service/serials.h"

namespace masa::tools {

// kInvalidArgument naming `name` and the line for anything it cannot read.
absl::StatusOr<std::vector<service::SerialAssignment>> ParseSerialsFile(std::string_view text,
                                                                        std::string_view name);

}  // namespace masa::tools
