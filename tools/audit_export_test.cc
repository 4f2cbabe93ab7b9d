#include "tools/audit_export.h"

#include <fstream>
#include <sstream>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "gtest/gtest.h"
#include "nlohmann/json.hpp"
#include "store/audit_verify.h"
#include "store/checkpoint.h"
#include "tools/testing/audit_store.h"

namespace masa::tools {
namespace {

const char kExportSeed[] =
    MASA_SOURCE_DIR "/tools/fuzz/corpus/tools_audit_export_fuzz/real_export.jsonl";

std::string Export(testing::AuditStore& s) {
  auto snap = s.store().Read();
  EXPECT_TRUE(snap.ok()) << snap.status();
  auto text = ExportAuditLog(*snap);
  EXPECT_TRUE(text.ok()) << text.status();
  return text.ok() ? *text : "";
}

std::vector<std::string> Lines(const std::string& text) {
  std::vector<std::string> lines = absl::StrSplit(text, '\n');
  if (!lines.empty() && lines.back().empty()) lines.pop_back();
  return lines;
}

std::string Join(const std::vector<std::string>& lines) {
  return absl::StrCat(absl::StrJoin(lines, "\n"), "\n");
}

class AuditExportTest : public ::testing::Test {
 protected:
  AuditExportTest() : key_(testing::NewP256Key()), store_(key_.get(), 20, 4) {}

  // The error for `text`, which must be refused.
  absl::Status Refusal(const std::string& text) {
    auto report = VerifyAuditExport(text, key_.get());
    EXPECT_FALSE(report.ok()) << text;
    return report.status();
  }

  UniquePtr<EVP_PKEY> key_;
  testing::AuditStore store_;
};

TEST_F(AuditExportTest, ARealExportVerifiesAsTheStoreDoes) {
  std::string text = Export(store_);
  auto report = VerifyAuditExport(text, key_.get());
  ASSERT_TRUE(report.ok()) << report.status();
  EXPECT_EQ(report->entries, 20u);
  EXPECT_EQ(report->checkpoints, 5u);  // at 4, 8, 12, 16, 20
  auto snap = store_.store().Read();
  ASSERT_TRUE(snap.ok());
  auto replay = store::VerifyAuditLog(*snap, key_.get());
  ASSERT_TRUE(replay.ok()) << replay.status();
  EXPECT_EQ(report->root, replay->root);
  // Each checkpoint line follows the entry that completes its tree.
  std::vector<std::string> lines = Lines(text);
  ASSERT_EQ(lines.size(), 25u);
  EXPECT_TRUE(absl::StrContains(lines[4], "\"tree_size\":4")) << lines[4];

  // Fed a byte at a time, the same.
  AuditExportVerifier verifier(key_.get());
  for (char c : text) ASSERT_TRUE(verifier.Feed(std::string_view(&c, 1)).ok());
  auto bytewise = verifier.Finish();
  ASSERT_TRUE(bytewise.ok()) << bytewise.status();
  EXPECT_EQ(bytewise->root, report->root);
  // Without its last newline, the same; without a key, roots are still checked.
  EXPECT_TRUE(VerifyAuditExport(text.substr(0, text.size() - 1), key_.get()).ok());
  EXPECT_TRUE(VerifyAuditExport(text, nullptr).ok());
  EXPECT_TRUE(VerifyAuditExport("", key_.get()).ok());
}

TEST_F(AuditExportTest, AnEditedLineIsNamed) {
  std::vector<std::string> lines = Lines(Export(store_));
  // A displayed field changed (entry 6 is line 8: a checkpoint line follows entry 3).
  std::vector<std::string> edited = lines;
  size_t at = edited[7].find("\"alice\"");
  ASSERT_NE(at, std::string::npos);
  edited[7].replace(at, 7, "\"alicf\"");
  absl::Status st = Refusal(Join(edited));
  EXPECT_EQ(st.code(), absl::StatusCode::kDataLoss);
  EXPECT_TRUE(absl::StartsWith(st.message(), "line 8: audit entry 6: its fields")) << st;

  // A flipped byte in the entry bytes themselves.
  edited = lines;
  at = edited[7].find("\"entry_bytes\":\"") + 20;
  edited[7][at] = edited[7][at] == 'A' ? 'B' : 'A';
  st = Refusal(Join(edited));
  EXPECT_EQ(st.code(), absl::StatusCode::kDataLoss);
  EXPECT_TRUE(absl::StartsWith(st.message(), "line 8: audit entry 6: ")) << st;
}

TEST_F(AuditExportTest, ADroppedOrReorderedLineIsNamed) {
  std::vector<std::string> lines = Lines(Export(store_));
  std::vector<std::string> dropped = lines;
  dropped.erase(dropped.begin() + 7);  // entry 6
  absl::Status st = Refusal(Join(dropped));
  EXPECT_EQ(st.code(), absl::StatusCode::kDataLoss);
  EXPECT_TRUE(absl::StartsWith(st.message(), "line 8: audit entry 6: missing")) << st;

  std::vector<std::string> swapped = lines;
  std::swap(swapped[7], swapped[8]);  // entries 6 and 7
  st = Refusal(Join(swapped));
  EXPECT_TRUE(absl::StartsWith(st.message(), "line 8: audit entry 6: missing")) << st;

  std::vector<std::string> moved = lines;
  std::swap(moved[4], moved[5]);  // the checkpoint at 4 after entry 4
  st = Refusal(Join(moved));
  EXPECT_TRUE(
      absl::StartsWith(st.message(), "line 6: checkpoint at tree size 4: comes after 5 entries"))
      << st;

  std::vector<std::string> repeated = lines;
  repeated.insert(repeated.begin() + 5, lines[4]);  // the checkpoint at 4, twice
  st = Refusal(Join(repeated));
  EXPECT_TRUE(absl::StartsWith(st.message(), "line 6: checkpoint at tree size 4: comes after"))
      << st;
}

TEST_F(AuditExportTest, AForgedCheckpointIsNamed) {
  std::vector<std::string> lines = Lines(Export(store_));
  // Signed by another key, over the right root.
  auto other = testing::NewP256Key();
  auto signer = store::NewEvpCheckpointSigner("masa.test/audit", UpRef(other.get()));
  ASSERT_TRUE(signer.ok());
  auto snap = store_.store().Read();
  ASSERT_TRUE(snap.ok());
  auto cp = store::ParseCheckpointNote(nlohmann::json::parse(lines[4])["note"].get<std::string>());
  ASSERT_TRUE(cp.ok()) << cp.status();
  auto forged_note = store::SignCheckpoint(*cp, **signer);
  ASSERT_TRUE(forged_note.ok());
  std::vector<std::string> forged = lines;
  forged[4] =
      nlohmann::json{{"type", "checkpoint"}, {"tree_size", 4}, {"note", *forged_note}}.dump();
  absl::Status st = Refusal(Join(forged));
  EXPECT_EQ(st.code(), absl::StatusCode::kDataLoss);
  EXPECT_TRUE(absl::StartsWith(st.message(), "line 5: checkpoint at tree size 4: ")) << st;

  // The audit key's own checkpoint of size 8, presented as the one of size 4.
  std::vector<std::string> resized = lines;
  nlohmann::json j = nlohmann::json::parse(lines[9]);
  j["tree_size"] = 4;
  resized[4] = j.dump();
  st = Refusal(Join(resized));
  EXPECT_TRUE(absl::StartsWith(st.message(),
                               "line 5: checkpoint at tree size 4: the note says "
                               "tree size 8"))
      << st;
}

TEST_F(AuditExportTest, OverlongLinesAreRefusedBeforeTheyEnd) {
  AuditExportVerifier verifier(key_.get());
  std::string chunk(64 * 1024, 'x');
  absl::Status st;
  for (int i = 0; i < 5 && st.ok(); ++i) st = verifier.Feed(chunk);
  EXPECT_EQ(st.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_TRUE(absl::StartsWith(st.message(), "line 1: longer than 262144 bytes")) << st;
  EXPECT_EQ(verifier.Finish().status(), st);
  st = Refusal("{\"type\":\"entry\"}\n");
  EXPECT_TRUE(absl::StartsWith(st.message(), "line 1: audit entry 0: no string member")) << st;
  st = Refusal("\n");
  EXPECT_TRUE(absl::StartsWith(st.message(), "line 1: not a JSON object")) << st;
}

// The fuzz target's seed is a real export signed by the fixed fuzz key. Set
// MASA_REGENERATE_FUZZ_SEEDS=1 to write it anew (after a change of the export format).
TEST(AuditExportSeed, TheCheckedInFuzzSeedIsARealExport) {
  auto key = testing::FuzzAuditKey();
  ASSERT_TRUE(key);
  if (getenv("MASA_REGENERATE_FUZZ_SEEDS") != nullptr) {
    testing::AuditStore s(key.get(), 5, 2);
    std::ofstream(kExportSeed) << Export(s);
  }
  std::stringstream text;
  text << std::ifstream(kExportSeed).rdbuf();
  auto report = VerifyAuditExport(text.str(), key.get());
  ASSERT_TRUE(report.ok()) << report.status();
  EXPECT_EQ(report->entries, 5u);
}

}  // namespace
}  // namespace masa::tools
