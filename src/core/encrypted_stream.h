// Encrypted streams: how an encrypted backup (memory_backup_*.db.enc) is sealed. AES-256-GCM
// with a key made from a passphrase by scrypt, the data cut into chunks that each carry their own
// authentication tag, in the format docs/backup_format.md describes (header: magic, version,
// scrypt's N/r/p, chunk size, salt, nonce prefix, header tag). Each chunk's nonce holds its
// number and whether it is the last, so a flipped byte, reordered or dropped chunks, and a
// stream cut anywhere (inside a chunk or exactly between two) all fail authentication.
// Streaming: a chunk at a time in memory (1 MiB by default), whatever the size of the data.
// Thread-safety: the functions keep no state; calls on different streams may run in parallel.
#pragma once

#include <cstddef>
#include <cstdint>
#include <istream>
#include <ostream>
#include <string_view>

#include "core/status.h"

namespace mcpmem {

// scrypt's cost: N = 2^log2_n, block size r, parallelism p; it needs 128 * r * N bytes of memory.
// The default (2^16, 8, 1: 64 MiB) takes about 0.5 s on one core of a 2-vCPU EPYC: cheap once
// per backup, expensive for a guesser. Stored in each file, so it can be raised later.
struct ScryptParams {
  uint8_t log2_n = 16;
  uint32_t r = 8;
  uint32_t p = 1;
};

// What a reader accepts from a header, so a damaged or hostile file cannot make us allocate
// gigabytes or spin for minutes before its header tag is even checked.
inline constexpr uint8_t kMinScryptLog2N = 10;
inline constexpr uint64_t kMaxScryptMemoryBytes = uint64_t{1} << 30;  // 128 * r * N * p
inline constexpr uint32_t kMinChunkBytes = 4 << 10;
inline constexpr uint32_t kMaxChunkBytes = 64 << 20;
inline constexpr uint32_t kDefaultChunkBytes = 1 << 20;
inline constexpr size_t kEncryptedHeaderBytes = 64;  // docs/backup_format.md
inline constexpr uint8_t kEncryptedFormatVersion = 1;

struct EncryptOptions {
  ScryptParams kdf;
  uint32_t chunk_bytes = kDefaultChunkBytes;  // plaintext bytes per chunk (the last may be less)
};

// What a header says, readable without the passphrase.
struct EncryptedHeader {
  uint8_t version = 0;
  ScryptParams kdf;
  uint32_t chunk_bytes = 0;
};

// True when `first_bytes` begins with the format's magic ("MCPMEMBK"): an encrypted backup,
// whatever its name.
bool has_encrypted_magic(std::string_view first_bytes);

// Parses and range-checks the first kEncryptedHeaderBytes of a stream (does not authenticate
// it: that needs the passphrase). Corruption when it is not our format or a field is out of
// range; FailedPrecondition when it is a newer version of the format.
Result<EncryptedHeader> parse_encrypted_header(std::string_view header);

// Reads `in` to its end and writes it to `out` encrypted under `passphrase` (not empty), with a
// fresh random salt and nonce prefix. Returns the plaintext byte count. IoError when a stream
// fails; InvalidArgument for an empty passphrase or options out of range.
Result<uint64_t> encrypt_stream(std::istream& in, std::ostream& out, std::string_view passphrase,
                                const EncryptOptions& options = {});

// Reads an encrypted stream to its end and writes the plaintext to `out`, one chunk at a time,
// each only after it authenticates. Returns the plaintext byte count. On any error `out` may
// already hold the plaintext of the chunks before the bad one: the caller must discard it.
// Errors (kCorruption unless said otherwise), worded for the person restoring:
//   "wrong passphrase or damaged file ..." the header does not authenticate under `passphrase`;
//   "damaged file: ..."                    a chunk does not authenticate, the stream ends early
//                                          (inside a chunk or between two), or goes on after
//                                          its last chunk;
//   FailedPrecondition                     the file is from a newer format version;
//   IoError                                a stream failed.
Result<uint64_t> decrypt_stream(std::istream& in, std::ostream& out, std::string_view passphrase);

}  // namespace mcpmem
