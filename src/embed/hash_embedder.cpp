// hash-384: deterministic feature hashing. Normalization is NFKC + case folding (utf8proc);
// ASCII text takes a fast path with the same result. Words are runs of letters, digits and
// combining marks. Every feature is hashed with FNV-1a 64 and mixed (splitmix64), its kind
// salted in; the low bits pick the bucket and the top bit the sign, so collisions cancel in
// expectation instead of piling up. Weights: 1 + ln(tf), times 1.0 (word), 0.6 (word pair),
// 0.35 (character trigram of "#word#"). Changing any of this changes stored vectors: that
// would be a new model id, never an edit here.
#include "embed/hash_embedder.h"

#include <utf8proc.h>

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <vector>

#include "core/content_hash.h"

namespace mcpmem {
namespace {

constexpr uint64_t kSaltWord = 0x9e3779b97f4a7c15ull;
constexpr uint64_t kSaltPair = 0xc2b2ae3d27d4eb4full;
constexpr uint64_t kSaltTrigram = 0x165667b19e3779f9ull;
constexpr float kWeightWord = 1.0f;
constexpr float kWeightPair = 0.6f;
constexpr float kWeightTrigram = 0.35f;

uint64_t fnv1a(const char* p, size_t n, uint64_t h = 0xcbf29ce484222325ull) {
  for (size_t i = 0; i < n; ++i) {
    h ^= static_cast<unsigned char>(p[i]);
    h *= 0x100000001b3ull;
  }
  return h;
}

uint64_t mix(uint64_t x) {  // splitmix64 finalizer
  x ^= x >> 30;
  x *= 0xbf58476d1ce4e5b9ull;
  x ^= x >> 27;
  x *= 0x94d049bb133111ebull;
  x ^= x >> 31;
  return x;
}

struct Feature {
  uint64_t hash;
  float weight;
  bool operator<(const Feature& o) const { return hash < o.hash; }
};

bool is_word_codepoint(int32_t c) {
  if (c < 0x80) {
    return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || (c >= 'A' && c <= 'Z');
  }
  switch (utf8proc_category(c)) {
    case UTF8PROC_CATEGORY_LU:
    case UTF8PROC_CATEGORY_LL:
    case UTF8PROC_CATEGORY_LT:
    case UTF8PROC_CATEGORY_LM:
    case UTF8PROC_CATEGORY_LO:
    case UTF8PROC_CATEGORY_MN:
    case UTF8PROC_CATEGORY_MC:
    case UTF8PROC_CATEGORY_ND:
    case UTF8PROC_CATEGORY_NL:
    case UTF8PROC_CATEGORY_NO:
      return true;
    default:
      return false;
  }
}

// Normalized text: NFKC + case fold. ASCII only needs lowercasing.
std::string normalize(std::string_view text) {
  bool ascii = std::all_of(text.begin(), text.end(),
                           [](char c) { return static_cast<unsigned char>(c) < 0x80; });
  if (ascii) {
    std::string out(text);
    for (char& c : out) {
      if (c >= 'A' && c <= 'Z') c = static_cast<char>(c + 32);
    }
    return out;
  }
  utf8proc_uint8_t* mapped = nullptr;
  utf8proc_ssize_t n = utf8proc_map(
      reinterpret_cast<const utf8proc_uint8_t*>(text.data()),
      static_cast<utf8proc_ssize_t>(text.size()), &mapped,
      static_cast<utf8proc_option_t>(UTF8PROC_STABLE | UTF8PROC_COMPOSE | UTF8PROC_COMPAT |
                                     UTF8PROC_CASEFOLD | UTF8PROC_IGNORE));
  if (n < 0) return std::string(text);
  std::string out(reinterpret_cast<const char*>(mapped), static_cast<size_t>(n));
  std::free(mapped);
  return out;
}

// Appends the features of one word: the word, the pair with the previous word, and the
// character trigrams of "#word#". `cps` holds the byte offset of each code point of the word
// plus the end offset.
void add_word(std::string_view word, const std::vector<uint32_t>& cps, uint64_t& prev_word,
              std::vector<Feature>& out) {
  uint64_t w = fnv1a(word.data(), word.size());
  out.push_back({mix(w ^ kSaltWord), kWeightWord});
  if (prev_word != 0)
    out.push_back({mix((prev_word * 0x100000001b3ull) ^ w ^ kSaltPair), kWeightPair});
  prev_word = w;
  // Trigrams of the padded word "#" + code points + "#": n of them for n code points.
  const size_t n = cps.size() - 1;
  for (size_t j = 0; j < n; ++j) {
    uint64_t h = 0xcbf29ce484222325ull;
    for (size_t k = j; k < j + 3; ++k) {
      if (k == 0 || k == n + 1) {
        h = fnv1a("#", 1, h);
      } else {
        h = fnv1a(word.data() + cps[k - 1], cps[k] - cps[k - 1], h);
      }
    }
    out.push_back({mix(h ^ kSaltTrigram), kWeightTrigram});
  }
}

}  // namespace

HashEmbedder::HashEmbedder(size_t dimension)
    : dimension_(dimension), model_id_("hash-" + std::to_string(dimension)) {}

Status HashEmbedder::embed(std::string_view text, std::span<float> out) const {
  if (out.size() != dimension_) {
    return Status::invalid_argument("embedding buffer has the wrong size");
  }
  if (!is_valid_utf8(text)) return Status::invalid_argument("text is not valid UTF-8");
  std::fill(out.begin(), out.end(), 0.0f);
  std::vector<Feature> features;
  std::vector<uint32_t> cps;

  const std::string norm = normalize(text);
  uint64_t prev_word = 0;
  size_t i = 0;
  const auto* bytes = reinterpret_cast<const utf8proc_uint8_t*>(norm.data());
  while (i < norm.size()) {
    // Skip separators.
    int32_t c;
    utf8proc_ssize_t len =
        utf8proc_iterate(bytes + i, static_cast<utf8proc_ssize_t>(norm.size() - i), &c);
    if (len <= 0) break;
    if (!is_word_codepoint(c)) {
      i += static_cast<size_t>(len);
      continue;
    }
    size_t start = i;
    cps.clear();
    while (i < norm.size()) {
      len = utf8proc_iterate(bytes + i, static_cast<utf8proc_ssize_t>(norm.size() - i), &c);
      if (len <= 0 || !is_word_codepoint(c)) break;
      cps.push_back(static_cast<uint32_t>(i - start));
      i += static_cast<size_t>(len);
    }
    cps.push_back(static_cast<uint32_t>(i - start));
    add_word(std::string_view(norm).substr(start, i - start), cps, prev_word, features);
  }

  std::sort(features.begin(), features.end());
  for (size_t a = 0; a < features.size();) {
    size_t b = a;
    while (b < features.size() && features[b].hash == features[a].hash) ++b;
    float tf = 1.0f + std::log(static_cast<float>(b - a));
    uint64_t h = features[a].hash;
    float sign = (h >> 63) ? -1.0f : 1.0f;
    out[h % dimension_] += sign * tf * features[a].weight;
    a = b;
  }
  l2_normalize(out);
  return Status::ok();
}

}  // namespace mcpmem
