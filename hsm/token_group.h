// Several PKCS#11 tokens that hold the same keys, used as one hsm::Token: sessions pooled
// across them, work to the least busy, a failing token taken out and probed until it works.
//
//   MASA_ASSIGN_OR_RETURN(hsm::TokenMember a, hsm::ParseTokenMemberUri(
//       "pkcs11:token=masa-a?module-path=/usr/lib/softhsm/libsofthsm2.so"
//       "&pin-source=file:/etc/masa/a.pin"));
//   a.pin_file = ResolveAgainstConfigDir(a.pin_file);   // the caller's business
//   hsm::TokenGroupOptions options;
//   options.members.push_back(std::move(a));            // and b, ...
//   MASA_ASSIGN_OR_RETURN(std::shared_ptr<hsm::TokenGroup> group,
//                         hsm::TokenGroup::Open(std::move(options)));
//   MASA_ASSIGN_OR_RETURN(auto ctx, hsm::ProviderContext::Create(group));  // unchanged
//
// The members must hold the same keys: the same CKA_LABEL and CKA_ID, the same public key
// (a vendor's cloning tools make such tokens; Token::ImportKeyPair does for tests).
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "common/secret.h"
#include "hsm/pkcs11.h"

namespace masa::hsm {

// One token of a group: which module, which token, which PIN.
struct TokenMember {
  // The PKCS#11 module to load (Module::Load).
  std::string module_path;
  // The token's label (CKA label, RFC 7512 token=).
  std::string token_label;
  // A file holding the user PIN (ReadSecretFile: mode 0600 or stricter), read at Open.
  // Relative paths are taken as they are (relative to the process's working directory):
  // resolve them first. Ignored when `pin` is set.
  std::string pin_file;
  // The user PIN itself, when the caller has it already.
  Secret pin;
};

// Parses a member given as an RFC 7512 URI naming a TOKEN, with p11-kit:
//   pkcs11:token=masa-a?module-path=/usr/lib/softhsm/libsofthsm2.so&pin-source=file:/p/a.pin
// token= is required; module-path= is required; pin-source= is optional (a "file:" URI or
// a plain path; left as written, resolve a relative one yourself), else set `pin` before
// Open. Object attributes (object=, id=, type=) and pin-value= (a PIN in configuration
// text) are refused. kInvalidArgument names what is wrong; the message never repeats a
// pin-value.
absl::StatusOr<TokenMember> ParseTokenMemberUri(std::string_view uri);

struct TokenGroupOptions {
  std::vector<TokenMember> members;
  // Sessions in each member's pool (see TokenOptions::sessions).
  size_t sessions_per_member = 4;
  // See TokenOptions::session_key_copies.
  bool session_key_copies = true;
  // A call to a member that has not returned after this long marks the member down at once
  // (a watchdog thread). The call itself keeps its thread until the module returns; when it
  // does, it answers kUnavailable and its session is closed, never reused.
  std::chrono::milliseconds call_timeout{5000};
  // How often a down member is probed: open a session, log in, find every key the group
  // has resolved, sign once with one of them.
  std::chrono::milliseconds probe_interval{1000};
};

// A member as /metrics and the logs show it. No PIN or other secret in any field.
struct MemberStatus {
  enum class State { kUp, kDown };
  std::string label;   // token label
  std::string module;  // module path
  State state = State::kDown;
  size_t calls_in_flight = 0;
  uint64_t signatures = 0;  // signatures made by this member
  uint64_t failures = 0;    // calls that failed (errors and timeouts)
  std::string last_error;   // the last failure's message, empty when none
};

// Several tokens as one hsm::Token. All methods are thread-safe.
//
// Sign goes to the least busy member that is up (fewest calls in flight per session). A
// call that fails with kUnavailable (device removed or in error, token not present, session
// closed or invalid, a call past call_timeout) marks its member down and is retried ONCE on
// another member that is up; when no other member is up, once on a fresh session of the same
// member (the member stays up if that works). A member that is down is probed in the
// background every probe_interval and taken back when a probe succeeds; a probe that fails
// with a wrong or locked PIN stops probing that member (retrying would lock the PIN).
//
// The group keeps each member's PIN (as a Secret, wiped when the group goes) for its life:
// it logs in again when a token reports CKR_USER_NOT_LOGGED_IN and when a probe reopens a
// member.
//
// Destroying the group while a call hangs inside a module is safe: the hung call keeps what
// it uses alive, and the group's threads stop (a probe stuck in a call ends with the call).
class TokenGroup : public Token {
 public:
  // Loads each member's module, opens and logs in to its token. kInvalidArgument: no
  // members, a member without a PIN. A configuration error of any member fails Open: module
  // missing or not a module (kNotFound, kFailedPrecondition), PIN file unreadable, wrong PIN
  // (kPermissionDenied), PIN locked. A member whose token is absent or failing (kNotFound,
  // kUnavailable) starts down and is probed, unless every member fails: then Open returns
  // the first member's error.
  static absl::StatusOr<std::shared_ptr<TokenGroup>> Open(TokenGroupOptions options);

  // Some member is up (can sign). For /readyz.
  virtual bool ready() const = 0;

  // Every member, in configuration order.
  virtual std::vector<MemberStatus> members() const = 0;

  // Token (see hsm/pkcs11.h), over the group:
  //   label()             the members' labels joined with ','.
  //   FindKey(uri)        the URI's token attributes, if any, must name one of the members;
  //                       the key (by its object attributes) is resolved in every member
  //                       that is up, which must hold it (kNotFound, naming the member,
  //                       otherwise) with the same CKA_ID and public key
  //                       (kFailedPrecondition otherwise). The KeyInfo returned signs on
  //                       any member (signing looks the key up by CKA_ID and CKA_LABEL);
  //                       its uri names the first member's token. Members that are down
  //                       are checked by their probe before they are taken back.
  //   ListKeys()          the keys of one member that is up.
  //   GenerateKeyPair()   inside the first configured member (kUnavailable while it is
  //                       down); the other members get the key by the HSM vendor's cloning
  //                       tools, and FindKey is kNotFound naming a member until it has it.
  //   ImportKeyPair()     into every member (tests and development only).
  //   StoreCertificate()  into every member that is up.
  //   pool_size()         sessions of all members.
};

}  // namespace masa::hsm
