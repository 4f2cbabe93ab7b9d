#include "hsm/pkcs11.h"

#include <p11-kit/pkcs11.h>

#include <atomic>
#include <string>
#include <thread>
#include <vector>

#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/param_build.h>
#include <openssl/rand.h>
#include <openssl/sha.h>

#include "common/file.h"
#include "common/openssl.h"
#include "common/secret.h"
#include "gtest/gtest.h"
#include "hsm/internal/ck.h"
#include "hsm/sign_cpu.h"
#include "hsm/testing/softhsm_token.h"

namespace masa::hsm {
namespace {

using ::masa::hsm::testing::TempToken;

#define ASSERT_OK(expr)                                                \
  do {                                                                 \
    const auto& masa_test_status_ = (expr);                            \
    ASSERT_TRUE(masa_test_status_.ok()) << masa_test_status_.status(); \
  } while (false)

std::unique_ptr<TempToken> MakeTempToken(TokenOptions options = {}) {
  auto temp = TempToken::Create(options);
  EXPECT_TRUE(temp.ok()) << temp.status();
  return temp.ok() ? std::move(*temp) : nullptr;
}

std::string Sha(const std::string& data, size_t bits) {
  unsigned char digest[64];
  if (bits == 384) {
    SHA384(reinterpret_cast<const unsigned char*>(data.data()), data.size(), digest);
    return std::string(reinterpret_cast<char*>(digest), 48);
  }
  SHA256(reinterpret_cast<const unsigned char*>(data.data()), data.size(), digest);
  return std::string(reinterpret_cast<char*>(digest), 32);
}

// Builds an EVP_PKEY from what the token reported, the way the provider will.
UniquePtr<EVP_PKEY> PublicKey(const PublicKeyInfo& info) {
  UniquePtr<EVP_PKEY> key;
  if (info.family == KeyFamily::kEdwards) {
    key.reset(EVP_PKEY_new_raw_public_key(
        EVP_PKEY_ED25519, nullptr, reinterpret_cast<const unsigned char*>(info.ec_point.data()),
        info.ec_point.size()));
    return key;
  }
  OSSL_PARAM_BLD* builder = OSSL_PARAM_BLD_new();
  const char* type = "EC";
  UniquePtr<BIGNUM> n, e;
  if (info.family == KeyFamily::kEc) {
    const char* group = info.bits == 384 ? "P-384" : "P-256";
    OSSL_PARAM_BLD_push_utf8_string(builder, OSSL_PKEY_PARAM_GROUP_NAME, group, 0);
    OSSL_PARAM_BLD_push_octet_string(builder, OSSL_PKEY_PARAM_PUB_KEY, info.ec_point.data(),
                                     info.ec_point.size());
  } else {
    type = "RSA";
    n.reset(BN_bin2bn(reinterpret_cast<const unsigned char*>(info.rsa_modulus.data()),
                      info.rsa_modulus.size(), nullptr));
    e.reset(BN_bin2bn(reinterpret_cast<const unsigned char*>(info.rsa_public_exponent.data()),
                      info.rsa_public_exponent.size(), nullptr));
    OSSL_PARAM_BLD_push_BN(builder, OSSL_PKEY_PARAM_RSA_N, n.get());
    OSSL_PARAM_BLD_push_BN(builder, OSSL_PKEY_PARAM_RSA_E, e.get());
  }
  OSSL_PARAM* params = OSSL_PARAM_BLD_to_param(builder);
  UniquePtr<EVP_PKEY_CTX> ctx(EVP_PKEY_CTX_new_from_name(nullptr, type, nullptr));
  EVP_PKEY* raw = nullptr;
  if (EVP_PKEY_fromdata_init(ctx.get()) == 1 &&
      EVP_PKEY_fromdata(ctx.get(), &raw, EVP_PKEY_PUBLIC_KEY, params) == 1) {
    key.reset(raw);
  }
  OSSL_PARAM_free(params);
  OSSL_PARAM_BLD_free(builder);
  return key;
}

// Raw r||s -> DER ECDSA-Sig-Value, as OpenSSL verifies it.
std::string EcdsaRawToDer(const std::string& raw) {
  size_t half = raw.size() / 2;
  UniquePtr<ECDSA_SIG> sig(ECDSA_SIG_new());
  ECDSA_SIG_set0(
      sig.get(), BN_bin2bn(reinterpret_cast<const unsigned char*>(raw.data()), half, nullptr),
      BN_bin2bn(reinterpret_cast<const unsigned char*>(raw.data()) + half, half, nullptr));
  unsigned char* out = nullptr;
  int n = i2d_ECDSA_SIG(sig.get(), &out);
  std::string der(reinterpret_cast<char*>(out), n);
  OPENSSL_free(out);
  return der;
}

// Verifies a signature over a pre-computed digest (ECDSA, RSA PKCS#1 / PSS).
bool VerifyDigest(const PublicKeyInfo& info, const std::string& digest,
                  const std::string& signature, const SignParams& params) {
  UniquePtr<EVP_PKEY> key = PublicKey(info);
  if (key == nullptr) return false;
  UniquePtr<EVP_PKEY_CTX> ctx(EVP_PKEY_CTX_new(key.get(), nullptr));
  if (EVP_PKEY_verify_init(ctx.get()) != 1) return false;
  std::string sig = signature;
  const EVP_MD* md = digest.size() == 48 ? EVP_sha384() : EVP_sha256();
  if (info.family == KeyFamily::kEc) {
    sig = EcdsaRawToDer(signature);
  } else if (params.mechanism == SignMechanism::kRsaPss) {
    EVP_PKEY_CTX_set_rsa_padding(ctx.get(), RSA_PKCS1_PSS_PADDING);
    EVP_PKEY_CTX_set_rsa_pss_saltlen(ctx.get(), params.pss_salt_length);
    EVP_PKEY_CTX_set_signature_md(ctx.get(), md);
  } else {
    EVP_PKEY_CTX_set_rsa_padding(ctx.get(), RSA_PKCS1_PADDING);
    EVP_PKEY_CTX_set_signature_md(ctx.get(), md);
  }
  return EVP_PKEY_verify(ctx.get(), reinterpret_cast<const unsigned char*>(sig.data()), sig.size(),
                         reinterpret_cast<const unsigned char*>(digest.data()), digest.size()) == 1;
}

bool VerifyEddsa(const PublicKeyInfo& info, const std::string& message,
                 const std::string& signature) {
  UniquePtr<EVP_PKEY> key = PublicKey(info);
  UniquePtr<EVP_MD_CTX> ctx(EVP_MD_CTX_new());
  if (key == nullptr ||
      EVP_DigestVerifyInit(ctx.get(), nullptr, nullptr, nullptr, key.get()) != 1) {
    return false;
  }
  return EVP_DigestVerify(ctx.get(), reinterpret_cast<const unsigned char*>(signature.data()),
                          signature.size(), reinterpret_cast<const unsigned char*>(message.data()),
                          message.size()) == 1;
}

// ---------------------------------------------------------------------------------------

TEST(ModuleTest, MissingPathIsNotFound) {
  auto module = Module::Load("/nonexistent/libnothing.so");
  ASSERT_FALSE(module.ok());
  EXPECT_EQ(module.status().code(), absl::StatusCode::kNotFound);
  EXPECT_NE(module.status().message().find("/nonexistent/libnothing.so"), std::string::npos);
}

TEST(ModuleTest, LibraryWithoutPkcs11IsRejectedClearly) {
  auto module = Module::Load("/usr/lib/x86_64-linux-gnu/libz.so.1");
  ASSERT_FALSE(module.ok());
  EXPECT_EQ(module.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_NE(module.status().message().find("not a PKCS#11 module"), std::string::npos)
      << module.status();
}

TEST(ModuleTest, NonLibraryIsRejected) {
  auto module = Module::Load("/etc/hostname");
  ASSERT_FALSE(module.ok());
  EXPECT_EQ(module.status().code(), absl::StatusCode::kFailedPrecondition);
}

TEST(ModuleTest, SamePathGivesSameModule) {
  auto temp = MakeTempToken();
  ASSERT_NE(temp, nullptr);
  auto again = Module::Load(testing::SoftHsmModulePath());
  ASSERT_OK(again);
  EXPECT_EQ(again->get(), temp->module().get());
  auto tokens = (*again)->Tokens();
  ASSERT_OK(tokens);
  bool found = false;
  for (const TokenDescription& token : *tokens) found |= token.label == temp->label();
  EXPECT_TRUE(found);
}

TEST(ModuleTest, InitTokenRefusesDuplicateLabel) {
  auto temp = MakeTempToken();
  ASSERT_NE(temp, nullptr);
  absl::Status status =
      temp->module()->InitToken(temp->label(), Secret("12345678"), Secret("87654321"));
  EXPECT_EQ(status.code(), absl::StatusCode::kAlreadyExists) << status;
}

TEST(TokenTest, WrongPinIsPermissionDeniedWithoutThePin) {
  auto temp = MakeTempToken();
  ASSERT_NE(temp, nullptr);
  // A token nobody in this process is logged in to: PKCS#11 login state is per application.
  const std::string label = temp->label() + "-closed";
  ASSERT_TRUE(
      temp->module()->InitToken(label, Secret("so-pin-1234"), Secret("right-pin-1234")).ok());
  const std::string wrong = "wrong-pin-98765";
  auto token = Token::Open(temp->module(), label, Secret(wrong));
  ASSERT_FALSE(token.ok());
  EXPECT_EQ(token.status().code(), absl::StatusCode::kPermissionDenied) << token.status();
  EXPECT_NE(token.status().message().find("C_Login: CKR_PIN_INCORRECT"), std::string::npos)
      << token.status();
  EXPECT_EQ(token.status().message().find(wrong), std::string::npos);

  auto opened = Token::Open(temp->module(), label, Secret("right-pin-1234"));
  ASSERT_OK(opened);
}

TEST(TokenTest, UnknownLabelIsNotFound) {
  auto temp = MakeTempToken();
  ASSERT_NE(temp, nullptr);
  auto token = Token::Open(temp->module(), "no-such-token", temp->user_pin());
  ASSERT_FALSE(token.ok());
  EXPECT_EQ(token.status().code(), absl::StatusCode::kNotFound);
}

TEST(TokenTest, GeneratedEcKeyIsSensitiveAndSigns) {
  auto temp = MakeTempToken();
  ASSERT_NE(temp, nullptr);
  auto key = temp->token()->GenerateKeyPair(KeyType::kEcP256, "ec-signing");
  ASSERT_OK(key);
  EXPECT_EQ(key->label, "ec-signing");
  EXPECT_EQ(key->id.size(), 16u);
  EXPECT_EQ(key->public_key.family, KeyFamily::kEc);
  EXPECT_EQ(key->public_key.bits, 256);
  ASSERT_EQ(key->public_key.ec_point.size(), 65u);
  EXPECT_EQ(key->public_key.ec_point[0], '\x04');
  EXPECT_NE(key->uri.find("object=ec-signing"), std::string::npos) << key->uri;
  EXPECT_NE(key->uri.find("token=" + temp->label()), std::string::npos) << key->uri;

  std::string digest = Sha("voucher", 256);
  auto signature = temp->token()->Sign(*key, {SignMechanism::kEcdsa}, digest);
  ASSERT_OK(signature);
  EXPECT_EQ(signature->size(), 64u);
  EXPECT_TRUE(VerifyDigest(key->public_key, digest, *signature, {}));
  EXPECT_FALSE(VerifyDigest(key->public_key, Sha("other", 256), *signature, {}));
}

// /metrics' masa_hsm_sign_cpu_seconds (hsm/sign_cpu.h): every call into the token's
// signing functions adds one call and the CPU the token spent on it; a request refused
// before the token is asked adds nothing.
TEST(TokenTest, SigningCallsAndTheirCpuAreCounted) {
  auto temp = MakeTempToken();
  ASSERT_NE(temp, nullptr);
  auto key = temp->token()->GenerateKeyPair(KeyType::kEcP256, "cpu-counted");
  ASSERT_OK(key);
  // Every call counts; one in kSignCpuSampleEvery on this thread is timed, so as many
  // consecutive calls hold exactly one timed call.
  const SignCpu before = SignCpuSoFar();
  for (uint64_t i = 0; i < kSignCpuSampleEvery; ++i) {
    ASSERT_OK(temp->token()->Sign(*key, {}, Sha("voucher", 256)));
  }
  const SignCpu signed_some = SignCpuSoFar();
  EXPECT_EQ(signed_some.calls, before.calls + kSignCpuSampleEvery);
  EXPECT_EQ(signed_some.timed_calls, before.timed_calls + 1);
  EXPECT_GT(signed_some.timed_cpu_ns, before.timed_cpu_ns);  // an ECDSA signature is not free

  auto refused = temp->token()->Sign(*key, {SignMechanism::kRsaPkcs1}, Sha("voucher", 256));
  EXPECT_EQ(refused.status().code(), absl::StatusCode::kInvalidArgument);
  const SignCpu after = SignCpuSoFar();
  EXPECT_EQ(after.calls, signed_some.calls);
  EXPECT_EQ(after.timed_calls, signed_some.timed_calls);
  EXPECT_EQ(after.timed_cpu_ns, signed_some.timed_cpu_ns);
}

struct KeyCase {
  KeyType type;
  KeyFamily family;
  int bits;
};

std::string KeyCaseName(const ::testing::TestParamInfo<KeyCase>& info) {
  static const char* const kNames[] = {"EcP256", "EcP384", "Rsa3072", "Ed25519"};
  return kNames[static_cast<int>(info.param.type)];
}

class KeyTypeTest : public ::testing::TestWithParam<KeyCase> {};

TEST_P(KeyTypeTest, GeneratesNonExtractableKeyThatVerifies) {
  static std::unique_ptr<TempToken> temp = MakeTempToken();  // RSA keygen is slow: share
  ASSERT_NE(temp, nullptr);
  const KeyCase& c = GetParam();
  const std::string label = "key-" + std::to_string(static_cast<int>(c.type));
  auto key = temp->token()->GenerateKeyPair(c.type, label);
  ASSERT_OK(key);
  EXPECT_EQ(key->public_key.family, c.family);
  EXPECT_EQ(key->public_key.bits, c.bits);

  // The private half as the token holds it: read through the same wrapper hsm/ uses.
  CK_FUNCTION_LIST* fl = internal::FunctionListOf(*temp->module());
  auto tokens = temp->module()->Tokens();
  ASSERT_OK(tokens);
  CK_SLOT_ID slot = 0;
  for (const TokenDescription& t : *tokens) {
    if (t.label == temp->label()) slot = t.slot_id;
  }
  CK_SESSION_HANDLE session = CK_INVALID_HANDLE;
  ASSERT_TRUE(
      MASA_CK(fl, C_OpenSession, slot, CKF_SERIAL_SESSION, nullptr, nullptr, &session).ok());
  CK_OBJECT_CLASS private_class = CKO_PRIVATE_KEY;
  CK_ATTRIBUTE search[] = {{CKA_CLASS, &private_class, sizeof(private_class)},
                           {CKA_ID, key->id.data(), key->id.size()}};
  auto found = internal::FindObjects(fl, session, search, 2);
  ASSERT_OK(found);
  ASSERT_EQ(found->size(), 1u);
  CK_OBJECT_HANDLE handle = found->front();
  auto flag = [&](CK_ATTRIBUTE_TYPE type) {
    auto value = internal::GetBoolAttribute(fl, session, handle, type);
    EXPECT_TRUE(value.ok()) << value.status();
    return value.ok() && *value;
  };
  EXPECT_TRUE(flag(CKA_SENSITIVE));
  EXPECT_FALSE(flag(CKA_EXTRACTABLE));
  EXPECT_TRUE(flag(CKA_TOKEN));
  EXPECT_TRUE(flag(CKA_PRIVATE));
  EXPECT_TRUE(flag(CKA_SIGN));
  EXPECT_TRUE(flag(CKA_NEVER_EXTRACTABLE));
  auto secret = internal::GetAttribute(
      fl, session, handle, c.family == KeyFamily::kRsa ? CKA_PRIVATE_EXPONENT : CKA_VALUE);
  EXPECT_EQ(secret.status().code(), absl::StatusCode::kPermissionDenied) << secret.status();
  EXPECT_TRUE(MASA_CK(fl, C_CloseSession, session).ok());

  // Signatures verify with OpenSSL from the reported public key.
  const std::string message = "ownership voucher";
  if (c.family == KeyFamily::kEdwards) {
    auto signature = temp->token()->Sign(*key, {SignMechanism::kEddsa}, message);
    ASSERT_OK(signature);
    EXPECT_EQ(signature->size(), 64u);
    EXPECT_TRUE(VerifyEddsa(key->public_key, message, *signature));
    EXPECT_FALSE(VerifyEddsa(key->public_key, message + "!", *signature));
  } else if (c.family == KeyFamily::kEc) {
    std::string digest = Sha(message, c.bits);
    auto signature = temp->token()->Sign(*key, {SignMechanism::kEcdsa}, digest);
    ASSERT_OK(signature);
    EXPECT_EQ(signature->size(), static_cast<size_t>(c.bits / 4));
    EXPECT_TRUE(VerifyDigest(key->public_key, digest, *signature, {}));
  } else {
    std::string digest = Sha(message, 256);
    SignParams pss{SignMechanism::kRsaPss, HashAlgorithm::kSha256, 32};
    auto signature = temp->token()->Sign(*key, pss, digest);
    ASSERT_OK(signature);
    EXPECT_EQ(signature->size(), 384u);
    EXPECT_TRUE(VerifyDigest(key->public_key, digest, *signature, pss));

    // PKCS#1 v1.5 signs a DER DigestInfo.
    static const unsigned char kSha256Prefix[] = {0x30, 0x31, 0x30, 0x0d, 0x06, 0x09, 0x60,
                                                  0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02,
                                                  0x01, 0x05, 0x00, 0x04, 0x20};
    std::string digest_info(reinterpret_cast<const char*>(kSha256Prefix), sizeof(kSha256Prefix));
    auto pkcs1 = temp->token()->Sign(*key, {SignMechanism::kRsaPkcs1}, digest_info + digest);
    ASSERT_OK(pkcs1);
    EXPECT_TRUE(VerifyDigest(key->public_key, digest, *pkcs1, {SignMechanism::kRsaPkcs1}));
  }

  // The key is found again by its URI, with the same public half.
  auto again = temp->token()->FindKey(key->uri);
  ASSERT_OK(again);
  EXPECT_EQ(again->id, key->id);
  EXPECT_EQ(again->public_key.ec_point, key->public_key.ec_point);
  EXPECT_EQ(again->public_key.rsa_modulus, key->public_key.rsa_modulus);
}

INSTANTIATE_TEST_SUITE_P(AllTypes, KeyTypeTest,
                         ::testing::Values(KeyCase{KeyType::kEcP256, KeyFamily::kEc, 256},
                                           KeyCase{KeyType::kEcP384, KeyFamily::kEc, 384},
                                           KeyCase{KeyType::kRsa3072, KeyFamily::kRsa, 3072},
                                           KeyCase{KeyType::kEd25519, KeyFamily::kEdwards, 255}),
                         KeyCaseName);

TEST(TokenTest, SecondOpenWithWrongPinFailsWhileLoggedIn) {
  auto temp = MakeTempToken();
  ASSERT_NE(temp, nullptr);
  // The module answers CKR_USER_ALREADY_LOGGED_IN without checking; we must not accept it.
  auto wrong = Token::Open(temp->module(), temp->label(), Secret("not-the-pin"));
  ASSERT_FALSE(wrong.ok());
  EXPECT_EQ(wrong.status().code(), absl::StatusCode::kPermissionDenied) << wrong.status();
  EXPECT_EQ(wrong.status().message().find("not-the-pin"), std::string::npos);
  auto right = Token::Open(temp->module(), temp->label(), temp->user_pin(), {.sessions = 1});
  ASSERT_OK(right);
  EXPECT_EQ((*right)->pool_size(), 1u);
}

TEST(ModuleTest, ReloadAfterLastReferenceFinalizesAndReinitializes) {
  std::string label;
  std::string pin;
  {
    auto temp = MakeTempToken();
    ASSERT_NE(temp, nullptr);
    label = temp->label();
    pin = std::string(temp->user_pin().view());
    ASSERT_OK(temp->token()->GenerateKeyPair(KeyType::kEcP256, "persists"));
  }  // last reference: C_Finalize + dlclose
  auto module = Module::Load(testing::SoftHsmModulePath());
  ASSERT_OK(module);
  auto token = Token::Open(*module, label, Secret(pin));
  ASSERT_OK(token);
  auto key = (*token)->FindKey(PrivateKeyUri(label, "persists"));
  ASSERT_OK(key);
  auto signature = (*token)->Sign(*key, {}, Sha("x", 256));
  ASSERT_OK(signature);
}

std::string PercentEncode(const std::string& bytes) {
  std::string out;
  for (unsigned char c : bytes) {
    char buf[4];
    snprintf(buf, sizeof(buf), "%%%02X", c);
    out += buf;
  }
  return out;
}

TEST(TokenTest, FindKeyByUri) {
  auto temp = MakeTempToken();
  ASSERT_NE(temp, nullptr);
  Token& token = *temp->token();
  auto alpha = token.GenerateKeyPair(KeyType::kEcP256, "alpha");
  ASSERT_OK(alpha);
  auto beta = token.GenerateKeyPair(KeyType::kEcP384, "beta key");
  ASSERT_OK(beta);
  auto duplicate = token.GenerateKeyPair(KeyType::kEcP256, "alpha");
  EXPECT_EQ(duplicate.status().code(), absl::StatusCode::kAlreadyExists) << duplicate.status();
  // Signing leaves session-object copies of the key; they must not look like more keys.
  ASSERT_OK(token.Sign(*alpha, {}, Sha("m", 256)));

  auto by_object = token.FindKey("pkcs11:object=alpha");
  ASSERT_OK(by_object);
  EXPECT_EQ(by_object->id, alpha->id);

  auto by_id = token.FindKey("pkcs11:id=" + PercentEncode(beta->id));
  ASSERT_OK(by_id);
  EXPECT_EQ(by_id->label, "beta key");
  EXPECT_EQ(by_id->public_key.bits, 384);

  // p11-kit percent-encodes the blank; the formatted URI finds the key again.
  std::string uri = PrivateKeyUri(temp->label(), "beta key");
  EXPECT_EQ(uri, "pkcs11:token=" + temp->label() + ";object=beta%20key;type=private");
  auto by_formatted = token.FindKey(uri);
  ASSERT_OK(by_formatted);
  EXPECT_EQ(by_formatted->id, beta->id);
  EXPECT_EQ(temp->KeyUri("beta key"), uri);

  auto ambiguous = token.FindKey("pkcs11:type=private");
  EXPECT_EQ(ambiguous.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(ambiguous.status().message().find("2 private keys"), std::string::npos)
      << ambiguous.status();

  auto missing = token.FindKey("pkcs11:object=gamma");
  EXPECT_EQ(missing.status().code(), absl::StatusCode::kNotFound) << missing.status();

  auto other_token = token.FindKey("pkcs11:token=elsewhere;object=alpha");
  EXPECT_EQ(other_token.status().code(), absl::StatusCode::kNotFound) << other_token.status();

  for (const char* bad : {"https://example.com/key", "alpha", "pkcs11:object=%zz"}) {
    auto malformed = token.FindKey(bad);
    EXPECT_EQ(malformed.status().code(), absl::StatusCode::kInvalidArgument)
        << bad << ": " << malformed.status();
  }
  auto certificate = token.FindKey("pkcs11:object=alpha;type=cert");
  EXPECT_EQ(certificate.status().code(), absl::StatusCode::kInvalidArgument);

  auto keys = token.ListKeys();
  ASSERT_OK(keys);
  EXPECT_EQ(keys->size(), 2u);
}

TEST(TokenTest, ConcurrentSigningWithFewerSessionsThanThreads) {
  auto temp = MakeTempToken({.sessions = 2});
  ASSERT_NE(temp, nullptr);
  std::shared_ptr<Token> token = temp->token();
  EXPECT_EQ(token->pool_size(), 2u);
  auto key = token->GenerateKeyPair(KeyType::kEcP256, "busy");
  ASSERT_OK(key);
  constexpr int kThreads = 6;
  constexpr int kSignatures = 40;
  std::atomic<int> verified{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kSignatures; ++i) {
        std::string digest = Sha("message " + std::to_string(t) + "/" + std::to_string(i), 256);
        auto signature = token->Sign(*key, {}, digest);
        if (signature.ok() && VerifyDigest(key->public_key, digest, *signature, {})) ++verified;
      }
    });
  }
  for (std::thread& thread : threads) thread.join();
  EXPECT_EQ(verified.load(), kThreads * kSignatures);
}

// Session-object copies of private keys visible to this process: one per pool session that
// has signed (a copy dies with the session that made it).
size_t SessionKeyCopies(const TempToken& temp) {
  CK_FUNCTION_LIST* fl = internal::FunctionListOf(*temp.module());
  auto tokens = temp.module()->Tokens();
  if (!tokens.ok()) return 999;
  CK_SLOT_ID slot = 0;
  for (const TokenDescription& t : *tokens) {
    if (t.label == temp.label()) slot = t.slot_id;
  }
  CK_SESSION_HANDLE session = CK_INVALID_HANDLE;
  if (!MASA_CK(fl, C_OpenSession, slot, CKF_SERIAL_SESSION, nullptr, nullptr, &session).ok()) {
    return 999;
  }
  CK_OBJECT_CLASS private_class = CKO_PRIVATE_KEY;
  CK_BBOOL no = CK_FALSE;
  CK_ATTRIBUTE search[] = {{CKA_CLASS, &private_class, sizeof(private_class)},
                           {CKA_TOKEN, &no, sizeof(no)}};
  auto found = internal::FindObjects(fl, session, search, 2);
  (void)MASA_CK(fl, C_CloseSession, session);
  return found.ok() ? found->size() : 999;
}

TEST(TokenTest, SessionThatFailedIsReplaced) {
  auto temp = MakeTempToken({.sessions = 1});
  ASSERT_NE(temp, nullptr);
  Token& token = *temp->token();
  auto key = token.GenerateKeyPair(KeyType::kEcP256, "ec");
  ASSERT_OK(key);
  std::string digest = Sha("m", 256);
  ASSERT_OK(token.Sign(*key, {}, digest));
  EXPECT_EQ(SessionKeyCopies(*temp), 1u);  // the pool's one session copied the key
  // An EC key cannot do RSA.
  auto wrong = token.Sign(*key, {SignMechanism::kRsaPkcs1}, digest);
  EXPECT_EQ(wrong.status().code(), absl::StatusCode::kInvalidArgument) << wrong.status();
  // A key that claims to be RSA gets past that check: now the token itself fails, and the
  // pool's only session must be closed and replaced rather than reused.
  KeyInfo lying = *key;
  lying.public_key.family = KeyFamily::kRsa;
  auto failed = token.Sign(lying, {SignMechanism::kRsaPkcs1}, digest);
  ASSERT_FALSE(failed.ok());
  EXPECT_NE(failed.status().message().find(": C_Sign"), std::string::npos) << failed.status();
  EXPECT_EQ(SessionKeyCopies(*temp), 0u) << "the failed session was not closed";
  // The replacement session resolves (and copies) the key again and signs.
  for (int i = 0; i < 3; ++i) {
    auto signature = token.Sign(*key, {}, digest);
    ASSERT_OK(signature);
    EXPECT_TRUE(VerifyDigest(key->public_key, digest, *signature, {}));
  }
  EXPECT_EQ(SessionKeyCopies(*temp), 1u);
}

TEST(TokenTest, SignWithoutCopiesUsesTokenObject) {
  auto temp = MakeTempToken();
  ASSERT_NE(temp, nullptr);
  auto key = temp->token()->GenerateKeyPair(KeyType::kEcP256, "plain");
  ASSERT_OK(key);
  auto token = Token::Open(temp->module(), temp->label(), temp->user_pin(),
                           {.sessions = 1, .session_key_copies = false});
  ASSERT_OK(token);
  std::string digest = Sha("m", 256);
  auto signature = (*token)->Sign(*key, {}, digest);
  ASSERT_OK(signature);
  EXPECT_TRUE(VerifyDigest(key->public_key, digest, *signature, {}));
}

TEST(TokenTest, StoresCertificate) {
  auto temp = MakeTempToken();
  ASSERT_NE(temp, nullptr);
  // A throwaway self-signed certificate made by OpenSSL.
  UniquePtr<EVP_PKEY> pkey(EVP_EC_gen("P-256"));
  ASSERT_NE(pkey, nullptr);
  UniquePtr<X509> cert(X509_new());
  X509_set_version(cert.get(), 2);
  ASN1_INTEGER_set(X509_get_serialNumber(cert.get()), 7);
  X509_NAME_add_entry_by_txt(X509_get_subject_name(cert.get()), "CN", MBSTRING_ASC,
                             reinterpret_cast<const unsigned char*>("masa test"), -1, -1, 0);
  X509_set_issuer_name(cert.get(), X509_get_subject_name(cert.get()));
  X509_gmtime_adj(X509_getm_notBefore(cert.get()), 0);
  X509_gmtime_adj(X509_getm_notAfter(cert.get()), 3600);
  X509_set_pubkey(cert.get(), pkey.get());
  ASSERT_GT(X509_sign(cert.get(), pkey.get(), EVP_sha256()), 0);
  auto der = CertificateToDer(cert.get());
  ASSERT_OK(der);

  const std::string id = "\x01\x02\x03";
  ASSERT_TRUE(temp->token()->StoreCertificate("signing-cert", id, *der).ok());
  EXPECT_EQ(temp->token()->StoreCertificate("bad", id, "not DER").code(),
            absl::StatusCode::kInvalidArgument);

  CK_FUNCTION_LIST* fl = internal::FunctionListOf(*temp->module());
  auto tokens = temp->module()->Tokens();
  ASSERT_OK(tokens);
  CK_SLOT_ID slot = 0;
  for (const TokenDescription& t : *tokens) {
    if (t.label == temp->label()) slot = t.slot_id;
  }
  CK_SESSION_HANDLE session = CK_INVALID_HANDLE;
  ASSERT_TRUE(
      MASA_CK(fl, C_OpenSession, slot, CKF_SERIAL_SESSION, nullptr, nullptr, &session).ok());
  CK_OBJECT_CLASS certificate_class = CKO_CERTIFICATE;
  std::string label = "signing-cert";
  CK_ATTRIBUTE search[] = {{CKA_CLASS, &certificate_class, sizeof(certificate_class)},
                           {CKA_LABEL, label.data(), label.size()}};
  auto found = internal::FindObjects(fl, session, search, 2);
  ASSERT_OK(found);
  ASSERT_EQ(found->size(), 1u);
  auto value = internal::GetAttribute(fl, session, found->front(), CKA_VALUE);
  ASSERT_OK(value);
  EXPECT_EQ(*value, *der);
  auto stored_id = internal::GetAttribute(fl, session, found->front(), CKA_ID);
  ASSERT_OK(stored_id);
  EXPECT_EQ(*stored_id, id);
  EXPECT_TRUE(MASA_CK(fl, C_CloseSession, session).ok());
}

TEST(CkRvTest, MapsReturnValuesToStatusCodes) {
  using internal::FromCkRv;
  EXPECT_TRUE(FromCkRv(CKR_OK, "C_Sign").ok());
  EXPECT_EQ(FromCkRv(CKR_PIN_INCORRECT, "C_Login").message(), "C_Login: CKR_PIN_INCORRECT");
  EXPECT_EQ(FromCkRv(CKR_PIN_INCORRECT, "C_Login").code(), absl::StatusCode::kPermissionDenied);
  EXPECT_EQ(FromCkRv(CKR_PIN_LOCKED, "C_Login").code(), absl::StatusCode::kFailedPrecondition);
  for (CK_RV rv :
       {CKR_DEVICE_REMOVED, CKR_TOKEN_NOT_PRESENT, CKR_DEVICE_ERROR, CKR_SESSION_HANDLE_INVALID}) {
    EXPECT_EQ(FromCkRv(rv, "C_Sign").code(), absl::StatusCode::kUnavailable) << rv;
  }
  EXPECT_EQ(FromCkRv(CKR_KEY_TYPE_INCONSISTENT, "C_SignInit").code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(FromCkRv(CKR_MECHANISM_INVALID, "C_SignInit").code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(FromCkRv(CKR_USER_NOT_LOGGED_IN, "C_Sign").code(),
            absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(FromCkRv(0x8000abcdUL, "C_Sign").message(), "C_Sign: CKR_VENDOR_DEFINED+0xabcd");
}

TEST(TempTokenTest, TokensAreDistinctAndFoldersGoAway) {
  auto first = MakeTempToken();
  auto second = MakeTempToken();
  ASSERT_NE(first, nullptr);
  ASSERT_NE(second, nullptr);
  EXPECT_NE(first->label(), second->label());
  EXPECT_EQ(first->module(), second->module());
  EXPECT_EQ(first->softhsm_dir(), second->softhsm_dir());
  EXPECT_NE(first->user_pin().view(), second->user_pin().view());
  auto pin = ReadSecretFile(first->user_pin_file());
  ASSERT_OK(pin);
  EXPECT_EQ(pin->view(), first->user_pin().view());
  const std::string dir = first->dir();
  EXPECT_TRUE(PathExists(dir));
  first.reset();
  EXPECT_FALSE(PathExists(dir));
  EXPECT_TRUE(PathExists(second->softhsm_dir() + "/softhsm2.conf"));
}
}  // namespace
}  // namespace masa::hsm
