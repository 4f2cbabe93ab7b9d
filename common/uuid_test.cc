#include "common/uuid.h"

#include <sys/wait.h>
#include <unistd.h>

#include <set>

#include "gtest/gtest.h"

namespace masa {
namespace {

// The RFC 9562 version and variant bits, read from the text.
int VariantBits(const std::string& uuid) {
  int nibble = std::stoi(uuid.substr(19, 1), nullptr, 16);
  return nibble >> 2;  // 0b10 for RFC 9562 UUIDs
}

TEST(UuidTest, NewUuidV7HasTheRfc9562Shape) {
  const absl::Time now = absl::FromUnixMillis(1764363095163);
  std::set<std::string> seen;
  for (int i = 0; i < 200; ++i) {
    std::string id = NewUuidV7(now);
    SCOPED_TRACE(id);
    ASSERT_EQ(id.size(), 36u);
    EXPECT_EQ(CanonicalUuid(id), id);  // lower-case 8-4-4-4-12
    EXPECT_EQ(id[8], '-');
    EXPECT_EQ(id[13], '-');
    EXPECT_EQ(id[18], '-');
    EXPECT_EQ(id[23], '-');
    EXPECT_EQ(UuidVersion(id), 7);
    EXPECT_EQ(id[14], '7');
    EXPECT_EQ(VariantBits(id), 0b10);
    EXPECT_EQ(UuidV7Millis(id), 1764363095163);
    // 48-bit big-endian milliseconds: 1764363095163 = 0x019acc3c4c7b.
    EXPECT_EQ(id.substr(0, 13), "019acc3c-4c7b");
    seen.insert(id);
  }
  EXPECT_EQ(seen.size(), 200u) << "74 random bits should not repeat";
}

TEST(UuidTest, IdsOfLaterMillisecondsSortAfterEarlierOnes) {
  absl::Time t = absl::FromUnixMillis(1700000000000);
  std::string previous = NewUuidV7(t);
  for (int i = 1; i < 2000; ++i) {
    // Every step crosses at least one millisecond boundary, some several, some a byte carry.
    t += absl::Milliseconds(1 + (i % 3) * 255);
    std::string id = NewUuidV7(t);
    ASSERT_LT(previous, id) << "at step " << i;
    previous = id;
  }
}

// Ids a process makes in one millisecond (a request's twenty vouchers) sort in the order
// they were made, so the store appends their records instead of inserting between them;
// a clock stepping back a little does not break the order either.
TEST(UuidTest, IdsOfOneProcessSortInTheOrderTheyWereMade) {
  const absl::Time t = absl::FromUnixMillis(1800000000000);
  std::string previous = NewUuidV7(t);
  for (int i = 1; i < 5000; ++i) {
    std::string id = NewUuidV7(i % 100 == 0 ? t - absl::Milliseconds(3) : t);
    ASSERT_LT(previous, id) << "at step " << i;
    EXPECT_EQ(UuidV7Millis(id), absl::ToUnixMillis(t));
    EXPECT_EQ(UuidVersion(id), 7);
    EXPECT_EQ(VariantBits(id), 0b10);
    previous = id;
  }
  // An earlier time by more than a second is taken as it is.
  EXPECT_EQ(UuidV7Millis(NewUuidV7(t - absl::Hours(1))), absl::ToUnixMillis(t - absl::Hours(1)));
}

// A forked child starts from the parent's state (the last id, this thread's unused random
// bytes): it must still not make the id the parent makes next, for the same millisecond.
TEST(UuidTest, AForkedChildAndItsParentMakeDifferentIds) {
  const absl::Time t = absl::FromUnixMillis(1900000000000);
  (void)NewUuidV7(t);  // the pool now holds unused bytes
  int fds[2];
  ASSERT_EQ(pipe(fds), 0);
  const pid_t child = fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    const std::string id = NewUuidV7(t);
    _exit(write(fds[1], id.data(), id.size()) == static_cast<ssize_t>(id.size()) ? 0 : 1);
  }
  close(fds[1]);
  const std::string mine = NewUuidV7(t);
  std::string theirs(64, '\0');
  const ssize_t n = read(fds[0], theirs.data(), theirs.size());
  close(fds[0]);
  int status = 0;
  ASSERT_EQ(waitpid(child, &status, 0), child);
  ASSERT_EQ(n, static_cast<ssize_t>(mine.size()));
  theirs.resize(static_cast<size_t>(n));
  EXPECT_NE(theirs, mine);
  EXPECT_EQ(UuidV7Millis(theirs), UuidV7Millis(mine));
}

TEST(UuidTest, CanonicalUuidAcceptsOnlyUuids) {
  EXPECT_EQ(CanonicalUuid("3FA85F64-5717-4562-B3FC-2C963F66AFA6"),
            "3fa85f64-5717-4562-b3fc-2c963f66afa6");
  EXPECT_EQ(UuidVersion("3fa85f64-5717-4562-b3fc-2c963f66afa6"), 4);
  EXPECT_EQ(UuidV7Millis("3fa85f64-5717-4562-b3fc-2c963f66afa6"), std::nullopt);
  for (std::string_view bad :
       {"", "v-0190a1b2c3d4e5f60718293a4b5c", "3fa85f64-5717-4562-b3fc-2c963f66afa",
        "3fa85f64-5717-4562-b3fc-2c963f66afa66", "3fa85f645717-4562-b3fc-2c963f66afa6-",
        "3fa85f64-5717-4562-b3fc-2c963f66afg6", "3fa85f64+5717-4562-b3fc-2c963f66afa6",
        "../../../../etc/passwd/../../../../xx"}) {
    EXPECT_EQ(CanonicalUuid(bad), std::nullopt) << bad;
    EXPECT_EQ(UuidVersion(bad), -1) << bad;
  }
}

TEST(UuidTest, LegacyIdsMapToUuidV7KeepingTheirTimeAndRandomBits) {
  // v- + 12 hex digits of milliseconds + 16 random hex digits (NewTimeOrderedId before).
  std::optional<std::string> u = LegacyIdToUuid("v-019acc3c4c7b0123456789abcdef", "v-");
  ASSERT_TRUE(u.has_value());
  // time 019acc3c4c7b | 7 | rand_a = 012 | variant 10 + 52 random bits 3456789abcdef, 10 zero bits
  EXPECT_EQ(*u, "019acc3c-4c7b-7012-8d15-9e26af37bc00");
  EXPECT_EQ(UuidVersion(*u), 7);
  EXPECT_EQ(VariantBits(*u), 0b10);
  EXPECT_EQ(UuidV7Millis(*u), 1764363095163);
  // The same bits under another prefix.
  EXPECT_EQ(LegacyIdToUuid("req-019acc3c4c7b0123456789abcdef", "req-"), u);
  // The random-only form (before ids were time-ordered) keeps time 0.
  std::optional<std::string> r = LegacyIdToUuid("v-ffffffffffffffff", "v-");
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(*r, "00000000-0000-7fff-bfff-fffffffffc00");
  EXPECT_EQ(UuidV7Millis(*r), 0);
  // Old time order is kept.
  EXPECT_LT(*LegacyIdToUuid("v-019acc3c4c7bffffffffffffffff", "v-"),
            *LegacyIdToUuid("v-019acc3c4c7c0000000000000000", "v-"));
  // Not a legacy id: wrong prefix, length, case or digits.
  for (std::string_view bad : {"v-019acc3c4c7b0123456789abcde", "r-019acc3c4c7b0123456789abcdef",
                               "v-019ACC3C4C7B0123456789ABCDEF", "v-019acc3c4c7b0123456789abcdeg",
                               "v-1", "v-", "019acc3c-4c7b-7012-8d15-9e26af37bc00"}) {
    EXPECT_EQ(LegacyIdToUuid(bad, "v-"), std::nullopt) << bad;
  }
}

}  // namespace
}  // namespace masa
