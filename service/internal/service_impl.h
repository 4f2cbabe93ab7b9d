// The Service implementation, shared by its concept files: service.cc (life cycle,
// authentication), pdcs.cc, principals.cc, groups.cc, serials.cc, tokens.cc,
// audit_views.cc, organizations.cc, keys.cc (the key lifecycle), key_approvals.cc (the
// two-person rule), key_rotation.cc (RefreshKeys, adopting the configured keys),
// voucher_requests.cc (requests, renewals, archiving),
// voucher_views.cc (get, download) and voucher_list.cc (listing), sessions.cc (web
// sessions, the caller's profile, licence acceptance); operation.cc runs writes.
#pragma once

#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "absl/functional/function_ref.h"
#include "absl/synchronization/mutex.h"
#include "common/status.h"
#include "service/internal/authz.h"
#include "service/internal/issuance.h"
#include "service/internal/operation.h"
#include "service/internal/pdc.h"
#include "service/service.h"

namespace masa::service {

class ServiceImpl final : public Service {
 public:
  explicit ServiceImpl(ServiceOptions options);
  ~ServiceImpl() override;

  absl::Status SetSigningKeys(std::shared_ptr<const SigningKeys> keys) override;
  absl::Status RefreshKeys() override;
  absl::StatusOr<Caller> Authenticate(std::string_view bearer_token) const override;

  absl::Status RequestVouchers(const Caller& caller, VoucherRequestInput input,
                               RequestCallback done) override;
  absl::StatusOr<VoucherInfo> GetVoucher(const Caller& caller,
                                         std::string_view voucher_id) const override;
  absl::StatusOr<VoucherFile> DownloadVoucher(const Caller& caller,
                                              std::string_view voucher_id) const override;
  absl::StatusOr<RequestInfo> GetRequest(const Caller& caller,
                                         std::string_view req_id) const override;
  absl::StatusOr<std::vector<VoucherFile>> DownloadRequest(const Caller& caller,
                                                           std::string_view req_id) const override;
  absl::Status RenewVoucher(const Caller& caller, std::string_view voucher_id, RenewInput input,
                            RequestCallback done) override;
  absl::StatusOr<VoucherInfo> ArchiveVoucher(const Caller& caller,
                                             std::string_view voucher_id) override;
  absl::StatusOr<VoucherPage> ListVouchers(const Caller& caller,
                                           const ListVouchersInput& input) const override;

  absl::StatusOr<PdcInfo> UploadPdc(const Caller& caller, PdcInput input) override;
  absl::StatusOr<std::vector<PdcInfo>> ListPdcs(const Caller& caller) const override;
  absl::StatusOr<PdcInfo> GetPdc(const Caller& caller, std::string_view cert_id) const override;
  absl::Status DeletePdc(const Caller& caller, std::string_view cert_id) override;

  absl::StatusOr<PrincipalInfo> InviteUser(const Caller& caller,
                                           std::string_view username) override;
  absl::StatusOr<PrincipalInfo> CreateServiceAccount(const Caller& caller,
                                                     std::string_view name) override;
  absl::StatusOr<std::vector<PrincipalInfo>> ListPrincipals(const Caller& caller) const override;
  absl::Status DisablePrincipal(const Caller& caller, std::string_view principal_id) override;
  absl::StatusOr<BindingInfo> BindRole(const Caller& caller, std::string_view principal_id,
                                       std::string_view group_id, Role role) override;
  absl::Status DeleteBinding(const Caller& caller, std::string_view binding_id) override;
  absl::StatusOr<BindingInfo> GrantPermission(const Caller& caller, std::string_view binding_id,
                                              Grant permission) override;
  absl::StatusOr<BindingInfo> RevokePermission(const Caller& caller, std::string_view binding_id,
                                               Grant permission) override;
  absl::StatusOr<std::vector<BindingInfo>> ListBindings(
      const Caller& caller, std::string_view principal_id) const override;

  absl::StatusOr<GroupInfo> CreateGroup(const Caller& caller, std::string_view parent_id,
                                        std::string_view name) override;
  absl::StatusOr<std::vector<GroupInfo>> ListGroups(const Caller& caller) const override;
  absl::Status DeleteGroup(const Caller& caller, std::string_view group_id) override;
  absl::StatusOr<GroupDetails> GetGroup(const Caller& caller,
                                        std::string_view group_id) const override;
  absl::Status AddDelegatedOrganization(const Caller& caller, std::string_view group_id,
                                        std::string_view organization_id) override;
  absl::Status RemoveDelegatedOrganization(const Caller& caller, std::string_view group_id,
                                           std::string_view organization_id) override;
  absl::StatusOr<BindingInfo> AddUserRole(const Caller& caller, const UserRef& user,
                                          std::string_view group_id, Role role) override;
  absl::Status RemoveUserRole(const Caller& caller, const UserRef& user,
                              std::string_view group_id) override;
  absl::StatusOr<std::map<std::string, Role>> GetUserRoles(const Caller& caller,
                                                           const UserRef& user) const override;

  absl::StatusOr<AssignResult> AssignSerials(const Caller& caller, AssignInput input) override;
  absl::StatusOr<AssignResult> PlaceSerials(const Caller& caller, std::string_view group_id,
                                            const std::vector<SerialRef>& serials) override;
  absl::Status RemoveSerial(const Caller& caller, const SerialRef& serial,
                            std::string_view group_id) override;
  absl::StatusOr<std::vector<SerialDetails>> GetSerials(
      const Caller& caller, const std::vector<SerialRef>& serials) const override;
  absl::StatusOr<std::vector<SerialDetails>> ListComponents(
      const Caller& caller, std::string_view group_id) const override;
  absl::Status IssueComponentVouchers(const Caller& caller, ComponentVoucherInput input,
                                      ComponentVoucherCallback done) override;

  absl::StatusOr<NewToken> CreateToken(const Caller& caller, TokenInput input) override;
  absl::StatusOr<std::vector<TokenInfo>> ListTokens(const Caller& caller,
                                                    std::string_view principal_id) const override;
  absl::Status RevokeToken(const Caller& caller, std::string_view token_id) override;

  // Web sessions (sessions.cc).
  absl::StatusOr<NewSession> StartSessionWithToken(const Caller& caller) override;
  absl::StatusOr<NewSession> StartSessionForIdentity(const VerifiedIdentity& identity) override;
  absl::StatusOr<Caller> AuthenticateSession(std::string_view session_secret) override;
  absl::Status EndSession(const Caller& caller) override;
  absl::StatusOr<CallerProfile> DescribeCaller(const Caller& caller) const override;
  absl::Status AcceptLicence(const Caller& caller, std::string_view version) override;

  absl::StatusOr<AuditPage> ListAudit(const Caller& caller, const AuditQuery& query) const override;
  absl::StatusOr<VoucherInclusionProof> InclusionProof(const Caller& caller,
                                                       std::string_view voucher_id) const override;

  absl::StatusOr<BootstrapResult> CreateOrganization(const Caller& caller, std::string_view name,
                                                     std::string_view admin_username) override;
  absl::StatusOr<std::vector<OrganizationInfo>> ListOrganizations(
      const Caller& caller) const override;
  absl::StatusOr<BootstrapResult> CreateOrganization(std::string_view name,
                                                     std::string_view admin_username) override;
  absl::StatusOr<BootstrapResult> CreateVendorPrincipal(std::string_view username,
                                                        Role role) override;
  absl::StatusOr<AssignResult> AssignSerialsOffline(AssignInput input) override;
  absl::StatusOr<NewToken> IssueTokenOffline(std::string_view organization_id,
                                             std::string_view username,
                                             std::optional<absl::Duration> validity) override;

  absl::StatusOr<std::vector<KeyInfo>> AdoptConfiguredKeys(
      std::vector<ConfiguredKey> keys) override;

  absl::StatusOr<KeyInfo> GenerateKey(const Caller& caller, KeyGenerateInput input) override;
  absl::StatusOr<std::string> CreateCsr(const Caller& caller, std::string_view key_id,
                                        std::string_view subject) override;
  absl::StatusOr<KeyInfo> IssueCertificate(const Caller& caller, KeyIssueInput input) override;
  absl::StatusOr<KeyInfo> ImportCertificate(const Caller& caller, std::string_view key_id,
                                            std::string_view chain) override;
  absl::StatusOr<KeyActionResult> ActivateKey(const Caller& caller,
                                              std::string_view key_id) override;
  absl::StatusOr<KeyActionResult> RetireKey(const Caller& caller, std::string_view key_id) override;
  absl::StatusOr<KeyActionResult> Approve(const Caller& caller,
                                          std::string_view approval_id) override;
  absl::StatusOr<std::vector<KeyInfo>> ListKeys(const Caller& caller) const override;
  absl::StatusOr<std::vector<KeyApproval>> ListApprovals(const Caller& caller) const override;
  absl::StatusOr<std::vector<PublishedKey>> PublishedKeys() const override;

  const Metrics& metrics() const override { return metrics_; }
  size_t queue_depth() const override { return queue_->depth(); }

 private:
  // The one path of every write (internal/operation.h): `body` runs inside one store write
  // transaction, and Run returns its status or the commit's. `caller` null: the operator
  // (actor "masactl", no access). With a caller, its token and principal are re-checked and
  // its access loaded in that transaction (kUnauthenticated when revoked meanwhile). The
  // calling thread must hold no snapshot.
  absl::Status Run(const Caller* caller,
                   absl::FunctionRef<absl::Status(internal::Operation&)> body);
  // Run, for a body that returns a value.
  template <typename T, typename F>
  absl::StatusOr<T> Mutate(const Caller* caller, F&& body) {
    absl::StatusOr<T> out = absl::UnknownError("the operation did not run");
    MASA_RETURN_IF_ERROR(Run(caller, [&](internal::Operation& op) -> absl::Status {
      out = body(op);  // a re-run after the map grew replaces the first result
      return out.status();
    }));
    return out;
  }
  // Run without waiting, for the voucher pipeline, whose commit follows signing: `body` gets
  // an operation by `actor` without access (it loads what it needs), and `done` runs on the
  // writer thread once the batch is durable or failed.
  void SubmitOperation(std::string actor, std::function<absl::Status(internal::Operation&)> body,
                       std::function<void(absl::StatusOr<store::CommitResult>)> done);

  // The metrics of a request, renewal or component-voucher call whose batch `committed` (or
  // failed to): its commit and end-to-end latency, and when committed its issued and failed
  // serials and its outcome (ok, partial or failed).
  void RecordCommit(absl::Time start, absl::Time submitted, bool committed, size_t issued,
                    size_t failed);

  // A credential record and its principal, as CheckCredential found them valid.
  struct CheckedCredential {
    store::ApiToken token;
    store::Principal principal;
  };
  // Checks the record `hash` names (an API token, or with `session` a web session; the
  // other kind is "unknown") and its principal at `now`: kUnauthenticated when unknown,
  // revoked or ended, expired, idle past its timeout (sessions), or its principal disabled.
  // The messages never contain the secret. Every call of every method makes this check
  // (Access), so any of these takes effect on the caller's next call.
  absl::StatusOr<CheckedCredential> CheckCredential(const store::Reader& reader,
                                                    const std::string& hash, bool session,
                                                    absl::Time now) const;
  // The Caller of a credential CheckCredential found valid; `hash` names its record.
  static Caller CallerOf(const CheckedCredential& checked, std::string hash, bool session);
  // The caller's access, after re-checking its token and principal in `reader`.
  absl::StatusOr<internal::AccessContext> Access(const Caller& caller,
                                                 const store::Reader& reader) const;
  std::shared_ptr<const SigningKeys> keys() const;
  absl::Time Now() const { return options_.clock->Now(); }
  VoucherInfo ToInfo(const store::Voucher& v) const;
  // The group that decides who may see `org`'s vouchers and requests of a serial: the group
  // it is placed in now, or `org`'s root group when it is not (or no longer) assigned to
  // `org` (a serial since moved to another organization leaves its history at the root).
  std::string GroupOfSerial(const store::Reader& reader, const std::string& org,
                            const std::string& ien, const std::string& serial) const;
  // Loads a voucher and authorizes `p` on it.
  absl::StatusOr<store::Voucher> AuthorizedVoucher(const internal::AccessContext& access,
                                                   internal::Permission p,
                                                   std::string_view voucher_id) const;
  absl::StatusOr<absl::Time> ExpiryFor(std::optional<absl::Time> asked, absl::Time created,
                                       absl::Time pdc_not_after) const;
  // The start of every voucher pipeline: counts the call in flight, then queues the
  // signatures of `fan`, whose results go to `commit` (at once when there is nothing to
  // sign). On an error (a full queue: kResourceExhausted) nothing was queued, `commit`
  // never runs, and the call is no longer in flight.
  absl::Status StartSigning(const std::shared_ptr<internal::Fanout>& fan,
                            std::function<void(std::vector<absl::StatusOr<std::string>>)> commit);
  // AssignSerials; `caller` null: the operator (AssignSerialsOffline).
  absl::StatusOr<AssignResult> Assign(const Caller* caller, AssignInput input);
  // Adds a new token for `principal` in `op`, audited with op's actor. nullopt validity =
  // default_token_validity. With `minted_by` (the caller's token as op's transaction shows
  // it, so unrevoked there) the new token expires no later than that one: an explicit
  // validity beyond it is kInvalidArgument naming the limit, the default is cut to it.
  absl::StatusOr<NewToken> IssueToken(internal::Operation& op, const store::Principal& principal,
                                      std::optional<absl::Duration> validity,
                                      std::string description,
                                      const store::ApiToken* minted_by = nullptr);
  absl::StatusOr<PrincipalInfo> AddPrincipal(const Caller& caller, std::string_view name,
                                             store::PrincipalKind kind);
  absl::StatusOr<BindingInfo> ChangeGrant(const Caller& caller, std::string_view binding_id,
                                          Grant permission, bool add);
  // `caller` null: the operator (actor "masactl"); else the caller is the actor and must
  // hold the vendor permission to create organizations, checked inside the transaction.
  absl::StatusOr<BootstrapResult> Bootstrap(const std::string& org_id, const std::string& org_name,
                                            bool create_org, std::string_view username, Role role,
                                            const Caller* caller = nullptr);
  // "org-<name>" when `name` and `admin_username` make a valid new organization.
  absl::StatusOr<std::string> CheckNewOrganization(std::string_view name,
                                                   std::string_view admin_username) const;
  // OK when `access` allows creating organizations (the vendor's account team).
  absl::Status AuthorizeCreateOrganization(const internal::AccessContext& access) const;

  // internal::ParsePdc with the successful results of recent inputs kept: clients send the
  // same certificate with every request, and parsing it (EC key set-up) costs more than
  // the rest of the request's checks. The result depends on the bytes alone; validity
  // against the clock is checked by the caller each time. Thread-safe.
  absl::StatusOr<internal::ParsedPdc> ParsePdcCached(std::string_view pem_or_der,
                                                     std::string_view what) const;

  // --- the key lifecycle (keys.cc, key_approvals.cc) ---
  // The vault, or kFailedPrecondition when none is configured.
  absl::StatusOr<KeyVault*> Vault() const;
  // OK when `access` holds the security-officer role (kManageKeys).
  absl::Status AuthorizeKeys(const internal::AccessContext& access) const;
  // Authorizes `caller` on a snapshot that ends before this returns (for the HSM work done
  // before the write, which authorizes again), and returns the key record `key_id`
  // (kNotFound) when one is named.
  absl::StatusOr<std::optional<store::KeyRecord>> AuthorizedKeyRead(const Caller& caller,
                                                                    std::string_view key_id) const;
  // The HSM checks of an activation, made before its write transaction: the chain leads to
  // the trust anchor, every token holds the key, and the vault can load it for signing.
  absl::Status CheckActivatable(const store::KeyRecord& key);
  // After an activation or retirement committed: this process signs with the new keys from
  // its next request on (masad's once-a-second RefreshKeys would take it up too, and logs
  // what fails; a failure here is left to it).
  void TakeUpKeys();
  // Writes a pending key's certificate chain (leaf first, checked or issued already) and its
  // audit entry `action` ("key.issue", "key.import-cert"); kFailedPrecondition when the key
  // stopped being pending meanwhile.
  absl::StatusOr<KeyInfo> StoreKeyChain(const Caller& caller, const std::string& key_id,
                                        std::vector<std::string> chain, std::string_view action);
  // Opens a two-person approval (or, with approvals_required <= 1, applies) `action` on
  // `key_id` in one write, after `check` (run on the record inside the transaction).
  absl::StatusOr<KeyActionResult> KeyAction(const Caller& caller, std::string_view key_id,
                                            std::string_view action);
  // In `op`: `action` ("activate" / "retire") applied to `key` (re-read in op's
  // transaction), audited; returns the key as written.
  absl::StatusOr<store::KeyRecord> ApplyKeyAction(internal::Operation& op, std::string_view key_id,
                                                  std::string_view action) const;

  // --- web sessions (sessions.cc) ---
  // kUnauthenticated when `session` went longer than its idle timeout without a call
  // before `now`: since the later of the activity this process saw and the record's
  // last_seen_at (or created_at), so a restarted daemon starts from what was written.
  absl::Status CheckIdle(const store::ApiToken& session, absl::Time now) const;
  // Records a call of `session` at `now` in memory, and writes it to the record when the
  // last write is a minute old or more (without waiting for it).
  void Touch(const store::ApiToken& session, absl::Time now);
  // Adds a session of `principal` in `op` (whose actor is the principal), audited
  // "session.start". `minted_by`: the token it was started with ("" for oidc).
  absl::StatusOr<NewSession> AddSession(internal::Operation& op, const store::Principal& principal,
                                        absl::Time expires_at, std::string_view method,
                                        std::string minted_by, const VerifiedIdentity* identity);
  // What this process saw of each live session since it started, by record key (hash).
  struct SessionActivity {
    absl::Time last_seen;  // the latest call
    absl::Time written;    // the latest activity written to (or being written to) the record
    absl::Duration idle_timeout;
  };
  mutable absl::Mutex activity_mu_;
  std::unordered_map<std::string, SessionActivity> activity_ ABSL_GUARDED_BY(activity_mu_);
  // Touch sweeps entries idle past their timeout when the map grows past this.
  size_t activity_sweep_at_ ABSL_GUARDED_BY(activity_mu_) = 1024;

  // Requests whose callback has not yet run; the destructor waits for zero.
  void BeginInflight();
  void EndInflight();

  const ServiceOptions options_;
  store::Store* const store_;
  queue::WorkQueue* const queue_;
  mutable absl::Mutex keys_mu_;
  std::shared_ptr<const SigningKeys> keys_ ABSL_GUARDED_BY(keys_mu_);
  mutable Metrics metrics_;
  mutable absl::Mutex pdc_cache_mu_;
  mutable std::unordered_map<std::string, internal::ParsedPdc> pdc_cache_
      ABSL_GUARDED_BY(pdc_cache_mu_);
  // RefreshKeys: one at a time, and the audit key the store signs with now ("" unknown).
  absl::Mutex refresh_mu_;
  std::string running_audit_key_id_ ABSL_GUARDED_BY(refresh_mu_);
  absl::Mutex inflight_mu_;
  int inflight_ ABSL_GUARDED_BY(inflight_mu_) = 0;
};

namespace internal {
// "<org>/<object>": audit targets name the organization first so ListAudit can select an
// organization's entries.
inline std::string Target(std::string_view org, std::string_view object) {
  return std::string(org) + "/" + std::string(object);
}
inline std::string SerialTarget(std::string_view org, std::string_view ien,
                                std::string_view serial) {
  return Target(org, "serial:" + std::string(ien) + "/" + std::string(serial));
}
// True for 1..128 printable ASCII characters without spaces (serial numbers, names).
bool IsPrintableToken(std::string_view s, size_t max = 128);
}  // namespace internal

}  // namespace masa::service
