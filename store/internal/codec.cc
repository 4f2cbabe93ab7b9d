#include "store/internal/codec.h"

#include "absl/strings/str_cat.h"

namespace masa::store::internal {

void PutVarint(std::string* out, uint64_t v) {
  while (v >= 0x80) {
    out->push_back(static_cast<char>((v & 0x7f) | 0x80));
    v >>= 7;
  }
  out->push_back(static_cast<char>(v));
}

bool GetVarint(std::string_view* in, uint64_t* v) {
  uint64_t result = 0;
  for (int shift = 0; shift <= 63 && !in->empty(); shift += 7) {
    uint8_t byte = static_cast<uint8_t>(in->front());
    in->remove_prefix(1);
    if (shift == 63 && byte > 1) return false;
    result |= static_cast<uint64_t>(byte & 0x7f) << shift;
    if ((byte & 0x80) == 0) {
      *v = result;
      return true;
    }
  }
  return false;
}

std::string BigEndian64(uint64_t v) {
  std::string out(8, '\0');
  for (int i = 7; i >= 0; --i) {
    out[i] = static_cast<char>(v & 0xff);
    v >>= 8;
  }
  return out;
}

uint64_t ReadBigEndian64(std::string_view b) {
  uint64_t v = 0;
  for (int i = 0; i < 8; ++i) v = (v << 8) | static_cast<uint8_t>(b[i]);
  return v;
}

absl::Status ForEachField(
    std::string_view bytes,
    const std::function<void(uint32_t, std::string_view, std::string_view)>& fn) {
  if (bytes.empty()) return absl::DataLossError("empty record");
  if (static_cast<uint8_t>(bytes[0]) != kEncodingVersion) {
    return absl::DataLossError(absl::StrCat("record encoding version ",
                                            static_cast<int>(static_cast<uint8_t>(bytes[0])),
                                            " is not supported by this version"));
  }
  std::string_view in = bytes.substr(1);
  while (!in.empty()) {
    std::string_view start = in;
    uint64_t tag = 0;
    uint64_t length = 0;
    if (!GetVarint(&in, &tag) || !GetVarint(&in, &length) || tag == 0 || tag > UINT32_MAX ||
        length > in.size()) {
      return absl::DataLossError(
          absl::StrCat("truncated or malformed field at byte ", bytes.size() - start.size()));
    }
    std::string_view value = in.substr(0, length);
    in.remove_prefix(length);
    fn(static_cast<uint32_t>(tag), value, start.substr(0, start.size() - in.size()));
  }
  return absl::OkStatus();
}

}  // namespace masa::store::internal
