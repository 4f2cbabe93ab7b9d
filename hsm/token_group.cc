// TokenGroup: several tokens holding the same keys as one Token. Member selection, the
// retry-once rule, the watchdog for hung calls and the background probes of down members.
#include "hsm/token_group.h"

#include <stdlib.h>

#include <algorithm>
#include <condition_variable>
#include <cstring>
#include <mutex>
#include <optional>
#include <thread>

#include <openssl/rand.h>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "common/log.h"
#include "common/openssl.h"
#include "common/status.h"
#include "hsm/internal/ck.h"
#include "hsm/internal/token_impl.h"

namespace masa::hsm {
namespace internal {
namespace {

using Clock = std::chrono::steady_clock;

bool Retryable(const absl::Status& status) {
  return status.code() == absl::StatusCode::kUnavailable;
}

std::string Message(const absl::Status& status) {
  return std::string(status.message().data(), status.message().size());
}

// One call in flight on a member; lives on the calling thread's stack.
struct Call {
  Clock::time_point start = Clock::now();
  const TokenImpl* token = nullptr;  // the incarnation called
  bool abandoned = false;            // set by the watchdog; guarded by GroupState::mu
};

struct Member {
  std::string label;
  std::string module_path;
  Secret pin;  // kept for reopening and logging in again (see TokenGroup)
  std::shared_ptr<Module> module;

  // Guarded by GroupState::mu.
  std::shared_ptr<TokenImpl> token;  // the current incarnation; null while down
  bool probing = false;              // a probe thread runs for this member
  bool probe_stopped = false;        // a probe met a wrong or locked PIN
  std::vector<Call*> calls;
  uint64_t signatures = 0;
  uint64_t failures = 0;
  std::string last_error;
};

// Everything the group's threads and calls share. Held by shared_ptr by the group, its
// watchdog, its probes and every call in flight, so that none of them outlives it.
struct GroupState {
  size_t sessions = 4;
  bool session_key_copies = true;
  std::chrono::milliseconds call_timeout{5000};
  std::chrono::milliseconds probe_interval{1000};
  std::vector<std::unique_ptr<Member>> members;  // fixed after Open

  mutable std::mutex mu;
  std::condition_variable wake;  // stopping, for the watchdog and the probes
  bool stopping = false;
  std::vector<KeyInfo> keys;  // every key FindKey resolved, for the probes
  size_t next = 0;            // where the next tie-break starts
  size_t probers = 0;         // probe threads alive
  std::condition_variable probers_done;
};

void StartProbeLocked(const std::shared_ptr<GroupState>& state, Member& member);

// Takes `member` out if `token` is still its incarnation. Returns the retired incarnation,
// to be released after mu is unlocked (its destructor closes sessions in the module).
std::shared_ptr<TokenImpl> MarkDownLocked(const std::shared_ptr<GroupState>& state, Member& member,
                                          const std::shared_ptr<TokenImpl>& token,
                                          const std::string& why) {
  if (member.token == nullptr || member.token != token) return nullptr;
  Log(LogLevel::kWarning,
      absl::StrCat("HSM token '", member.label, "' taken out of service: ", why));
  member.last_error = why;
  std::shared_ptr<TokenImpl> retired = std::move(member.token);
  member.token = nullptr;
  StartProbeLocked(state, member);
  return retired;
}

void MarkDown(const std::shared_ptr<GroupState>& state, Member& member,
              const std::shared_ptr<TokenImpl>& token, const std::string& why) {
  std::shared_ptr<TokenImpl> retired;
  std::lock_guard<std::mutex> lock(state->mu);
  retired = MarkDownLocked(state, member, token, why);
  // `retired` goes after the lock (declared before it), outside mu.
}

bool SamePublicKey(const PublicKeyInfo& a, const PublicKeyInfo& b) {
  return a.family == b.family && a.ec_params == b.ec_params && a.ec_point == b.ec_point &&
         a.rsa_modulus == b.rsa_modulus && a.rsa_public_exponent == b.rsa_public_exponent;
}

std::string KeyUriOn(const Member& member, const KeyInfo& key) {
  return FormatObjectUri(member.label, key.label, key.id, CKO_PRIVATE_KEY);
}

// Opens `member` afresh and checks it can do the group's work: every known key present with
// the same public key, one signature.
absl::StatusOr<std::shared_ptr<TokenImpl>> ProbeOnce(const GroupState& state, Member& member,
                                                     const std::vector<KeyInfo>& keys) {
  MASA_ASSIGN_OR_RETURN(
      std::unique_ptr<Token> opened,
      Token::Open(member.module, member.label, member.pin,
                  {.sessions = state.sessions, .session_key_copies = state.session_key_copies}));
  std::shared_ptr<TokenImpl> token(static_cast<TokenImpl*>(opened.release()));
  for (const KeyInfo& key : keys) {
    MASA_ASSIGN_OR_RETURN(KeyInfo found, token->FindKey(KeyUriOn(member, key)));
    if (!SamePublicKey(found.public_key, key.public_key)) {
      return absl::FailedPreconditionError(
          absl::StrCat("token '", member.label, "' holds another key under ", found.uri));
    }
  }
  if (!keys.empty()) {
    const KeyInfo& key = keys.front();
    SignParams params;
    std::string input(32, '\0');
    if (key.public_key.family == KeyFamily::kRsa) params.mechanism = SignMechanism::kRsaPkcs1;
    if (key.public_key.family == KeyFamily::kEdwards) params.mechanism = SignMechanism::kEddsa;
    MASA_RETURN_IF_ERROR(token->Sign(key, params, input).status());
  }
  return token;
}

void Probe(std::shared_ptr<GroupState> state, Member* member) {
  std::unique_lock<std::mutex> lock(state->mu);
  while (!state->stopping) {
    state->wake.wait_for(lock, state->probe_interval, [&] { return state->stopping; });
    if (state->stopping) break;
    std::vector<KeyInfo> keys = state->keys;
    lock.unlock();
    absl::StatusOr<std::shared_ptr<TokenImpl>> fresh = ProbeOnce(*state, *member, keys);
    lock.lock();
    if (fresh.ok()) {
      member->token = std::move(*fresh);
      Log(LogLevel::kInfo, absl::StrCat("HSM token '", member->label, "' back in service"));
      break;
    }
    member->last_error = Message(fresh.status());
    if (fresh.status().code() == absl::StatusCode::kPermissionDenied ||
        HasCkRv(fresh.status(), CKR_PIN_LOCKED)) {
      // Trying a wrong PIN again would lock it: wait for a person.
      member->probe_stopped = true;
      Log(LogLevel::kError,
          absl::StrCat("HSM token '", member->label, "' no longer probed: ", member->last_error));
      break;
    }
  }
  member->probing = false;
  --state->probers;
  state->probers_done.notify_all();
}

void StartProbeLocked(const std::shared_ptr<GroupState>& state, Member& member) {
  if (member.probing || member.probe_stopped || state->stopping) return;
  member.probing = true;
  ++state->probers;
  // Detached: a probe may be stuck in a hung module call, which nothing can interrupt. It
  // holds the state, so it never runs into freed memory; it stops at its next wake-up.
  std::thread(Probe, state, &member).detach();
}

void Watchdog(std::shared_ptr<GroupState> state) {
  const auto tick = std::clamp<std::chrono::milliseconds>(
      state->call_timeout / 10, std::chrono::milliseconds(10), std::chrono::milliseconds(250));
  std::unique_lock<std::mutex> lock(state->mu);
  while (!state->stopping) {
    const Clock::time_point now = Clock::now();
    for (auto& member : state->members) {
      for (Call* call : member->calls) {
        if (call->abandoned || now - call->start < state->call_timeout) continue;
        call->abandoned = true;
        if (member->token.get() != call->token) continue;  // out already
        // The hung call holds its own reference: this is never the last one.
        (void)MarkDownLocked(
            state, *member, member->token,
            absl::StrCat("a call did not return within ", state->call_timeout.count(), " ms"));
      }
    }
    state->wake.wait_for(lock, tick, [&] { return state->stopping; });
  }
}

// A member chosen for one call, with the call registered on it.
struct Attempt {
  Member* member = nullptr;
  std::shared_ptr<TokenImpl> token;
  Call call;
};

// Registers `attempt` on the least busy member that is up (calls in flight per session; ties
// go round), other than `exclude`. False when there is none. Requires mu.
bool PickLocked(GroupState& state, const Member* exclude, Attempt& attempt) {
  Member* best = nullptr;
  const size_t n = state.members.size();
  for (size_t i = 0; i < n; ++i) {
    Member* member = state.members[(state.next + i) % n].get();
    if (member == exclude || member->token == nullptr) continue;
    if (best == nullptr || member->calls.size() < best->calls.size()) best = member;
  }
  if (best == nullptr) return false;
  ++state.next;
  attempt.member = best;
  attempt.token = best->token;
  attempt.call.start = Clock::now();
  attempt.call.token = best->token.get();
  best->calls.push_back(&attempt.call);
  return true;
}

absl::StatusOr<std::string> Run(GroupState& state, Attempt& attempt, const KeyInfo& key,
                                const SignParams& params, std::string_view input) {
  absl::StatusOr<std::string> signature = attempt.token->Sign(key, params, input);
  std::lock_guard<std::mutex> lock(state.mu);
  std::vector<Call*>& calls = attempt.member->calls;
  calls.erase(std::find(calls.begin(), calls.end(), &attempt.call));
  if (attempt.call.abandoned) {
    signature = absl::UnavailableError(absl::StrCat("token '", attempt.member->label,
                                                    "' did not answer within ",
                                                    state.call_timeout.count(), " ms"));
  }
  if (signature.ok()) {
    ++attempt.member->signatures;
  } else {
    ++attempt.member->failures;
    attempt.member->last_error = Message(signature.status());
  }
  return signature;
}

std::string NoneUp(const GroupState& state) {
  std::vector<std::string> why;
  for (const auto& member : state.members) {
    why.push_back(absl::StrCat("'", member->label,
                               "': ", member->last_error.empty() ? "down" : member->last_error));
  }
  return absl::StrCat("no HSM token can sign (", absl::StrJoin(why, "; "), ")");
}

absl::StatusOr<std::string> GroupSign(std::shared_ptr<GroupState> state, const KeyInfo& key,
                                      const SignParams& params, std::string_view input) {
  Attempt first;
  {
    std::lock_guard<std::mutex> lock(state->mu);
    if (!PickLocked(*state, nullptr, first)) return absl::UnavailableError(NoneUp(*state));
  }
  absl::StatusOr<std::string> signature = Run(*state, first, key, params, input);
  if (signature.ok() || !Retryable(signature.status())) return signature;

  // Once more: on another member, else on a fresh session of the same one (its idle
  // sessions were closed after the error).
  Attempt second;
  std::shared_ptr<TokenImpl> retired;
  {
    std::lock_guard<std::mutex> lock(state->mu);
    if (PickLocked(*state, first.member, second)) {
      retired = MarkDownLocked(state, *first.member, first.token, Message(signature.status()));
    } else if (first.member->token != first.token || !PickLocked(*state, nullptr, second)) {
      return Annotate(signature.status(), NoneUp(*state));
    }
  }
  retired.reset();
  absl::StatusOr<std::string> retried = Run(*state, second, key, params, input);
  if (!retried.ok() && Retryable(retried.status())) {
    MarkDown(state, *second.member, second.token, Message(retried.status()));
  }
  return retried;
}

class TokenGroupImpl final : public TokenGroup {
 public:
  explicit TokenGroupImpl(std::shared_ptr<GroupState> state) : state_(std::move(state)) {
    std::vector<std::string> labels;
    for (const auto& member : state_->members) labels.push_back(member->label);
    label_ = absl::StrJoin(labels, ",");
    watchdog_ = std::thread(Watchdog, state_);
  }

  ~TokenGroupImpl() override {
    std::unique_lock<std::mutex> lock(state_->mu);
    state_->stopping = true;
    state_->wake.notify_all();
    lock.unlock();
    watchdog_.join();
    lock.lock();
    // A probe stuck in a hung call keeps the state alive and ends with the call.
    state_->probers_done.wait_for(lock, state_->call_timeout, [&] { return state_->probers == 0; });
  }

  bool ready() const override {
    std::lock_guard<std::mutex> lock(state_->mu);
    for (const auto& member : state_->members) {
      if (member->token != nullptr) return true;
    }
    return false;
  }

  std::vector<MemberStatus> members() const override {
    std::lock_guard<std::mutex> lock(state_->mu);
    std::vector<MemberStatus> result;
    for (const auto& member : state_->members) {
      MemberStatus status;
      status.label = member->label;
      status.module = member->module_path;
      status.state =
          member->token != nullptr ? MemberStatus::State::kUp : MemberStatus::State::kDown;
      status.calls_in_flight = member->calls.size();
      status.signatures = member->signatures;
      status.failures = member->failures;
      status.last_error = member->last_error;
      result.push_back(std::move(status));
    }
    return result;
  }

  const std::string& label() const override { return label_; }

  absl::StatusOr<KeyInfo> FindKey(std::string_view uri) override;
  absl::StatusOr<std::vector<KeyInfo>> ListKeys() override;
  absl::StatusOr<KeyInfo> GenerateKeyPair(KeyType type, std::string_view label) override;
  absl::StatusOr<KeyInfo> ImportKeyPair(std::string_view label, std::string_view id,
                                        std::string_view pkcs8_der) override;
  absl::StatusOr<std::string> Sign(const KeyInfo& key, const SignParams& params,
                                   std::string_view input) override {
    // A copy: the call must not depend on this object outliving it.
    return GroupSign(std::shared_ptr<GroupState>(state_), key, params, input);
  }
  absl::Status StoreCertificate(std::string_view label, std::string_view id,
                                std::string_view der) override;
  size_t pool_size() const override { return state_->sessions * state_->members.size(); }

 private:
  // The members that are up now, with their incarnations.
  std::vector<std::pair<Member*, std::shared_ptr<TokenImpl>>> UpMembers() const {
    std::lock_guard<std::mutex> lock(state_->mu);
    std::vector<std::pair<Member*, std::shared_ptr<TokenImpl>>> up;
    for (const auto& member : state_->members) {
      if (member->token != nullptr) up.emplace_back(member.get(), member->token);
    }
    return up;
  }
  // Marks the member down when `status` is retryable; returns `status`.
  absl::Status Check(Member* member, const std::shared_ptr<TokenImpl>& token,
                     const absl::Status& status) {
    if (Retryable(status)) MarkDown(state_, *member, token, Message(status));
    return status;
  }

  const std::shared_ptr<GroupState> state_;
  std::string label_;
  std::thread watchdog_;
};

absl::StatusOr<KeyInfo> TokenGroupImpl::FindKey(std::string_view uri_view) {
  std::string text(uri_view);
  UriPtr uri(p11_kit_uri_new());
  if (uri == nullptr) return absl::ResourceExhaustedError("p11_kit_uri_new failed");
  int parsed = p11_kit_uri_parse(text.c_str(), P11_KIT_URI_FOR_OBJECT_ON_TOKEN, uri.get());
  if (parsed != P11_KIT_URI_OK) {
    return absl::InvalidArgumentError(
        absl::StrCat("not a valid pkcs11: URI '", text, "': ", p11_kit_uri_message(parsed)));
  }
  // The URI may name any member's token (or none): the key is looked up in each member by
  // its object attributes.
  CK_TOKEN_INFO* named = p11_kit_uri_get_token_info(uri.get());
  bool names_member = true;
  CK_TOKEN_INFO empty;
  std::memset(&empty, 0, sizeof(empty));
  if (std::memcmp(named, &empty, sizeof(empty)) != 0) {
    names_member = false;
    for (const auto& member : state_->members) {
      CK_TOKEN_INFO info;
      std::memset(&info, 0, sizeof(info));
      std::string padded = Padded(member->label);
      std::memcpy(info.label, padded.data(), sizeof(info.label));
      {
        std::lock_guard<std::mutex> lock(state_->mu);
        if (member->token != nullptr) info = member->token->info();
      }
      if (p11_kit_uri_match_token_info(uri.get(), &info)) names_member = true;
    }
  }
  if (!names_member) {
    return absl::NotFoundError(
        absl::StrCat("URI '", text, "' names a token outside the group (", label_, ")"));
  }
  std::memset(named, 0, sizeof(*named));
  char* formatted = nullptr;
  if (p11_kit_uri_format(uri.get(), P11_KIT_URI_FOR_OBJECT_ON_TOKEN, &formatted) !=
          P11_KIT_URI_OK ||
      formatted == nullptr) {
    return absl::InvalidArgumentError(absl::StrCat("cannot use pkcs11: URI '", text, "'"));
  }
  std::string anywhere(formatted);
  free(formatted);

  std::optional<KeyInfo> result;
  std::string result_label;
  absl::Status last = absl::UnavailableError(NoneUp(*state_));
  for (auto& [member, token] : UpMembers()) {
    absl::StatusOr<KeyInfo> key = token->FindKey(anywhere);
    if (!key.ok()) {
      last = Check(member, token, key.status());
      if (Retryable(key.status())) continue;
      return Annotate(key.status(), absl::StrCat("on token '", member->label, "'"));
    }
    if (!result.has_value()) {
      result = std::move(*key);
      result_label = member->label;
    } else if (key->id != result->id || key->label != result->label ||
               !SamePublicKey(key->public_key, result->public_key)) {
      return absl::FailedPreconditionError(absl::StrCat("tokens '", result_label, "' and '",
                                                        member->label,
                                                        "' hold different keys for '", text, "'"));
    }
  }
  if (!result.has_value()) return last;
  std::lock_guard<std::mutex> lock(state_->mu);
  bool known = std::any_of(state_->keys.begin(), state_->keys.end(), [&](const KeyInfo& key) {
    return key.id == result->id && key.label == result->label;
  });
  if (!known) state_->keys.push_back(*result);
  return *result;
}

absl::StatusOr<std::vector<KeyInfo>> TokenGroupImpl::ListKeys() {
  absl::Status last = absl::UnavailableError(NoneUp(*state_));
  for (auto& [member, token] : UpMembers()) {
    absl::StatusOr<std::vector<KeyInfo>> keys = token->ListKeys();
    if (keys.ok() || !Retryable(keys.status())) return keys;
    last = Check(member, token, keys.status());
  }
  return last;
}

absl::StatusOr<KeyInfo> TokenGroupImpl::GenerateKeyPair(KeyType type, std::string_view label) {
  // Inside the first configured member only: the others get the key by the HSM vendor's
  // cloning, and activation checks that every member holds it.
  Member* first = state_->members.front().get();
  std::shared_ptr<TokenImpl> token;
  {
    std::lock_guard<std::mutex> lock(state_->mu);
    token = first->token;
  }
  if (token == nullptr) {
    return absl::UnavailableError(
        absl::StrCat("a key pair is generated in the first configured token, ", first->label,
                     ", which is down: ", NoneUp(*state_)));
  }
  absl::StatusOr<KeyInfo> key = token->GenerateKeyPair(type, label);
  if (!key.ok()) (void)Check(first, token, key.status());
  return key;
}

absl::StatusOr<KeyInfo> TokenGroupImpl::ImportKeyPair(std::string_view label,
                                                      std::string_view id_view,
                                                      std::string_view pkcs8_der) {
  auto up = UpMembers();
  if (up.size() != state_->members.size()) {
    return absl::UnavailableError(
        absl::StrCat("importing a key needs every token of the group: ", NoneUp(*state_)));
  }
  std::string id(id_view);
  if (id.empty()) {
    id.resize(16);
    if (RAND_bytes(reinterpret_cast<unsigned char*>(id.data()), static_cast<int>(id.size())) != 1) {
      return FromOpenSslErrors("generating a key id", absl::StatusCode::kUnavailable);
    }
  }
  std::optional<KeyInfo> first;
  for (auto& [member, token] : up) {
    absl::StatusOr<KeyInfo> key = token->ImportKeyPair(label, id, pkcs8_der);
    if (!key.ok()) {
      return Annotate(Check(member, token, key.status()),
                      absl::StrCat("on token '", member->label, "'"));
    }
    if (!first.has_value()) first = std::move(*key);
  }
  return *first;
}

absl::Status TokenGroupImpl::StoreCertificate(std::string_view label, std::string_view id,
                                              std::string_view der) {
  auto up = UpMembers();
  if (up.empty()) return absl::UnavailableError(NoneUp(*state_));
  for (auto& [member, token] : up) {
    absl::Status stored = token->StoreCertificate(label, id, der);
    if (!stored.ok()) {
      return Annotate(Check(member, token, stored), absl::StrCat("on token '", member->label, "'"));
    }
  }
  return absl::OkStatus();
}

}  // namespace
}  // namespace internal

absl::StatusOr<TokenMember> ParseTokenMemberUri(std::string_view uri_view) {
  std::string text(uri_view);
  internal::UriPtr uri(p11_kit_uri_new());
  if (uri == nullptr) return absl::ResourceExhaustedError("p11_kit_uri_new failed");
  int parsed = p11_kit_uri_parse(text.c_str(), P11_KIT_URI_FOR_ANY, uri.get());
  // Never echo a URI that carries a PIN.
  const bool has_pin_value = text.find("pin-value") != std::string::npos;
  const std::string shown = has_pin_value ? std::string("(a URI with pin-value=)") : text;
  if (parsed != P11_KIT_URI_OK) {
    return absl::InvalidArgumentError(absl::StrCat(
        "HSM token URI ", shown, " is not a valid pkcs11: URI: ", p11_kit_uri_message(parsed)));
  }
  if (p11_kit_uri_get_pin_value(uri.get()) != nullptr || has_pin_value) {
    return absl::InvalidArgumentError(
        "an HSM token URI must not hold the PIN (pin-value=): use pin-source=file:...");
  }
  if (p11_kit_uri_any_unrecognized(uri.get())) {
    return absl::InvalidArgumentError(
        absl::StrCat("HSM token URI ", shown, " has attributes this library does not know"));
  }
  CK_ULONG attributes = 0;
  p11_kit_uri_get_attributes(uri.get(), &attributes);
  if (attributes != 0) {
    return absl::InvalidArgumentError(absl::StrCat(
        "HSM token URI ", shown, " names an object (object=, id=, type=): name the token only"));
  }
  CK_TOKEN_INFO* token = p11_kit_uri_get_token_info(uri.get());
  TokenMember member;
  member.token_label = internal::FromPadded(token->label, sizeof(token->label));
  if (member.token_label.empty()) {
    return absl::InvalidArgumentError(
        absl::StrCat("HSM token URI ", shown, " has no token= (the token's label)"));
  }
  const char* module_path = p11_kit_uri_get_module_path(uri.get());
  if (module_path == nullptr || *module_path == '\0') {
    return absl::InvalidArgumentError(
        absl::StrCat("HSM token URI ", shown, " has no module-path= (the PKCS#11 module to load)"));
  }
  member.module_path = module_path;
  if (const char* source = p11_kit_uri_get_pin_source(uri.get()); source != nullptr) {
    std::string pin_source(source);
    if (pin_source.rfind("file://", 0) == 0) {
      pin_source.erase(0, 7);
      if (pin_source.empty() || pin_source[0] != '/') {
        return absl::InvalidArgumentError(
            absl::StrCat("HSM token URI ", shown, ": pin-source=file://HOST/... is not supported"));
      }
    } else if (pin_source.rfind("file:", 0) == 0) {
      pin_source.erase(0, 5);
    } else if (pin_source.find(':') != std::string::npos &&
               pin_source.find('/') > pin_source.find(':')) {
      return absl::InvalidArgumentError(
          absl::StrCat("HSM token URI ", shown, ": pin-source= must be a file: URI or a path"));
    }
    if (pin_source.empty()) {
      return absl::InvalidArgumentError(
          absl::StrCat("HSM token URI ", shown, ": empty pin-source="));
    }
    member.pin_file = pin_source;
  }
  return member;
}

absl::StatusOr<std::shared_ptr<TokenGroup>> TokenGroup::Open(TokenGroupOptions options) {
  using internal::GroupState;
  using internal::Member;
  if (options.members.empty()) return absl::InvalidArgumentError("no HSM tokens configured");
  if (options.sessions_per_member == 0) {
    return absl::InvalidArgumentError("a token needs at least one session");
  }
  if (options.call_timeout.count() <= 0 || options.probe_interval.count() <= 0) {
    return absl::InvalidArgumentError("call_timeout and probe_interval must be positive");
  }
  auto state = std::make_shared<GroupState>();
  state->sessions = options.sessions_per_member;
  state->session_key_copies = options.session_key_copies;
  state->call_timeout = options.call_timeout;
  state->probe_interval = options.probe_interval;
  absl::Status first_error;
  size_t up = 0;
  for (TokenMember& config : options.members) {
    auto member = std::make_unique<Member>();
    member->label = config.token_label;
    member->module_path = config.module_path;
    const std::string where = absl::StrCat("HSM token '", member->label, "'");
    if (!config.pin.empty()) {
      member->pin = std::move(config.pin);
    } else if (!config.pin_file.empty()) {
      absl::StatusOr<Secret> pin = ReadSecretFile(config.pin_file);
      if (!pin.ok()) return Annotate(pin.status(), where);
      member->pin = std::move(*pin);
    } else {
      return absl::InvalidArgumentError(absl::StrCat(where, " has no PIN (pin-source=)"));
    }
    MASA_ASSIGN_OR_RETURN(member->module, Module::Load(member->module_path));
    absl::StatusOr<std::unique_ptr<Token>> token =
        Token::Open(member->module, member->label, member->pin,
                    {.sessions = state->sessions, .session_key_copies = state->session_key_copies});
    if (token.ok()) {
      member->token.reset(static_cast<internal::TokenImpl*>(token->release()));
      ++up;
    } else if (token.status().code() == absl::StatusCode::kNotFound ||
               token.status().code() == absl::StatusCode::kUnavailable) {
      member->last_error = internal::Message(token.status());
      Log(LogLevel::kWarning, absl::StrCat(where, " starts out of service: ", member->last_error));
      if (first_error.ok()) first_error = Annotate(token.status(), where);
    } else {
      return Annotate(token.status(), where);
    }
    state->members.push_back(std::move(member));
  }
  if (up == 0) return first_error;
  {
    std::lock_guard<std::mutex> lock(state->mu);
    for (auto& member : state->members) {
      if (member->token == nullptr) internal::StartProbeLocked(state, *member);
    }
  }
  return std::shared_ptr<TokenGroup>(new internal::TokenGroupImpl(std::move(state)));
}

}  // namespace masa::hsm
