// The three forms of `masactl serials assign --file` (tools/serials_file.h).
#include "tools/serials_file.h"

#include <gtest/gtest.h>

#include "common/base64.h"

namespace masa::tools {
namespace {

// A DER-looking value (starts with SEQUENCE, 0x30): the parser does not check DER itself.
const std::string kDer = std::string("\x30\x03\x02\x01\x05", 5);

TEST(SerialsFileTest, PlainLinesKeepWorking) {
  auto r = ParseSerialsFile("# comment\nSN-1\n\nSN-2, ASR-9001\nSN-3,ASR-9001,30065\n", "f");
  ASSERT_TRUE(r.ok()) << r.status();
  ASSERT_EQ(r->size(), 3u);
  EXPECT_EQ((*r)[0].serial_number, "SN-1");
  EXPECT_EQ((*r)[1].model, "ASR-9001");
  EXPECT_EQ((*r)[2].ien, "30065");
  EXPECT_EQ(ParseSerialsFile("a,b,c,d\n", "f").status().code(), absl::StatusCode::kInvalidArgument);
}

TEST(SerialsFileTest, CsvWithAHeaderCarriesTheDeviceData) {
  std::string text =
      "# vendor export\nMAC,Serial,ek_cert,ppk,model\n"
      "00:1c:73:aa:bb:cc,JPE1,MAMCAQU=,300302010"
      "5,DCS\n"
      "00:1c:73:aa:bb:cd,JPE2,,,\n";
  auto r = ParseSerialsFile(text, "f");
  ASSERT_TRUE(r.ok()) << r.status();
  ASSERT_EQ(r->size(), 2u);
  EXPECT_EQ((*r)[0].serial_number, "JPE1");
  EXPECT_EQ((*r)[0].mac_addr, "00:1c:73:aa:bb:cc");
  EXPECT_EQ((*r)[0].model, "DCS");
  EXPECT_EQ((*r)[0].tpm.ek_certificate, kDer);        // base64
  EXPECT_EQ((*r)[0].tpm.platform_primary_key, kDer);  // hex
  EXPECT_TRUE((*r)[0].tpm.endorsement_key.empty());
  EXPECT_TRUE((*r)[1].tpm.ek_certificate.empty());
  auto wrong = ParseSerialsFile("serial,colour\nA,red\n", "devices.csv");
  EXPECT_EQ(wrong.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(wrong.status().message().find("devices.csv line 1"), std::string::npos);
  EXPECT_EQ(ParseSerialsFile("serial,model\nA\n", "f").status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(ParseSerialsFile("serial,ek\nA,%%%\n", "f").status().code(),
            absl::StatusCode::kInvalidArgument);
}

TEST(SerialsFileTest, JsonLines) {
  std::string text =
      "{\"serial\":\"JPE1\",\"model\":\"DCS\",\"mac_addr\":\"00:1c:73:aa:bb:cc\","
      "\"tpm\":{\"endorsement_key\":\"MAMCAQU=\",\"platform_primary_key\":\"3003020105\"}}\n"
      "{\"serial_number\":\"JPE2\",\"ek_cert\":\"MAMCAQU=\",\"ien\":\"9\"}\n";
  auto r = ParseSerialsFile(text, "f");
  ASSERT_TRUE(r.ok()) << r.status();
  ASSERT_EQ(r->size(), 2u);
  EXPECT_EQ((*r)[0].tpm.endorsement_key, kDer);
  EXPECT_EQ((*r)[0].tpm.platform_primary_key, kDer);
  EXPECT_EQ((*r)[0].mac_addr, "00:1c:73:aa:bb:cc");
  EXPECT_EQ((*r)[1].serial_number, "JPE2");
  EXPECT_EQ((*r)[1].tpm.ek_certificate, kDer);
  EXPECT_EQ((*r)[1].ien, "9");
  for (const char* bad : {"{\"serial\":\"A\",\"colour\":\"red\"}", "{\"serial\":1}", "{not json",
                          "{\"model\":\"M\"}", "{\"serial\":\"A\",\"tpm\":{\"model\":\"M\"}}"}) {
    EXPECT_EQ(ParseSerialsFile(bad, "f").status().code(), absl::StatusCode::kInvalidArgument)
        << bad;
  }
}

}  // namespace
}  // namespace masa::tools
