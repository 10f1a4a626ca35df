// BertEmbedder: a sentence-transformers BERT model (all-MiniLM-L6-v2, bge-small-en-v1.5,
// e5-small-v2, gte-small, ...) from its directory as Hugging Face serves it: the tokenizer
// (WordPieceTokenizer), the encoder (BertModel), and the sentence-transformers modules around
// them, read from modules.json: the Transformer's sentence_bert_config.json (max_seq_length,
// do_lower_case), the Pooling module's config (mean, CLS or max), and prompts from
// config_sentence_transformers.json (e5's "query: " / "passage: ", bge's query instruction).
// Vectors are always L2-normalised (the Embedder contract: cosine is a dot product); a
// Normalize module changes nothing then. Settings we cannot compute (mean-sqrt-len pooling,
// several pooling modes at once, modules other than these) are errors naming the file.
#pragma once

#include <filesystem>
#include <memory>
#include <string>

#include "embed/bert_model.h"
#include "embed/embedder.h"

namespace mcpmem {

// What the sentence-transformers files around the encoder say.
struct SentenceModelLayout {
  Pooling pooling = Pooling::kMean;
  size_t max_seq_length = 0;      // 0: the encoder's max_position_embeddings
  bool lower_case_input = false;  // sentence_bert_config.json do_lower_case
  std::string query_prompt;       // prepended to search queries
  std::string document_prompt;    // prepended to memories
};

// Reads modules.json and what it points at; a directory without them (a bare BERT) gets mean
// pooling and no prompts. `repo` ("intfloat/e5-small-v2") supplies the prompts of model
// families that need them but do not declare them.
Result<SentenceModelLayout> read_sentence_layout(const std::filesystem::path& dir,
                                                 const std::string& repo = "");

// Loads the model in `dir`. `model_id` is what the database records ("owner/repo").
Result<std::unique_ptr<Embedder>> make_bert_embedder(const std::filesystem::path& dir,
                                                     const std::string& model_id, int threads);

}  // namespace mcpmem
