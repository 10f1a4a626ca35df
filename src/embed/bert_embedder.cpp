// Sentence-transformers BERT models: see bert_embedder.h.
#include "embed/bert_embedder.h"

#include <utf8proc.h>

#include <cmath>
#include <fstream>
#include <nlohmann/json.hpp>

#include "core/json_parse.h"
#include "embed/wordpiece_tokenizer.h"

namespace mcpmem {
namespace {

namespace fs = std::filesystem;
using Json = nlohmann::json;

constexpr uintmax_t kMaxConfigBytes = 1 << 20;

// The JSON object in `path`; nullopt when the file does not exist.
Result<std::optional<Json>> read_json(const fs::path& path) {
  std::error_code ec;
  if (!fs::exists(path, ec)) return std::optional<Json>();
  if (fs::file_size(path, ec) > kMaxConfigBytes) {
    return Status::corruption(path.string() + ": larger than a configuration file can be");
  }
  std::ifstream in(path);
  if (!in) return Status::io_error("cannot read " + path.string());
  std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  auto parsed = parse_json(text, path.string());
  if (is_json_too_deep(parsed.status())) return Status::corruption(parsed.status().message());
  Json j = parsed.is_ok() ? std::move(*parsed) : Json();  // malformed: "not a JSON object"
  if (!j.is_object() && !j.is_array()) {
    return Status::corruption(path.string() + ": not a JSON object");
  }
  return std::optional(std::move(j));
}

// `j[key]` when it is a boolean, a string, else false / "" (these files are settings, not
// input we can ask again: a value of the wrong type counts as absent).
bool flag(const Json& j, const char* key) {
  auto it = j.find(key);
  return it != j.end() && it->is_boolean() && it->get<bool>();
}
std::string text(const Json& j, const char* key) {
  auto it = j.find(key);
  return it != j.end() && it->is_string() ? it->get<std::string>() : std::string();
}

Status read_pooling(const fs::path& file, SentenceModelLayout& layout) {
  MCP_ASSIGN_OR_RETURN(auto j, read_json(file));
  if (!j || !j->is_object()) return Status::not_found(file.string() + " is missing");
  auto on = [&](const char* key) { return flag(*j, key); };
  if (on("pooling_mode_mean_sqrt_len_tokens") || on("pooling_mode_weightedmean_tokens") ||
      on("pooling_mode_lasttoken")) {
    return Status::invalid_argument(file.string() +
                                    ": this pooling mode is not supported (mean, cls or max)");
  }
  const int modes =
      on("pooling_mode_mean_tokens") + on("pooling_mode_cls_token") + on("pooling_mode_max_tokens");
  if (modes != 1) {
    return Status::invalid_argument(file.string() +
                                    ": exactly one of mean, cls and max pooling "
                                    "must be set (several concatenated are not "
                                    "supported)");
  }
  layout.pooling = on("pooling_mode_cls_token")    ? Pooling::kCls
                   : on("pooling_mode_max_tokens") ? Pooling::kMax
                                                   : Pooling::kMean;
  return Status::ok();
}

// Python's str.lower(), code point by code point, as sentence-transformers lower-cases input.
std::string lower(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  const auto* p = reinterpret_cast<const utf8proc_uint8_t*>(text.data());
  auto left = static_cast<utf8proc_ssize_t>(text.size());
  while (left > 0) {
    utf8proc_int32_t cp = 0;
    utf8proc_ssize_t n = utf8proc_iterate(p, left, &cp);
    if (n <= 0) {  // invalid UTF-8: the byte as it is (the tokenizer reads it as U+FFFD)
      out += static_cast<char>(*p);
      n = 1;
    } else {
      utf8proc_uint8_t buf[4];
      const auto len = utf8proc_encode_char(utf8proc_tolower(cp), buf);
      out.append(reinterpret_cast<char*>(buf), static_cast<size_t>(len));
    }
    p += n;
    left -= n;
  }
  return out;
}

class BertEmbedder final : public Embedder {
 public:
  BertEmbedder(WordPieceTokenizer tokenizer, BertModel model, SentenceModelLayout layout,
               std::string model_id)
      : tokenizer_(std::move(tokenizer)),
        model_(std::move(model)),
        layout_(std::move(layout)),
        model_id_(std::move(model_id)) {
    const auto positions = static_cast<size_t>(model_.config().max_position_embeddings);
    max_tokens_ =
        layout_.max_seq_length > 0 ? std::min(layout_.max_seq_length, positions) : positions;
  }

  const std::string& model_id() const override { return model_id_; }
  size_t dimension() const override { return model_.hidden_size(); }

  Status embed(std::string_view text, std::span<float> out) const override {
    const std::string_view one[] = {text};
    return run(one, layout_.document_prompt, out);
  }
  Status embed_query(std::string_view text, std::span<float> out) const override {
    const std::string_view one[] = {text};
    return run(one, layout_.query_prompt, out);
  }
  Status embed_batch(std::span<const std::string_view> texts, std::span<float> out) const override {
    return run(texts, layout_.document_prompt, out);
  }

 private:
  Status run(std::span<const std::string_view> texts, const std::string& prompt,
             std::span<float> out) const {
    std::vector<std::vector<int32_t>> ids;
    ids.reserve(texts.size());
    for (std::string_view t : texts) {
      std::string input = prompt;
      input += t;
      if (layout_.lower_case_input) input = lower(input);
      ids.push_back(tokenizer_.encode(input, max_tokens_));
    }
    MCP_RETURN_IF_ERROR(model_.embed(ids, layout_.pooling, /*normalize=*/true, out));
    // Damaged weights (a NaN or infinity in the file) give vectors no search can rank.
    for (float x : out) {
      if (!std::isfinite(x)) {
        return Status::corruption(model_id_ +
                                  " computed a value that is not a number: its "
                                  "weights are damaged (mcp-memory model pull it again)");
      }
    }
    return Status::ok();
  }

  WordPieceTokenizer tokenizer_;
  BertModel model_;
  SentenceModelLayout layout_;
  std::string model_id_;
  size_t max_tokens_ = 512;
};

}  // namespace

Result<SentenceModelLayout> read_sentence_layout(const fs::path& dir, const std::string& repo) {
  SentenceModelLayout layout;
  MCP_ASSIGN_OR_RETURN(auto modules, read_json(dir / "modules.json"));
  fs::path transformer_dir = dir;
  if (modules) {
    if (!modules->is_array()) {
      return Status::corruption((dir / "modules.json").string() + ": not a list of modules");
    }
    bool pooled = false;
    for (const Json& m : *modules) {
      const std::string type = m.is_object() ? text(m, "type") : "";
      const std::string path = m.is_object() ? text(m, "path") : "";
      if (path.find("..") != std::string::npos) {
        return Status::corruption((dir / "modules.json").string() +
                                  ": a module path leaves "
                                  "the model's directory");
      }
      if (type.ends_with(".Transformer")) {
        transformer_dir = dir / path;
      } else if (type.ends_with(".Pooling")) {
        MCP_RETURN_IF_ERROR(read_pooling(dir / path / "config.json", layout));
        pooled = true;
      } else if (!type.ends_with(".Normalize")) {
        return Status::invalid_argument((dir / "modules.json").string() + ": module '" + type +
                                        "' is not supported (Transformer, Pooling, Normalize)");
      }
    }
    if (!pooled) {
      return Status::invalid_argument((dir / "modules.json").string() + ": no Pooling module");
    }
  }
  MCP_ASSIGN_OR_RETURN(auto sbert, read_json(transformer_dir / "sentence_bert_config.json"));
  if (sbert && sbert->is_object()) {
    const Json& s = *sbert;
    if (s.contains("max_seq_length") && s["max_seq_length"].is_number_unsigned()) {
      layout.max_seq_length = s["max_seq_length"].get<size_t>();
    }
    layout.lower_case_input = flag(s, "do_lower_case");
  }
  MCP_ASSIGN_OR_RETURN(auto st, read_json(dir / "config_sentence_transformers.json"));
  if (st && st->is_object() && st->contains("prompts") && (*st)["prompts"].is_object()) {
    const Json& prompts = (*st)["prompts"];
    auto prompt = [&](const char* key) {
      return prompts.contains(key) && prompts[key].is_string() ? prompts[key].get<std::string>()
                                                               : std::string();
    };
    layout.query_prompt = prompt("query");
    layout.document_prompt = prompt("document");
    if (layout.document_prompt.empty()) layout.document_prompt = prompt("passage");
  }
  // e5 models are trained with these prefixes and older repositories do not declare them.
  const std::string name = repo.substr(repo.find('/') + 1);
  if (layout.query_prompt.empty() && layout.document_prompt.empty() && name.rfind("e5-", 0) == 0) {
    layout.query_prompt = "query: ";
    layout.document_prompt = "passage: ";
  }
  return layout;
}

Result<std::unique_ptr<Embedder>> make_bert_embedder(const fs::path& dir,
                                                     const std::string& model_id, int threads) {
  MCP_ASSIGN_OR_RETURN(auto layout, read_sentence_layout(dir, model_id));
  MCP_ASSIGN_OR_RETURN(auto tokenizer, WordPieceTokenizer::load(dir));
  BertOptions options;
  options.threads = std::clamp(threads, 1, BertModel::kMaxThreads);
  MCP_ASSIGN_OR_RETURN(auto model, BertModel::load(dir.string(), options));
  if (tokenizer.vocab_size() > static_cast<size_t>(model.config().vocab_size)) {
    return Status::invalid_argument(
        dir.string() + ": the tokenizer's vocabulary (" + std::to_string(tokenizer.vocab_size()) +
        ") is larger than the model's (" + std::to_string(model.config().vocab_size) + ")");
  }
  return std::unique_ptr<Embedder>(
      new BertEmbedder(std::move(tokenizer), std::move(model), std::move(layout), model_id));
}

}  // namespace mcpmem
