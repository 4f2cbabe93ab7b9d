// Signing throughput on a fresh SoftHSM2 token: the raw PKCS#11 C_Sign ceiling (ECDSA P-256
// through the session pool), the same through the OpenSSL provider, and whole vouchers
// (JSON + CMS + HSM signature), at 1 and 2 threads; then the ratios against the ceiling.
//
//   build/bench/signing_bench            (3 interleaved repetitions; ratios from their means)
#include <cstdio>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "absl/time/clock.h"
#include "benchmark/benchmark.h"
#include "common/openssl.h"
#include "hsm/provider/provider.h"
#include "hsm/testing/softhsm_token.h"
#include "signer/certificate.h"
#include "signer/cms.h"
#include "signer/voucher.h"

namespace masa {
namespace {

struct Fixture {
  std::unique_ptr<hsm::testing::TempToken> token;
  std::unique_ptr<hsm::testing::TempToken> token_without_copies;
  hsm::KeyInfo key;
  hsm::KeyInfo key_without_copies;
  std::unique_ptr<hsm::ProviderContext> provider;
  UniquePtr<EVP_PKEY> pkey;
  UniquePtr<X509> ca_cert;
  UniquePtr<X509> masa_cert;
  std::unique_ptr<signer::VoucherSigner> voucher_signer;
  signer::Voucher voucher;
};

void Check(const absl::Status& status, const char* what) {
  if (!status.ok()) {
    std::fprintf(stderr, "signing_bench: %s: %s\n", what, std::string(status.message()).c_str());
    std::exit(1);
  }
}

template <typename T>
T Must(absl::StatusOr<T> value, const char* what) {
  Check(value.status(), what);
  return std::move(*value);
}

// Built once, before the first benchmark; shared by every thread.
Fixture& Get() {
  static Fixture* f = [] {
    auto* f = new Fixture;
    f->token = Must(hsm::testing::TempToken::Create({.sessions = 2}), "token");
    f->token_without_copies = Must(
        hsm::testing::TempToken::Create({.sessions = 2, .session_key_copies = false}), "token");
    f->key = Must(f->token->token()->GenerateKeyPair(hsm::KeyType::kEcP256, "masa-signing"), "key");
    f->key_without_copies = Must(
        f->token_without_copies->token()->GenerateKeyPair(hsm::KeyType::kEcP256, "masa-signing"),
        "key");
    f->provider = Must(hsm::ProviderContext::Create(f->token->token()), "provider");
    f->pkey = Must(f->provider->LoadPrivateKey(f->key.uri), "load key");
    auto ca_key =
        Must(f->token->token()->GenerateKeyPair(hsm::KeyType::kEcP384, "vendor-ca"), "ca key");
    auto ca_pkey = Must(f->provider->LoadPrivateKey(ca_key.uri), "load ca");
    auto ca_pub = Must(f->provider->PublicKey(ca_key), "ca public");
    auto masa_pub = Must(f->provider->PublicKey(f->key), "masa public");
    absl::Time now = absl::Now();
    f->ca_cert = Must(signer::IssueCertificate("CN=Bench Vendor CA", ca_pub.get(), nullptr,
                                               ca_pkey.get(), f->provider->libctx(), nullptr, now,
                                               now + absl::Hours(24), true, 1),
                      "ca cert");
    f->masa_cert = Must(signer::IssueCertificate("CN=Bench MASA", masa_pub.get(), f->ca_cert.get(),
                                                 ca_pkey.get(), f->provider->libctx(), nullptr, now,
                                                 now + absl::Hours(24), false, 2),
                        "masa cert");
    f->voucher_signer =
        Must(signer::VoucherSigner::Create(f->pkey.get(), f->masa_cert.get(), {f->ca_cert.get()}),
             "voucher signer");
    // A realistic pinned-domain certificate: a customer CA, P-256.
    UniquePtr<EVP_PKEY> owner(EVP_EC_gen("P-256"));
    auto pdc = Must(signer::IssueCertificate("CN=Customer Owner CA,O=Customer", owner.get(),
                                             nullptr, owner.get(), nullptr, nullptr, now,
                                             now + absl::Hours(24 * 365), true, 9),
                    "pdc");
    f->voucher.created_on = absl::FromUnixSeconds(absl::ToUnixSeconds(now));
    f->voucher.expires_on = *f->voucher.created_on + absl::Hours(24 * 365);
    f->voucher.assertion = signer::Assertion::kVerified;
    f->voucher.serial_number = "FOC2242X0AB";
    f->voucher.pinned_domain_cert = Must(CertificateToDer(pdc.get()), "pdc der");
    return f;
  }();
  return *f;
}

void BM_RawCSign(benchmark::State& state) {
  Fixture& f = Get();
  const std::string digest(32, '\x5a');
  for (auto _ : state) {
    auto sig = f.token->token()->Sign(f.key, {hsm::SignMechanism::kEcdsa}, digest);
    if (!sig.ok()) state.SkipWithError(std::string(sig.status().message()).c_str());
    benchmark::DoNotOptimize(sig);
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_RawCSign)->Threads(1)->Threads(2)->UseRealTime();

void BM_RawCSignTokenObject(benchmark::State& state) {
  Fixture& f = Get();
  const std::string digest(32, '\x5a');
  for (auto _ : state) {
    auto sig = f.token_without_copies->token()->Sign(f.key_without_copies,
                                                     {hsm::SignMechanism::kEcdsa}, digest);
    if (!sig.ok()) state.SkipWithError(std::string(sig.status().message()).c_str());
    benchmark::DoNotOptimize(sig);
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_RawCSignTokenObject)->Threads(1)->Threads(2)->UseRealTime();

void BM_ProviderSign(benchmark::State& state) {
  Fixture& f = Get();
  const std::string message(600, 'v');
  UniquePtr<EVP_MD_CTX> ctx(EVP_MD_CTX_new());
  unsigned char sig[128];
  for (auto _ : state) {
    size_t len = sizeof(sig);
    if (EVP_DigestSignInit_ex(ctx.get(), nullptr, "SHA256", f.provider->libctx(), nullptr,
                              f.pkey.get(), nullptr) != 1 ||
        EVP_DigestSign(ctx.get(), sig, &len, reinterpret_cast<const unsigned char*>(message.data()),
                       message.size()) != 1) {
      state.SkipWithError("EVP_DigestSign failed");
    }
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_ProviderSign)->Threads(1)->Threads(2)->UseRealTime();

void BM_Voucher(benchmark::State& state) {
  Fixture& f = Get();
  for (auto _ : state) {
    auto der = f.voucher_signer->Sign(f.voucher);
    if (!der.ok()) state.SkipWithError(std::string(der.status().message()).c_str());
    benchmark::DoNotOptimize(der);
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_Voucher)->Threads(1)->Threads(2)->UseRealTime();

// Prints the usual table, then each rate as a ratio of the raw C_Sign rate at the same
// thread count: the figures the design's targets are stated in.
class RatioReporter : public benchmark::ConsoleReporter {
 public:
  void ReportRuns(const std::vector<Run>& runs) override {
    ConsoleReporter::ReportRuns(runs);
    for (const Run& run : runs) {
      auto it = run.counters.find("items_per_second");
      if (it == run.counters.end() || run.error_occurred) continue;
      // With repetitions, the mean of the interleaved repetitions is the figure.
      std::string name = run.benchmark_name();
      if (run.run_type == Run::RT_Aggregate) {
        if (run.aggregate_name != "mean") continue;
        name = name.substr(0, name.size() - std::string("_mean").size());
        means_.insert(name);
      } else if (means_.count(name)) {
        continue;
      }
      rates_[name] = it->second.value;
    }
  }
  void Finalize() override {
    ConsoleReporter::Finalize();
    std::printf("\nsigns per second and ratio to the raw C_Sign ceiling at the same threads:\n");
    for (int threads : {1, 2}) {
      std::string suffix = "/real_time/threads:" + std::to_string(threads);
      double ceiling = rates_["BM_RawCSign" + suffix];
      if (ceiling <= 0) continue;
      for (const char* name :
           {"BM_RawCSign", "BM_RawCSignTokenObject", "BM_ProviderSign", "BM_Voucher"}) {
        double rate = rates_[name + suffix];
        std::printf("  %-24s threads=%d %10.0f /s  ratio %.3f\n", name, threads, rate,
                    rate / ceiling);
      }
    }
  }

 private:
  std::map<std::string, double> rates_;
  std::set<std::string> means_;
};

}  // namespace
}  // namespace masa

int main(int argc, char** argv) {
  // The ratios compare rates measured at different moments; on a shared machine that is
  // only fair when the benchmarks take turns. Defaults: 3 interleaved repetitions of 0.5 s
  // each (any --benchmark_* flag given on the command line wins).
  std::vector<char*> args(argv, argv + argc);
  std::vector<std::string> defaults = {"--benchmark_repetitions=3",
                                       "--benchmark_enable_random_interleaving=true",
                                       "--benchmark_min_time=0.5"};
  for (std::string& d : defaults) {
    std::string key = d.substr(0, d.find('='));
    bool given = false;
    for (int i = 1; i < argc; ++i) given |= std::string(argv[i]).rfind(key, 0) == 0;
    if (!given) args.push_back(d.data());
  }
  argc = static_cast<int>(args.size());
  argv = args.data();
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  masa::Get();  // the token and keys exist before any timing starts
  masa::RatioReporter reporter;
  benchmark::RunSpecifiedBenchmarks(&reporter);
  benchmark::Shutdown();
  return 0;
}
