// HashEmbedder ("hash-384"): the offline, deterministic default embedder. Text is normalized
// (NFKC, case-folded, marks kept), split into words (Unicode letters and digits); features are
// word unigrams, word bigrams and character trigrams of each word ("#word#"), hashed into
// `dimension` signed buckets (FNV-1a 64), weighted with sublinear tf (1 + ln tf) and per-kind
// weights, then L2-normalized. Same text, same vector, on every machine and version.
#pragma once

#include <string>

#include "embed/embedder.h"

namespace mcpmem {

class HashEmbedder final : public Embedder {
 public:
  explicit HashEmbedder(size_t dimension = 384);
  const std::string& model_id() const override { return model_id_; }
  size_t dimension() const override { return dimension_; }
  Status embed(std::string_view text, std::span<float> out) const override;
  // Made in microseconds: cheaper than the 2 KB each would add to a sync message.
  bool worth_shipping() const override { return false; }
  // Measured (tests/service/duplicate_rule_test.cpp): one typo scores 0.64-0.85 in a 3-word
  // memory, 0.72-0.84 in 4 words, 0.80-0.91 from 6 words; so does another word in its place
  // ("Thursdays" for "Tuesdays" 0.82), which only the wording rule tells apart. 0.70 lets one
  // typo through from about 4 words on, two from about 8: near-exact, not merely alike.
  double duplicate_cosine() const override { return kDuplicateCosine; }
  static constexpr double kDuplicateCosine = 0.70;
  using Embedder::embed;

 private:
  size_t dimension_;
  std::string model_id_;
};

}  // namespace mcpmem
