// WordPieceTokenizer: the splits Hugging Face's BERT tokenizer makes (normalization, CJK,
// punctuation, greedy longest-match WordPiece, [UNK], special tokens, truncation), model
// directories in both layouts with their errors, and the real all-MiniLM-L6-v2 vocabulary
// (tests/fixtures/all-MiniLM-L6-v2, copied from the model as downloaded). No Python tokenizer
// exists on the build machines, so each expected split says why the reference makes it.
#include "embed/wordpiece_tokenizer.h"

#include <gtest/gtest.h>

#include <chrono>
#include <cstdio>
#include <fstream>
#include <random>

namespace mcpmem {
namespace {

namespace fs = std::filesystem;
using Pieces = std::vector<std::string>;
using Ids = std::vector<int32_t>;

const fs::path kMiniLm = fs::path(MCP_TEST_FIXTURES) / "all-MiniLM-L6-v2";

// Ids 0-4 are [PAD] [UNK] [CLS] [SEP] [MASK], as the vocabularies below list them.
std::vector<std::string> small_vocab() {
  return {"[PAD]",      "[UNK]", "[CLS]",  "[SEP]", "[MASK]",  // 0-4
          "un",         "##aff", "##able", "##a",   "aff",     // 5-9
          "hello",      "world", "cafe",   "café",  "Café",    // 10-14
          "!",          ",",     ".",      "[",     "]",       // 15-19
          "mask",       "中",    "国",     "人",    "##国",    // 20-24
          "##人",       "a",     "—",      "$",     "5€",      // 25-29
          "¿",          "«",     "»",      "hi",    "i",       // 30-34
          "##\xCC\x87", "σ",     "##ο",    "##φ",   "##ια",    // 35-39
          "##σ",        "##ς"};                                // 40-41
}

WordPieceTokenizer make(WordPieceSettings settings = {}) {
  auto t = WordPieceTokenizer::from_vocab(small_vocab(), std::move(settings));
  EXPECT_TRUE(t.is_ok()) << t.status().message();
  return std::move(t).value();
}

// A directory under the system temp dir, removed with everything in it.
class TempDir {
 public:
  TempDir() {
    std::random_device rd;
    path_ = fs::temp_directory_path() / ("mcpmem-wordpiece-" + std::to_string(rd()));
    fs::create_directories(path_);
  }
  ~TempDir() {
    std::error_code ec;
    fs::remove_all(path_, ec);
  }
  const fs::path& path() const { return path_; }
  void write(const std::string& name, const std::string& text) const {
    std::ofstream(path_ / name, std::ios::binary) << text;
  }

 private:
  fs::path path_;
};

std::string join_lines(const std::vector<std::string>& lines) {
  std::string text;
  for (const std::string& line : lines) text += line + "\n";
  return text;
}

// ---- splits, with a vocabulary the test makes ----

TEST(WordPieceTokenizer, GreedyLongestMatchFirstWithContinuationPieces) {
  const WordPieceTokenizer t = make();
  // From the left, the longest piece in the vocabulary: "un" (no "una..."), then "##aff" (longer
  // than "##a"), then "##able". Later pieces carry the "##" prefix, so "aff" is never used there.
  EXPECT_EQ(t.tokenize("unaffable"), (Pieces{"un", "##aff", "##able"}));
  EXPECT_EQ(t.tokenize("affable"), (Pieces{"aff", "##able"}));
  EXPECT_EQ(t.encode("unaffable", 256), (Ids{2, 5, 6, 7, 3}));
}

TEST(WordPieceTokenizer, WordThatCannotBeCoveredIsOneUnk) {
  const WordPieceTokenizer t = make();
  // "un" "##aff" "##able" then "x": no "##x", so the whole word is [UNK] (not the pieces found
  // so far followed by [UNK]); a word starting with no known piece likewise.
  EXPECT_EQ(t.tokenize("unaffablex hello"), (Pieces{"[UNK]", "hello"}));
  EXPECT_EQ(t.tokenize("zzz"), (Pieces{"[UNK]"}));
  EXPECT_EQ(t.encode("zzz", 8), (Ids{2, 1, 3}));
}

TEST(WordPieceTokenizer, WordOfMoreThan100CharactersIsUnk) {
  const WordPieceTokenizer t = make();
  // max_input_chars_per_word = 100 counts code points: 100 "a" are "a" + 99 "##a"; 101 are
  // [UNK] before any piece is looked up.
  const Pieces hundred = t.tokenize(std::string(100, 'a'));
  ASSERT_EQ(hundred.size(), 100u);
  EXPECT_EQ(hundred[0], "a");
  EXPECT_EQ(hundred[99], "##a");
  EXPECT_EQ(t.tokenize(std::string(101, 'a')), (Pieces{"[UNK]"}));
  // The limit counts code points after normalization, not bytes: 100 "á" (200 bytes) become
  // 100 "a", still within it.
  std::string accents;
  for (int i = 0; i < 100; ++i) accents += "á";
  EXPECT_EQ(t.tokenize(accents).size(), 100u);
  EXPECT_EQ(t.tokenize(accents + "á"), (Pieces{"[UNK]"}));
}

TEST(WordPieceTokenizer, AccentsAreStrippedWhenLowercasingUnlessTurnedOff) {
  // Default (do_lower_case, strip_accents null): lowercase, NFD, drop Mn: "Café" -> "cafe", also
  // when the accent comes decomposed (e + U+0301).
  EXPECT_EQ(make().tokenize("Café CAFE\xCC\x81"), (Pieces{"cafe", "cafe"}));
  // strip_accents false: lowercase only; "é" stays. The text is not recomposed (the fast
  // tokenizer has no NFC), so a decomposed "é" is "e" + U+0301, a word the vocabulary lacks.
  WordPieceSettings keep;
  keep.strip_accents = false;
  EXPECT_EQ(make(keep).tokenize("Café cafe\xCC\x81"), (Pieces{"café", "[UNK]"}));
  // Cased (lowercase false, strip_accents null follows it): the text as written.
  WordPieceSettings cased;
  cased.lowercase = false;
  EXPECT_EQ(make(cased).tokenize("Café café cafe"), (Pieces{"Café", "café", "cafe"}));
  // Cased with strip_accents true: accents go, case stays ("Cafe" is not in the vocabulary).
  cased.strip_accents = true;
  EXPECT_EQ(make(cased).tokenize("café Café"), (Pieces{"cafe", "[UNK]"}));
}

TEST(WordPieceTokenizer, LowercasingMapsEachCodePointAsRustDoes) {
  WordPieceSettings keep;
  keep.strip_accents = false;
  // U+0130 (İ) lowercases to "i" + U+0307, two code points (char::to_lowercase), and U+0307 is
  // a mark, not punctuation: one word "i̇" = "i" "##̇".
  EXPECT_EQ(make(keep).tokenize("\xC4\xB0"), (Pieces{"i", "##\xCC\x87"}));
  // With accents stripped, NFD splits İ into I + U+0307 first and the mark goes: "i".
  EXPECT_EQ(make().tokenize("\xC4\xB0"), (Pieces{"i"}));
  // No final-sigma rule (per code point, as tokenizers does): a word-final Σ is σ, not the ς
  // Python's str.lower() would give.
  EXPECT_EQ(make().tokenize("ΣΟΦΙΑΣ"), (Pieces{"σ", "##ο", "##φ", "##ια", "##σ"}));
}

TEST(WordPieceTokenizer, CjkIdeographsAreWordsOfTheirOwn) {
  // Each ideograph gets spaces around it, so "中国人" is three words "中" "国" "人".
  EXPECT_EQ(make().tokenize("中国人"), (Pieces{"中", "国", "人"}));
  EXPECT_EQ(make().tokenize("hello中国"), (Pieces{"hello", "中", "国"}));
  // handle_chinese_chars off: one word, split by WordPiece into "中" "##国" "##人".
  WordPieceSettings off;
  off.handle_chinese_chars = false;
  EXPECT_EQ(make(off).tokenize("中国人"), (Pieces{"中", "##国", "##人"}));
  // Hiragana is not in the CJK ideograph ranges: "の" is an ordinary (here unknown) word.
  EXPECT_EQ(make().tokenize("の中"), (Pieces{"[UNK]", "中"}));
}

TEST(WordPieceTokenizer, PunctuationIsSplitIntoTokensOfItsOwn) {
  const WordPieceTokenizer t = make();
  // ASCII 33-47, 58-64, 91-96, 123-126 are punctuation even where Unicode says symbol ("$" is Sc);
  // each mark is a word, also when repeated.
  EXPECT_EQ(t.tokenize("hello,world!!"), (Pieces{"hello", ",", "world", "!", "!"}));
  EXPECT_EQ(t.tokenize("$5"), (Pieces{"$", "[UNK]"}));
  // Non-ASCII P*: "—" (Pd), "¿" (Po), "«" "»" (Pi, Pf) split; "€" (Sc, not ASCII) does not.
  EXPECT_EQ(t.tokenize("¿hello—world«a»"), (Pieces{"¿", "hello", "—", "world", "«", "a", "»"}));
  EXPECT_EQ(t.tokenize("5€"), (Pieces{"5€"}));
}

TEST(WordPieceTokenizer, ControlCharactersGoAndWhitespaceSplits) {
  const WordPieceTokenizer t = make();
  // NUL, U+FFFD, other Cc and Cf (soft hyphen, zero-width space, BOM) are dropped, joining what
  // stood around them; \t \n \r and Unicode spaces (NBSP, ideographic space) split.
  EXPECT_EQ(t.tokenize(std::string("hel\0lo", 6)), (Pieces{"hello"}));
  EXPECT_EQ(t.tokenize("hel\xEF\xBF\xBDlo wor\xC2\xADld"), (Pieces{"hello", "world"}));
  EXPECT_EQ(t.tokenize("hel\xE2\x80\x8Blo\x01\x7F\xEF\xBB\xBF"), (Pieces{"hello"}));
  EXPECT_EQ(t.tokenize("hello\tworld\r\nhello\xC2\xA0world\xE3\x80\x80!"),
            (Pieces{"hello", "world", "hello", "world", "!"}));
  // \v and \f are control characters (Cc), dropped rather than splitting.
  EXPECT_EQ(t.tokenize("hel\vlo\fworld"), (Pieces{"[UNK]"}));  // "helloworld"
  // Invalid UTF-8 reads as U+FFFD, which clean_text drops.
  EXPECT_EQ(t.tokenize("hel\xFFlo"), (Pieces{"hello"}));
  // clean_text off: \v still splits (Unicode White_Space), NUL stays inside the word.
  WordPieceSettings raw;
  raw.clean_text = false;
  EXPECT_EQ(make(raw).tokenize("hello\vworld"), (Pieces{"hello", "world"}));
  EXPECT_EQ(make(raw).tokenize(std::string("hel\0lo", 6)), (Pieces{"[UNK]"}));
}

TEST(WordPieceTokenizer, EmptyTextIsClsSep) {
  const WordPieceTokenizer t = make();
  EXPECT_EQ(t.encode("", 256), (Ids{2, 3}));
  EXPECT_EQ(t.encode(" \t\n\x01 ", 256), (Ids{2, 3}));
  EXPECT_TRUE(t.tokenize("").empty());
}

TEST(WordPieceTokenizer, TruncationKeepsSep) {
  const WordPieceTokenizer t = make();
  EXPECT_EQ(t.encode("hello world , hello", 6), (Ids{2, 10, 11, 16, 10, 3}));  // fits exactly
  EXPECT_EQ(t.encode("hello world , hello", 4), (Ids{2, 10, 11, 3}));
  // A word's pieces can be cut in the middle, as the reference truncates ids, not words.
  EXPECT_EQ(t.encode("unaffable", 4), (Ids{2, 5, 6, 3}));
  EXPECT_EQ(t.encode("hello", 2), (Ids{2, 3}));
  EXPECT_EQ(t.encode("hello", 0), (Ids{2, 3}));  // below 2 counts as 2
  // A long text stops early and still ends with [SEP].
  std::string long_text;
  for (int i = 0; i < 50000; ++i) long_text += "hello world ";
  const Ids ids = t.encode(long_text, 256);
  ASSERT_EQ(ids.size(), 256u);
  EXPECT_EQ(ids.front(), 2);
  EXPECT_EQ(ids[254], 11);
  EXPECT_EQ(ids.back(), 3);
}

TEST(WordPieceTokenizer, SpecialTokensInTheTextAreKeptWhole) {
  const WordPieceTokenizer t = make();
  // Hugging Face cuts special tokens out of the raw text before normalizing, case-sensitively:
  // "[MASK]" is id 4, while "[mask]" is "[", "mask", "]" and "[MASK" is "[", "mask".
  EXPECT_EQ(t.tokenize("hello[MASK]world [mask] [MASK"),
            (Pieces{"hello", "[MASK]", "world", "[", "mask", "]", "[", "mask"}));
  EXPECT_EQ(t.encode("[CLS]hello[SEP]", 256), (Ids{2, 2, 10, 3, 3}));
}

TEST(WordPieceTokenizer, VocabularyLookups) {
  const WordPieceTokenizer t = make();
  EXPECT_EQ(t.vocab_size(), small_vocab().size());
  EXPECT_EQ(t.token_to_id("##aff"), 6);
  EXPECT_EQ(t.token_to_id("nope"), std::nullopt);
  EXPECT_EQ(t.id_to_token(13), "café");
  EXPECT_EQ(t.id_to_token(-1), "");
  EXPECT_EQ(t.id_to_token(1000), "");
  EXPECT_EQ(t.pad_id(), 0);
  EXPECT_EQ(t.unk_id(), 1);
  EXPECT_EQ(t.cls_id(), 2);
  EXPECT_EQ(t.sep_id(), 3);
  const WordPieceTokenizer copy = t;  // copies share the tables
  EXPECT_EQ(copy.tokenize("unaffable"), t.tokenize("unaffable"));
}

TEST(WordPieceTokenizer, FromVocabRefusesMissingSpecialTokens) {
  auto no_unk = WordPieceTokenizer::from_vocab({"[PAD]", "[CLS]", "[SEP]", "a"});
  ASSERT_FALSE(no_unk.is_ok());
  EXPECT_EQ(no_unk.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(no_unk.status().message().find("[UNK]"), std::string::npos);
  WordPieceSettings custom;
  custom.cls_token = "<s>";
  auto no_cls = WordPieceTokenizer::from_vocab(small_vocab(), custom);
  ASSERT_FALSE(no_cls.is_ok());
  EXPECT_NE(no_cls.status().message().find("<s>"), std::string::npos);
}

// ---- model directories ----

// A tokenizer.json as `tokenizers` writes it for an uncased BERT, over the small vocabulary.
std::string tokenizer_json(const std::string& normalizer = R"({"type": "BertNormalizer",
    "clean_text": true, "handle_chinese_chars": true, "strip_accents": null, "lowercase": true})",
                           const std::string& model_type = "WordPiece") {
  std::string vocab;
  const std::vector<std::string> tokens = small_vocab();
  for (size_t i = 0; i < tokens.size(); ++i) {
    vocab += (i ? ", \"" : "\"") + tokens[i] + "\": " + std::to_string(i);
  }
  return R"({"version": "1.0", "truncation": {"max_length": 128, "strategy": "LongestFirst"},
  "padding": null,
  "added_tokens": [
    {"id": 0, "content": "[PAD]", "single_word": false, "lstrip": false, "rstrip": false, "normalized": false, "special": true},
    {"id": 1, "content": "[UNK]", "single_word": false, "lstrip": false, "rstrip": false, "normalized": false, "special": true},
    {"id": 2, "content": "[CLS]", "single_word": false, "lstrip": false, "rstrip": false, "normalized": false, "special": true},
    {"id": 3, "content": "[SEP]", "single_word": false, "lstrip": false, "rstrip": false, "normalized": false, "special": true},
    {"id": 4, "content": "[MASK]", "single_word": false, "lstrip": false, "rstrip": false, "normalized": false, "special": true}],
  "normalizer": )" +
         normalizer + R"(,
  "pre_tokenizer": {"type": "BertPreTokenizer"},
  "post_processor": {"type": "TemplateProcessing",
    "single": [{"SpecialToken": {"id": "[CLS]", "type_id": 0}}, {"Sequence": {"id": "A", "type_id": 0}},
               {"SpecialToken": {"id": "[SEP]", "type_id": 0}}],
    "pair": [],
    "special_tokens": {"[CLS]": {"id": "[CLS]", "ids": [2], "tokens": ["[CLS]"]},
                       "[SEP]": {"id": "[SEP]", "ids": [3], "tokens": ["[SEP]"]}}},
  "decoder": {"type": "WordPiece", "prefix": "##", "cleanup": true},
  "model": {"type": ")" +
         model_type + R"(", "unk_token": "[UNK]", "continuing_subword_prefix": "##",
    "max_input_chars_per_word": 100, "vocab": {)" +
         vocab + "}}}";
}

TEST(WordPieceTokenizer, LoadsATokenizerJsonOnlyDirectory) {
  TempDir dir;
  dir.write("tokenizer.json", tokenizer_json());
  auto t = WordPieceTokenizer::load(dir.path());
  ASSERT_TRUE(t.is_ok()) << t.status().message();
  EXPECT_TRUE(t->settings().lowercase);
  EXPECT_TRUE(t->settings().strips_accents());
  EXPECT_EQ(t->settings().max_length, 128u);
  EXPECT_EQ(t->settings().special_tokens,
            (std::vector<std::string>{"[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"}));
  EXPECT_EQ(t->encode("Unaffable CAFÉ, [MASK]!", 256), (Ids{2, 5, 6, 7, 12, 16, 4, 15, 3}));
  EXPECT_EQ(t->vocab_size(), small_vocab().size());

  // A cased BertNormalizer with accents kept; truncation and padding absent.
  dir.write("tokenizer.json", tokenizer_json(R"({"type": "BertNormalizer", "clean_text": true,
      "handle_chinese_chars": false, "strip_accents": false, "lowercase": false})"));
  auto cased = WordPieceTokenizer::load(dir.path());
  ASSERT_TRUE(cased.is_ok()) << cased.status().message();
  EXPECT_FALSE(cased->settings().handle_chinese_chars);
  EXPECT_EQ(cased->tokenize("Café 中国人"), (Pieces{"Café", "中", "##国", "##人"}));

  // No normalizer at all (the text as written), and the older BertProcessing post-processor.
  std::string bert_processing = tokenizer_json("null");
  const size_t post = bert_processing.find("\"post_processor\"");
  const size_t decoder = bert_processing.find("\"decoder\"");
  bert_processing.replace(post, decoder - post, R"("post_processor": {"type": "BertProcessing",
      "sep": ["[SEP]", 3], "cls": ["[CLS]", 2]}, )");
  dir.write("tokenizer.json", bert_processing);
  auto raw = WordPieceTokenizer::load(dir.path());
  ASSERT_TRUE(raw.is_ok()) << raw.status().message();
  EXPECT_FALSE(raw->settings().clean_text);
  EXPECT_FALSE(raw->settings().strips_accents());
  EXPECT_EQ(raw->encode("Café hello", 256), (Ids{2, 14, 10, 3}));
}

TEST(WordPieceTokenizer, LoadsAVocabTxtDirectory) {
  TempDir dir;
  dir.write("vocab.txt", join_lines(small_vocab()));
  auto defaults = WordPieceTokenizer::load(dir.path());  // BertTokenizer's defaults: uncased
  ASSERT_TRUE(defaults.is_ok()) << defaults.status().message();
  EXPECT_EQ(defaults->tokenize("Café"), (Pieces{"cafe"}));
  EXPECT_EQ(defaults->settings().max_length, 0u);

  // transformers writes special tokens as strings or as AddedToken objects, and model_max_length
  // 1e30 for "no limit"; special_tokens_map.json overrides tokenizer_config.json.
  dir.write("tokenizer_config.json", R"({"do_lower_case": false, "strip_accents": null,
      "tokenize_chinese_chars": true, "model_max_length": 1000000000000000019884624838656,
      "unk_token": {"__type": "AddedToken", "content": "[UNK]", "lstrip": false},
      "cls_token": "[SEP]", "tokenizer_class": "BertTokenizer"})");
  dir.write("special_tokens_map.json", R"({"cls_token": "[CLS]", "mask_token": "[MASK]",
      "additional_special_tokens": ["hello"]})");
  auto cased = WordPieceTokenizer::load(dir.path());
  ASSERT_TRUE(cased.is_ok()) << cased.status().message();
  EXPECT_FALSE(cased->settings().lowercase);
  EXPECT_EQ(cased->settings().max_length, 0u);
  EXPECT_EQ(cased->cls_id(), 2);
  EXPECT_EQ(cased->encode("Café café", 256), (Ids{2, 14, 13, 3}));
  // An additional special token is cut out of the text whole, even inside a word.
  EXPECT_EQ(cased->tokenize("unhelloaffable"), (Pieces{"un", "hello", "aff", "##able"}));

  // Windows line ends and a last line without one: ids are still line numbers.
  std::string crlf;
  for (const std::string& token : small_vocab()) crlf += token + "\r\n";
  dir.write("vocab.txt", crlf + "zebra");
  dir.write("tokenizer_config.json", R"({"model_max_length": 512})");
  auto windows = WordPieceTokenizer::load(dir.path());
  ASSERT_TRUE(windows.is_ok()) << windows.status().message();
  EXPECT_EQ(windows->token_to_id("zebra"), static_cast<int32_t>(small_vocab().size()));
  EXPECT_EQ(windows->token_to_id("hello"), 10);
  EXPECT_EQ(windows->settings().max_length, 512u);
}

// The error of loading `dir`, which must fail with `code`, naming `file` and `what`.
void expect_load_error(const TempDir& dir, StatusCode code, const std::string& file,
                       const std::string& what) {
  auto t = WordPieceTokenizer::load(dir.path());
  ASSERT_FALSE(t.is_ok());
  const std::string message = t.status().message();
  EXPECT_EQ(t.status().code(), code) << message;
  EXPECT_NE(message.find(file), std::string::npos) << message;
  EXPECT_NE(message.find(what), std::string::npos) << message;
}

TEST(WordPieceTokenizer, BadModelDirectoriesAreErrorsNamingFileAndProblem) {
  EXPECT_EQ(WordPieceTokenizer::load("/nonexistent/model").status().code(), StatusCode::kNotFound);
  TempDir dir;
  expect_load_error(dir, StatusCode::kNotFound, dir.path().string(), "vocab.txt");

  dir.write("tokenizer.json", "{\"model\": ");
  expect_load_error(dir, StatusCode::kCorruption, "tokenizer.json", "not valid JSON");
  dir.write("tokenizer.json", tokenizer_json(R"({"type": "Sequence", "normalizers": []})"));
  expect_load_error(dir, StatusCode::kInvalidArgument, "tokenizer.json: normalizer.type",
                    "Sequence");
  dir.write("tokenizer.json", tokenizer_json(R"({"type": "BertNormalizer", "lowercase": "yes"})"));
  expect_load_error(dir, StatusCode::kCorruption, "tokenizer.json: normalizer.lowercase",
                    "true or false");
  dir.write("tokenizer.json", tokenizer_json("null", "BPE"));
  expect_load_error(dir, StatusCode::kInvalidArgument, "tokenizer.json: model.type", "BPE");
  std::string whitespace = tokenizer_json();
  whitespace.replace(whitespace.find("BertPreTokenizer"), 16, "WhitespaceSplit");
  dir.write("tokenizer.json", whitespace);
  expect_load_error(dir, StatusCode::kInvalidArgument, "tokenizer.json: pre_tokenizer",
                    "WhitespaceSplit");
  std::string no_unk = tokenizer_json();
  no_unk.replace(no_unk.find("\"unk_token\": \"[UNK]\""), 20, "\"unk_token\": \"<unk>\"");
  dir.write("tokenizer.json", no_unk);
  expect_load_error(dir, StatusCode::kInvalidArgument, "tokenizer.json", "<unk>");
  std::string wrong_id = tokenizer_json();
  wrong_id.replace(wrong_id.find("\"ids\": [2]"), 10, "\"ids\": [7]");
  dir.write("tokenizer.json", wrong_id);
  expect_load_error(dir, StatusCode::kCorruption, "tokenizer.json: post_processor", "[CLS]");
  fs::remove(dir.path() / "tokenizer.json");

  // vocab.txt without [UNK]; then a config of the wrong type; then one we cannot honour.
  std::vector<std::string> tokens = small_vocab();
  tokens[1] = "[UNKNOWN]";
  dir.write("vocab.txt", join_lines(tokens));
  expect_load_error(dir, StatusCode::kInvalidArgument, "vocab.txt", "[UNK]");
  dir.write("vocab.txt", join_lines(small_vocab()));
  dir.write("tokenizer_config.json", R"({"do_lower_case": 1})");
  expect_load_error(dir, StatusCode::kCorruption, "tokenizer_config.json: do_lower_case",
                    "true or false");
  dir.write("tokenizer_config.json", R"({"do_basic_tokenize": false})");
  expect_load_error(dir, StatusCode::kInvalidArgument, "tokenizer_config.json: do_basic_tokenize",
                    "not supported");
  dir.write("tokenizer_config.json",
            R"({"added_tokens_decoder": {"7": {"content": "[NEW]", "special": true}}})");
  expect_load_error(dir, StatusCode::kInvalidArgument,
                    "tokenizer_config.json: added_tokens_decoder", "[NEW]");
  dir.write("tokenizer_config.json", "[]");
  expect_load_error(dir, StatusCode::kCorruption, "tokenizer_config.json", "not a JSON object");
}

// ---- the real all-MiniLM-L6-v2 vocabulary ----

WordPieceTokenizer mini_lm() {
  auto t = WordPieceTokenizer::load(kMiniLm);
  EXPECT_TRUE(t.is_ok()) << t.status().message();
  return std::move(t).value();
}

TEST(WordPieceTokenizer, MiniLmGivesTheReferenceIds) {
  const WordPieceTokenizer t = mini_lm();
  EXPECT_EQ(t.vocab_size(), 30522u);
  EXPECT_EQ(t.pad_id(), 0);
  EXPECT_EQ(t.unk_id(), 100);
  EXPECT_EQ(t.cls_id(), 101);
  EXPECT_EQ(t.sep_id(), 102);
  EXPECT_EQ(t.settings().max_length, 128u);  // tokenizer.json; sentence-transformers uses 256
  // The model card's example, as sentence-transformers encodes it.
  EXPECT_EQ(t.encode("A man is eating food.", 256),
            (Ids{101, 1037, 2158, 2003, 5983, 2833, 1012, 102}));
  // bert-base-uncased's vocabulary (which this model uses) has no "unaffable": the longest
  // known start is "una", then "##ffa" (no "##ffab..."), then "##ble" for what is left.
  EXPECT_EQ(t.tokenize("unaffable"), (Pieces{"una", "##ffa", "##ble"}));
  // Accents stripped, case folded; "!" and "?" split.
  EXPECT_EQ(t.tokenize("Héllo Wörld! Ça va? naïve café résumé"),
            (Pieces{"hello", "world", "!", "ca", "va", "?", "naive", "cafe", "resume"}));
  // Ideographs one by one; those this English vocabulary lacks are [UNK] each.
  EXPECT_EQ(t.encode("北京欢迎你", 256), (Ids{101, 1781, 1755, 100, 100, 100, 102}));
  // Emoji are not punctuation: "🍕🙂" is one unknown word.
  EXPECT_EQ(t.tokenize("pizza 🍕🙂!"), (Pieces{"pizza", "[UNK]", "!"}));
  // Numbers split at "." and ","; "$" and "%" are punctuation.
  EXPECT_EQ(t.tokenize("$1,234.56 (20%)"),
            (Pieces{"$", "1", ",", "234", ".", "56", "(", "20", "%", ")"}));
  // Hangul syllables decompose into conjoining jamo under NFD (strip_accents), which the
  // vocabulary holds as pieces: 한 = ᄒ ᅡ ᆫ.
  EXPECT_EQ(t.tokenize("한"), (Pieces{"ᄒ", "##ᅡ", "##ᆫ"}));
  // İ: NFD is I + U+0307, the mark goes, then lowercase: "istanbul".
  EXPECT_EQ(t.tokenize("İstanbul"), (Pieces{"istanbul"}));
}

TEST(WordPieceTokenizer, MiniLmTokenizerJsonAndVocabTxtAgree) {
  TempDir vocab_only;  // the older layout: no tokenizer.json
  for (const char* name : {"vocab.txt", "tokenizer_config.json", "special_tokens_map.json"}) {
    fs::copy_file(kMiniLm / name, vocab_only.path() / name);
  }
  const WordPieceTokenizer from_json = mini_lm();
  auto from_txt = WordPieceTokenizer::load(vocab_only.path());
  ASSERT_TRUE(from_txt.is_ok()) << from_txt.status().message();
  EXPECT_EQ(from_txt->settings().max_length, 512u);  // tokenizer_config.json's model_max_length
  EXPECT_EQ(from_txt->vocab_size(), from_json.vocab_size());

  const std::string long_word(150, 'x');
  const std::vector<std::string> texts = {
      "A man is eating food.",
      "Héllo Wörld! Ça va? naïve café résumé Ångström ß ẞ",
      "北京欢迎你, 我爱东京 東京タワーに行きました 한국어 문장입니다",
      "I love pizza 🍕🙂 and 🥰! 👨‍👩‍👧 ❤️",
      "The price is $1,234.56 (approx.) — about 20% off... «quoted» ¿qué?",
      "Supercalifragilisticexpialidocious antidisestablishmentarianism " + long_word,
      "numbers 3.14159 2024-06-01 10:30pm 1e-9 x²+y³ ½ ﬁne",
      "e-mail: someone@example.com, https://example.org/path?q=1&r=2",
      "ΣΟΦΙΑ σοφία Привет, мир! Ёлка İstanbul",
      "tab\there\nnewline\r\ncr\xC2\xA0nbsp\xE2\x80\x83"
      "emsp\xE2\x80\x8Bzwsp\xC2\xAD"
      "soft",
      std::string("nul") + '\0' + "byte \x01\x7F and invalid \xFF\xFE utf-8",
      "[CLS] inside [MASK] text [mask] [SEP]",
      "",
  };
  for (const std::string& text : texts) {
    EXPECT_EQ(from_json.encode(text, 256), from_txt->encode(text, 256)) << text;
    EXPECT_EQ(from_json.tokenize(text), from_txt->tokenize(text)) << text;
  }
}

TEST(WordPieceTokenizer, LongTextsGiveTheIdsOfTheirPartsAndTruncateToAPrefix) {
  // Words are independent, so a text of many sentences joined by spaces has the pieces of each
  // sentence in turn: this holds across the 1 KB chunks the tokenizer works in, with special
  // tokens and multi-byte characters around the cuts. A truncated encode is a prefix of the
  // full one, closed by [SEP].
  const WordPieceTokenizer t = mini_lm();
  const std::vector<std::string> parts = {
      "Héllo Wörld! naïve café", "北京欢迎你 [MASK] 東京タワー", "pizza 🍕🙂 and 🥰!",
      "Supercalifragilisticexpialidocious 3.14159 résumé", "[SEP] 한국어\tΣΟΦΙΑ\nПривет"};
  std::string text;
  Pieces expected;
  for (int i = 0; text.size() < 5000; ++i) {
    const std::string& part = parts[static_cast<size_t>(i) % parts.size()];
    text += part + " ";
    const Pieces pieces = t.tokenize(part);
    expected.insert(expected.end(), pieces.begin(), pieces.end());
  }
  EXPECT_EQ(t.tokenize(text), expected);
  const Ids full = t.encode(text, SIZE_MAX);
  ASSERT_EQ(full.size(), expected.size() + 2);
  for (size_t max_tokens : {2, 3, 17, 256, 700}) {
    Ids prefix(full.begin(), full.begin() + static_cast<std::ptrdiff_t>(max_tokens - 1));
    prefix.push_back(t.sep_id());
    EXPECT_EQ(t.encode(text, max_tokens), prefix) << max_tokens;
  }
}

TEST(WordPieceTokenizer, TypicalSentenceTokenizesInMicroseconds) {
  const WordPieceTokenizer t = mini_lm();
  const std::string sentence =
      "Remember that the deployment pipeline for the payments service runs every weekday at "
      "nine, and that Maria owns the database migrations while Tom reviews the API changes.";
  constexpr int kRuns = 20000;
  size_t total = 0;
  const auto start = std::chrono::steady_clock::now();
  for (int i = 0; i < kRuns; ++i) total += t.encode(sentence, 256).size();
  const double us =
      std::chrono::duration<double, std::micro>(std::chrono::steady_clock::now() - start).count() /
      kRuns;
  EXPECT_EQ(total, size_t{kRuns} * t.encode(sentence, 256).size());
  RecordProperty("encode_us", std::to_string(us));
  std::printf("encode of a 29-word sentence: %.2f us\n", us);
#ifndef MCP_SANITIZED
  EXPECT_LT(us, 50.0);  // a few microseconds when not shared; the bound leaves room for load
#endif
}

}  // namespace
}  // namespace mcpmem
