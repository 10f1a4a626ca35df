// WordPieceTokenizer::load: a model directory as Hugging Face downloads it, read into a vocabulary
// and WordPieceSettings. Two layouts exist:
//   tokenizer.json   the `tokenizers` serialization: model (WordPiece vocab, unk_token, "##",
//                    max_input_chars_per_word), normalizer, pre_tokenizer, post_processor,
//                    added_tokens, truncation, padding. Preferred when present, as transformers
//                    prefers the fast tokenizer.
//   vocab.txt        one token per line, id = line number, with tokenizer_config.json and
//                    special_tokens_map.json for the flags and special tokens (transformers'
//                    BertTokenizer, whose defaults apply to whatever they leave out).
// A setting the reference would honour and this tokenizer cannot (another normalizer, a
// pre-tokenizer other than BertPreTokenizer, tokens added beside the vocabulary) is refused with
// the file and the field named: silently tokenizing differently would give wrong embeddings.
#include <utf8proc.h>

#include <algorithm>
#include <charconv>
#include <fstream>
#include <nlohmann/json.hpp>

#include "core/json_parse.h"
#include "embed/wordpiece_tokenizer.h"

namespace mcpmem {
namespace {

namespace fs = std::filesystem;
using Json = nlohmann::json;

// transformers writes model_max_length = int(1e30) for "no limit"; nothing real is this long.
constexpr double kNoModelMaxLength = 1e15;

std::string in_quotes(std::string_view s) { return "\"" + std::string(s) + "\""; }

bool is_utf8(std::string_view s) {
  const auto* p = reinterpret_cast<const utf8proc_uint8_t*>(s.data());
  for (size_t pos = 0; pos < s.size();) {
    if (p[pos] < 0x80) {
      ++pos;
      continue;
    }
    utf8proc_int32_t cp = 0;
    const utf8proc_ssize_t n =
        utf8proc_iterate(p + pos, static_cast<utf8proc_ssize_t>(s.size() - pos), &cp);
    if (n <= 0) return false;
    pos += static_cast<size_t>(n);
  }
  return true;
}

Result<std::string> read_file(const fs::path& path) {
  std::error_code ec;
  const uintmax_t size = fs::file_size(path, ec);
  if (ec) return Status::io_error(path.string() + ": cannot read: " + ec.message());
  if (size > WordPieceTokenizer::kMaxFileBytes) {
    return Status::invalid_argument(path.string() + ": " + std::to_string(size) +
                                    " bytes is more than a tokenizer file holds (limit " +
                                    std::to_string(WordPieceTokenizer::kMaxFileBytes) + ")");
  }
  std::ifstream in(path, std::ios::binary);
  std::string text(static_cast<size_t>(size), '\0');
  if (!in.read(text.data(), static_cast<std::streamsize>(size))) {
    return Status::io_error(path.string() + ": cannot read");
  }
  return text;
}

Result<Json> read_json_object(const fs::path& path) {
  MCP_ASSIGN_OR_RETURN(std::string text, read_file(path));
  auto parsed = parse_json(text, path.string());
  if (!parsed.is_ok()) return Status::corruption(parsed.status().message());
  Json j = std::move(*parsed);
  if (!j.is_object()) return Status::corruption(path.string() + ": not a JSON object");
  return j;
}

// Typed fields of one JSON object; every error names the file and the field ("tokenizer.json:
// normalizer.lowercase must be true or false").
class Fields {
 public:
  Fields(const Json& object, std::string file, std::string path = "")
      : object_(object), file_(std::move(file)), path_(std::move(path)) {}

  std::string name(std::string_view key) const { return file_ + ": " + member_path(key); }

  // The member, or null when it is missing or null.
  const Json* find(std::string_view key) const {
    auto it = object_.find(key);
    return it == object_.end() || it->is_null() ? nullptr : &*it;
  }
  // The member's "type" string, or "" when there is none.
  std::string type_of(std::string_view key) const {
    const Json* v = find(key);
    if (v == nullptr || !v->is_object()) return "";
    auto type = v->find("type");
    return type != v->end() && type->is_string() ? type->get<std::string>() : "";
  }
  Status wrong_type(std::string_view key, std::string_view expected) const {
    return Status::corruption(name(key) + " must be " + std::string(expected));
  }

  Result<bool> boolean(std::string_view key, bool fallback) const {
    const Json* v = find(key);
    if (v == nullptr) return fallback;
    if (!v->is_boolean()) return wrong_type(key, "true or false");
    return v->get<bool>();
  }
  Result<std::optional<bool>> optional_boolean(std::string_view key) const {
    const Json* v = find(key);
    if (v == nullptr) return std::optional<bool>();
    if (!v->is_boolean()) return wrong_type(key, "true, false or null");
    return std::optional<bool>(v->get<bool>());
  }
  Result<size_t> count(std::string_view key, size_t fallback) const {
    const Json* v = find(key);
    if (v == nullptr) return fallback;
    if (!v->is_number_unsigned()) return wrong_type(key, "a non-negative integer");
    return v->get<size_t>();
  }
  // A string, or a serialized AddedToken ({"content": "[UNK]", ...}) as transformers writes
  // special tokens in tokenizer_config.json.
  Result<std::string> token(std::string_view key, std::string fallback) const {
    const Json* v = find(key);
    if (v == nullptr) return fallback;
    if (std::optional<std::string> t = token_text(*v)) return *t;
    return wrong_type(key, "a string or an object with a string \"content\"");
  }
  static std::optional<std::string> token_text(const Json& v) {
    if (v.is_string()) return v.get<std::string>();
    if (v.is_object()) {
      auto content = v.find("content");
      if (content != v.end() && content->is_string()) return content->get<std::string>();
    }
    return std::nullopt;
  }
  Result<Fields> object(std::string_view key) const {
    const Json* v = find(key);
    if (v == nullptr || !v->is_object()) return wrong_type(key, "an object");
    return Fields(*v, file_, member_path(key));
  }
  // The i-th element of the array `key` as an object.
  Result<Fields> element(std::string_view key, size_t i) const {
    const std::string path = member_path(key) + "[" + std::to_string(i) + "]";
    const Json& v = object_.at(key).at(i);
    if (!v.is_object()) return Status::corruption(file_ + ": " + path + " must be an object");
    return Fields(v, file_, path);
  }

 private:
  std::string member_path(std::string_view key) const {
    return path_.empty() ? std::string(key) : path_ + "." + std::string(key);
  }

  const Json& object_;
  std::string file_;
  std::string path_;
};

// ---- tokenizer.json ----

// model.vocab ({"token": id, ...}) as a table indexed by id.
Result<std::vector<std::string>> read_vocab_map(const Fields& model) {
  const Json* vocab = model.find("vocab");
  if (vocab == nullptr || !vocab->is_object() || vocab->empty()) {
    return model.wrong_type("vocab", "a non-empty object of token: id");
  }
  if (vocab->size() > WordPieceTokenizer::kMaxVocabSize) {
    return Status::invalid_argument(model.name("vocab") + " holds " +
                                    std::to_string(vocab->size()) + " tokens, more than any BERT");
  }
  std::vector<std::string> tokens(vocab->size());
  for (const auto& [token, id] : vocab->items()) {
    if (!id.is_number_unsigned() || id.get<size_t>() >= WordPieceTokenizer::kMaxVocabSize) {
      return Status::corruption(model.name("vocab") + ": the id of " + in_quotes(token) +
                                " is not an integer in [0, " +
                                std::to_string(WordPieceTokenizer::kMaxVocabSize) + ")");
    }
    const size_t i = id.get<size_t>();
    if (i >= tokens.size()) tokens.resize(i + 1);
    if (!tokens[i].empty()) {
      return Status::corruption(model.name("vocab") + ": id " + std::to_string(i) +
                                " is given to both " + in_quotes(tokens[i]) + " and " +
                                in_quotes(token));
    }
    tokens[i] = token;
  }
  return tokens;
}

Status read_model(const Fields& root, std::vector<std::string>& tokens,
                  WordPieceSettings& settings) {
  MCP_ASSIGN_OR_RETURN(Fields model, root.object("model"));
  const Json* type = model.find("type");
  if (type != nullptr && (!type->is_string() || type->get<std::string>() != "WordPiece")) {
    return Status::invalid_argument(model.name("type") + " is " + type->dump() +
                                    ": only WordPiece (BERT-family) tokenizers are supported");
  }
  MCP_ASSIGN_OR_RETURN(tokens, read_vocab_map(model));
  MCP_ASSIGN_OR_RETURN(settings.unk_token, model.token("unk_token", "[UNK]"));
  MCP_ASSIGN_OR_RETURN(settings.continuing_subword_prefix,
                       model.token("continuing_subword_prefix", "##"));
  MCP_ASSIGN_OR_RETURN(settings.max_input_chars_per_word,
                       model.count("max_input_chars_per_word", 100));
  return Status::ok();
}

Status read_normalizer(const Fields& root, WordPieceSettings& settings) {
  // No normalizer: the text goes to the pre-tokenizer as it is.
  if (root.find("normalizer") == nullptr) {
    settings.clean_text = settings.handle_chinese_chars = settings.lowercase = false;
    settings.strip_accents = false;
    return Status::ok();
  }
  MCP_ASSIGN_OR_RETURN(Fields n, root.object("normalizer"));
  if (const std::string type = root.type_of("normalizer"); type != "BertNormalizer") {
    return Status::invalid_argument(
        n.name("type") + " is " + (type.empty() ? "missing" : in_quotes(type)) +
        ": only BertNormalizer (or no normalizer) is supported; another would tokenize "
        "differently from the model's reference");
  }
  MCP_ASSIGN_OR_RETURN(settings.clean_text, n.boolean("clean_text", true));
  MCP_ASSIGN_OR_RETURN(settings.handle_chinese_chars, n.boolean("handle_chinese_chars", true));
  MCP_ASSIGN_OR_RETURN(settings.strip_accents, n.optional_boolean("strip_accents"));
  MCP_ASSIGN_OR_RETURN(settings.lowercase, n.boolean("lowercase", true));
  return Status::ok();
}

Status read_pre_tokenizer(const Fields& root) {
  if (root.type_of("pre_tokenizer") != "BertPreTokenizer") {
    const Json* pre = root.find("pre_tokenizer");
    return Status::invalid_argument(root.name("pre_tokenizer") + " is " +
                                    (pre ? pre->dump().substr(0, 80) : "missing") +
                                    ": only BertPreTokenizer is supported");
  }
  return Status::ok();
}

struct SpecialId {
  std::string token;
  size_t id = 0;
};

// One of BertProcessing's "cls": ["[CLS]", 101].
Result<SpecialId> pair_field(const Fields& p, std::string_view key) {
  const Json* v = p.find(key);
  if (v == nullptr || !v->is_array() || v->size() != 2 || !(*v)[0].is_string() ||
      !(*v)[1].is_number_unsigned()) {
    return p.wrong_type(key, "[token, id]");
  }
  return SpecialId{(*v)[0].get<std::string>(), (*v)[1].get<size_t>()};
}

// TemplateProcessing's single = [SpecialToken X, Sequence A, SpecialToken Y]: X and Y with ids.
Result<std::pair<SpecialId, SpecialId>> template_specials(const Fields& p) {
  const Json* single = p.find("single");
  const Json* specials = p.find("special_tokens");
  auto special = [&](const Json& item) -> std::optional<SpecialId> {
    auto st = item.find("SpecialToken");
    if (st == item.end() || !st->is_object() || !st->contains("id") || !(*st)["id"].is_string()) {
      return std::nullopt;
    }
    const std::string name = (*st)["id"].get<std::string>();
    if (specials == nullptr || !specials->contains(name)) return std::nullopt;
    const Json& entry = (*specials)[name];
    if (!entry.is_object() || !entry.contains("ids") || !entry["ids"].is_array() ||
        entry["ids"].size() != 1 || !entry["ids"][0].is_number_unsigned() ||
        !entry.contains("tokens") || !entry["tokens"].is_array() || entry["tokens"].size() != 1 ||
        !entry["tokens"][0].is_string()) {
      return std::nullopt;
    }
    return SpecialId{entry["tokens"][0].get<std::string>(), entry["ids"][0].get<size_t>()};
  };
  if (single != nullptr && single->is_array() && single->size() == 3 && (*single)[1].is_object() &&
      (*single)[1].contains("Sequence")) {
    std::optional<SpecialId> cls = special((*single)[0]);
    std::optional<SpecialId> sep = special((*single)[2]);
    if (cls && sep) return std::pair(*cls, *sep);
  }
  return Status::invalid_argument(p.name("single") +
                                  " is not [CLS] $A [SEP] (one special token, the sequence, one "
                                  "special token, each special listed in special_tokens)");
}

// The post-processor says which tokens frame a text: [CLS] A [SEP].
Result<std::pair<SpecialId, SpecialId>> read_post_processor(const Fields& root) {
  const std::string name = root.type_of("post_processor");
  if (name == "TemplateProcessing" || name == "BertProcessing" || name == "RobertaProcessing") {
    MCP_ASSIGN_OR_RETURN(Fields p, root.object("post_processor"));
    if (name == "TemplateProcessing") return template_specials(p);
    // Bert- and RobertaProcessing frame one sequence the same way: cls A sep.
    MCP_ASSIGN_OR_RETURN(SpecialId cls, pair_field(p, "cls"));
    MCP_ASSIGN_OR_RETURN(SpecialId sep, pair_field(p, "sep"));
    return std::pair(cls, sep);
  }
  const Json* post = root.find("post_processor");
  return Status::invalid_argument(root.name("post_processor") + " is " +
                                  (post ? post->dump().substr(0, 80) : "missing") +
                                  ": expected TemplateProcessing or BertProcessing adding "
                                  "[CLS] and [SEP]");
}

// added_tokens are cut out of the raw text before normalization. Only tokens of the vocabulary
// matched verbatim are supported; lstrip/rstrip only absorb whitespace the pre-tokenizer drops.
Status read_added_tokens(const Fields& root, const std::vector<std::string>& tokens,
                         WordPieceSettings& settings) {
  settings.special_tokens.clear();
  const Json* added = root.find("added_tokens");
  if (added == nullptr) return Status::ok();
  if (!added->is_array()) return root.wrong_type("added_tokens", "an array");
  for (size_t i = 0; i < added->size(); ++i) {
    MCP_ASSIGN_OR_RETURN(Fields entry, root.element("added_tokens", i));
    const Json* content_json = entry.find("content");
    if (content_json == nullptr || !content_json->is_string()) {
      return entry.wrong_type("content", "a string");
    }
    const std::string content = content_json->get<std::string>();
    if (entry.find("id") == nullptr) return entry.wrong_type("id", "a non-negative integer");
    MCP_ASSIGN_OR_RETURN(size_t id, entry.count("id", 0));
    if (id >= tokens.size() || tokens[id] != content) {
      return Status::invalid_argument(entry.name("id") + ": " + in_quotes(content) + " (id " +
                                      std::to_string(id) +
                                      ") is not that token of model.vocab; tokens added beside "
                                      "a WordPiece vocabulary are not supported");
    }
    MCP_ASSIGN_OR_RETURN(bool single_word, entry.boolean("single_word", false));
    MCP_ASSIGN_OR_RETURN(bool normalized, entry.boolean("normalized", false));
    if (single_word || normalized) {
      return Status::invalid_argument(entry.name(single_word ? "single_word" : "normalized") +
                                      " is true for " + in_quotes(content) +
                                      ", which is not supported");
    }
    settings.special_tokens.push_back(content);
  }
  return Status::ok();
}

Result<WordPieceTokenizer> load_tokenizer_json(const fs::path& file) {
  MCP_ASSIGN_OR_RETURN(Json json, read_json_object(file));
  const Fields root(json, file.string());
  std::vector<std::string> tokens;
  WordPieceSettings settings;
  MCP_RETURN_IF_ERROR(read_model(root, tokens, settings));
  MCP_RETURN_IF_ERROR(read_normalizer(root, settings));
  MCP_RETURN_IF_ERROR(read_pre_tokenizer(root));
  MCP_ASSIGN_OR_RETURN(auto framing, read_post_processor(root));
  settings.cls_token = framing.first.token;
  settings.sep_token = framing.second.token;
  MCP_RETURN_IF_ERROR(read_added_tokens(root, tokens, settings));
  if (root.find("truncation") != nullptr) {
    MCP_ASSIGN_OR_RETURN(Fields t, root.object("truncation"));
    MCP_ASSIGN_OR_RETURN(settings.max_length, t.count("max_length", 0));
  }
  if (root.find("padding") != nullptr) {
    MCP_ASSIGN_OR_RETURN(Fields p, root.object("padding"));
    MCP_ASSIGN_OR_RETURN(settings.pad_token, p.token("pad_token", "[PAD]"));
  }

  auto tokenizer = WordPieceTokenizer::from_vocab(std::move(tokens), std::move(settings));
  if (!tokenizer.is_ok()) return tokenizer.status().with_context(file.string());
  if (static_cast<size_t>(tokenizer->cls_id()) != framing.first.id ||
      static_cast<size_t>(tokenizer->sep_id()) != framing.second.id) {
    return Status::corruption(root.name("post_processor") + " gives " +
                              in_quotes(framing.first.token) + " and " +
                              in_quotes(framing.second.token) + " other ids than model.vocab");
  }
  return tokenizer;
}

// ---- vocab.txt + tokenizer_config.json + special_tokens_map.json ----

// Lines as Python's text mode reads them (\n, \r\n and \r all end one); id = line number.
Result<std::vector<std::string>> read_vocab_lines(const fs::path& file) {
  MCP_ASSIGN_OR_RETURN(std::string text, read_file(file));
  std::vector<std::string> tokens;
  size_t start = 0;
  while (start < text.size()) {
    size_t end = text.find_first_of("\r\n", start);
    if (end == std::string::npos) end = text.size();
    std::string_view line(text.data() + start, end - start);
    if (!is_utf8(line)) {
      return Status::corruption(file.string() + ": line " + std::to_string(tokens.size() + 1) +
                                " is not UTF-8");
    }
    if (tokens.size() == WordPieceTokenizer::kMaxVocabSize) {
      return Status::invalid_argument(file.string() + ": more than " +
                                      std::to_string(WordPieceTokenizer::kMaxVocabSize) +
                                      " lines, more than any BERT vocabulary");
    }
    tokens.emplace_back(line);
    start = end + (text.compare(end, 2, "\r\n") == 0 ? 2 : 1);
  }
  if (tokens.empty()) return Status::corruption(file.string() + ": empty vocabulary");
  return tokens;
}

// The special tokens of tokenizer_config.json or special_tokens_map.json (the later file wins,
// as in transformers).
Status read_special_tokens(const Fields& f, WordPieceSettings& settings, std::string& mask,
                           std::vector<std::string>& additional) {
  MCP_ASSIGN_OR_RETURN(settings.unk_token, f.token("unk_token", settings.unk_token));
  MCP_ASSIGN_OR_RETURN(settings.sep_token, f.token("sep_token", settings.sep_token));
  MCP_ASSIGN_OR_RETURN(settings.pad_token, f.token("pad_token", settings.pad_token));
  MCP_ASSIGN_OR_RETURN(settings.cls_token, f.token("cls_token", settings.cls_token));
  MCP_ASSIGN_OR_RETURN(mask, f.token("mask_token", mask));
  if (const Json* list = f.find("additional_special_tokens")) {
    if (!list->is_array()) return f.wrong_type("additional_special_tokens", "an array");
    additional.clear();
    for (const Json& item : *list) {
      std::optional<std::string> token = Fields::token_text(item);
      if (!token) return f.wrong_type("additional_special_tokens", "an array of tokens");
      additional.push_back(std::move(*token));
    }
  }
  return Status::ok();
}

Status read_tokenizer_config(const Fields& f, WordPieceSettings& settings) {
  MCP_ASSIGN_OR_RETURN(settings.lowercase, f.boolean("do_lower_case", true));
  MCP_ASSIGN_OR_RETURN(settings.strip_accents, f.optional_boolean("strip_accents"));
  MCP_ASSIGN_OR_RETURN(settings.handle_chinese_chars, f.boolean("tokenize_chinese_chars", true));
  MCP_ASSIGN_OR_RETURN(bool basic, f.boolean("do_basic_tokenize", true));
  if (!basic) {
    return Status::invalid_argument(f.name("do_basic_tokenize") +
                                    " is false (WordPiece on raw text), which is not supported");
  }
  if (const Json* never_split = f.find("never_split");
      never_split != nullptr && !(never_split->is_array() && never_split->empty())) {
    return Status::invalid_argument(f.name("never_split") + " is not supported");
  }
  if (const Json* max = f.find("model_max_length")) {
    if (!max->is_number() || max->get<double>() < 0) {
      return f.wrong_type("model_max_length", "a non-negative number");
    }
    if (max->get<double>() < kNoModelMaxLength) settings.max_length = max->get<size_t>();
  }
  return Status::ok();
}

// Newer transformers list every added token in tokenizer_config.json as "added_tokens_decoder":
// {"100": {"content": "[UNK]", ...}}. They are cut out of the text like special tokens; only
// tokens of vocab.txt under their own id are supported.
Status read_added_tokens_decoder(const Fields& f, const std::vector<std::string>& tokens,
                                 std::vector<std::string>& added) {
  const Json* decoder = f.find("added_tokens_decoder");
  if (decoder == nullptr) return Status::ok();
  if (!decoder->is_object()) return f.wrong_type("added_tokens_decoder", "an object");
  for (const auto& [key, entry] : decoder->items()) {
    std::optional<std::string> content = Fields::token_text(entry);
    size_t id = 0;
    const auto [end, error] = std::from_chars(key.data(), key.data() + key.size(), id);
    if (!content || error != std::errc() || end != key.data() + key.size()) {
      return f.wrong_type("added_tokens_decoder", "an object of \"id\": {\"content\": token}");
    }
    if (id >= tokens.size() || tokens[id] != *content) {
      return Status::invalid_argument(f.name("added_tokens_decoder") + ": " + in_quotes(*content) +
                                      " (id " + key +
                                      ") is not that line of vocab.txt; tokens added beside "
                                      "the vocabulary are not supported");
    }
    added.push_back(*content);
  }
  return Status::ok();
}

Result<WordPieceTokenizer> load_vocab_txt(const fs::path& dir) {
  const fs::path vocab_file = dir / "vocab.txt";
  std::error_code ec;
  if (!fs::exists(vocab_file, ec)) {
    return Status::not_found(dir.string() +
                             ": neither tokenizer.json nor vocab.txt: not a BERT-family "
                             "(WordPiece) model directory");
  }
  MCP_ASSIGN_OR_RETURN(std::vector<std::string> tokens, read_vocab_lines(vocab_file));
  WordPieceSettings settings;
  std::string mask = "[MASK]";
  std::vector<std::string> additional;
  std::vector<std::string> added;
  for (const char* name : {"tokenizer_config.json", "special_tokens_map.json"}) {
    const fs::path file = dir / name;
    if (!fs::exists(file, ec)) continue;
    MCP_ASSIGN_OR_RETURN(Json json, read_json_object(file));
    const Fields fields(json, file.string());
    if (name == std::string_view("tokenizer_config.json")) {
      MCP_RETURN_IF_ERROR(read_tokenizer_config(fields, settings));
      MCP_RETURN_IF_ERROR(read_added_tokens_decoder(fields, tokens, added));
    }
    MCP_RETURN_IF_ERROR(read_special_tokens(fields, settings, mask, additional));
  }
  if (const fs::path file = dir / "added_tokens.json"; fs::exists(file, ec)) {
    MCP_ASSIGN_OR_RETURN(Json json, read_json_object(file));
    if (!json.empty()) {
      return Status::invalid_argument(file.string() +
                                      ": tokens added beside vocab.txt are not supported");
    }
  }
  // transformers' all_special_tokens and added tokens: each is cut out of the raw text whole.
  settings.special_tokens = {settings.unk_token, settings.sep_token, settings.pad_token,
                             settings.cls_token, mask};
  for (const std::vector<std::string>* more : {&additional, &added}) {
    for (const std::string& token : *more) {
      if (std::find(settings.special_tokens.begin(), settings.special_tokens.end(), token) ==
          settings.special_tokens.end()) {
        settings.special_tokens.push_back(token);
      }
    }
  }
  auto tokenizer = WordPieceTokenizer::from_vocab(std::move(tokens), std::move(settings));
  if (!tokenizer.is_ok()) return tokenizer.status().with_context(vocab_file.string());
  return tokenizer;
}

}  // namespace

Result<WordPieceTokenizer> WordPieceTokenizer::load(const fs::path& model_dir) {
  std::error_code ec;
  if (!fs::is_directory(model_dir, ec)) {
    return Status::not_found(model_dir.string() + ": no such model directory");
  }
  const fs::path tokenizer_json = model_dir / "tokenizer.json";
  if (fs::exists(tokenizer_json, ec)) return load_tokenizer_json(tokenizer_json);
  return load_vocab_txt(model_dir);
}

}  // namespace mcpmem
