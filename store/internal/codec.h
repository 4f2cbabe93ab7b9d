// The record encoding: one version byte, then tag-length-value fields.
//
//   record  := 0x01 field*
//   field   := varint(tag) varint(length) value[length]
//   value   := bytes (strings) | varint (integers, bools, enums; times as int64 Unix
//              nanoseconds, two's complement in a uint64)
//
// Tags are per record type and never reused. A field equal to its default (empty string,
// zero, false, absent optional) is omitted; a present optional is always written, even when
// empty. A repeated field is its tag written once per element, in order. Decoding keeps
// fields with unknown tags verbatim in `unknown_fields` and re-emits them after the known
// ones when the record is encoded again, so a newer writer's data survives an older
// reader-writer. The version byte changes only for an incompatible layout; a decoder
// refuses versions it does not know (kDataLoss names the record).
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <type_traits>
#include <vector>

#include "absl/status/status.h"
#include "absl/time/time.h"

namespace masa::store::internal {

inline constexpr uint8_t kEncodingVersion = 1;

void PutVarint(std::string* out, uint64_t v);
// Reads a varint from the front of `in`, advancing it. False on truncation or overflow.
bool GetVarint(std::string_view* in, uint64_t* v);

// Big-endian fixed-width keys, so LMDB's byte order is numeric order.
std::string BigEndian64(uint64_t v);
uint64_t ReadBigEndian64(std::string_view b);  // b.size() >= 8

// A repeated enum field of an older layout that wrote each value as decimal text (e.g. "5"),
// read into the same member as the current integer field and never written again:
//   v(16, DecimalEnums{r.failure_codes});  // before: decimal text; read only
//   v(18, r.failure_codes);                // now: varints
template <typename E>
struct DecimalEnums {
  std::vector<E>& values;
};

class Encoder {
 public:
  Encoder() { out_.push_back(static_cast<char>(kEncodingVersion)); }

  void operator()(uint32_t tag, const std::string& v) {
    if (!v.empty()) Bytes(tag, v);
  }
  void operator()(uint32_t tag, const std::optional<std::string>& v) {
    if (v) Bytes(tag, *v);
  }
  void operator()(uint32_t tag, const std::vector<std::string>& v) {
    for (const auto& s : v) Bytes(tag, s);
  }
  void operator()(uint32_t tag, uint64_t v) {
    if (v != 0) Int(tag, v);
  }
  void operator()(uint32_t tag, const std::optional<uint64_t>& v) {
    if (v) Int(tag, *v);
  }
  void operator()(uint32_t tag, bool v) {
    if (v) Int(tag, 1);
  }
  void operator()(uint32_t tag, absl::Time v) {
    if (v != absl::UnixEpoch()) Int(tag, static_cast<uint64_t>(absl::ToUnixNanos(v)));
  }
  void operator()(uint32_t tag, const std::optional<absl::Time>& v) {
    if (v) Int(tag, static_cast<uint64_t>(absl::ToUnixNanos(*v)));
  }
  template <typename E, typename = std::enable_if_t<std::is_enum_v<E>>>
  void operator()(uint32_t tag, E v) {
    (*this)(tag, static_cast<uint64_t>(v));
  }
  // Every element, zero included (a repeated field has no default to omit).
  template <typename E, typename = std::enable_if_t<std::is_enum_v<E>>>
  void operator()(uint32_t tag, const std::vector<E>& v) {
    for (E e : v) Int(tag, static_cast<uint64_t>(e));
  }
  template <typename E>
  void operator()(uint32_t, DecimalEnums<E>) {}  // the old layout is never written

  // Appends already-encoded fields (unknown_fields) and returns the record.
  std::string Finish(const std::string& unknown_fields) && {
    out_ += unknown_fields;
    return std::move(out_);
  }

 private:
  void Bytes(uint32_t tag, std::string_view v) {
    PutVarint(&out_, tag);
    PutVarint(&out_, v.size());
    out_.append(v);
  }
  void Int(uint32_t tag, uint64_t v) {
    std::string tmp;
    PutVarint(&tmp, v);
    Bytes(tag, tmp);
  }
  std::string out_;
};

// Assigns one field's value to the member with a matching tag. Used by Decode().
class FieldSetter {
 public:
  FieldSetter(uint32_t tag, std::string_view value) : tag_(tag), value_(value) {}
  bool matched() const { return matched_; }
  bool bad() const { return bad_; }

  void operator()(uint32_t tag, std::string& v) {
    if (Match(tag)) v.assign(value_);
  }
  void operator()(uint32_t tag, std::optional<std::string>& v) {
    if (Match(tag)) v.emplace(value_);
  }
  void operator()(uint32_t tag, std::vector<std::string>& v) {
    if (Match(tag)) v.emplace_back(value_);
  }
  void operator()(uint32_t tag, uint64_t& v) {
    if (Match(tag)) v = Int();
  }
  void operator()(uint32_t tag, std::optional<uint64_t>& v) {
    if (Match(tag)) v = Int();
  }
  void operator()(uint32_t tag, bool& v) {
    if (Match(tag)) v = Int() != 0;
  }
  void operator()(uint32_t tag, absl::Time& v) {
    if (Match(tag)) v = absl::FromUnixNanos(static_cast<int64_t>(Int()));
  }
  void operator()(uint32_t tag, std::optional<absl::Time>& v) {
    if (Match(tag)) v = absl::FromUnixNanos(static_cast<int64_t>(Int()));
  }
  template <typename E, typename = std::enable_if_t<std::is_enum_v<E>>>
  void operator()(uint32_t tag, E& v) {
    if (Match(tag)) v = static_cast<E>(Int());
  }
  template <typename E, typename = std::enable_if_t<std::is_enum_v<E>>>
  void operator()(uint32_t tag, std::vector<E>& v) {
    if (Match(tag)) v.push_back(static_cast<E>(Int()));
  }
  template <typename E>
  void operator()(uint32_t tag, DecimalEnums<E> v) {
    if (!Match(tag)) return;
    uint64_t n = 0;
    if (value_.empty() || value_.size() > 19) bad_ = true;
    for (char c : value_) {
      if (c < '0' || c > '9') {
        bad_ = true;
        return;
      }
      n = n * 10 + static_cast<uint64_t>(c - '0');
    }
    if (!bad_) v.values.push_back(static_cast<E>(n));
  }

 private:
  bool Match(uint32_t tag) {
    if (tag != tag_ || matched_) return false;
    matched_ = true;
    return true;
  }
  uint64_t Int() {
    std::string_view in = value_;
    uint64_t v = 0;
    if (!GetVarint(&in, &v) || !in.empty()) bad_ = true;
    return v;
  }
  uint32_t tag_;
  std::string_view value_;
  bool matched_ = false;
  bool bad_ = false;
};

// Walks the fields of `bytes` (after the version byte); calls fn(tag, value, raw) where
// raw is the whole field's encoding. kDataLoss on a bad version or truncated field.
absl::Status ForEachField(
    std::string_view bytes,
    const std::function<void(uint32_t, std::string_view, std::string_view)>& fn);

// Encodes / decodes any record type that has a Fields(visitor, record) overload (see
// record_fields.h) and an `unknown_fields` member.
template <typename T>
std::string Encode(const T& record) {
  Encoder e;
  Fields(e, const_cast<T&>(record));  // the Encoder only reads
  return std::move(e).Finish(record.unknown_fields);
}

template <typename T>
absl::Status Decode(std::string_view bytes, T* record) {
  *record = T();
  bool bad = false;
  absl::Status st =
      ForEachField(bytes, [&](uint32_t tag, std::string_view value, std::string_view raw) {
        FieldSetter setter(tag, value);
        Fields(setter, *record);
        if (setter.bad()) bad = true;
        if (!setter.matched()) record->unknown_fields.append(raw);
      });
  if (!st.ok()) return st;
  if (bad) return absl::DataLossError("record has a malformed integer field");
  return absl::OkStatus();
}

}  // namespace masa::store::internal
