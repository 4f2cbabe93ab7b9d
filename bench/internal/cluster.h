// load_bench --postgres [--nodes N] (issue 15): the provisioned state moved to a PostgreSQL
// primary with a synchronous standby (fsync on, started by load_bench in its work folder),
// N masad nodes on copies of the state (each its own copy of the token), the closed loop
// and the open loop at 80 % of its sustained rate spread over the nodes' connections.
// Prints vouchers/s, latency percentiles, database commits/s (the nodes' write
// transactions) and the nodes' CPU per voucher. Run it beside the LMDB run for the
// comparison:
//
//   build/bench/load_bench --grpc-calls 0 --duration 20
//   build/bench/load_bench --postgres --nodes 1 --duration 20
//   build/bench/load_bench --postgres --nodes 3 --duration 20
#pragma once

#include "bench/internal/appliance.h"
#include "bench/internal/options.h"

namespace masa::bench {

// `d` provisioned (masad not started). Returns the exit code.
int RunCluster(const Options& o, Appliance& d, int argc, char** argv);

}  // namespace masa::bench
