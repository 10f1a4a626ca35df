// The embedder registry: model names users may set in MCP_MEMORY_EMBEDDING_MODEL.
#include "embed/embedder.h"

#include <cstdlib>

#include "embed/hash_embedder.h"

namespace mcpmem {

Result<std::unique_ptr<Embedder>> make_embedder(const std::string& model) {
  if (model.rfind("hash-", 0) == 0) {
    const std::string digits = model.substr(5);
    char* end = nullptr;
    long dim = std::strtol(digits.c_str(), &end, 10);
    if (!digits.empty() && *end == '\0' && dim >= 16 && dim <= 4096) {
      return std::unique_ptr<Embedder>(new HashEmbedder(static_cast<size_t>(dim)));
    }
  }
  return Status::invalid_argument("unknown embedding model '" + model +
                                  "' (known: hash-384, or hash-<N> for N in 16..4096)");
}

}  // namespace mcpmem
