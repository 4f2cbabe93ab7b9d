// What a TokenGroup costs on the signing path: ECDSA P-256 signatures on one SoftHSM2 token,
// through the Token itself and through a single-member TokenGroup over the same token (same
// module, same pool size), at 1 and 2 threads; also a two-member group over two tokens.
//
//   build/bench/token_group_bench --benchmark_repetitions=3
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/sha.h>
#include <openssl/x509.h>

#include <cstdio>
#include <string>

#include "benchmark/benchmark.h"
#include "hsm/pkcs11.h"
#include "hsm/testing/softhsm_token.h"
#include "hsm/token_group.h"

namespace masa {
namespace {

struct Fixture {
  std::unique_ptr<hsm::testing::TempToken> a;
  std::unique_ptr<hsm::testing::TempToken> b;
  std::shared_ptr<hsm::TokenGroup> single;
  std::shared_ptr<hsm::TokenGroup> pair;
  hsm::KeyInfo key;
  std::string digest;
};

template <typename T>
T Must(absl::StatusOr<T> value, const char* what) {
  if (!value.ok()) {
    std::fprintf(stderr, "token_group_bench: %s: %s\n", what,
                 std::string(value.status().message()).c_str());
    std::exit(1);
  }
  return std::move(*value);
}

hsm::TokenMember Member(const hsm::testing::TempToken& temp) {
  hsm::TokenMember member;
  member.module_path = hsm::testing::SoftHsmModulePath();
  member.token_label = temp.label();
  member.pin = Secret(std::string(temp.user_pin().view()));
  return member;
}

// A fresh P-256 private key as PKCS#8 DER.
std::string Pkcs8P256() {
  EVP_PKEY* key = EVP_EC_gen("P-256");
  PKCS8_PRIV_KEY_INFO* p8 = key != nullptr ? EVP_PKEY2PKCS8(key) : nullptr;
  unsigned char* der = nullptr;
  int size = p8 != nullptr ? i2d_PKCS8_PRIV_KEY_INFO(p8, &der) : 0;
  std::string result(size > 0 ? std::string(reinterpret_cast<char*>(der), size) : "");
  OPENSSL_clear_free(der, size > 0 ? size : 0);
  PKCS8_PRIV_KEY_INFO_free(p8);
  EVP_PKEY_free(key);
  return result;
}

Fixture& Get() {
  static Fixture* f = [] {
    auto* f = new Fixture;
    f->a = Must(hsm::testing::TempToken::Create({.sessions = 2}), "token a");
    f->b = Must(hsm::testing::TempToken::Create({.sessions = 2}), "token b");
    hsm::TokenGroupOptions single;
    single.members.push_back(Member(*f->a));
    single.sessions_per_member = 2;
    f->single = Must(hsm::TokenGroup::Open(std::move(single)), "single group");
    hsm::TokenGroupOptions pair;
    pair.members.push_back(Member(*f->a));
    pair.members.push_back(Member(*f->b));
    pair.sessions_per_member = 2;
    f->pair = Must(hsm::TokenGroup::Open(std::move(pair)), "pair group");
    // One key on both tokens (ImportKeyPair through the pair), found through each.
    f->key = Must(f->pair->ImportKeyPair("bench", "", Pkcs8P256()), "import");
    return f;
  }();
  return *f;
}

void Sign(benchmark::State& state, hsm::Token& token, const hsm::KeyInfo& key) {
  std::string digest(SHA256_DIGEST_LENGTH, '\x5a');
  for (auto _ : state) {
    auto signature = token.Sign(key, {hsm::SignMechanism::kEcdsa}, digest);
    if (!signature.ok()) state.SkipWithError(std::string(signature.status().message()).c_str());
    benchmark::DoNotOptimize(signature);
  }
  state.SetItemsProcessed(state.iterations());
}

void BM_Token(benchmark::State& state) { Sign(state, *Get().a->token(), Get().key); }
BENCHMARK(BM_Token)->Threads(1)->Threads(2)->UseRealTime();

void BM_SingleMemberGroup(benchmark::State& state) { Sign(state, *Get().single, Get().key); }
BENCHMARK(BM_SingleMemberGroup)->Threads(1)->Threads(2)->UseRealTime();

void BM_TwoMemberGroup(benchmark::State& state) { Sign(state, *Get().pair, Get().key); }
BENCHMARK(BM_TwoMemberGroup)->Threads(1)->Threads(2)->Threads(4)->UseRealTime();

}  // namespace
}  // namespace masa

BENCHMARK_MAIN();
