// The masad under test, started one way for every end-to-end test: on a dev-init state,
// REST on 127.0.0.1 port 0, /metrics on a loopback listener of its own (port 0), no gRPC
// (tests/grpc/ drives that), ready once it prints "masad listening on
// https://127.0.0.1:PORT", stderr captured in STATE/masad.log, stopped with SIGTERM
// (Terminate) or SIGKILL (Kill).
//
//   auto masad = StartMasad({.binary = MASAD, .state = dev.dir});
//   ASSERT_TRUE(masad.ok()) << masad.status();
//   HttpsClient client((*masad)->ready_rest(), dev.dir + "/tls-ca.pem", scratch);
//   EXPECT_EQ((*masad)->Terminate(absl::Seconds(30)), 0) << (*masad)->log();
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "common/testing/subprocess.h"

namespace masa::e2e {

struct MasadOptions {
  std::string binary = {};  // the masad under test (the MASAD compile definition)
  std::string state = {};   // a dev-init state folder: STATE/masad.toml, STATE/masad.log
  // More changes to the environment; MASA_HSM_PIN and MASA_PKCS11_MODULE are always removed
  // (masad reads its PIN and module from the state, as in production).
  subprocess::EnvChanges env = {};
  // > 0: masad's wall clock runs this many days ahead (libfaketime, preloaded from
  // `libfaketime`), as if it were restarted then; monotonic time is not faked.
  int days_ahead = 0;
  std::string libfaketime = {};
  absl::Duration start_timeout = absl::Seconds(90);
};

// Starts masad and waits for its listening line. Errors as subprocess::Daemon::Start
// (kDeadlineExceeded, kFailedPrecondition with the log), and kInvalidArgument for missing
// options or a URL that is not https://127.0.0.1:PORT.
absl::StatusOr<std::unique_ptr<subprocess::Daemon>> StartMasad(const MasadOptions& options);

// The REST port of a started masad (from its ready line).
uint16_t MasadPort(const subprocess::Daemon& masad);

// The URL masad printed for its metrics listener ("http://127.0.0.1:PORT/metrics"), or ""
// when it printed none.
std::string MasadMetricsUrl(const subprocess::Daemon& masad);

}  // namespace masa::e2e
