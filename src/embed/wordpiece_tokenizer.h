// WordPieceTokenizer: text to BERT input ids, as Hugging Face tokenizes for BERT-family sentence
// embedding models (all-MiniLM-L6-v2 and kin): the `tokenizers` library's BertNormalizer +
// BertPreTokenizer + WordPiece + "[CLS] A [SEP]", which transformers' BertTokenizer agrees with.
// It loads a model directory as downloaded (tokenizer.json, or vocab.txt + tokenizer_config.json)
// and refuses settings it cannot honour instead of tokenizing differently from the reference.
// Immutable once built: safe from many threads; copies are cheap and share the vocabulary.
#pragma once

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/status.h"

namespace mcpmem {

namespace detail {
struct WordPieceTables;  // defined in wordpiece_tokenizer.cpp
}  // namespace detail

// How text becomes pieces. load() fills it from the model directory; the defaults are those of
// an uncased BERT (bert-base-uncased, all-MiniLM-L6-v2).
struct WordPieceSettings {
  // Normalizer (tokenizer.json "normalizer", or tokenizer_config.json for vocab.txt models).
  // Drop U+0000, U+FFFD and characters of category C* but \t \n \r; whitespace becomes ' '.
  bool clean_text = true;
  // Put spaces around CJK ideographs, so each is a word ("tokenize_chinese_chars").
  bool handle_chinese_chars = true;
  // NFD, then drop nonspacing marks (Mn). Unset: the same as `lowercase` ("strip_accents": null).
  std::optional<bool> strip_accents;
  bool lowercase = true;  // "do_lower_case"

  // WordPiece model.
  std::string unk_token = "[UNK]";
  std::string continuing_subword_prefix = "##";
  size_t max_input_chars_per_word = 100;  // a longer word (in code points) is one unk_token

  // encode() gives cls_token, the pieces, sep_token; pad_token fills batches.
  std::string cls_token = "[CLS]";
  std::string sep_token = "[SEP]";
  std::string pad_token = "[PAD]";
  // Taken verbatim from the raw text before normalization, as Hugging Face does with special
  // tokens: "[MASK]" inside a text is the [MASK] id, not "[", "mask", "]". A token here that the
  // vocabulary lacks is read as unk_token (transformers' BertTokenizer does the same).
  std::vector<std::string> special_tokens = {"[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"};

  // The longest input the tokenizer files declare (tokenizer.json truncation.max_length, else
  // tokenizer_config.json model_max_length), 0 when they declare none. For information only:
  // encode() takes its limit from the caller, and sentence-transformers uses max_seq_length
  // from sentence_bert_config.json (256 for all-MiniLM-L6-v2, whose tokenizer.json says 128).
  size_t max_length = 0;

  bool strips_accents() const { return strip_accents.value_or(lowercase); }
};

class WordPieceTokenizer {
 public:
  // Larger than any BERT vocabulary (multilingual ones hold ~120k): bounds what a model file
  // can make us allocate.
  static constexpr size_t kMaxVocabSize = size_t{1} << 22;
  // tokenizer.json of the largest multilingual models is ~20 MB.
  static constexpr uintmax_t kMaxFileBytes = uintmax_t{64} << 20;

  // Reads a Hugging Face / sentence-transformers model directory: tokenizer.json when present
  // (model WordPiece, normalizer BertNormalizer or none, pre_tokenizer BertPreTokenizer,
  // post_processor [CLS] A [SEP]), else vocab.txt with tokenizer_config.json and
  // special_tokens_map.json (both optional). Errors name the file and what is wrong: NotFound
  // (no tokenizer.json nor vocab.txt), IoError (unreadable), Corruption (bad JSON, a field of
  // the wrong type, ids that contradict each other), InvalidArgument (a special token missing
  // from the vocabulary, a file over kMaxFileBytes, or a setting this tokenizer cannot honour,
  // such as a Sequence normalizer or tokens added beside the vocabulary).
  static Result<WordPieceTokenizer> load(const std::filesystem::path& model_dir);

  // A tokenizer over `vocab` (id = index; an empty string is a hole no text maps to). When a
  // token appears twice, token_to_id gives the later id, as transformers does for vocab.txt.
  // InvalidArgument when unk, cls, sep or pad token is not in `vocab`, or `vocab` has more than
  // kMaxVocabSize entries.
  static Result<WordPieceTokenizer> from_vocab(std::vector<std::string> vocab,
                                               WordPieceSettings settings = {});

  // [CLS] pieces... [SEP], truncated so that there are at most max_tokens ids in all (the last
  // is always [SEP]; max_tokens below 2 counts as 2). Invalid UTF-8 bytes read as U+FFFD.
  std::vector<int32_t> encode(std::string_view text, size_t max_tokens) const;
  // The pieces of `text` without the [CLS]/[SEP] around it ("unaffable" -> "una", "##ffa",
  // "##ble" with bert-base-uncased's vocabulary); special tokens in the text appear as written.
  std::vector<std::string> tokenize(std::string_view text) const;

  std::optional<int32_t> token_to_id(std::string_view token) const;
  // The token of `id`, valid while this tokenizer or a copy lives; empty for an id the
  // vocabulary does not hold.
  std::string_view id_to_token(int32_t id) const;

  int32_t pad_id() const;
  int32_t cls_id() const;
  int32_t sep_id() const;
  int32_t unk_id() const;
  size_t vocab_size() const;  // one past the largest id
  const WordPieceSettings& settings() const;

 private:
  explicit WordPieceTokenizer(std::shared_ptr<const detail::WordPieceTables> tables)
      : tables_(std::move(tables)) {}

  // Vocabulary maps, settings and special ids: immutable, shared by copies.
  std::shared_ptr<const detail::WordPieceTables> tables_;
};

}  // namespace mcpmem
