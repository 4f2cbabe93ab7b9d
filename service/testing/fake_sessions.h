// A fake Sessions: one session, whose secret is kSecret, is alive (from the start, and
// again once started) until EndSession; a person is known by the e-mail kEmail;
// DescribeCaller answers a fixed profile with the licence version last accepted.
#pragma once

#include <string>
#include <string_view>

#include "absl/strings/ascii.h"
#include "service/sessions.h"

namespace masa::service::testing {

// Not thread-safe: tests call it from one thread at a time.
class FakeSessions final : public Sessions {
 public:
  static constexpr std::string_view kSecret = "masa_session_test-secret";
  static constexpr std::string_view kEmail = "alice@acme.example";

  absl::Status fail_with = absl::OkStatus();  // when not OK, every method returns it
  bool ended = false;                         // EndSession was called
  int started = 0;                            // sessions started
  std::string accepted_version;               // AcceptLicence's last version
  VerifiedIdentity last_identity;             // StartSessionForIdentity's

  absl::StatusOr<NewSession> StartSessionWithToken(const Caller&) override {
    return Start("token");
  }
  absl::StatusOr<NewSession> StartSessionForIdentity(const VerifiedIdentity& identity) override {
    last_identity = identity;
    if (absl::AsciiStrToLower(identity.email) != kEmail) {
      return absl::NotFoundError("no user with the e-mail " + identity.email +
                                 " is registered in this appliance");
    }
    return Start("oidc");
  }
  absl::StatusOr<Caller> AuthenticateSession(std::string_view secret) override {
    if (!fail_with.ok()) return fail_with;
    if (secret != kSecret || ended) {
      return absl::UnauthenticatedError("unknown or ended session");
    }
    return Caller();
  }
  absl::Status EndSession(const Caller&) override {
    if (!fail_with.ok()) return fail_with;
    ended = true;
    return absl::OkStatus();
  }
  absl::StatusOr<CallerProfile> DescribeCaller(const Caller&) const override {
    if (!fail_with.ok()) return fail_with;
    CallerProfile p;
    p.principal_id = "p-alice";
    p.name = std::string(kEmail);
    p.organization_id = "org-acme";
    p.bindings.push_back({"org-acme", Role::kViewer, {Grant::kDownload}});
    p.permissions = {"view", "download"};
    p.licence_accepted_version = accepted_version;
    p.session_id = "ses-0123456789abcdef";
    p.session_expires_at = absl::FromUnixSeconds(1800000000);
    p.session_idle_timeout = absl::Minutes(30);
    return p;
  }
  absl::Status AcceptLicence(const Caller&, std::string_view version) override {
    if (!fail_with.ok()) return fail_with;
    accepted_version = std::string(version);
    return absl::OkStatus();
  }

 private:
  absl::StatusOr<NewSession> Start(std::string method) {
    if (!fail_with.ok()) return fail_with;
    ++started;
    ended = false;
    NewSession s;
    s.info.session_id = "ses-0123456789abcdef";
    s.info.method = std::move(method);
    s.secret = Secret(std::string(kSecret));
    return s;
  }
};

}  // namespace masa::service::testing
