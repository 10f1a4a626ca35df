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
  // Writes dimension() floats to `out` (out.size() == dimension()): a memory's text.
  virtual Status embed(std::string_view text, std::span<float> out) const = 0;
  // A search query. Models that embed queries differently (e5 and bge prompts) override it.
  virtual Status embed_query(std::string_view text, std::span<float> out) const {
    return embed(text, out);
  }
  // Many memories at once, row after row in `out` (texts.size() * dimension() floats). Models
  // and remote servers batch them; the default embeds one after the other.
  virtual Status embed_batch(std::span<const std::string_view> texts, std::span<float> out) const {
    const size_t dim = dimension();
    for (size_t i = 0; i < texts.size(); ++i) {
      if (Status s = embed(texts[i], out.subspan(i * dim, dim)); !s.is_ok()) return s;
    }
    return Status::ok();
  }

  // The cosine at and above which two memories may count as one (near-duplicate dedup, with
  // the text rules of service/duplicate_rule.h). It belongs to the model: each spreads
  // unrelated texts over its own range of cosines.
  virtual double duplicate_cosine() const;
  // Whether sync should carry this model's vectors to nodes of the same model rather than let
  // them embed the memories again (a sentence model: milliseconds per memory).
  virtual bool worth_shipping() const { return true; }

  std::vector<float> embed(std::string_view text) const {
    std::vector<float> v(dimension());
    Status s = embed(text, v);
    if (!s.is_ok()) v.clear();
    return v;
  }
};

struct EmbedderOptions {
  std::string models_dir;  // where `model pull` puts models: <base_dir>/models
  int threads = 2;         // local models: threads one batch runs on
  std::string api_key;     // remote embedders: MCP_EMBEDDING_API_KEY, sent as a bearer token
  int timeout_ms = 30'000;
  int retries = 3;  // remote embedders: attempts after the first, with backoff
};

// Makes the embedder named by `model` (MCP_MEMORY_EMBEDDING_MODEL):
//   hash-384, hash-<N>                 the offline lexical default
//   all-MiniLM-L6-v2, OWNER/REPO       a model `model pull` installed under models_dir
//   bert:<dir>                         a sentence-transformers BERT model in that directory
//   ollama:<url>#<model>               an Ollama server's /api/embed
//   openai:<base-url>#<model>          an OpenAI-compatible /v1/embeddings (llama.cpp, vLLM, ...)
// InvalidArgument for an unknown name, listing the known ones; a remote server that cannot be
// reached or answers nonsense is an error naming it.
Result<std::unique_ptr<Embedder>> make_embedder(const std::string& model,
                                                const EmbedderOptions& options = {});

// Scales `v` to unit length (an all-zero vector stays zero).
void l2_normalize(std::span<float> v);

}  // namespace mcpmem
