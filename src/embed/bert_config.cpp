// BertConfig parsing: see bert_config.h. config.json comes with a downloaded model, so it is
// parsed without exceptions and every field is type- and range-checked by one helper.
#include "embed/bert_config.h"

#include <fstream>
#include <nlohmann/json.hpp>

#include "core/json_parse.h"

namespace mcpmem {
namespace {

using Json = nlohmann::json;

constexpr uintmax_t kMaxConfigBytes = 1 << 20;  // config.json is ~1 KB

// Reads the integer field `key` into `*out`: absent is an error when `required`, else `*out`
// keeps its default.
Status read_size(const Json& config, std::string_view file_name, const char* key, bool required,
                 int64_t min, int64_t max, int64_t* out) {
  auto it = config.find(key);
  const std::string where = std::string(file_name) + ": " + key;
  if (it == config.end()) {
    if (required) return Status::invalid_argument(where + " is missing");
    return Status::ok();
  }
  if (!it->is_number_integer()) return Status::invalid_argument(where + " is not an integer");
  const int64_t value = it->is_number_unsigned() && it->get<uint64_t>() > uint64_t(max)
                            ? max + 1
                            : it->get<int64_t>();
  if (value < min || value > max) {
    return Status::invalid_argument(where + " is " + it->dump() + ", outside " +
                                    std::to_string(min) + ".." + std::to_string(max));
  }
  *out = value;
  return Status::ok();
}

// A string setting that must, when present, have the one value this encoder computes.
Status require_string(const Json& config, std::string_view file_name, const char* key,
                      std::string_view supported, std::string_view what) {
  auto it = config.find(key);
  if (it == config.end()) return Status::ok();
  if (it->is_string() && it->get_ref<const std::string&>() == supported) return Status::ok();
  return Status::invalid_argument(std::string(file_name) + ": " + key + " " +
                                  it->dump().substr(0, 64) + " is not supported (only \"" +
                                  std::string(supported) + "\", " + std::string(what) + ")");
}

}  // namespace

Result<BertConfig> BertConfig::parse(std::string_view json_text, std::string_view file_name) {
  auto parsed = parse_json(json_text, file_name);
  if (!parsed.is_ok()) return Status::corruption(parsed.status().message());
  const Json config = std::move(*parsed);
  if (!config.is_object()) {
    return Status::corruption(std::string(file_name) + ": not a JSON object");
  }
  MCP_RETURN_IF_ERROR(require_string(config, file_name, "model_type", "bert",
                                     "a BERT encoder; RoBERTa, MPNet and others differ"));
  MCP_RETURN_IF_ERROR(
      require_string(config, file_name, "hidden_act", "gelu", "the exact erf GELU"));
  MCP_RETURN_IF_ERROR(require_string(config, file_name, "position_embedding_type", "absolute",
                                     "learned absolute positions"));
  BertConfig c;
  MCP_RETURN_IF_ERROR(
      read_size(config, file_name, "vocab_size", true, 1, kMaxVocabSize, &c.vocab_size));
  MCP_RETURN_IF_ERROR(
      read_size(config, file_name, "hidden_size", true, 1, kMaxHiddenSize, &c.hidden_size));
  MCP_RETURN_IF_ERROR(
      read_size(config, file_name, "num_hidden_layers", true, 1, kMaxLayers, &c.num_hidden_layers));
  MCP_RETURN_IF_ERROR(read_size(config, file_name, "num_attention_heads", true, 1, c.hidden_size,
                                &c.num_attention_heads));
  MCP_RETURN_IF_ERROR(read_size(config, file_name, "intermediate_size", true, 1,
                                kMaxIntermediateSize, &c.intermediate_size));
  MCP_RETURN_IF_ERROR(read_size(config, file_name, "max_position_embeddings", true, 1,
                                kMaxPositions, &c.max_position_embeddings));
  MCP_RETURN_IF_ERROR(read_size(config, file_name, "type_vocab_size", false, 1, kMaxTypeVocabSize,
                                &c.type_vocab_size));
  if (c.hidden_size % c.num_attention_heads != 0) {
    return Status::invalid_argument(
        std::string(file_name) + ": hidden_size " + std::to_string(c.hidden_size) +
        " is not a multiple of num_attention_heads " + std::to_string(c.num_attention_heads));
  }
  if (auto it = config.find("layer_norm_eps"); it != config.end()) {
    if (!it->is_number() || !(it->get<double>() > 0) || !(it->get<double>() < 1)) {
      return Status::invalid_argument(std::string(file_name) + ": layer_norm_eps " +
                                      it->dump().substr(0, 64) + " is not a number in (0, 1)");
    }
    c.layer_norm_eps = static_cast<float>(it->get<double>());
  }
  return c;
}

Result<BertConfig> BertConfig::load(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return Status::not_found(path + ": cannot be read");
  std::string text;
  char buffer[4096];
  while (in.read(buffer, sizeof buffer) || in.gcount() > 0) {
    text.append(buffer, static_cast<size_t>(in.gcount()));
    if (text.size() > kMaxConfigBytes) {
      return Status::invalid_argument(path + ": larger than " + std::to_string(kMaxConfigBytes) +
                                      " bytes, not a config.json");
    }
  }
  return parse(text, path);
}

}  // namespace mcpmem
