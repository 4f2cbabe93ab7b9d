#include "store/checkpoint.h"

#include <openssl/err.h>
#include <openssl/pem.h>

#include <algorithm>

#include <vector>

#include "absl/strings/str_cat.h"
#include "common/base64.h"
#include "common/status.h"
#include "common/utf8.h"

namespace masa::store {

namespace {

constexpr std::string_view kSigPrefix = "\xE2\x80\x94 ";  // em dash, space
constexpr uint8_t kTypeEd25519 = 0x01;
constexpr uint8_t kTypeEcdsa = 0x02;

absl::StatusOr<uint8_t> NoteType(EVP_PKEY* key) {
  if (EVP_PKEY_is_a(key, "ED25519")) return kTypeEd25519;
  if (EVP_PKEY_is_a(key, "EC")) {
    char curve[64] = {0};
    size_t len = 0;
    if (EVP_PKEY_get_utf8_string_param(key, "group", curve, sizeof(curve), &len) != 1) {
      return FromOpenSslErrors("reading the EC curve of the audit key",
                               absl::StatusCode::kInvalidArgument);
    }
    std::string c(curve, len);
    if (c == "prime256v1" || c == "P-256" || c == "secp384r1" || c == "P-384" || c == "secp521r1" ||
        c == "P-521") {
      return kTypeEcdsa;
    }
    return absl::InvalidArgumentError(absl::StrCat("audit key curve ", c, " is not supported"));
  }
  return absl::InvalidArgumentError("the audit key must be Ed25519 or ECDSA (P-256)");
}

uint32_t FirstFour(const Hash& h) {
  return (uint32_t{static_cast<uint8_t>(h[0])} << 24) |
         (uint32_t{static_cast<uint8_t>(h[1])} << 16) |
         (uint32_t{static_cast<uint8_t>(h[2])} << 8) | uint32_t{static_cast<uint8_t>(h[3])};
}

// Ed25519 signs the message itself; ECDSA signs its SHA-256.
const char* DigestFor(uint8_t type) { return type == kTypeEd25519 ? nullptr : "SHA256"; }

class EvpSigner final : public CheckpointSigner {
 public:
  EvpSigner(std::string name, UniquePtr<EVP_PKEY> key, OSSL_LIB_CTX* libctx, uint8_t type,
            uint32_t id)
      : name_(std::move(name)), key_(std::move(key)), libctx_(libctx), type_(type), id_(id) {}

  const std::string& KeyName() const override { return name_; }
  uint32_t KeyId() const override { return id_; }

  absl::StatusOr<std::string> Sign(std::string_view message) override {
    UniquePtr<EVP_MD_CTX> ctx(EVP_MD_CTX_new());
    if (!ctx || EVP_DigestSignInit_ex(ctx.get(), nullptr, DigestFor(type_), libctx_, nullptr,
                                      key_.get(), nullptr) != 1) {
      return FromOpenSslErrors("starting the checkpoint signature", absl::StatusCode::kUnavailable);
    }
    size_t len = 0;
    const auto* msg = reinterpret_cast<const unsigned char*>(message.data());
    if (EVP_DigestSign(ctx.get(), nullptr, &len, msg, message.size()) != 1) {
      return FromOpenSslErrors("sizing the checkpoint signature", absl::StatusCode::kUnavailable);
    }
    std::string sig(len, '\0');
    if (EVP_DigestSign(ctx.get(), reinterpret_cast<unsigned char*>(sig.data()), &len, msg,
                       message.size()) != 1) {
      return FromOpenSslErrors("signing the checkpoint", absl::StatusCode::kUnavailable);
    }
    sig.resize(len);
    return sig;
  }

 private:
  std::string name_;
  UniquePtr<EVP_PKEY> key_;
  OSSL_LIB_CTX* libctx_;
  uint8_t type_;
  uint32_t id_;
};

}  // namespace

std::string FormatCheckpointBody(const Checkpoint& checkpoint) {
  return absl::StrCat(checkpoint.origin, "\n", checkpoint.tree_size, "\n",
                      Base64Encode(checkpoint.root_hash), "\n");
}

absl::StatusOr<uint32_t> NoteKeyId(std::string_view key_name, EVP_PKEY* public_key) {
  MASA_ASSIGN_OR_RETURN(uint8_t type, NoteType(public_key));
  if (type == kTypeEd25519) {
    unsigned char raw[32];
    size_t len = sizeof(raw);
    if (EVP_PKEY_get_raw_public_key(public_key, raw, &len) != 1 || len != 32) {
      return FromOpenSslErrors("reading the Ed25519 public key",
                               absl::StatusCode::kInvalidArgument);
    }
    std::string input = absl::StrCat(Sv(key_name), "\n");
    input.push_back(static_cast<char>(kTypeEd25519));
    input.append(reinterpret_cast<const char*>(raw), len);
    return FirstFour(Sha256(input));
  }
  unsigned char* der = nullptr;
  int len = i2d_PUBKEY(public_key, &der);
  if (len <= 0) {
    return FromOpenSslErrors("encoding the audit public key", absl::StatusCode::kInvalidArgument);
  }
  std::string spki(reinterpret_cast<const char*>(der), static_cast<size_t>(len));
  OPENSSL_free(der);
  return FirstFour(Sha256(spki));
}

absl::StatusOr<std::unique_ptr<CheckpointSigner>> NewEvpCheckpointSigner(
    std::string key_name, UniquePtr<EVP_PKEY> private_key, OSSL_LIB_CTX* libctx) {
  if (key_name.empty() || key_name.find_first_of(" +\n") != std::string::npos) {
    return absl::InvalidArgumentError(absl::StrCat("checkpoint key name \"", key_name,
                                                   "\" must be non-empty without spaces or '+'"));
  }
  MASA_ASSIGN_OR_RETURN(uint8_t type, NoteType(private_key.get()));
  MASA_ASSIGN_OR_RETURN(uint32_t id, NoteKeyId(key_name, private_key.get()));
  return std::unique_ptr<CheckpointSigner>(
      new EvpSigner(std::move(key_name), std::move(private_key), libctx, type, id));
}

absl::StatusOr<std::string> SignCheckpoint(const Checkpoint& checkpoint, CheckpointSigner& signer) {
  std::string body = FormatCheckpointBody(checkpoint);
  MASA_ASSIGN_OR_RETURN(std::string sig, signer.Sign(body));
  std::string blob(4, '\0');
  uint32_t id = signer.KeyId();
  for (int i = 0; i < 4; ++i) blob[i] = static_cast<char>((id >> (24 - 8 * i)) & 0xff);
  blob += sig;
  std::string note =
      absl::StrCat(body, "\n", Sv(kSigPrefix), signer.KeyName(), " ", Base64Encode(blob), "\n");
  if (note.size() > kMaxCheckpointNoteBytes) {
    return absl::InvalidArgumentError(absl::StrCat("checkpoint note of ", note.size(),
                                                   " bytes is over the limit of ",
                                                   kMaxCheckpointNoteBytes, " (origin too long)"));
  }
  return note;
}

namespace {

// Splits newline-terminated text into its lines (without the newlines).
std::vector<std::string_view> SplitLines(std::string_view text) {
  std::vector<std::string_view> lines;
  while (!text.empty()) {
    size_t nl = text.find('\n');
    if (nl == std::string_view::npos) nl = text.size();
    lines.push_back(text.substr(0, nl));
    text.remove_prefix(std::min(text.size(), nl + 1));
  }
  return lines;
}

struct ParsedNote {
  std::string_view body;
  Checkpoint checkpoint;
  std::vector<std::pair<std::string, std::string>> signatures;  // name, decoded blob
};

absl::StatusOr<ParsedNote> ParseNote(std::string_view note) {
  ParsedNote out;
  if (note.size() > kMaxCheckpointNoteBytes) {
    return absl::InvalidArgumentError(absl::StrCat("checkpoint note of ", note.size(),
                                                   " bytes is over the limit of ",
                                                   kMaxCheckpointNoteBytes));
  }
  size_t split = note.rfind("\n\n");
  if (split == std::string_view::npos) {
    return absl::InvalidArgumentError("checkpoint note has no blank line before signatures");
  }
  out.body = note.substr(0, split + 1);
  std::vector<std::string_view> lines = SplitLines(out.body);
  if (lines.size() < 3) return absl::InvalidArgumentError("checkpoint body has fewer than 3 lines");
  out.checkpoint.origin = std::string(lines[0]);
  if (out.checkpoint.origin.empty()) return absl::InvalidArgumentError("empty checkpoint origin");
  if (lines[1].empty() || lines[1].size() > 19 ||
      lines[1].find_first_not_of("0123456789") != std::string_view::npos ||
      (lines[1].size() > 1 && lines[1][0] == '0')) {
    return absl::InvalidArgumentError("checkpoint tree size is not a decimal number");
  }
  out.checkpoint.tree_size = 0;
  for (char c : lines[1]) out.checkpoint.tree_size = out.checkpoint.tree_size * 10 + (c - '0');
  auto root = Base64Decode(lines[2]);
  if (!root.ok() || root->size() != kHashSize) {
    return absl::InvalidArgumentError("checkpoint root hash is not 32 bytes of base64");
  }
  out.checkpoint.root_hash = *root;
  std::string_view sigs = note.substr(split + 2);
  if (sigs.empty() || sigs.back() != '\n') {
    return absl::InvalidArgumentError("checkpoint signature lines must end in a newline");
  }
  for (std::string_view line : SplitLines(sigs)) {
    if (line.substr(0, kSigPrefix.size()) != kSigPrefix) {
      return absl::InvalidArgumentError("malformed checkpoint signature line");
    }
    line.remove_prefix(kSigPrefix.size());
    size_t space = line.find(' ');
    if (space == std::string_view::npos) {
      return absl::InvalidArgumentError("checkpoint signature line has no key name");
    }
    auto blob = Base64Decode(line.substr(space + 1));
    if (!blob.ok() || blob->size() < 5) {
      return absl::InvalidArgumentError("checkpoint signature is not valid base64");
    }
    out.signatures.emplace_back(std::string(line.substr(0, space)), *blob);
  }
  return out;
}

}  // namespace

absl::StatusOr<std::vector<std::pair<std::string, uint32_t>>> CheckpointNoteKeys(
    std::string_view note) {
  MASA_ASSIGN_OR_RETURN(ParsedNote parsed, ParseNote(note));
  std::vector<std::pair<std::string, uint32_t>> out;
  for (const auto& [name, blob] : parsed.signatures) {
    out.emplace_back(name, (uint32_t{static_cast<uint8_t>(blob[0])} << 24) |
                               (uint32_t{static_cast<uint8_t>(blob[1])} << 16) |
                               (uint32_t{static_cast<uint8_t>(blob[2])} << 8) |
                               uint32_t{static_cast<uint8_t>(blob[3])});
  }
  return out;
}

absl::StatusOr<Checkpoint> ParseCheckpointNote(std::string_view note) {
  MASA_ASSIGN_OR_RETURN(ParsedNote parsed, ParseNote(note));
  return parsed.checkpoint;
}

absl::StatusOr<Checkpoint> VerifyCheckpointNote(std::string_view note, EVP_PKEY* public_key) {
  MASA_ASSIGN_OR_RETURN(ParsedNote parsed, ParseNote(note));
  MASA_ASSIGN_OR_RETURN(uint8_t type, NoteType(public_key));
  for (const auto& [name, blob] : parsed.signatures) {
    MASA_ASSIGN_OR_RETURN(uint32_t want, NoteKeyId(name, public_key));
    uint32_t got = (uint32_t{static_cast<uint8_t>(blob[0])} << 24) |
                   (uint32_t{static_cast<uint8_t>(blob[1])} << 16) |
                   (uint32_t{static_cast<uint8_t>(blob[2])} << 8) |
                   uint32_t{static_cast<uint8_t>(blob[3])};
    if (got != want) continue;
    UniquePtr<EVP_MD_CTX> ctx(EVP_MD_CTX_new());
    if (!ctx || EVP_DigestVerifyInit_ex(ctx.get(), nullptr, DigestFor(type), nullptr, nullptr,
                                        public_key, nullptr) != 1) {
      return FromOpenSslErrors("starting checkpoint verification");
    }
    int rc = EVP_DigestVerify(
        ctx.get(), reinterpret_cast<const unsigned char*>(blob.data() + 4), blob.size() - 4,
        reinterpret_cast<const unsigned char*>(parsed.body.data()), parsed.body.size());
    ERR_clear_error();
    if (rc != 1) {
      // The name is the note's, whatever bytes it holds: escaped, so the message stays one
      // printable line.
      return absl::DataLossError(absl::StrCat("checkpoint signature by ", ShowUntrusted(name, 128),
                                              " does not verify (forged or altered checkpoint)"));
    }
    return parsed.checkpoint;
  }
  return absl::DataLossError("checkpoint carries no signature by the audit key");
}

absl::StatusOr<UniquePtr<EVP_PKEY>> ReadPublicKeyPem(std::string_view pem) {
  UniquePtr<BIO> bio(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
  if (!bio) return FromOpenSslErrors("reading the audit key");
  UniquePtr<EVP_PKEY> key(PEM_read_bio_PUBKEY(bio.get(), nullptr, nullptr, nullptr));
  if (key) return key;
  ERR_clear_error();
  bio.reset(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
  key.reset(PEM_read_bio_PrivateKey(bio.get(), nullptr, nullptr, nullptr));
  if (key) return key;
  return FromOpenSslErrors("the audit key is not a PEM public or private key",
                           absl::StatusCode::kInvalidArgument);
}

}  // namespace masa::store
