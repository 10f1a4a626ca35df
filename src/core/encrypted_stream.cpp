// Encrypted streams (docs/backup_format.md). The construction is the STREAM scheme of Hoang,
// Reyhanitabar, Rogaway and Vizár ("Online Authenticated-Encryption and its Nonce-Reuse
// Misuse-Resistance", 2015) over AES-256-GCM: chunk i is sealed under the nonce
// prefix || i || last-flag, so its tag also vouches for its position and for whether the stream
// may end after it. A reader that meets the end of the data treats the chunk in hand as the last
// one, and a stream cut between two chunks then fails, because that chunk was sealed as "not
// last". The 48 header bytes are the associated data of every chunk and of the header's own tag
// (an empty message under a nonce no chunk uses), so the header cannot be altered either, and a
// wrong passphrase is told apart from damage before any data is decrypted.
// The key is fresh per stream (a random 16-byte salt), so nonces never repeat under one key.
#include "core/encrypted_stream.h"

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/kdf.h>
#include <openssl/params.h>
#include <openssl/rand.h>

#include <array>
#include <cstring>
#include <memory>
#include <string>
#include <vector>

namespace mcpmem {
namespace {

constexpr char kMagic[8] = {'M', 'C', 'P', 'M', 'E', 'M', 'B', 'K'};
constexpr uint8_t kKdfScrypt = 1;
constexpr size_t kAuthenticatedHeaderBytes = 48;  // the header before its tag
constexpr size_t kSaltBytes = 16;
constexpr size_t kNoncePrefixBytes = 7;
constexpr size_t kTagBytes = 16;
constexpr size_t kKeyBytes = 32;
constexpr uint32_t kHeaderTagCounter = 0xFFFFFFFF;  // no chunk has this number
constexpr uint8_t kMiddleChunk = 0, kLastChunk = 1, kHeaderTag = 2;

// Field offsets of the header (docs/backup_format.md).
constexpr size_t kVersionAt = 8, kKdfAt = 9, kLog2NAt = 10, kReserved1At = 11, kRAt = 12, kPAt = 16,
                 kChunkAt = 20, kSaltAt = 24, kPrefixAt = 40, kReserved2At = 47;

using Header = std::array<unsigned char, kEncryptedHeaderBytes>;
using Key = std::array<unsigned char, kKeyBytes>;

void put_u32(unsigned char* at, uint32_t v) {
  at[0] = static_cast<unsigned char>(v >> 24);
  at[1] = static_cast<unsigned char>(v >> 16);
  at[2] = static_cast<unsigned char>(v >> 8);
  at[3] = static_cast<unsigned char>(v);
}

uint32_t get_u32(const unsigned char* at) {
  return uint32_t{at[0]} << 24 | uint32_t{at[1]} << 16 | uint32_t{at[2]} << 8 | uint32_t{at[3]};
}

uint64_t scrypt_memory(const ScryptParams& k) {
  return uint64_t{128} * k.r * (uint64_t{1} << k.log2_n) * k.p;
}

Status check_kdf(const ScryptParams& k) {
  if (k.log2_n < kMinScryptLog2N || k.log2_n > 30 || k.r == 0 || k.p == 0 || k.r > 1024 ||
      k.p > 1024 || scrypt_memory(k) > kMaxScryptMemoryBytes) {
    return Status::invalid_argument("scrypt parameters out of range: N=2^" +
                                    std::to_string(k.log2_n) + ", r=" + std::to_string(k.r) +
                                    ", p=" + std::to_string(k.p));
  }
  return Status::ok();
}

// Zeroes the key when it goes out of scope, whatever the path out.
struct KeyGuard {
  Key key{};
  ~KeyGuard() { OPENSSL_cleanse(key.data(), key.size()); }
};

Status derive_key(std::string_view passphrase, const unsigned char* salt, const ScryptParams& k,
                  Key& key) {
  std::unique_ptr<EVP_KDF, decltype(&EVP_KDF_free)> kdf(EVP_KDF_fetch(nullptr, "SCRYPT", nullptr),
                                                        &EVP_KDF_free);
  if (!kdf) return Status::internal("OpenSSL has no scrypt");
  std::unique_ptr<EVP_KDF_CTX, decltype(&EVP_KDF_CTX_free)> ctx(EVP_KDF_CTX_new(kdf.get()),
                                                                &EVP_KDF_CTX_free);
  uint64_t n = uint64_t{1} << k.log2_n;
  uint32_t r = k.r, p = k.p;
  uint64_t maxmem = kMaxScryptMemoryBytes + (uint64_t{1} << 20);  // OpenSSL's own cap is 32 MiB
  const OSSL_PARAM params[] = {
      OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_PASSWORD,
                                        const_cast<char*>(passphrase.data()), passphrase.size()),
      OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_SALT, const_cast<unsigned char*>(salt),
                                        kSaltBytes),
      OSSL_PARAM_construct_uint64(OSSL_KDF_PARAM_SCRYPT_N, &n),
      OSSL_PARAM_construct_uint32(OSSL_KDF_PARAM_SCRYPT_R, &r),
      OSSL_PARAM_construct_uint32(OSSL_KDF_PARAM_SCRYPT_P, &p),
      OSSL_PARAM_construct_uint64(OSSL_KDF_PARAM_SCRYPT_MAXMEM, &maxmem),
      OSSL_PARAM_construct_end()};
  if (!ctx || EVP_KDF_derive(ctx.get(), key.data(), key.size(), params) != 1) {
    return Status::io_error(
        "deriving the key from the passphrase failed (out of memory? scrypt "
        "with these parameters needs " +
        std::to_string(scrypt_memory(k) >> 20) + " MiB)");
  }
  return Status::ok();
}

// One AES-256-GCM context per stream (its key), given a new nonce per chunk.
class Gcm {
 public:
  Gcm(const Key& key, const Header& header, bool encrypting)
      : ctx_(EVP_CIPHER_CTX_new(), &EVP_CIPHER_CTX_free), header_(header) {
    ok_ = ctx_ && EVP_CipherInit_ex(ctx_.get(), EVP_aes_256_gcm(), nullptr, key.data(), nullptr,
                                    encrypting ? 1 : 0) == 1;
  }

  bool ok() const { return ok_; }

  // Seals `n` bytes of `in` into `out` (n bytes) and `tag`.
  bool seal(uint32_t counter, uint8_t flag, const unsigned char* in, size_t n, unsigned char* out,
            unsigned char* tag) {
    return run(counter, flag, in, n, out, nullptr) &&
           EVP_CIPHER_CTX_ctrl(ctx_.get(), EVP_CTRL_GCM_GET_TAG, kTagBytes, tag) == 1;
  }

  // Opens `n` bytes of `in` into `out` when `tag` authenticates them; false otherwise.
  bool open(uint32_t counter, uint8_t flag, const unsigned char* in, size_t n,
            const unsigned char* tag, unsigned char* out) {
    return run(counter, flag, in, n, out, tag);
  }

 private:
  // Nonce prefix || counter || flag; the header as associated data; the data; then, when
  // decrypting, the expected tag, which the final step checks.
  bool run(uint32_t counter, uint8_t flag, const unsigned char* in, size_t n, unsigned char* out,
           const unsigned char* expected_tag) {
    unsigned char nonce[12];
    std::memcpy(nonce, header_.data() + kPrefixAt, kNoncePrefixBytes);
    put_u32(nonce + kNoncePrefixBytes, counter);
    nonce[11] = flag;
    int len = 0, last = 0;
    return ok_ && EVP_CipherInit_ex(ctx_.get(), nullptr, nullptr, nullptr, nonce, -1) == 1 &&
           EVP_CipherUpdate(ctx_.get(), nullptr, &len, header_.data(), kAuthenticatedHeaderBytes) ==
               1 &&
           (n == 0 || EVP_CipherUpdate(ctx_.get(), out, &len, in, static_cast<int>(n)) == 1) &&
           (expected_tag == nullptr ||
            EVP_CIPHER_CTX_ctrl(ctx_.get(), EVP_CTRL_GCM_SET_TAG, kTagBytes,
                                const_cast<unsigned char*>(expected_tag)) == 1) &&
           EVP_CipherFinal_ex(ctx_.get(), out + (n == 0 ? 0 : len), &last) == 1;
  }

  std::unique_ptr<EVP_CIPHER_CTX, decltype(&EVP_CIPHER_CTX_free)> ctx_;
  const Header& header_;
  bool ok_ = false;
};

// Reads up to `n` bytes, fewer only at the end of the stream.
size_t read_up_to(std::istream& in, unsigned char* buf, size_t n) {
  in.read(reinterpret_cast<char*>(buf), static_cast<std::streamsize>(n));
  return static_cast<size_t>(in.gcount());
}

bool at_end(std::istream& in) { return in.peek() == std::char_traits<char>::eof(); }

}  // namespace

bool has_encrypted_magic(std::string_view first_bytes) {
  return first_bytes.size() >= sizeof kMagic &&
         std::memcmp(first_bytes.data(), kMagic, sizeof kMagic) == 0;
}

Result<EncryptedHeader> parse_encrypted_header(std::string_view text) {
  if (!has_encrypted_magic(text)) {
    return Status::corruption(
        "not an encrypted mcp-memory backup (its first bytes are not "
        "\"MCPMEMBK\")");
  }
  if (text.size() < kEncryptedHeaderBytes) {
    return Status::corruption("damaged file: truncated inside its header");
  }
  const auto* h = reinterpret_cast<const unsigned char*>(text.data());
  EncryptedHeader out;
  out.version = h[kVersionAt];
  if (out.version > kEncryptedFormatVersion) {
    return Status::failed_precondition("made by a newer mcp-memory (encrypted backup format " +
                                       std::to_string(out.version) + ", this one reads format " +
                                       std::to_string(kEncryptedFormatVersion) +
                                       "): restore it with that version");
  }
  out.kdf.log2_n = h[kLog2NAt];
  out.kdf.r = get_u32(h + kRAt);
  out.kdf.p = get_u32(h + kPAt);
  out.chunk_bytes = get_u32(h + kChunkAt);
  if (out.version == 0 || h[kKdfAt] != kKdfScrypt || h[kReserved1At] != 0 || h[kReserved2At] != 0) {
    return Status::corruption("damaged file: its header names no known format or key derivation");
  }
  if (!check_kdf(out.kdf).is_ok() || out.chunk_bytes < kMinChunkBytes ||
      out.chunk_bytes > kMaxChunkBytes) {
    return Status::corruption(
        "damaged file: its header's scrypt parameters or chunk size are out "
        "of range");
  }
  return out;
}

Result<uint64_t> encrypt_stream(std::istream& in, std::ostream& out, std::string_view passphrase,
                                const EncryptOptions& options) {
  if (passphrase.empty()) return Status::invalid_argument("the passphrase is empty");
  MCP_RETURN_IF_ERROR(check_kdf(options.kdf));
  if (options.chunk_bytes < kMinChunkBytes || options.chunk_bytes > kMaxChunkBytes) {
    return Status::invalid_argument("chunk size out of range");
  }
  Header header{};
  std::memcpy(header.data(), kMagic, sizeof kMagic);
  header[kVersionAt] = kEncryptedFormatVersion;
  header[kKdfAt] = kKdfScrypt;
  header[kLog2NAt] = options.kdf.log2_n;
  put_u32(header.data() + kRAt, options.kdf.r);
  put_u32(header.data() + kPAt, options.kdf.p);
  put_u32(header.data() + kChunkAt, options.chunk_bytes);
  if (RAND_bytes(header.data() + kSaltAt, kSaltBytes + kNoncePrefixBytes) != 1) {
    return Status::internal("the system's random number generator failed");
  }
  KeyGuard key;
  MCP_RETURN_IF_ERROR(derive_key(passphrase, header.data() + kSaltAt, options.kdf, key.key));
  Gcm gcm(key.key, header, /*encrypting=*/true);
  unsigned char none[1] = {};
  if (!gcm.ok() || !gcm.seal(kHeaderTagCounter, kHeaderTag, none, 0, none,
                             header.data() + kAuthenticatedHeaderBytes)) {
    return Status::internal("AES-256-GCM failed");
  }
  out.write(reinterpret_cast<const char*>(header.data()), header.size());

  std::vector<unsigned char> plain(options.chunk_bytes), sealed(options.chunk_bytes + kTagBytes);
  uint64_t total = 0;
  for (uint64_t i = 0;; ++i) {
    if (i >= kHeaderTagCounter) return Status::invalid_argument("the data is too large");
    const size_t n = read_up_to(in, plain.data(), plain.size());
    if (in.bad()) return Status::io_error("reading the data to encrypt failed");
    const bool last = n < plain.size() || at_end(in);
    if (!gcm.seal(static_cast<uint32_t>(i), last ? kLastChunk : kMiddleChunk, plain.data(), n,
                  sealed.data(), sealed.data() + n)) {
      return Status::internal("AES-256-GCM failed");
    }
    out.write(reinterpret_cast<const char*>(sealed.data()),
              static_cast<std::streamsize>(n + kTagBytes));
    if (!out) return Status::io_error("writing the encrypted data failed");
    total += n;
    if (last) break;
  }
  OPENSSL_cleanse(plain.data(), plain.size());
  out.flush();
  if (!out) return Status::io_error("writing the encrypted data failed");
  return total;
}

Result<uint64_t> decrypt_stream(std::istream& in, std::ostream& out, std::string_view passphrase) {
  Header header{};
  const size_t got = read_up_to(in, header.data(), header.size());
  if (in.bad()) return Status::io_error("reading the encrypted file failed");
  MCP_ASSIGN_OR_RETURN(
      EncryptedHeader parsed,
      parse_encrypted_header(std::string_view(reinterpret_cast<const char*>(header.data()), got)));
  KeyGuard key;
  MCP_RETURN_IF_ERROR(derive_key(passphrase, header.data() + kSaltAt, parsed.kdf, key.key));
  Gcm gcm(key.key, header, /*encrypting=*/false);
  if (!gcm.ok()) return Status::internal("AES-256-GCM failed");
  unsigned char none[1] = {};
  if (!gcm.open(kHeaderTagCounter, kHeaderTag, none, 0, header.data() + kAuthenticatedHeaderBytes,
                none)) {
    return Status::corruption(
        "wrong passphrase or damaged file (its header does not authenticate with this "
        "passphrase)");
  }

  const size_t full = size_t{parsed.chunk_bytes} + kTagBytes;
  std::vector<unsigned char> sealed(full), plain(parsed.chunk_bytes);
  uint64_t total = 0;
  for (uint64_t i = 0;; ++i) {
    const std::string which = "chunk " + std::to_string(i + 1);
    if (i >= kHeaderTagCounter) return Status::corruption("damaged file: too many chunks");
    const size_t n = read_up_to(in, sealed.data(), full);
    if (in.bad()) return Status::io_error("reading the encrypted file failed");
    if (n < kTagBytes) {
      return Status::corruption(i == 0 && n == 0 ? "damaged file: nothing follows its header"
                                                 : "damaged file: truncated inside " + which);
    }
    const bool last = n < full || at_end(in);
    const size_t data = n - kTagBytes;
    const auto* cipher = sealed.data();
    const auto* tag = sealed.data() + data;
    const auto counter = static_cast<uint32_t>(i);
    if (!gcm.open(counter, last ? kLastChunk : kMiddleChunk, cipher, data, tag, plain.data())) {
      if (last && n == full && gcm.open(counter, kMiddleChunk, cipher, data, tag, plain.data())) {
        OPENSSL_cleanse(plain.data(), plain.size());
        return Status::corruption("damaged file: truncated after " + which +
                                  " (the chunks after it are missing)");
      }
      return Status::corruption("damaged file: " + which + " does not authenticate (" +
                                (last ? "truncated inside it, or altered" : "altered") + ")");
    }
    out.write(reinterpret_cast<const char*>(plain.data()), static_cast<std::streamsize>(data));
    if (!out) return Status::io_error("writing the decrypted data failed");
    total += data;
    if (last) break;
  }
  OPENSSL_cleanse(plain.data(), plain.size());
  out.flush();
  if (!out) return Status::io_error("writing the decrypted data failed");
  return total;
}

}  // namespace mcpmem
