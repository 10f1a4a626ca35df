// WordPiece tokenization, step for step as Hugging Face's `tokenizers` does it for BERT:
//   1. Special tokens ("[CLS]", "[MASK]", ...) are cut out of the raw text first, leftmost and
//      longest match first, and become their own ids (AddedVocabulary, normalized: false).
//   2. BertNormalizer on each remaining segment, one code point at a time: clean_text drops
//      U+0000, U+FFFD and category C* but \t \n \r, and turns whitespace into ' ';
//      handle_chinese_chars puts ' ' around CJK ideographs; strip_accents is NFD (with canonical
//      reordering) and then drops Mn; lowercase maps each code point (simple case mapping, plus
//      U+0130 -> "i" U+0307 as Rust's char::to_lowercase does). No NFC and no final-sigma rule:
//      the fast tokenizer that sentence-transformers runs has neither.
//   3. BertPreTokenizer: split on White_Space (dropped) and on punctuation (ASCII !"#$%&'()*+,-./
//      :;<=>?@[\]^_`{|}~ and category P*), each punctuation mark a word of its own.
//   4. WordPiece on each word: greedy longest match first from the left, later pieces looked up
//      with the "##" prefix; a word of more than max_input_chars_per_word code points, or one
//      that cannot be covered by pieces, is one [UNK].
// Every step is local to a word and words are independent, so a segment is processed in chunks
// cut after ASCII whitespace and encode() stops after the chunk that reaches its limit: a long
// memory costs what its first max_tokens pieces cost. ASCII chunks take a byte-level path that
// gives the same result as the code point path. Character classes come from utf8proc (Unicode
// 15), the CJK ranges from transformers' _is_chinese_char.
#include "embed/wordpiece_tokenizer.h"

#include <utf8proc.h>

#include <algorithm>
#include <array>
#include <unordered_map>

namespace mcpmem {
namespace detail {

struct WordPieceTables {
  struct Special {
    std::string_view text;  // into settings.special_tokens
    int32_t id;
  };

  WordPieceSettings settings;
  bool strip_accents = false;       // settings.strips_accents()
  std::vector<std::string> tokens;  // id -> token, "" for a hole
  // Views into `tokens`. word_start holds every token; continuation the tokens that begin with
  // the continuing-subword prefix, keyed without it, so no lookup has to build "##" + piece.
  std::unordered_map<std::string_view, int32_t> word_start;
  std::unordered_map<std::string_view, int32_t> continuation;
  size_t longest_word_start = 0;  // bytes: no longer substring can match
  size_t longest_continuation = 0;
  std::vector<Special> specials;            // longest first
  std::array<bool, 256> special_lead = {};  // first bytes of specials
  int32_t pad_id = 0;
  int32_t cls_id = 0;
  int32_t sep_id = 0;
  int32_t unk_id = 0;
};

}  // namespace detail

namespace {

using Tables = detail::WordPieceTables;

// Chunks are cut after the first ASCII whitespace at or past this many bytes.
constexpr size_t kChunkBytes = 1024;
// Longest canonical decomposition of one code point is 4; utf8proc says if one ever is longer.
constexpr size_t kMaxDecomposition = 8;

// transformers' BasicTokenizer._is_chinese_char. (tokenizers' copy starts its fifth range at
// 0x2B920 instead of 0x2B820, a typo affecting 256 rare Extension E ideographs.)
bool is_cjk(char32_t c) {
  return (c >= 0x4E00 && c <= 0x9FFF) || (c >= 0x3400 && c <= 0x4DBF) ||
         (c >= 0x20000 && c <= 0x2A6DF) || (c >= 0x2A700 && c <= 0x2B73F) ||
         (c >= 0x2B740 && c <= 0x2B81F) || (c >= 0x2B820 && c <= 0x2CEAF) ||
         (c >= 0xF900 && c <= 0xFAFF) || (c >= 0x2F800 && c <= 0x2FA1F);
}

// Unicode White_Space (Rust's char::is_whitespace, which BertNormalizer and BertPreTokenizer use).
bool is_white_space(char32_t c) {
  if (c < 0x80) return c == ' ' || (c >= 0x09 && c <= 0x0D);
  return c == 0x85 || c == 0xA0 || c == 0x1680 || (c >= 0x2000 && c <= 0x200A) || c == 0x2028 ||
         c == 0x2029 || c == 0x202F || c == 0x205F || c == 0x3000;
}

bool is_ascii_punctuation(char32_t c) {
  return (c >= 33 && c <= 47) || (c >= 58 && c <= 64) || (c >= 91 && c <= 96) ||
         (c >= 123 && c <= 126);
}

utf8proc_category_t category(char32_t c) {
  return utf8proc_category(static_cast<utf8proc_int32_t>(c));
}

bool is_punctuation(char32_t c) {
  if (c < 0x80) return is_ascii_punctuation(c);
  const utf8proc_category_t cat = category(c);
  return cat >= UTF8PROC_CATEGORY_PC && cat <= UTF8PROC_CATEGORY_PO;
}

// Category C* (Cc, Cf, Cn, Co, Cs) except \t \n \r, which count as whitespace.
bool is_control(char32_t c) {
  if (c == '\t' || c == '\n' || c == '\r') return false;
  if (c < 0x80) return c < 0x20 || c == 0x7F;
  const utf8proc_category_t cat = category(c);
  return cat == UTF8PROC_CATEGORY_CN || cat >= UTF8PROC_CATEGORY_CC;  // Cc, Cf, Cs, Co are last
}

bool is_continuation_byte(char b) { return (static_cast<unsigned char>(b) & 0xC0) == 0x80; }

// The code point at text[pos], advancing pos; an invalid byte reads as U+FFFD.
char32_t next_code_point(std::string_view text, size_t& pos) {
  const auto byte = static_cast<unsigned char>(text[pos]);
  if (byte < 0x80) {
    ++pos;
    return byte;
  }
  utf8proc_int32_t cp = 0;
  const utf8proc_ssize_t n =
      utf8proc_iterate(reinterpret_cast<const utf8proc_uint8_t*>(text.data() + pos),
                       static_cast<utf8proc_ssize_t>(text.size() - pos), &cp);
  if (n <= 0) {
    ++pos;
    return 0xFFFD;
  }
  pos += static_cast<size_t>(n);
  return static_cast<char32_t>(cp);
}

void append_utf8(std::string& out, char32_t c) {
  if (c < 0x80) {
    out.push_back(static_cast<char>(c));
    return;
  }
  utf8proc_uint8_t buf[4];
  const utf8proc_ssize_t n = utf8proc_encode_char(static_cast<utf8proc_int32_t>(c), buf);
  out.append(reinterpret_cast<const char*>(buf), static_cast<size_t>(n));
}

int combining_class(char32_t c) {
  if (c < 0x300) return 0;
  return utf8proc_get_property(static_cast<utf8proc_int32_t>(c))->combining_class;
}

// NFD of `in` into `out`, then without nonspacing marks (BertNormalizer's strip_accents).
// Canonical reordering runs before the marks go, as in a real NFD.
void decompose_and_strip_marks(const std::u32string& in, std::u32string& out) {
  out.clear();
  for (char32_t c : in) {
    if (c < 0xC0) {  // nothing below U+00C0 decomposes
      out.push_back(c);
      continue;
    }
    utf8proc_int32_t parts[kMaxDecomposition];
    int boundclass = 0;
    const utf8proc_ssize_t n =
        utf8proc_decompose_char(static_cast<utf8proc_int32_t>(c), parts, kMaxDecomposition,
                                UTF8PROC_DECOMPOSE, &boundclass);
    if (n <= 0 || static_cast<size_t>(n) > kMaxDecomposition) {
      out.push_back(c);
      continue;
    }
    for (utf8proc_ssize_t i = 0; i < n; ++i) out.push_back(static_cast<char32_t>(parts[i]));
  }
  // Canonical ordering: a stable insertion sort by combining class within each run of marks.
  for (size_t i = 1; i < out.size(); ++i) {
    const int ccc = combining_class(out[i]);
    if (ccc == 0) continue;
    for (size_t j = i; j > 0 && combining_class(out[j - 1]) > ccc; --j) {
      std::swap(out[j - 1], out[j]);
    }
  }
  std::erase_if(out, [](char32_t c) { return c >= 0x300 && category(c) == UTF8PROC_CATEGORY_MN; });
}

// Buffers reused across the chunks of one call.
struct Scratch {
  std::u32string cleaned;
  std::u32string decomposed;
  std::string word;
  size_t word_chars = 0;
};

// WordPiece on one word (step 4), appending its piece ids, or unk's.
void append_word_ids(const Tables& t, std::string_view word, size_t chars,
                     std::vector<int32_t>& out) {
  if (chars > t.settings.max_input_chars_per_word) {
    out.push_back(t.unk_id);
    return;
  }
  const size_t first_piece = out.size();
  size_t start = 0;
  while (start < word.size()) {
    const auto& map = start == 0 ? t.word_start : t.continuation;
    const size_t longest = start == 0 ? t.longest_word_start : t.longest_continuation;
    size_t end = word.size() - start > longest ? start + longest : word.size();
    while (end > start && end < word.size() && is_continuation_byte(word[end])) --end;
    int32_t id = -1;
    while (end > start) {
      if (auto it = map.find(word.substr(start, end - start)); it != map.end()) {
        id = it->second;
        break;
      }
      do {
        --end;
      } while (end > start && is_continuation_byte(word[end]));
    }
    if (id < 0) {
      out.resize(first_piece);
      out.push_back(t.unk_id);
      return;
    }
    out.push_back(id);
    start = end;
  }
}

void flush_word(const Tables& t, Scratch& s, std::vector<int32_t>& out) {
  if (s.word.empty()) return;
  append_word_ids(t, s.word, s.word_chars, out);
  s.word.clear();
  s.word_chars = 0;
}

// Steps 3 and 4 for one normalized code point.
void split_code_point(const Tables& t, char32_t c, Scratch& s, std::vector<int32_t>& out) {
  if (is_white_space(c)) {
    flush_word(t, s, out);
  } else if (is_punctuation(c)) {
    flush_word(t, s, out);
    append_utf8(s.word, c);
    s.word_chars = 1;
    flush_word(t, s, out);
  } else {
    append_utf8(s.word, c);
    ++s.word_chars;
  }
}

// Steps 2-4 for ASCII text: no CJK, no accents, and case mapping is A-Z.
void split_ascii_chunk(const Tables& t, std::string_view chunk, Scratch& s,
                       std::vector<int32_t>& out) {
  const bool clean = t.settings.clean_text;
  const bool lower = t.settings.lowercase;
  for (char ch : chunk) {
    char32_t c = static_cast<unsigned char>(ch);
    if (clean && is_control(c)) continue;
    if (lower && c >= 'A' && c <= 'Z') c += 'a' - 'A';
    split_code_point(t, c, s, out);
  }
  flush_word(t, s, out);
}

// Steps 2-4 for any text.
void split_chunk(const Tables& t, std::string_view chunk, Scratch& s, std::vector<int32_t>& out) {
  if (std::all_of(chunk.begin(), chunk.end(), [](char c) { return (c & 0x80) == 0; })) {
    split_ascii_chunk(t, chunk, s, out);
    return;
  }
  const WordPieceSettings& settings = t.settings;
  s.cleaned.clear();
  for (size_t pos = 0; pos < chunk.size();) {
    char32_t c = next_code_point(chunk, pos);
    if (settings.clean_text) {
      if (c == 0 || c == 0xFFFD || is_control(c)) continue;
      if (is_white_space(c)) c = ' ';
    }
    if (settings.handle_chinese_chars && is_cjk(c)) {
      s.cleaned.append({U' ', c, U' '});
    } else {
      s.cleaned.push_back(c);
    }
  }
  const std::u32string* normalized = &s.cleaned;
  if (t.strip_accents) {
    decompose_and_strip_marks(s.cleaned, s.decomposed);
    normalized = &s.decomposed;
  }
  for (char32_t c : *normalized) {
    if (c < 0x80) {
      if (settings.lowercase && c >= 'A' && c <= 'Z') c += 'a' - 'A';
      split_code_point(t, c, s, out);
    } else if (!settings.lowercase) {
      split_code_point(t, c, s, out);
    } else if (c == 0x130) {  // the one code point whose full lowercase is two: "i" U+0307
      split_code_point(t, U'i', s, out);
      split_code_point(t, 0x307, s, out);
    } else {
      split_code_point(t, static_cast<char32_t>(utf8proc_tolower(static_cast<utf8proc_int32_t>(c))),
                       s, out);
    }
  }
  flush_word(t, s, out);
}

// The special token starting at text[pos], or null.
const Tables::Special* special_at(const Tables& t, std::string_view text, size_t pos) {
  if (!t.special_lead[static_cast<unsigned char>(text[pos])]) return nullptr;
  for (const Tables::Special& special : t.specials) {  // longest first
    if (text.substr(pos, special.text.size()) == special.text) return &special;
  }
  return nullptr;
}

// Step 1, then steps 2-4 on the text between special tokens, in chunks cut after the first
// ASCII whitespace (a word boundary under every setting) at or past kChunkBytes: the piece ids
// of `text`, at least `limit` of them when there are that many (the caller truncates). Nothing
// past the chunk that reaches `limit` is read, not even to look for special tokens.
void append_piece_ids(const Tables& t, std::string_view text, size_t limit,
                      std::vector<int32_t>& out) {
  Scratch scratch;
  size_t start = 0;  // of the text not tokenized yet
  size_t pos = 0;
  while (pos < text.size() && out.size() < limit) {
    if (const Tables::Special* special = special_at(t, text, pos)) {
      split_chunk(t, text.substr(start, pos - start), scratch, out);
      out.push_back(special->id);
      pos += special->text.size();
      start = pos;
      continue;
    }
    const char c = text[pos++];
    if (pos - start >= kChunkBytes && (c == ' ' || c == '\t' || c == '\n' || c == '\r')) {
      split_chunk(t, text.substr(start, pos - start), scratch, out);
      start = pos;
    }
  }
  if (start < text.size() && out.size() < limit) {
    split_chunk(t, text.substr(start), scratch, out);
  }
}

}  // namespace

Result<WordPieceTokenizer> WordPieceTokenizer::from_vocab(std::vector<std::string> vocab,
                                                          WordPieceSettings settings) {
  if (vocab.size() > kMaxVocabSize) {
    return Status::invalid_argument("a vocabulary of " + std::to_string(vocab.size()) +
                                    " tokens is larger than any BERT model's (limit " +
                                    std::to_string(kMaxVocabSize) + ")");
  }
  auto t = std::make_shared<Tables>();  // at its final address before views into it are taken
  t->settings = std::move(settings);
  t->strip_accents = t->settings.strips_accents();
  t->tokens = std::move(vocab);
  const std::string& prefix = t->settings.continuing_subword_prefix;
  t->word_start.reserve(t->tokens.size());
  for (size_t id = 0; id < t->tokens.size(); ++id) {
    const std::string_view token = t->tokens[id];
    if (token.empty()) continue;
    t->word_start.insert_or_assign(token, static_cast<int32_t>(id));  // a later line wins
    t->longest_word_start = std::max(t->longest_word_start, token.size());
    if (token.size() > prefix.size() && token.starts_with(prefix)) {
      t->continuation.insert_or_assign(token.substr(prefix.size()), static_cast<int32_t>(id));
      t->longest_continuation = std::max(t->longest_continuation, token.size() - prefix.size());
    }
  }

  const std::pair<const std::string*, int32_t*> required[] = {
      {&t->settings.unk_token, &t->unk_id},
      {&t->settings.cls_token, &t->cls_id},
      {&t->settings.sep_token, &t->sep_id},
      {&t->settings.pad_token, &t->pad_id},
  };
  for (const auto& [token, id] : required) {
    auto it = t->word_start.find(*token);
    if (it == t->word_start.end()) {
      return Status::invalid_argument("the vocabulary has no special token \"" + *token + "\"");
    }
    *id = it->second;
  }
  for (const std::string& special : t->settings.special_tokens) {
    if (special.empty()) continue;
    auto it = t->word_start.find(special);
    t->specials.push_back({special, it == t->word_start.end() ? t->unk_id : it->second});
    t->special_lead[static_cast<unsigned char>(special[0])] = true;
  }
  std::stable_sort(t->specials.begin(), t->specials.end(),
                   [](const Tables::Special& a, const Tables::Special& b) {
                     return a.text.size() > b.text.size();
                   });
  return WordPieceTokenizer(std::move(t));
}

std::vector<int32_t> WordPieceTokenizer::encode(std::string_view text, size_t max_tokens) const {
  const size_t limit = std::max<size_t>(max_tokens, 2) - 2;
  std::vector<int32_t> ids;
  ids.reserve(std::min(limit, text.size() / 3 + 8) + 2);
  ids.push_back(tables_->cls_id);
  if (limit > 0) append_piece_ids(*tables_, text, limit + 1, ids);  // + 1: [CLS] is in `ids`
  if (ids.size() > limit + 1) ids.resize(limit + 1);
  ids.push_back(tables_->sep_id);
  return ids;
}

std::vector<std::string> WordPieceTokenizer::tokenize(std::string_view text) const {
  std::vector<int32_t> ids;
  append_piece_ids(*tables_, text, SIZE_MAX, ids);
  std::vector<std::string> pieces;
  pieces.reserve(ids.size());
  for (int32_t id : ids) pieces.emplace_back(id_to_token(id));
  return pieces;
}

std::optional<int32_t> WordPieceTokenizer::token_to_id(std::string_view token) const {
  auto it = tables_->word_start.find(token);
  if (it == tables_->word_start.end()) return std::nullopt;
  return it->second;
}

std::string_view WordPieceTokenizer::id_to_token(int32_t id) const {
  if (id < 0 || static_cast<size_t>(id) >= tables_->tokens.size()) return {};
  return tables_->tokens[static_cast<size_t>(id)];
}

int32_t WordPieceTokenizer::pad_id() const { return tables_->pad_id; }
int32_t WordPieceTokenizer::cls_id() const { return tables_->cls_id; }
int32_t WordPieceTokenizer::sep_id() const { return tables_->sep_id; }
int32_t WordPieceTokenizer::unk_id() const { return tables_->unk_id; }
size_t WordPieceTokenizer::vocab_size() const { return tables_->tokens.size(); }
const WordPieceSettings& WordPieceTokenizer::settings() const { return tables_->settings; }

}  // namespace mcpmem
