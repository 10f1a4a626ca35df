// The embedder registry: model names users may set in MCP_MEMORY_EMBEDDING_MODEL.
#include "embed/embedder.h"

#include <cmath>
#include <cstdlib>

#include "embed/hash_embedder.h"
#include "embed/remote_embedder.h"

namespace mcpmem {

void l2_normalize(std::span<float> v) {
  double norm2 = 0;
  for (float x : v) norm2 += static_cast<double>(x) * x;
  if (norm2 <= 0) return;
  const auto inv = static_cast<float>(1.0 / std::sqrt(norm2));
  for (float& x : v) x *= inv;
}

Result<std::unique_ptr<Embedder>> make_embedder(const std::string& model,
                                                const EmbedderOptions& options) {
  if (model.rfind("hash-", 0) == 0) {
    const std::string digits = model.substr(5);
    char* end = nullptr;
    long dim = std::strtol(digits.c_str(), &end, 10);
    if (!digits.empty() && *end == '\0' && dim >= 16 && dim <= 4096) {
      return std::unique_ptr<Embedder>(new HashEmbedder(static_cast<size_t>(dim)));
    }
  }
  if (model.rfind("ollama:", 0) == 0 || model.rfind("openai:", 0) == 0) {
    return make_remote_embedder(model, options);
  }
  return Status::invalid_argument(
      "unknown embedding model '" + model +
      "' (known: hash-384, or hash-<N> for N in 16..4096; ollama:<url>#<model>; "
      "openai:<base-url>#<model>)");
}

}  // namespace mcpmem
