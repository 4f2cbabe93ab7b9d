#include "common/base64.h"

#include "gtest/gtest.h"

namespace masa {
namespace {

TEST(Base64, RoundTripsEveryLength) {
  std::string data;
  for (int i = 0; i < 40; ++i) {
    auto decoded = Base64Decode(Base64Encode(data));
    ASSERT_TRUE(decoded.ok()) << decoded.status();
    EXPECT_EQ(*decoded, data);
    data.push_back(static_cast<char>(i * 37));
  }
}

TEST(Base64, KnownVectors) {
  EXPECT_EQ(Base64Encode("foobar"), "Zm9vYmFy");
  EXPECT_EQ(Base64Encode("fo"), "Zm8=");
  EXPECT_EQ(*Base64Decode("Zm9vYg=="), "foob");
}

TEST(Base64, RejectsMalformedText) {
  EXPECT_FALSE(Base64Decode("Zm9").ok());        // length
  EXPECT_FALSE(Base64Decode("Zm9v YmFy").ok());  // whitespace
  EXPECT_FALSE(Base64Decode("Zm8_").ok());       // url alphabet
  EXPECT_FALSE(Base64Decode("Zm9=").ok());       // non-zero trailing bits
  EXPECT_EQ(Base64Decode("Zm$v").status().message(), "invalid base64 character at position 2");
}

TEST(Hex, LowerCaseTwoDigitsAByte) {
  EXPECT_EQ(HexEncode(std::string("\x00\x7f\xff", 3)), "007fff");
  EXPECT_EQ(HexEncode(""), "");
}

TEST(Base64, UrlVariantWithoutPadding) {
  auto decoded = Base64UrlDecode("-_XE9zK9q8Ll1qylMtLKeg");
  ASSERT_TRUE(decoded.ok());
  EXPECT_EQ(decoded->size(), 16u);
}

}  // namespace
}  // namespace masa
