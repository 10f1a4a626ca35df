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
  using Embedder::embed;

 private:
  size_t dimension_;
  std::string model_id_;
};

}  // namespace mcpmem
