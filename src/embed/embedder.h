// Embedder: turns text into a fixed-size float32 vector. Vectors are L2-normalized (or all
// zero for text with no features), so cosine similarity is a dot product. An embedder is
// identified by model_id() (stored in the database's meta table so a database never mixes
// vectors of two models). Implementations are safe from many threads.
#pragma once

#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "core/status.h"

namespace mcpmem {

class Embedder {
 public:
  virtual ~Embedder() = default;
  virtual const std::string& model_id() const = 0;
  virtual size_t dimension() const = 0;
  // Writes dimension() floats to `out` (out.size() == dimension()).
  virtual Status embed(std::string_view text, std::span<float> out) const = 0;

  std::vector<float> embed(std::string_view text) const {
    std::vector<float> v(dimension());
    Status s = embed(text, v);
    if (!s.is_ok()) v.clear();
    return v;
  }
};

// Makes the embedder named by `model` ("hash-384" today; real models in a later issue).
// InvalidArgument for an unknown name, listing the known ones.
Result<std::unique_ptr<Embedder>> make_embedder(const std::string& model);

}  // namespace mcpmem
