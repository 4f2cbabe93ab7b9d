#include "common/uuid.h"

#include <openssl/rand.h>
#include <pthread.h>

#include <array>
#include <atomic>
#include <cstdlib>
#include <cstring>

#include "absl/synchronization/mutex.h"

namespace masa {
namespace {

using Bytes = std::array<uint8_t, 16>;

constexpr char kHex[] = "0123456789abcdef";
constexpr size_t kTextSize = 36;
constexpr uint64_t kRandBMask = (uint64_t{1} << 62) - 1;

bool IsHyphenAt(size_t i) { return i == 8 || i == 13 || i == 18 || i == 23; }

int HexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

std::string Format(const Bytes& b) {
  std::string out;
  out.reserve(kTextSize);
  for (size_t i = 0; i < b.size(); ++i) {
    if (i == 4 || i == 6 || i == 8 || i == 10) out.push_back('-');
    out.push_back(kHex[b[i] >> 4]);
    out.push_back(kHex[b[i] & 0xf]);
  }
  return out;
}

// Time, version and variant around rand_a (12 bits) and rand_b (62 bits).
Bytes Layout(uint64_t unix_ms, uint16_t rand_a, uint64_t rand_b) {
  Bytes b{};
  for (int i = 5; i >= 0; --i, unix_ms >>= 8) b[i] = static_cast<uint8_t>(unix_ms & 0xff);
  b[6] = static_cast<uint8_t>(0x70 | ((rand_a >> 8) & 0x0f));
  b[7] = static_cast<uint8_t>(rand_a & 0xff);
  b[8] = static_cast<uint8_t>(0x80 | ((rand_b >> 56) & 0x3f));
  for (int i = 15; i >= 9; --i, rand_b >>= 8) b[i] = static_cast<uint8_t>(rand_b & 0xff);
  return b;
}

// Lower-case hex digits only, of the given count.
std::optional<uint64_t> ParseHex(std::string_view text, size_t digits) {
  if (text.size() != digits) return std::nullopt;
  uint64_t v = 0;
  for (char c : text) {
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return std::nullopt;
    v = (v << 4) | static_cast<uint64_t>(HexValue(c));
  }
  return v;
}

// Forks of this process so far, counted in the child (pthread_atfork). Read instead of
// getpid(), a system call on every id: on the store's writer thread, which makes the ids of
// every voucher, it was 4 % of the thread.
std::atomic<uint64_t> forks{0};
void CountFork() { forks.fetch_add(1, std::memory_order_relaxed); }
uint64_t ForksSoFar() {
  static const int registered = pthread_atfork(nullptr, nullptr, CountFork);
  (void)registered;
  return forks.load(std::memory_order_relaxed);
}

// This thread's unused DRBG output, so that a request's ids take one RAND_bytes call between
// them: each call re-keys OpenSSL's CTR-DRBG (an AES key schedule and cipher set-up), which
// made the random bits cost more than the rest of the id, twenty times per voucher request.
// The bytes are the DRBG's output all the same, used once each and never shown. Refilled in
// a forked child (fork() counted one more) so parent and child never hand out the same bytes.
class RandomPool {
 public:
  void Take(uint8_t* out, size_t n) {
    const uint64_t forks_now = ForksSoFar();
    if (left_ < n || forks_ != forks_now) {
      // The DRBG failing means the process cannot make secrets at all: a broken invariant.
      if (RAND_bytes(buf_.data(), static_cast<int>(buf_.size())) != 1) std::abort();
      left_ = buf_.size();
      forks_ = forks_now;
    }
    uint8_t* from = buf_.data() + buf_.size() - left_;
    std::memcpy(out, from, n);
    std::memset(from, 0, n);
    left_ -= n;
  }

 private:
  std::array<uint8_t, 640> buf_{};  // 64 ids
  size_t left_ = 0;
  uint64_t forks_ = 0;
};

}  // namespace

std::string NewUuidV7(absl::Time now) {
  uint64_t ms = static_cast<uint64_t>(absl::ToUnixMillis(now)) & 0xffffffffffffULL;
  std::array<uint8_t, 10> r;
  thread_local RandomPool pool;
  pool.Take(r.data(), r.size());
  uint16_t rand_a = static_cast<uint16_t>((r[0] << 8) | r[1]) & 0x0fff;
  uint64_t rand_b = 0;
  for (size_t i = 2; i < r.size(); ++i) rand_b = (rand_b << 8) | r[i];
  rand_b &= kRandBMask;
  // Monotonic within the process (RFC 9562 section 6.2, method 2): an id of the same or an
  // earlier millisecond than the last one continues from it, plus a random step of up to
  // 2^32 (the rest of the 74 bits stay unguessable). Consecutive ids then sort in the order
  // they were made, so a batch's records land on the B-tree's last page in key order (LMDB
  // appends them, filling pages) instead of splitting it.
  static absl::Mutex mu(absl::kConstInit);
  static uint64_t last_ms = 0;
  static uint16_t last_a = 0;
  static uint64_t last_b = 0;
  {
    absl::MutexLock lock(&mu);
    if (ms <= last_ms && last_ms - ms < 1000) {  // the same millisecond, or the clock went back
      uint64_t b = last_b + 1 + (rand_b & 0xffffffffULL);
      uint16_t a = last_a;
      if (b > kRandBMask) {
        b &= kRandBMask;
        ++a;
      }
      if (a <= 0x0fff) {  // else 2^74 ids in one millisecond: this one stays random
        ms = last_ms;
        rand_a = a;
        rand_b = b;
      }
    }
    last_ms = ms;
    last_a = rand_a;
    last_b = rand_b;
  }
  return Format(Layout(ms, rand_a, rand_b));
}

std::optional<std::string> CanonicalUuid(std::string_view text) {
  if (text.size() != kTextSize) return std::nullopt;
  std::string out(text);
  for (size_t i = 0; i < out.size(); ++i) {
    if (IsHyphenAt(i)) {
      if (out[i] != '-') return std::nullopt;
      continue;
    }
    int v = HexValue(out[i]);
    if (v < 0) return std::nullopt;
    out[i] = kHex[v];
  }
  return out;
}

int UuidVersion(std::string_view uuid) {
  std::optional<std::string> canonical = CanonicalUuid(uuid);
  return canonical ? HexValue((*canonical)[14]) : -1;
}

std::optional<int64_t> UuidV7Millis(std::string_view uuid) {
  std::optional<std::string> canonical = CanonicalUuid(uuid);
  if (!canonical || (*canonical)[14] != '7' || (HexValue((*canonical)[19]) & 0xc) != 0x8) {
    return std::nullopt;
  }
  std::string hex = canonical->substr(0, 8) + canonical->substr(9, 4);
  return static_cast<int64_t>(*ParseHex(hex, 12));
}

std::optional<std::string> LegacyIdToUuid(std::string_view id, std::string_view prefix) {
  if (id.substr(0, prefix.size()) != prefix) return std::nullopt;
  std::string_view rest = id.substr(prefix.size());
  uint64_t ms = 0;
  if (rest.size() == 28) {
    std::optional<uint64_t> t = ParseHex(rest.substr(0, 12), 12);
    if (!t) return std::nullopt;
    ms = *t;
    rest.remove_prefix(12);
  }
  std::optional<uint64_t> random = ParseHex(rest, 16);
  if (!random) return std::nullopt;
  uint16_t rand_a = static_cast<uint16_t>(*random >> 52);
  uint64_t rand_b = (*random & ((uint64_t{1} << 52) - 1)) << 10;
  return Format(Layout(ms, rand_a, rand_b));
}

}  // namespace masa
