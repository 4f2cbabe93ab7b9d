// The load generator's gRPC client: OVGS GetOwnershipVouchers against the masad under load,
// many components a call, closed loop, with the same figures as the REST phases
// (load_client.h PhaseResult), so that both paths print side by side in one run.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <string>

#include "bench/internal/load_client.h"

namespace masa::bench {

struct GrpcLoadTarget {
  uint16_t port = 0;      // masad's [grpc] listener on 127.0.0.1 (TLS, name "localhost")
  std::string tls_ca;     // PEM file the server certificate is verified against
  std::string token;      // bearer token of an organization's admin
  pid_t pid = -1;         // masad, for its CPU time and memory
  std::string ien = "9";  // the vendor IEN of the serials
  int components_per_call = 100;
  int serial_pool = 400000;  // serials LB-0000000... assigned to that organization
};

// Uploads `certificate_der` to the organization's root group with CreateDomainCert (expiry
// in 30 days) and returns its cert_id; Die() on failure.
std::string CreateGrpcDomainCert(const GrpcLoadTarget& target, const std::string& org_id,
                                 const std::string& certificate_der);

// Closed loop: `calls` threads, each sending GetOwnershipVouchers for the next
// components_per_call serials of the pool as soon as its answer arrived, for `seconds`.
// requests_ok counts calls, vouchers the vouchers they carried.
PhaseResult GrpcClosed(const GrpcLoadTarget& target, const std::string& cert_id,
                       const std::string& name, int calls, double seconds);

}  // namespace masa::bench
