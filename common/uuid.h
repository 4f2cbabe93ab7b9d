// RFC 9562 UUIDs: version 7 (time-ordered) for record ids, and the UUID each id of the form
// used before them maps to.
//
//   std::string id = NewUuidV7(clock.Now());  // "0192f0c4-7c1e-7a3b-9d2e-4f5a6b7c8d9e"
//   std::optional<std::string> key = CanonicalUuid(text);  // nullopt: not a UUID
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "absl/time/time.h"

namespace masa {

// A new UUIDv7 (RFC 9562 section 5.7) in lower-case 8-4-4-4-12 text: the 48-bit big-endian
// Unix time of `now` in milliseconds, version 7, 12 random bits (rand_a), variant 0b10 and
// 62 random bits (rand_b), from OpenSSL's DRBG. Ids made in later milliseconds sort after
// earlier ones as text and as bytes, so records keyed by them are appended to a B-tree's
// rightmost pages. Within one process ids also sort in the order they were made when made
// in the same millisecond, or when `now` went back by less than a second (RFC 9562 section
// 6.2, method 2): such an id continues from the previous one (its time, and its 74 bits plus
// a random step below 2^32). Thread-safe. Aborts when the DRBG fails (the process cannot
// make secrets at all).
std::string NewUuidV7(absl::Time now);

// `text` as a UUID in canonical lower-case form when it is one (any version; hex digits of
// either case, hyphens at 8, 13, 18, 23, 36 characters); nullopt otherwise.
std::optional<std::string> CanonicalUuid(std::string_view text);

// The version nibble of a canonical UUID (7 for NewUuidV7), or -1 when `uuid` is not one.
int UuidVersion(std::string_view uuid);

// The Unix time in milliseconds a UUIDv7 carries; nullopt when `uuid` is not a UUIDv7.
std::optional<int64_t> UuidV7Millis(std::string_view uuid);

// Ids made before UUIDs were `prefix` + 16 lower-case hex digits (64 random bits) or
// `prefix` + 12 hex digits of the Unix time in milliseconds + those 16. The UUIDv7 such an
// id maps to keeps its time (0 for the first form) as the time and puts its 64 random bits
// in rand_a and the top 52 bits of rand_b, the last 10 bits zero: a pure function of the id,
// so a store migration and a later look-up by the old id agree without an alias table, and
// the time order of old ids is kept. nullopt when `id` has neither form.
std::optional<std::string> LegacyIdToUuid(std::string_view id, std::string_view prefix);

}  // namespace masa
