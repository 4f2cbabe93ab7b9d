// The ustar writer: parsed back byte by byte, and listed/extracted by the system's tar.
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "api/internal/tar.h"
#include "common/testing/subprocess.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace masa::api::internal {
namespace {

uint64_t Octal(const std::string& block, size_t offset, size_t width) {
  uint64_t v = 0;
  for (size_t i = offset; i < offset + width && block[i] >= '0' && block[i] <= '7'; ++i) {
    v = v * 8 + (block[i] - '0');
  }
  return v;
}

struct Parsed {
  std::string name;
  std::string data;
};

// A minimal independent reader: checks magic, checksum, sizes and the end marker.
std::vector<Parsed> ParseTar(const std::string& tar) {
  std::vector<Parsed> out;
  EXPECT_EQ(tar.size() % 512, 0u);
  size_t at = 0;
  while (at + 512 <= tar.size()) {
    std::string header = tar.substr(at, 512);
    if (header == std::string(512, '\0')) {
      EXPECT_EQ(tar.substr(at), std::string(1024, '\0')) << "end marker is two zero blocks";
      return out;
    }
    EXPECT_EQ(header.substr(257, 6), std::string("ustar\0", 6));
    EXPECT_EQ(header.substr(263, 2), "00");
    EXPECT_EQ(header[156], '0');
    uint32_t sum = 0;
    for (size_t i = 0; i < 512; ++i) {
      sum += (i >= 148 && i < 156) ? ' ' : static_cast<unsigned char>(header[i]);
    }
    EXPECT_EQ(Octal(header, 148, 8), sum) << "checksum";
    EXPECT_EQ(Octal(header, 100, 8), 0644u);
    Parsed p;
    p.name = header.substr(0, std::min<size_t>(100, header.find('\0')));  // may fill all 100
    uint64_t size = Octal(header, 124, 12);
    p.data = tar.substr(at + 512, size);
    at += 512 + (size + 511) / 512 * 512;
    out.push_back(std::move(p));
  }
  ADD_FAILURE() << "no end marker";
  return out;
}

TEST(TarTest, RoundTripsEntriesOfEverySizeClass) {
  std::vector<TarEntry> entries = {
      {"SN-1.vcj", std::string("\x30\x82\x01\x00", 4) + std::string(300, '\xaa')},
      {"empty.vcj", ""},
      {"exact.vcj", std::string(512, 'x')},
      {std::string(96, 'n') + ".vcj", std::string(1025, '\0')},
  };
  absl::StatusOr<std::string> tar = WriteTar(entries, absl::FromUnixSeconds(1800000000));
  ASSERT_TRUE(tar.ok()) << tar.status();
  std::vector<Parsed> parsed = ParseTar(*tar);
  ASSERT_EQ(parsed.size(), entries.size());
  for (size_t i = 0; i < entries.size(); ++i) {
    EXPECT_EQ(parsed[i].name, entries[i].name);
    EXPECT_EQ(parsed[i].data, entries[i].data);
  }
  EXPECT_EQ(Octal(tar->substr(0, 512), 136, 12), 1800000000u);
}

TEST(TarTest, EmptyArchiveIsTwoZeroBlocks) {
  absl::StatusOr<std::string> tar = WriteTar({}, absl::UnixEpoch());
  ASSERT_TRUE(tar.ok());
  EXPECT_EQ(*tar, std::string(1024, '\0'));
}

TEST(TarTest, RefusesUnsafeNames) {
  for (std::string name :
       {std::string(""), std::string("../x"), std::string("a/b"), std::string("."),
        std::string(".."), std::string(101, 'a'), std::string("a\0b", 3)}) {
    EXPECT_FALSE(WriteTar({{name, "x"}}, absl::UnixEpoch()).ok()) << name;
  }
}

TEST(TarTest, SafeFileNameNeutralizesPathsAndQuotes) {
  EXPECT_EQ(SafeFileName("SN-1.a_b", ".vcj"), "SN-1.a_b.vcj");
  EXPECT_EQ(SafeFileName("../../etc/passwd", ".vcj"), "_._.._etc_passwd.vcj");
  EXPECT_EQ(SafeFileName("a\"b\r\nc", ".vcj"), "a_b__c.vcj");
  EXPECT_EQ(SafeFileName("", ".tar"), "_.tar");
  EXPECT_EQ(SafeFileName(".hidden", ".vcj"), "_hidden.vcj");
  EXPECT_EQ(SafeFileName(std::string(200, 's'), ".vcj").size(), 94u);
}

// Runs the system's tar with `args`; what it printed (stdout and stderr). A failing run is a
// test failure.
std::string RunTar(const std::vector<std::string>& args) {
  std::vector<std::string> argv = {"tar"};
  argv.insert(argv.end(), args.begin(), args.end());
  absl::StatusOr<subprocess::ProcessResult> r =
      subprocess::RunProcess(argv, {.merge_stderr = true});
  EXPECT_TRUE(r.ok()) << r.status();
  if (!r.ok()) return "";
  EXPECT_EQ(r->exit_code, 0) << *r;
  return r->out;
}

TEST(TarTest, SystemTarListsAndExtractsIt) {
  // tar is a required program, not an optional one: a missing tar fails here, by name.
  absl::StatusOr<subprocess::ProcessResult> version = subprocess::RunProcess({"tar", "--version"});
  ASSERT_TRUE(version.ok() && version->exit_code == 0)
      << "this test needs the tar program (Debian package tar; scripts/install-deps.sh installs "
         "it): "
      << (version.ok() ? absl::StrCat("tar --version exited with ", version->exit_code)
                       : version.status().ToString());
  std::filesystem::path dir =
      std::filesystem::temp_directory_path() / ("masa-tar-test-" + std::to_string(getpid()));
  std::filesystem::create_directories(dir / "out");
  std::string one(700, 'v');
  absl::StatusOr<std::string> tar =
      WriteTar({{"SN1.vcj", one}, {"SN2.vcj", "two"}}, absl::FromUnixSeconds(1800000000));
  ASSERT_TRUE(tar.ok());
  { std::ofstream(dir / "r.tar", std::ios::binary) << *tar; }
  std::string listing = RunTar({"-tvf", (dir / "r.tar").string()});
  EXPECT_THAT(listing, ::testing::HasSubstr("SN1.vcj"));
  EXPECT_THAT(listing, ::testing::HasSubstr("700"));
  EXPECT_THAT(listing, ::testing::HasSubstr("SN2.vcj"));
  RunTar({"-xf", (dir / "r.tar").string(), "-C", (dir / "out").string()});
  std::ifstream in(dir / "out" / "SN1.vcj", std::ios::binary);
  std::stringstream content;
  content << in.rdbuf();
  EXPECT_EQ(content.str(), one);
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace masa::api::internal
