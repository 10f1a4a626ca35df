// The embedder registry: model names users may set in MCP_MEMORY_EMBEDDING_MODEL.
#include "embed/embedder.h"

#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <map>

#include "embed/bert_embedder.h"
#include "embed/hash_embedder.h"
#include "embed/model_store.h"
#include "embed/remote_embedder.h"

namespace mcpmem {

void l2_normalize(std::span<float> v) {
  double norm2 = 0;
  for (float x : v) norm2 += static_cast<double>(x) * x;
  if (norm2 <= 0) return;
  const auto inv = static_cast<float>(1.0 / std::sqrt(norm2));
  for (float& x : v) x *= inv;
}

double Embedder::duplicate_cosine() const {
  // Near-exact bars, reasoned rather than measured (no weights here): by default dedup also
  // needs the same wording up to typos and the same facts (service/duplicate_rule.h), so the
  // bar only has to tell a typo that keeps the meaning from one that does not. all-MiniLM-L6-v2
  // spreads unrelated sentences near 0.1 and paraphrases over 0.7-0.9 (the Python service's 0.85
  // merged paraphrases): 0.90 sits above its paraphrases. bge v1.5 puts unrelated sentences near
  // 0.5, e5 and gte near 0.75 (e5's model card: "around 0.7 to 1.0"); the same place in their
  // narrower ranges is 0.95 and 0.97. Unknown models (remote ones) get MiniLM's 0.90;
  // MCP_SEMANTIC_DEDUP_THRESHOLD sets any.
  static const std::map<std::string, double, std::less<>> kKnown = {
      {"sentence-transformers/all-MiniLM-L6-v2", 0.90},
      {"BAAI/bge-small-en-v1.5", 0.95},
      {"intfloat/e5-small-v2", 0.97},
      {"thenlper/gte-small", 0.97},
  };
  auto it = kKnown.find(model_id());
  return it != kKnown.end() ? it->second : 0.90;
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
  if (model.rfind("bert:", 0) == 0) {
    const std::filesystem::path dir = model.substr(5);
    return make_bert_embedder(dir, "bert:" + dir.filename().string(), options.threads);
  }
  if (auto repo = model_repo(model); repo.is_ok()) {
    const auto dir = model_dir(options.models_dir, *repo);
    std::error_code ec;
    if (options.models_dir.empty() || !std::filesystem::exists(dir / "config.json", ec)) {
      return Status::failed_precondition("embedding model " + *repo +
                                         " is not installed: mcp-memory model pull " + model);
    }
    return make_bert_embedder(dir, *repo, options.threads);
  }
  return Status::invalid_argument(
      "unknown embedding model '" + model +
      "' (known: hash-384, or hash-<N> for N in 16..4096; all-MiniLM-L6-v2, bge-small-en-v1.5, "
      "e5-small-v2, gte-small or OWNER/REPO once pulled; bert:<dir>; ollama:<url>#<model>; "
      "openai:<base-url>#<model>)");
}

}  // namespace mcpmem
