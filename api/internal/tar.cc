#include "api/internal/tar.h"

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <cstring>

#include "absl/strings/str_cat.h"

namespace masa::api::internal {
namespace {

constexpr size_t kBlock = 512;

// Writes `value` as zero-padded octal filling width-1 bytes, then NUL (ustar numeric form).
void PutOctal(char* field, size_t width, uint64_t value) {
  for (size_t i = width - 1; i-- > 0;) {
    field[i] = static_cast<char>('0' + (value & 7));
    value >>= 3;
  }
  field[width - 1] = '\0';
}

void PutString(char* field, size_t width, std::string_view value) {
  std::memcpy(field, value.data(), std::min(width, value.size()));
}

}  // namespace

std::string SafeFileName(std::string_view stem, std::string_view extension) {
  std::string out;
  for (char c : stem.substr(0, 90)) {
    bool ok = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
              c == '.' || c == '_' || c == '-';
    out.push_back(ok ? c : '_');
  }
  if (out.empty()) out.push_back('_');
  if (out[0] == '.') out[0] = '_';
  out.append(extension);
  return out;
}

absl::StatusOr<std::string> WriteTar(const std::vector<TarEntry>& entries, absl::Time mtime) {
  int64_t seconds = absl::ToUnixSeconds(mtime);
  if (seconds < 0) seconds = 0;
  std::string out;
  for (const TarEntry& entry : entries) {
    if (entry.name.empty() || entry.name.size() > 100 ||
        entry.name.find('/') != std::string::npos || entry.name.find('\0') != std::string::npos ||
        entry.name == "." || entry.name == "..") {
      return absl::InvalidArgumentError(
          absl::StrCat("tar: unusable member name (", entry.name.size(), " bytes)"));
    }
    if (entry.data.size() >= (uint64_t{1} << 33)) {
      return absl::InvalidArgumentError("tar: member of 8 GiB or more");
    }
    char header[kBlock];
    std::memset(header, 0, sizeof header);
    PutString(header + 0, 100, entry.name);
    PutOctal(header + 100, 8, 0644);
    PutOctal(header + 108, 8, 0);
    PutOctal(header + 116, 8, 0);
    PutOctal(header + 124, 12, entry.data.size());
    PutOctal(header + 136, 12, static_cast<uint64_t>(seconds));
    header[156] = '0';                      // regular file
    std::memcpy(header + 257, "ustar", 6);  // magic "ustar\0"
    std::memcpy(header + 263, "00", 2);     // version
    PutString(header + 265, 32, "masa");
    PutString(header + 297, 32, "masa");
    // The checksum is taken with its own field read as eight spaces.
    std::memset(header + 148, ' ', 8);
    uint32_t sum = 0;
    for (unsigned char c : header) sum += c;
    PutOctal(header + 148, 7, sum);  // six digits and NUL, then the space already there
    out.append(header, kBlock);
    out.append(entry.data);
    out.append((kBlock - entry.data.size() % kBlock) % kBlock, '\0');
  }
  out.append(2 * kBlock, '\0');
  return out;
}

}  // namespace masa::api::internal
