// SHA-256 of bytes in memory: audit entries and their Merkle tree, API token hashes, PDC
// and certificate-set fingerprints.
//   std::string digest = masa::Sha256(cms);  // 32 bytes
#pragma once

#include <cstddef>
#include <initializer_list>
#include <string>
#include <string_view>

namespace masa {

inline constexpr size_t kSha256Size = 32;

// The 32-byte digest of `data`. Thread-safe; never fails (an OpenSSL failure on bytes in
// memory means memory is exhausted, and aborts).
std::string Sha256(std::string_view data);

// The digest of the concatenation of `parts`, without joining them first.
std::string Sha256Parts(std::initializer_list<std::string_view> parts);

}  // namespace masa
