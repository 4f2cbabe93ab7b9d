#include "common/der.h"

#include <string>

#include "common/testing/der.h"
#include "gtest/gtest.h"

namespace masa::der {
namespace {

using ::masa::testing::DerTlv;

const std::string kSignedDataOid("\x2a\x86\x48\x86\xf7\x0d\x01\x07\x02", 9);

// A ContentInfo shaped like a signed voucher; `certificates` empty leaves the field out.
std::string SignedCms(const std::string& certificates, const std::string& oid = kSignedDataOid) {
  std::string sd =
      DerTlv(0x02, "\x03") + DerTlv(0x31, "") +
      DerTlv(0x30, DerTlv(0x06, "\x2a") + DerTlv(0xa0, DerTlv(0x04, std::string(300, 'j'))));
  if (!certificates.empty()) sd += DerTlv(0xa0, certificates);
  sd += DerTlv(0x31, DerTlv(0x30, "signer info"));
  return DerTlv(0x30, DerTlv(0x06, oid) + DerTlv(0xa0, DerTlv(0x30, sd)));
}

TEST(DerReaderTest, ReadsShortAndLongForms) {
  const std::string small = DerTlv(0x04, "abc");
  auto tlv = ReadTlv(small, 0);
  ASSERT_TRUE(tlv.ok()) << tlv.status();
  EXPECT_EQ(tlv->tag, 0x04);
  EXPECT_EQ(tlv->header_size, 2u);
  EXPECT_EQ(tlv->value, "abc");
  EXPECT_EQ(tlv->end(), small.size());

  const std::string big = DerTlv(0x30, std::string(70000, 'x')) + DerTlv(0x05, "");
  tlv = ReadTlv(big, 0, kSequence);
  ASSERT_TRUE(tlv.ok()) << tlv.status();
  EXPECT_EQ(tlv->header_size, 5u);  // 0x30 0x83 + three length octets
  EXPECT_EQ(tlv->value.size(), 70000u);
  auto after = ReadTlv(big, tlv->end());
  ASSERT_TRUE(after.ok()) << after.status();
  EXPECT_EQ(after->tag, 0x05);
  EXPECT_TRUE(after->value.empty());

  // Long form where short would do (some tokens write CKA_EC_POINT that way).
  const std::string lax("\x04\x81\x02hi", 5);
  auto whole = ReadWhole(lax, kOctetString);
  ASSERT_TRUE(whole.ok()) << whole.status();
  EXPECT_EQ(*whole, "hi");
}

TEST(DerReaderTest, RefusesMalformedInputWithItsOffset) {
  struct Case {
    std::string der;
    size_t offset;
    const char* message;
  };
  const Case cases[] = {
      {"", 0, "cut short"},
      {"\x04", 0, "cut short"},
      {std::string("\x04\x05"
                   "abc",
                   5),
       0, "5 content octets, but only 3 remain"},
      {std::string("\x30\x80\x00\x00", 4), 0, "indefinite length"},
      {std::string("\x04\x85\x01\x02\x03\x04\x05", 7), 0, "a length of 5 octets"},
      {std::string("\x04\x82\x01", 3), 0, "the length is cut short"},
      {std::string("\x1f\x01\x00", 3), 0, "high-tag-number form"},
      {DerTlv(0x04, "a") + std::string("\x04", 1), 3, "at offset 3"},
  };
  for (const Case& c : cases) {
    auto tlv = ReadTlv(c.der, c.offset);
    ASSERT_FALSE(tlv.ok()) << c.message;
    EXPECT_TRUE(absl::IsInvalidArgument(tlv.status())) << tlv.status();
    EXPECT_NE(tlv.status().message().find(c.message), std::string::npos) << tlv.status();
  }
  auto wrong_tag = ReadTlv(DerTlv(0x04, "a"), 0, kSequence);
  EXPECT_NE(wrong_tag.status().message().find("tag 0x04 where 0x30 was expected"),
            std::string::npos)
      << wrong_tag.status();
  auto trailing = ReadWhole(DerTlv(0x04, "a") + "zz", kOctetString);
  EXPECT_NE(trailing.status().message().find("2 octets after the TLV"), std::string::npos)
      << trailing.status();
  EXPECT_FALSE(ReadTlv("ab", 5).ok());  // an offset past the end is not a crash
}

TEST(DerReaderTest, FindsTheCertificateSetOfASignedData) {
  const std::string chain =
      DerTlv(0x30, std::string(520, 'A')) + DerTlv(0x30, std::string(540, 'B'));
  const std::string cms = SignedCms(chain);
  auto span = FindCmsCertificateSet(cms);
  ASSERT_TRUE(span.ok()) << span.status();
  EXPECT_EQ(cms.substr(span->offset, span->size), DerTlv(0xa0, chain));
}

TEST(DerReaderTest, CertificateSetAbsentOrNotASignedData) {
  EXPECT_TRUE(absl::IsNotFound(FindCmsCertificateSet(SignedCms("")).status()));
  // id-data instead of id-signedData.
  const std::string id_data("\x2a\x86\x48\x86\xf7\x0d\x01\x07\x01", 9);
  EXPECT_TRUE(absl::IsInvalidArgument(FindCmsCertificateSet(SignedCms("x", id_data)).status()));
  EXPECT_TRUE(absl::IsInvalidArgument(FindCmsCertificateSet("not DER at all").status()));
  // Every truncation of a good CMS is refused cleanly, never read past its end.
  const std::string cms = SignedCms(DerTlv(0x30, std::string(200, 'C')));
  for (size_t n = 0; n < cms.size(); ++n) {
    EXPECT_FALSE(FindCmsCertificateSet(cms.substr(0, n)).ok()) << n;
  }
}

// Found writing common_der_fuzz (a found set must lie inside the ContentInfo): the fields
// were read against the whole input, so a ContentInfo whose length ran short of its fields
// (they followed it instead of being inside it) was taken as well formed. Likewise a
// SignedData without a set must not find one in the bytes after it.
TEST(DerReaderTest, FieldsMustStayInsideTheirParent) {
  const std::string chain = DerTlv(0x30, std::string(20, 'A'));
  const std::string cms = SignedCms(chain);
  auto good = FindCmsCertificateSet(cms);
  ASSERT_TRUE(good.ok()) << good.status();
  // The same fields, but the ContentInfo's length claims only the OID: everything else now
  // follows the ContentInfo instead of being inside it.
  auto content_info = ReadTlv(cms, 0, kSequence);
  ASSERT_TRUE(content_info.ok()) << content_info.status();
  auto type = ReadTlv(cms, content_info->content_offset(), kObjectIdentifier);
  ASSERT_TRUE(type.ok()) << type.status();
  std::string cut = DerTlv(0x30, cms.substr(type->offset, type->size())) + cms.substr(type->end());
  auto found = FindCmsCertificateSet(cut);
  EXPECT_TRUE(absl::IsInvalidArgument(found.status())) << found.status();
  // A SignedData holding only version, digestAlgorithms and encapContentInfo, followed by a
  // [0] TLV outside it: no certificate set inside, so none is found.
  std::string sd = DerTlv(0x02, "\x03") + DerTlv(0x31, "") + DerTlv(0x30, DerTlv(0x06, "\x2a"));
  std::string outside =
      DerTlv(0x30, DerTlv(0x06, kSignedDataOid) + DerTlv(0xa0, DerTlv(0x30, sd))) +
      DerTlv(0xa0, chain);
  found = FindCmsCertificateSet(outside);
  EXPECT_FALSE(found.ok()) << "found a set at " << found->offset;
}

}  // namespace
}  // namespace masa::der
