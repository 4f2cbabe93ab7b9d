// The MASA domain, protocol-neutral: organizations, groups, principals, role bindings,
// tokens, pinned-domain certificates, serial numbers, voucher requests, vouchers, audit.
// Every permission decision of the appliance is made here, once, for REST, gRPC and the web
// UI alike; front ends only decode, call, and map the returned absl::StatusCode in one table
// of their own (REST: api/internal/problem.h).
//
// The domain is a set of small interfaces, one per concept, and a front end depends only on
// those it calls:
//
//   service/authentication.h   Authenticator      bearer token -> Caller
//   service/organizations.h    Organizations      organizations and their groups
//   service/principals.h       Principals         users, service accounts, role bindings
//   service/tokens.h           Tokens             API tokens
//   service/sessions.h         Sessions           web sessions, sign-in, licence acceptance
//   service/pdcs.h             Pdcs               pinned-domain certificates
//   service/serials.h          Serials            serial assignment and placement
//   service/voucher_requests.h VoucherRequests    request, renew, archive (the pipeline)
//   service/voucher_views.h    VoucherViews       get, download, list
//   service/audit_views.h      AuditViews         audit entries, inclusion proofs
//   service/keys.h             Keys               HSM key lifecycle (security officers)
//   service/bootstrap.h        OperatorBootstrap  masactl's caller-less writes
//
// Service is the one implementation of them all, and their factory:
//
//   MASA_ASSIGN_OR_RETURN(auto service, service::Service::Create(options));
//   MASA_ASSIGN_OR_RETURN(service::Caller caller, service->Authenticate(bearer));
//   MASA_RETURN_IF_ERROR(service->RequestVouchers(caller, request,
//       [](absl::StatusOr<service::RequestResult> r) { /* post to the event loop */ }));
#pragma once

#include <cstddef>
#include <memory>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "service/audit_views.h"
#include "service/authentication.h"
#include "service/bootstrap.h"
#include "service/keys.h"
#include "service/metrics.h"
#include "service/options.h"
#include "service/organizations.h"
#include "service/pdcs.h"
#include "service/principals.h"
#include "service/serials.h"
#include "service/sessions.h"
#include "service/tokens.h"
#include "service/types.h"
#include "service/voucher_requests.h"
#include "service/voucher_types.h"
#include "service/voucher_views.h"

namespace masa::service {

// Thread-safe: every method may be called from any thread at once. Methods that take a
// Caller re-check its token (revoked/expired/disabled -> kUnauthenticated). Reads authorize
// on a fresh store snapshot; every state change authorizes, changes and writes its audit
// entries inside one store write transaction (internal/operation.h), so nothing changes
// between the decision and the write; secrets never reach audit entries, logs or messages.
class Service : public Authenticator,
                public Organizations,
                public Principals,
                public Tokens,
                public Sessions,
                public Pdcs,
                public Serials,
                public VoucherRequests,
                public VoucherViews,
                public AuditViews,
                public Keys,
                public OperatorBootstrap {
 public:
  // kInvalidArgument when store, work_queue, clock or signing_keys (with an
  // animaJSONVoucher signer) is missing. A device profile whose content type the keys
  // cannot sign (e.g. id-data without SigningKeys::data) fails the requests that select it
  // with kFailedPrecondition.
  static absl::StatusOr<std::unique_ptr<Service>> Create(ServiceOptions options);

  // Waits for requests in flight (their callbacks run) before returning. The work queue and
  // store must still be alive.
  ~Service() override = default;

  // Replaces the signing keys for requests accepted from now on (key rotation); requests
  // already queued finish with the keys they started with. Null or without an
  // animaJSONVoucher signer: kInvalidArgument.
  virtual absl::Status SetSigningKeys(std::shared_ptr<const SigningKeys> keys) = 0;

  // Brings the running keys in line with the store's active keys (service/keys.h): reads
  // them from a fresh snapshot; when the active voucher-signing key is not the one requests
  // are signed with, loads it through ServiceOptions::key_vault and swaps it in
  // (SetSigningKeys: a request captures its keys once, when accepted, so every voucher of a
  // request is signed by one key and requests accepted before the switch finish with the
  // old one); when the active audit key changed, loads its checkpoint signer and hands it
  // to ServiceOptions::install_checkpoint_signer. Cheap when nothing changed (one snapshot).
  // masad calls it at start and every second, which is how an activation made by masactl
  // in another process reaches the daemon. Without a key vault: OK, nothing changes. Errors
  // of the vault (kUnavailable, kFailedPrecondition) leave the running keys as they were.
  // Thread-safe; concurrent calls run one at a time.
  virtual absl::Status RefreshKeys() = 0;

  // Both the caller's (Organizations) and the operator's (OperatorBootstrap) overloads.
  using Organizations::CreateOrganization;
  using OperatorBootstrap::CreateOrganization;

  virtual const Metrics& metrics() const = 0;
  virtual size_t queue_depth() const = 0;
};

}  // namespace masa::service
