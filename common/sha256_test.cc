#include "common/sha256.h"

#include <thread>
#include <vector>

#include "common/base64.h"
#include "gtest/gtest.h"

namespace masa {
namespace {

// FIPS 180-2 appendix B and the empty string.
TEST(Sha256, KnownVectors) {
  EXPECT_EQ(HexEncode(Sha256("")),
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  EXPECT_EQ(HexEncode(Sha256("abc")),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  EXPECT_EQ(HexEncode(Sha256("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq")),
            "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
  EXPECT_EQ(Sha256("abc").size(), kSha256Size);
}

TEST(Sha256, PartsHashTheirConcatenation) {
  EXPECT_EQ(Sha256Parts({"a", "", "bc"}), Sha256("abc"));
  EXPECT_EQ(Sha256Parts({}), Sha256(""));
  const std::string zero(1, '\0');
  EXPECT_EQ(Sha256Parts({zero, "entry"}), Sha256(zero + "entry"));
}

// One context per thread: concurrent callers never see each other's state.
TEST(Sha256, ThreadsAgree) {
  const std::string expected = Sha256("the same input");
  std::vector<std::thread> threads;
  std::vector<int> mismatches(4, 0);
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 2000; ++i) {
        if (Sha256("the same input") != expected) ++mismatches[t];
        (void)Sha256(std::string(static_cast<size_t>(i % 97), 'x'));
      }
    });
  }
  for (auto& th : threads) th.join();
  for (int m : mismatches) EXPECT_EQ(m, 0);
}

}  // namespace
}  // namespace masa
