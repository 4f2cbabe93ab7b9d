#include "tools/audit_proof.h"

#include <fstream>
#include <sstream>

#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "nlohmann/json.hpp"
#include "store/checkpoint.h"
#include "tools/testing/audit_store.h"

namespace masa::tools {
namespace {

using nlohmann::json;

const char kProofSeed[] =
    MASA_SOURCE_DIR "/tools/fuzz/corpus/tools_audit_proof_fuzz/real_proof.json";

std::string Proof(testing::AuditStore& s, uint64_t index) {
  auto snap = s.store().Read();
  EXPECT_TRUE(snap.ok()) << snap.status();
  auto proof = MakeAuditProof(*snap, index);
  EXPECT_TRUE(proof.ok()) << proof.status();
  return proof.ok() ? *proof : "";
}

TEST(AuditProof, ARealProofChecksAgainstTheAuditKey) {
  auto key = testing::NewP256Key();
  testing::AuditStore s(key.get(), 40, 8);
  std::string text = Proof(s, 13);
  auto ok = CheckAuditProof(text, key.get());
  ASSERT_TRUE(ok.ok()) << ok.status();
  EXPECT_EQ(ok->index, 13u);
  EXPECT_EQ(ok->tree_size, 40u);
  EXPECT_EQ(ok->entry.target, "v-13");

  auto other = testing::NewP256Key();
  EXPECT_EQ(CheckAuditProof(text, other.get()).status().code(), absl::StatusCode::kDataLoss);
  EXPECT_EQ(CheckAuditProof(text, nullptr).status().code(), absl::StatusCode::kInvalidArgument);
  json j = json::parse(text);
  j["entry_index"] = 12;
  EXPECT_EQ(CheckAuditProof(j.dump(), key.get()).status().code(), absl::StatusCode::kDataLoss);
  EXPECT_EQ(CheckAuditProof("{", key.get()).status().message(), "proof is not JSON");
}

// The bounds: refused before the work, with a message saying which.
TEST(AuditProof, OverlongProofsNotesAndEntriesAreRefusedUpFront) {
  auto key = testing::NewP256Key();
  testing::AuditStore s(key.get(), 3, 8);
  json j = json::parse(Proof(s, 1));

  json long_path = j;
  for (int i = 0; i < 65; ++i) long_path["inclusion_proof"].push_back(std::string(44, 'A'));
  auto st = CheckAuditProof(long_path.dump(), key.get()).status();
  EXPECT_EQ(st.code(), absl::StatusCode::kInvalidArgument) << st;
  EXPECT_NE(st.message().find("no tree needs more than 64"), std::string::npos) << st;

  json long_note = j;
  long_note["checkpoint"] = std::string(store::kMaxCheckpointNoteBytes + 1, 'x');
  st = CheckAuditProof(long_note.dump(), key.get()).status();
  EXPECT_NE(st.message().find("over the limit"), std::string::npos) << st;

  json long_entry = j;
  long_entry["entry_bytes"] = std::string(store::kMaxAuditEntryBytes / 3 * 4 + 8, 'A');
  st = CheckAuditProof(long_entry.dump(), key.get()).status();
  EXPECT_NE(st.message().find("\"entry_bytes\" is over the limit"), std::string::npos) << st;

  st = CheckAuditProof(std::string(kMaxAuditProofBytes + 1, ' '), key.get()).status();
  EXPECT_NE(st.message().find("over the limit"), std::string::npos) << st;
}

// The fuzz target's seed is a real proof signed by the fixed fuzz key. Set
// MASA_REGENERATE_FUZZ_SEEDS=1 to write it anew (after a change of the proof format).
TEST(AuditProof, TheCheckedInFuzzSeedIsARealProof) {
  auto key = testing::FuzzAuditKey();
  ASSERT_TRUE(key);
  if (getenv("MASA_REGENERATE_FUZZ_SEEDS") != nullptr) {
    testing::AuditStore s(key.get(), 5, 2);
    std::ofstream(kProofSeed) << Proof(s, 3);
  }
  std::stringstream text;
  text << std::ifstream(kProofSeed).rdbuf();
  auto ok = CheckAuditProof(text.str(), key.get());
  EXPECT_TRUE(ok.ok()) << ok.status();
}

}  // namespace
}  // namespace masa::tools
