#include "store/audit.h"

#include "absl/strings/escaping.h"
#include "gtest/gtest.h"
#include "store/audit_verify.h"
#include "store/checkpoint.h"
#include "store/internal/test_util.h"
#include "store/store.h"

namespace masa::store {
namespace {

using testing::TempDir;

// RFC 6962 section 2.1 definitions, computed directly from the leaves.
Hash RefRoot(const std::vector<Hash>& leaves, size_t begin, size_t end) {
  if (end - begin == 1) return leaves[begin];
  uint64_t k = LargestPowerOfTwoBelow(end - begin);
  return NodeHash(RefRoot(leaves, begin, begin + k), RefRoot(leaves, begin + k, end));
}

std::vector<Hash> RefPath(const std::vector<Hash>& leaves, size_t m, size_t begin, size_t end) {
  if (end - begin == 1) return {};
  uint64_t k = LargestPowerOfTwoBelow(end - begin);
  std::vector<Hash> out;
  if (m < k) {
    out = RefPath(leaves, m, begin, begin + k);
    out.push_back(RefRoot(leaves, begin + k, end));
  } else {
    out = RefPath(leaves, m - k, begin + k, end);
    out.push_back(RefRoot(leaves, begin, begin + k));
  }
  return out;
}

std::vector<Hash> RefSubproof(const std::vector<Hash>& leaves, size_t m, size_t begin, size_t end,
                              bool whole) {
  size_t n = end - begin;
  if (m == n) return whole ? std::vector<Hash>{} : std::vector<Hash>{RefRoot(leaves, begin, end)};
  uint64_t k = LargestPowerOfTwoBelow(n);
  std::vector<Hash> out;
  if (m <= k) {
    out = RefSubproof(leaves, m, begin, begin + k, whole);
    out.push_back(RefRoot(leaves, begin + k, end));
  } else {
    out = RefSubproof(leaves, m - k, begin + k, end, false);
    out.push_back(RefRoot(leaves, begin, begin + k));
  }
  return out;
}

TEST(AuditHashTest, KnownAnswers) {
  EXPECT_EQ(absl::BytesToHexString(EmptyRoot()),
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  EXPECT_EQ(absl::BytesToHexString(LeafHash("")),
            "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d");
}

TEST(AuditTreeTest, ProofsMatchTheRfcDefinitionsAndVerify) {
  TempDir dir;
  StoreOptions o;
  o.state_dir = dir.path();
  auto store = Store::Open(o);
  ASSERT_TRUE(store.ok());
  constexpr int kN = 40;
  std::vector<Hash> leaves;
  for (int i = 0; i < kN; ++i) {
    auto r = (*store)->Write(WriteBatch().Audit(
        {"alice", "voucher.issue", "v-" + std::to_string(i), "ok", Sha256(std::to_string(i))}));
    ASSERT_TRUE(r.ok()) << r.status();
    ASSERT_EQ(r->audit_seqs, std::vector<uint64_t>{static_cast<uint64_t>(i)});
  }
  auto snap = (*store)->Read();
  ASSERT_TRUE(snap.ok());
  Hash prev(kHashSize, '\0');
  for (int i = 0; i < kN; ++i) {
    auto bytes = snap->AuditEntryBytes(i);
    ASSERT_TRUE(bytes.ok());
    auto entry = DecodeAuditEntry(*bytes);
    ASSERT_TRUE(entry.ok());
    EXPECT_EQ(entry->seq, static_cast<uint64_t>(i));
    EXPECT_EQ(entry->prev_hash, prev);
    prev = Sha256(*bytes);
    leaves.push_back(LeafHash(*bytes));
  }
  for (size_t n = 1; n <= kN; ++n) {
    Hash root = RefRoot(leaves, 0, n);
    ASSERT_EQ(*snap->RootHash(n), root) << n;
    for (size_t m = 0; m < n; ++m) {
      auto proof = snap->InclusionProof(m, n);
      ASSERT_TRUE(proof.ok());
      ASSERT_EQ(*proof, RefPath(leaves, m, 0, n)) << m << "/" << n;
      ASSERT_TRUE(VerifyInclusion(leaves[m], m, n, *proof, root).ok()) << m << "/" << n;
      if (!proof->empty()) {
        auto bad = *proof;
        bad[0][5] ^= 1;
        EXPECT_TRUE(absl::IsDataLoss(VerifyInclusion(leaves[m], m, n, bad, root)));
      }
      if (n > 1) {
        EXPECT_FALSE(VerifyInclusion(leaves[(m + 1) % n], m, n, *proof, root).ok());
      }
    }
    for (size_t m = 1; m <= n; ++m) {
      auto proof = snap->ConsistencyProof(m, n);
      ASSERT_TRUE(proof.ok());
      ASSERT_EQ(*proof, m == n ? std::vector<Hash>{} : RefSubproof(leaves, m, 0, n, true));
      Hash old_root = RefRoot(leaves, 0, m);
      ASSERT_TRUE(VerifyConsistency(m, n, old_root, root, *proof).ok()) << m << "->" << n;
      if (m < n) {
        auto bad = *proof;
        bad.back()[0] ^= 1;
        EXPECT_FALSE(VerifyConsistency(m, n, old_root, root, bad).ok());
        EXPECT_FALSE(VerifyConsistency(m, n, leaves[0], root, *proof).ok() && m > 1);
      }
    }
  }
  EXPECT_TRUE(absl::IsInvalidArgument(snap->InclusionProof(kN, kN).status()));
  auto report = VerifyAuditLog(*snap, nullptr);
  ASSERT_TRUE(report.ok()) << report.status();
  EXPECT_EQ(report->entries, static_cast<uint64_t>(kN));
  EXPECT_EQ(report->root, RefRoot(leaves, 0, kN));
}

class CheckpointTest : public ::testing::TestWithParam<const char*> {};

TEST_P(CheckpointTest, SignedEveryNEntriesAndEveryT) {
  auto key = testing::NewKey(GetParam());
  ASSERT_TRUE(key);
  auto signer = NewEvpCheckpointSigner("masa.test/audit", UpRef(key.get()));
  ASSERT_TRUE(signer.ok()) << signer.status();
  TempDir dir;
  FixedClock clock(absl::FromUnixSeconds(1800000000));
  StoreOptions o;
  o.state_dir = dir.path();
  o.clock = &clock;
  o.checkpoint_signer = signer->get();
  o.checkpoint_origin = "masa.test/audit";
  o.checkpoint_every_entries = 10;
  o.checkpoint_every = absl::Hours(1);
  auto store = Store::Open(o);
  ASSERT_TRUE(store.ok());
  for (int i = 0; i < 25; ++i) {
    ASSERT_TRUE((*store)->Write(WriteBatch().Audit({"a", "x", "t", "ok", ""})).ok());
  }
  // Checkpoints are written by the writer after the commit that made them due.
  ASSERT_TRUE((*store)->Write(WriteBatch()).ok());
  std::vector<uint64_t> sizes;
  {
    auto snap = (*store)->Read();
    ASSERT_TRUE(snap->ScanCheckpoints([&](uint64_t size, std::string_view note) {
                      sizes.push_back(size);
                      auto cp = VerifyCheckpointNote(note, key.get());
                      EXPECT_TRUE(cp.ok()) << cp.status();
                      EXPECT_EQ(cp->tree_size, size);
                      EXPECT_EQ(cp->origin, "masa.test/audit");
                      EXPECT_EQ(cp->root_hash, *snap->RootHash(size));
                      return true;
                    })
                    .ok());
  }
  EXPECT_EQ(sizes, (std::vector<uint64_t>{10, 20}));
  // Time-based: fewer than 10 new entries, but two hours later. (The writer checks after
  // each commit, so the checkpoint covers 25 or 26 entries depending on when it looked.)
  clock.Set(clock.Now() + absl::Hours(2));
  ASSERT_TRUE((*store)->Write(WriteBatch().Audit({"a", "x", "t", "ok", ""})).ok());
  ASSERT_TRUE((*store)->Write(WriteBatch()).ok());
  ASSERT_TRUE((*store)->Write(WriteBatch()).ok());
  auto latest = (*store)->Read()->LatestCheckpoint();
  ASSERT_TRUE(latest.ok() && latest->has_value());
  auto cp = VerifyCheckpointNote(**latest, key.get());
  ASSERT_TRUE(cp.ok());
  EXPECT_GE(cp->tree_size, 25u);
  // A forced checkpoint covers everything.
  ASSERT_TRUE((*store)->WriteCheckpoint().ok());
  latest = (*store)->Read()->LatestCheckpoint();
  cp = VerifyCheckpointNote(**latest, key.get());
  ASSERT_TRUE(cp.ok());
  EXPECT_EQ(cp->tree_size, 26u);

  // Text format: origin, size, base64 root, blank line, em-dash signature line.
  const std::string& note = **latest;
  EXPECT_EQ(note.rfind("masa.test/audit\n26\n", 0), 0u);
  EXPECT_NE(note.find("\n\n\xE2\x80\x94 masa.test/audit "), std::string::npos);

  // Altered or foreign: data loss.
  std::string altered = note;
  altered.replace(altered.find("\n26\n"), 4, "\n27\n");
  EXPECT_TRUE(absl::IsDataLoss(VerifyCheckpointNote(altered, key.get()).status()));
  auto other = testing::NewKey(GetParam());
  EXPECT_TRUE(absl::IsDataLoss(VerifyCheckpointNote(note, other.get()).status()));
  EXPECT_TRUE(absl::IsInvalidArgument(VerifyCheckpointNote("garbage", key.get()).status()));

  auto report = VerifyAuditLog(*(*store)->Read(), key.get());
  ASSERT_TRUE(report.ok()) << report.status();
  EXPECT_GE(report->checkpoints, 3u);
  EXPECT_TRUE(absl::IsDataLoss(VerifyAuditLog(*(*store)->Read(), other.get()).status()));
}

INSTANTIATE_TEST_SUITE_P(Keys, CheckpointTest, ::testing::Values("ED25519", "EC"));

TEST(CheckpointKeyIdTest, Ed25519KeyIdFollowsSignedNote) {
  auto key = testing::NewKey("ED25519");
  unsigned char raw[32];
  size_t len = 32;
  ASSERT_EQ(EVP_PKEY_get_raw_public_key(key.get(), raw, &len), 1);
  std::string input = "name\n";
  input.push_back('\x01');
  input.append(reinterpret_cast<char*>(raw), 32);
  Hash h = Sha256(input);
  uint32_t want = (uint32_t{static_cast<uint8_t>(h[0])} << 24) |
                  (uint32_t{static_cast<uint8_t>(h[1])} << 16) |
                  (uint32_t{static_cast<uint8_t>(h[2])} << 8) | static_cast<uint8_t>(h[3]);
  EXPECT_EQ(*NoteKeyId("name", key.get()), want);
}

}  // namespace
}  // namespace masa::store

namespace masa::store {
namespace {

// The bounds of the offline readers' inputs: refused before the work they would cost.
TEST(AuditBoundsTest, OverlongProofsAndNotesAreRefusedUpFront) {
  std::vector<Hash> proof(kMaxProofHashes + 1, Hash(kHashSize, 'a'));
  absl::Status st = VerifyInclusion(Hash(kHashSize, 'b'), 0, 2, proof, Hash(kHashSize, 'c'));
  EXPECT_EQ(st.code(), absl::StatusCode::kDataLoss);
  EXPECT_NE(st.message().find("no tree needs more than 64"), std::string::npos) << st;

  auto key = testing::NewKey("ED25519");
  auto signer = NewEvpCheckpointSigner("masa.test/audit", UpRef(key.get()));
  ASSERT_TRUE(signer.ok());
  Checkpoint cp{std::string(kMaxCheckpointNoteBytes, 'o'), 1, Hash(kHashSize, 'r')};
  EXPECT_EQ(SignCheckpoint(cp, **signer).status().code(), absl::StatusCode::kInvalidArgument);
  cp.origin = "masa.test/audit";
  auto note = SignCheckpoint(cp, **signer);
  ASSERT_TRUE(note.ok()) << note.status();
  EXPECT_TRUE(VerifyCheckpointNote(*note, key.get()).ok());
  std::string padded = std::string(kMaxCheckpointNoteBytes, 'x') + "\n" + *note;
  EXPECT_NE(ParseCheckpointNote(padded).status().message().find("over the limit"),
            std::string::npos);
}

}  // namespace
}  // namespace masa::store

namespace masa::store {
namespace {

// Found by store_checkpoint_note_fuzz: with an ECDSA audit key (whose key ID does not depend
// on the key name) a note could name its key with any bytes, and the "does not verify"
// message repeated them, control characters and all.
TEST(CheckpointNoteTest, TheKeyNameInAMessageIsEscaped) {
  auto key = testing::NewKey("EC");
  auto signer = NewEvpCheckpointSigner("masa.test/audit", UpRef(key.get()));
  ASSERT_TRUE(signer.ok());
  auto note = SignCheckpoint({"masa.test/audit", 3, Hash(kHashSize, 'r')}, **signer);
  ASSERT_TRUE(note.ok());
  std::string forged = *note;
  forged[forged.find("\n3\n") + 1] = '4';  // an altered tree size
  forged.replace(forged.rfind("masa.test/audit"), 4, "ma\x03\x01");
  absl::Status st = VerifyCheckpointNote(forged, key.get()).status();
  EXPECT_EQ(st.code(), absl::StatusCode::kDataLoss) << st;
  for (char c : st.message()) EXPECT_TRUE(c >= 0x20 && c < 0x7f) << st;
  EXPECT_NE(st.message().find("ma\\x03\\x01.test/audit"), std::string::npos) << st;
}

}  // namespace
}  // namespace masa::store
