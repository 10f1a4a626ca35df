// BertConfig: the shape of a BERT encoder, read from a Hugging Face config.json
// ("model_type": "bert"). Only what this encoder computes is accepted: exact erf GELU
// ("hidden_act": "gelu") and absolute position embeddings; any other setting is refused by name
// rather than computed differently from the reference.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "core/status.h"

namespace mcpmem {

struct BertConfig {
  // Required.
  int64_t vocab_size = 0;
  int64_t hidden_size = 0;
  int64_t num_hidden_layers = 0;
  int64_t num_attention_heads = 0;  // divides hidden_size
  int64_t intermediate_size = 0;
  int64_t max_position_embeddings = 0;  // the longest token sequence the model takes
  // Optional, with transformers' BertConfig defaults.
  int64_t type_vocab_size = 2;
  float layer_norm_eps = 1e-12f;

  int64_t head_size() const { return hidden_size / num_attention_heads; }

  // Bounds on every size, far above any BERT (bert-large: 1024 hidden, 24 layers, 4096
  // intermediate; multilingual vocabularies ~250k): they keep a hostile config.json from making
  // the sizes overflow before the weights file is checked against them.
  static constexpr int64_t kMaxVocabSize = int64_t{1} << 22;
  static constexpr int64_t kMaxHiddenSize = 16384;
  static constexpr int64_t kMaxLayers = 256;
  static constexpr int64_t kMaxIntermediateSize = 65536;
  static constexpr int64_t kMaxPositions = 65536;
  static constexpr int64_t kMaxTypeVocabSize = 1024;

  // Parses the text of a config.json; `file_name` starts every error message. InvalidArgument
  // naming the field for a missing or out-of-range size, a hidden_act other than "gelu", a
  // position_embedding_type other than "absolute", a model_type other than "bert"; Corruption
  // when the text is not a JSON object.
  static Result<BertConfig> parse(std::string_view json_text, std::string_view file_name);
  // Reads and parses the file at `path`.
  static Result<BertConfig> load(const std::string& path);
};

}  // namespace mcpmem
