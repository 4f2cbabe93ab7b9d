#include "common/utf8.h"

#include <string>

#include "gtest/gtest.h"

namespace masa {
namespace {

using std::string_literals::operator""s;

TEST(Utf8Test, AcceptsWellFormedTextOfEveryLength) {
  EXPECT_TRUE(IsValidUtf8(""));
  EXPECT_TRUE(IsValidUtf8("plain ASCII"));
  EXPECT_TRUE(IsValidUtf8("nul \0 inside"s));
  EXPECT_TRUE(IsValidUtf8("\xc3\xa9"));          // U+00E9, two bytes
  EXPECT_TRUE(IsValidUtf8("\xe2\x82\xac"));      // U+20AC, three bytes
  EXPECT_TRUE(IsValidUtf8("\xf0\x9f\x98\x80"));  // U+1F600, four bytes
  // The edges of each length, and the code points either side of the surrogates.
  EXPECT_TRUE(IsValidUtf8("\x7f\xc2\x80\xdf\xbf\xe0\xa0\x80\xef\xbf\xbf"));
  EXPECT_TRUE(IsValidUtf8("\xed\x9f\xbf\xee\x80\x80"));  // U+D7FF, U+E000
  EXPECT_TRUE(IsValidUtf8("\xf4\x8f\xbf\xbf"));          // U+10FFFF, the last one
}

TEST(Utf8Test, RefusesOverlongForms) {
  EXPECT_FALSE(IsValidUtf8("\xc0\xaf"));          // '/' in two bytes
  EXPECT_FALSE(IsValidUtf8("\xc1\xbf"));          // U+007F in two bytes
  EXPECT_FALSE(IsValidUtf8("\xe0\x80\xaf"));      // '/' in three bytes
  EXPECT_FALSE(IsValidUtf8("\xe0\x9f\xbf"));      // U+07FF in three bytes
  EXPECT_FALSE(IsValidUtf8("\xf0\x80\x80\xaf"));  // '/' in four bytes
  EXPECT_FALSE(IsValidUtf8("\xf0\x8f\xbf\xbf"));  // U+FFFF in four bytes
}

TEST(Utf8Test, RefusesSurrogates) {
  EXPECT_FALSE(IsValidUtf8("\xed\xa0\x80"));  // U+D800
  EXPECT_FALSE(IsValidUtf8("\xed\xbf\xbf"));  // U+DFFF
  // A CESU-8 pair (U+1F600 as two surrogates) is not UTF-8 either.
  EXPECT_FALSE(IsValidUtf8("\xed\xa0\xbd\xed\xb8\x80"));
}

TEST(Utf8Test, RefusesCodePointsAboveU10FFFF) {
  EXPECT_FALSE(IsValidUtf8("\xf4\x90\x80\x80"));      // U+110000
  EXPECT_FALSE(IsValidUtf8("\xf7\xbf\xbf\xbf"));      // U+1FFFFF
  EXPECT_FALSE(IsValidUtf8("\xf8\x88\x80\x80\x80"));  // old five-byte form
  EXPECT_FALSE(IsValidUtf8("\xfe"));
  EXPECT_FALSE(IsValidUtf8("\xff"));
}

TEST(Utf8Test, RefusesTruncatedAndBrokenSequences) {
  EXPECT_FALSE(IsValidUtf8("\xc3"));                           // lead byte at the end
  EXPECT_FALSE(IsValidUtf8("\xe2\x82"));                       // one continuation missing
  EXPECT_FALSE(IsValidUtf8("\xf0\x9f\x98"));                   // one of three missing
  EXPECT_FALSE(IsValidUtf8("ok \xf0\x9f"));                    // cut short after valid text
  EXPECT_FALSE(IsValidUtf8("\xe2\x82x"));                      // a non-continuation inside
  EXPECT_FALSE(IsValidUtf8("\x80"));                           // a lone continuation byte
  EXPECT_FALSE(IsValidUtf8("\xc3\xa9\xa9"));                   // one continuation too many
  EXPECT_FALSE(IsValidUtf8(std::string_view("\xc3\xa9", 1)));  // the view ends mid-way
}

TEST(Utf8Test, RepairReplacesEachBadByteAndKeepsTheRest) {
  EXPECT_EQ(RepairUtf8("Acme \xc3\xa9"), "Acme \xc3\xa9");
  EXPECT_EQ(RepairUtf8("Ac\xffme"), "Ac\xef\xbf\xbdme");
  EXPECT_EQ(RepairUtf8("\xed\xa0\x80"), "\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd");
  EXPECT_EQ(RepairUtf8("x\xe2\x82"), "x\xef\xbf\xbd\xef\xbf\xbd");
  EXPECT_EQ(RepairUtf8(""), "");
  for (const char* bad : {"\xc0\xaf", "\xf4\x90\x80\x80", "\xe2\x82", "\x80\x80"}) {
    EXPECT_TRUE(IsValidUtf8(RepairUtf8(bad))) << bad;
  }
}

TEST(ShowUntrustedTest, KeepsPrintableAsciiAndEscapesEverythingElse) {
  EXPECT_EQ(ShowUntrusted("serial-A1 {\"x\"}"), "serial-A1 {\"x\"}");
  EXPECT_EQ(ShowUntrusted("a\r\nSet-Cookie: x"), "a\\x0D\\x0ASet-Cookie: x");
  EXPECT_EQ(ShowUntrusted("back\\slash\x7f\xc3\xa9"), "back\\x5Cslash\\x7F\\xC3\\xA9");
  EXPECT_EQ(ShowUntrusted(std::string("nul\0in", 6)), "nul\\x00in");
}

TEST(ShowUntrustedTest, ShowsAtMostMaxBytesAndMarksTheCut) {
  EXPECT_EQ(ShowUntrusted(std::string(100, 'k')), std::string(64, 'k') + "...");
  EXPECT_EQ(ShowUntrusted("abcdef", 3), "abc...");
  EXPECT_EQ(ShowUntrusted("abc", 3), "abc");
  EXPECT_EQ(ShowUntrusted("", 3), "");
}

}  // namespace
}  // namespace masa
