#include "signer/internal/der.h"

#include <string>

#include <gtest/gtest.h>

namespace masa::signer::der {
namespace {

std::string Header(uint8_t tag, size_t size) {
  std::string out;
  AppendHeader(tag, size, &out);
  EXPECT_EQ(TlvSize(size), out.size() + size);
  return out;
}

TEST(DerTest, DefiniteLengthsUseTheFewestOctets) {
  EXPECT_EQ(Header(kSequence, 0), std::string("\x30\x00", 2));
  EXPECT_EQ(Header(kSequence, 127), "\x30\x7f");
  EXPECT_EQ(Header(kSequence, 128), "\x30\x81\x80");
  EXPECT_EQ(Header(kSequence, 255), "\x30\x81\xff");
  EXPECT_EQ(Header(kSequence, 256), std::string("\x30\x82\x01\x00", 4));
  EXPECT_EQ(Header(kSequence, 65535), "\x30\x82\xff\xff");
  EXPECT_EQ(Header(kSequence, 65536), std::string("\x30\x83\x01\x00\x00", 5));
}

TEST(DerTest, ConstructedConcatenatesParts) {
  EXPECT_EQ(Constructed(kSequence, {"\x02\x01\x01", std::string("\x04\x00", 2)}),
            std::string("\x30\x05\x02\x01\x01\x04\x00", 7));
  std::string big(300, 'a');
  std::string tlv = Constructed(ContextConstructed(0), {big});
  EXPECT_EQ(tlv.substr(0, 4), "\xa0\x82\x01\x2c");
  EXPECT_EQ(tlv.size(), 304u);
}

TEST(DerTest, SetOfSortsByEncoding) {
  EXPECT_EQ(SetOf(kSet, {"\x04\x01\x02", "\x02\x01\x05", "\x04\x01\x01"}),
            "\x31\x09\x02\x01\x05\x04\x01\x01\x04\x01\x02");
  // Octets compare unsigned: 0x81 after 0x7f.
  EXPECT_EQ(SetOf(kSet, {"\x04\x01\x81", "\x04\x01\x7f"}), "\x31\x06\x04\x01\x7f\x04\x01\x81");
}

TEST(DerTest, SmallIntegersStayPositive) {
  EXPECT_EQ(SmallInteger(1), "\x02\x01\x01");
  EXPECT_EQ(SmallInteger(0x80), std::string("\x02\x02\x00\x80", 4));
}

}  // namespace
}  // namespace masa::signer::der
