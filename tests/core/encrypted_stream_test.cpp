// Encrypted streams: round trips of every size around the chunk boundaries, and every way a
// file can go wrong (wrong passphrase, a flipped byte in the header or any chunk, chunks
// reordered, the file cut inside a chunk or exactly between two, bytes appended) fails with a
// message that says which. A cheap scrypt (2^10) and the smallest chunks keep it fast.
#include "core/encrypted_stream.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <random>
#include <sstream>
#include <string>

namespace mcpmem {
namespace {

constexpr uint32_t kChunk = kMinChunkBytes;
constexpr size_t kSealedChunk = kChunk + 16;

EncryptOptions fast() {
  EncryptOptions o;
  o.kdf.log2_n = 10;
  o.chunk_bytes = kChunk;
  return o;
}

std::string random_bytes(size_t n, unsigned seed) {
  std::mt19937 rng(seed);
  std::string s(n, '\0');
  for (char& c : s) c = static_cast<char>(rng());
  return s;
}

std::string encrypt(const std::string& plain, const std::string& passphrase = "correct horse") {
  std::istringstream in(plain);
  std::ostringstream out;
  auto n = encrypt_stream(in, out, passphrase, fast());
  EXPECT_TRUE(n.is_ok()) << n.status().message();
  EXPECT_EQ(*n, plain.size());
  return out.str();
}

struct Decrypted {
  Status status;
  std::string plain;
};

Decrypted decrypt(const std::string& sealed, const std::string& passphrase = "correct horse") {
  std::istringstream in(sealed);
  std::ostringstream out;
  auto n = decrypt_stream(in, out, passphrase);
  return {n.status(), out.str()};
}

TEST(EncryptedStream, RoundTripsEverySizeAroundTheChunkBoundaries) {
  for (size_t size : {size_t{0}, size_t{1}, size_t{kChunk - 1}, size_t{kChunk}, size_t{kChunk + 1},
                      size_t{3 * kChunk}, size_t{3 * kChunk + 7}}) {
    const std::string plain = random_bytes(size, static_cast<unsigned>(size));
    const std::string sealed = encrypt(plain);
    // The header, then each chunk with its tag (empty data is one empty chunk).
    const size_t chunks = std::max<size_t>(1, (size + kChunk - 1) / kChunk);
    EXPECT_EQ(sealed.size(), kEncryptedHeaderBytes + size + 16 * chunks) << size;
    Decrypted d = decrypt(sealed);
    ASSERT_TRUE(d.status.is_ok()) << size << ": " << d.status.message();
    EXPECT_EQ(d.plain, plain) << size;
  }
}

TEST(EncryptedStream, TheSameDataEncryptsDifferentlyEachTime) {
  const std::string plain(1000, 'a');
  const std::string a = encrypt(plain), b = encrypt(plain);
  EXPECT_NE(a, b);  // fresh salt and nonce prefix per stream
  EXPECT_EQ(a.find(plain.substr(0, 32)), std::string::npos);
}

TEST(EncryptedStream, TheHeaderStatesItsParametersWithoutThePassphrase) {
  const std::string sealed = encrypt("x");
  EXPECT_TRUE(has_encrypted_magic(sealed));
  EXPECT_FALSE(has_encrypted_magic("SQLite format 3"));
  auto h = parse_encrypted_header(sealed);
  ASSERT_TRUE(h.is_ok()) << h.status().message();
  EXPECT_EQ(h->version, kEncryptedFormatVersion);
  EXPECT_EQ(h->kdf.log2_n, 10);
  EXPECT_EQ(h->kdf.r, 8u);
  EXPECT_EQ(h->kdf.p, 1u);
  EXPECT_EQ(h->chunk_bytes, kChunk);
}

TEST(EncryptedStream, TheDefaultCostIsAtLeastScryptTwoToTheFifteenREightPOne) {
  ScryptParams k;
  EXPECT_GE(k.log2_n, 15);
  EXPECT_GE(k.r, 8u);
  EXPECT_GE(k.p, 1u);
}

TEST(EncryptedStream, AWrongPassphraseIsSaidPlainlyAndYieldsNothing) {
  Decrypted d = decrypt(encrypt(random_bytes(3 * kChunk, 1)), "Correct horse");
  EXPECT_EQ(d.status.code(), StatusCode::kCorruption);
  EXPECT_EQ(d.status.message().rfind("wrong passphrase or damaged file", 0), 0u)
      << d.status.message();
  EXPECT_TRUE(d.plain.empty());
}

TEST(EncryptedStream, AnEmptyPassphraseIsRefused) {
  std::istringstream in("data");
  std::ostringstream out;
  EXPECT_EQ(encrypt_stream(in, out, "", fast()).status().code(), StatusCode::kInvalidArgument);
}

TEST(EncryptedStream, AFlippedByteAnywhereFails) {
  const std::string plain = random_bytes(2 * kChunk + 100, 2);
  const std::string sealed = encrypt(plain);
  // Every header byte, then bytes spread over every chunk, its data and its tag.
  std::vector<size_t> positions;
  for (size_t i = 0; i < kEncryptedHeaderBytes; ++i) positions.push_back(i);
  for (size_t i = kEncryptedHeaderBytes; i < sealed.size(); i += 97) positions.push_back(i);
  for (size_t c = 0; c < 3; ++c) {
    const size_t end = std::min(sealed.size(), kEncryptedHeaderBytes + (c + 1) * kSealedChunk);
    positions.push_back(end - 1);   // the last byte of its tag
    positions.push_back(end - 16);  // the first byte of its tag
  }
  for (size_t at : positions) {
    std::string bad = sealed;
    bad[at] = static_cast<char>(bad[at] ^ 0x01);
    Decrypted d = decrypt(bad);
    ASSERT_FALSE(d.status.is_ok()) << "flip at " << at;
    // Only the chunks before the damaged one came out, each exactly as it was.
    const size_t chunks_before =
        at < kEncryptedHeaderBytes ? 0 : (at - kEncryptedHeaderBytes) / kSealedChunk;
    EXPECT_LE(d.plain.size(), chunks_before * kChunk) << "flip at " << at;
    EXPECT_EQ(d.plain, plain.substr(0, d.plain.size())) << "flip at " << at;
  }
}

TEST(EncryptedStream, ADamagedChunkIsNamed) {
  std::string sealed = encrypt(random_bytes(3 * kChunk, 3));
  sealed[kEncryptedHeaderBytes + kSealedChunk + 10] ^= 0x40;
  Decrypted d = decrypt(sealed);
  EXPECT_EQ(d.status.message(), "damaged file: chunk 2 does not authenticate (altered)");
  EXPECT_EQ(d.plain.size(), kChunk);  // chunk 1 only: the caller discards it
}

TEST(EncryptedStream, ReorderedChunksFail) {
  const std::string sealed = encrypt(random_bytes(3 * kChunk + 5, 4));
  const size_t a = kEncryptedHeaderBytes, b = a + kSealedChunk;
  std::string swapped = sealed;
  swapped.replace(a, kSealedChunk, sealed.substr(b, kSealedChunk));
  swapped.replace(b, kSealedChunk, sealed.substr(a, kSealedChunk));
  Decrypted d = decrypt(swapped);
  EXPECT_EQ(d.status.code(), StatusCode::kCorruption);
  EXPECT_NE(d.status.message().find("chunk 1 does not authenticate"), std::string::npos);
}

TEST(EncryptedStream, TruncationBetweenChunksIsDetected) {
  const std::string sealed = encrypt(random_bytes(3 * kChunk + 5, 5));
  for (size_t chunks : {1u, 2u, 3u}) {
    Decrypted d = decrypt(sealed.substr(0, kEncryptedHeaderBytes + chunks * kSealedChunk));
    EXPECT_EQ(d.status.code(), StatusCode::kCorruption);
    EXPECT_EQ(d.status.message(), "damaged file: truncated after chunk " + std::to_string(chunks) +
                                      " (the chunks after it are missing)");
  }
  // Every chunk full, the last one too: losing it is still seen.
  const std::string whole = encrypt(random_bytes(3 * kChunk, 6));
  ASSERT_EQ(whole.size(), kEncryptedHeaderBytes + 3 * kSealedChunk);
  Decrypted d = decrypt(whole.substr(0, whole.size() - kSealedChunk));
  EXPECT_EQ(d.status.message(),
            "damaged file: truncated after chunk 2 (the chunks after it are missing)");
}

TEST(EncryptedStream, TruncationInsideAChunkOrTheHeaderIsDetected) {
  const std::string sealed = encrypt(random_bytes(2 * kChunk + 5, 7));
  for (size_t cut : {kEncryptedHeaderBytes + 100, kEncryptedHeaderBytes + kSealedChunk + 8,
                     sealed.size() - 1, sealed.size() - 16}) {
    Decrypted d = decrypt(sealed.substr(0, cut));
    EXPECT_EQ(d.status.code(), StatusCode::kCorruption) << cut;
    EXPECT_EQ(d.status.message().rfind("damaged file: ", 0), 0u) << d.status.message();
  }
  EXPECT_EQ(decrypt(sealed.substr(0, kEncryptedHeaderBytes)).status.message(),
            "damaged file: nothing follows its header");
  EXPECT_EQ(decrypt(sealed.substr(0, 30)).status.message(),
            "damaged file: truncated inside its header");
  EXPECT_EQ(decrypt("").status.code(), StatusCode::kCorruption);
}

TEST(EncryptedStream, BytesAfterTheLastChunkFail) {
  for (size_t size : {size_t{100}, size_t{kChunk}}) {
    Decrypted d = decrypt(encrypt(random_bytes(size, 8)) + "more");
    EXPECT_EQ(d.status.code(), StatusCode::kCorruption) << size;
  }
}

TEST(EncryptedStream, AHeaderAskingForHugeScryptCostIsRefusedBeforeDerivingAKey) {
  std::string sealed = encrypt("x");
  sealed[10] = 40;  // log2(N)
  Decrypted d = decrypt(sealed);
  EXPECT_EQ(d.status.code(), StatusCode::kCorruption);
  EXPECT_NE(d.status.message().find("out of range"), std::string::npos);
  sealed[10] = 10;
  sealed[8] = 9;  // a format version from the future
  EXPECT_EQ(decrypt(sealed).status.code(), StatusCode::kFailedPrecondition);
}

}  // namespace
}  // namespace mcpmem
