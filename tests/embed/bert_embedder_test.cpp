// The sentence-transformers glue around the encoder: a model directory as Hugging Face serves
// it (the tiny random BERT of tests/fixtures/bert-tiny, a vocabulary, modules.json, a pooling
// config, prompts, max_seq_length) becomes an Embedder whose vectors are exactly the encoder's
// pooled, normalised output for the tokenized, prompted text; the registry finds it by
// bert:<dir> or by name under the models directory, and names the pull command when absent.
#include "embed/bert_embedder.h"

#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <fstream>

#include "../temp_dir.h"
#include "embed/wordpiece_tokenizer.h"

namespace mcpmem {
namespace {

namespace fs = std::filesystem;

void write(const fs::path& p, const std::string& text) {
  fs::create_directories(p.parent_path());
  std::ofstream(p) << text;
}

class BertEmbedderTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::path(root_.path()) / "models" / "acme" / "e5-tiny";
    fs::create_directories(dir_);
    for (const char* f : {"config.json", "model.safetensors"}) {
      fs::copy_file(fs::path(MCP_TEST_FIXTURES) / "bert-tiny" / f, dir_ / f);
    }
    // 96 tokens, as the tiny model's vocabulary: the specials, then words and pieces.
    std::string vocab = "[PAD]\n[UNK]\n[CLS]\n[SEP]\n[MASK]\n";
    const char* words[] = {"the", "cat", "sat",  "on", "mat",    "query", "passage", ":", "dog",
                           "##s", "run", "fast", "a",  "memory", "of",    "rain",    "."};
    int n = 5;
    for (const char* w : words) vocab += std::string(w) + "\n", ++n;
    for (; n < 96; ++n) vocab += "w" + std::to_string(n) + "\n";
    write(dir_ / "vocab.txt", vocab);
    write(dir_ / "modules.json",
          R"([{"idx":0,"name":"0","path":"","type":"sentence_transformers.models.Transformer"},
              {"idx":1,"name":"1","path":"1_Pooling","type":"sentence_transformers.models.Pooling"},
              {"idx":2,"name":"2","path":"2_Normalize","type":"sentence_transformers.models.Normalize"}])");
    write(dir_ / "1_Pooling/config.json",
          R"({"pooling_mode_cls_token": true, "pooling_mode_mean_tokens": false})");
    write(dir_ / "sentence_bert_config.json", R"({"max_seq_length": 6, "do_lower_case": false})");
  }
  // What the pieces give: the encoder's CLS state of tokenize(prompt + text), normalised.
  std::vector<float> expected(const std::string& text, Pooling pooling, size_t max_tokens) {
    auto tok = WordPieceTokenizer::load(dir_);
    auto model = BertModel::load(dir_.string());
    EXPECT_TRUE(tok.is_ok() && model.is_ok());
    std::vector<std::vector<int32_t>> ids = {tok->encode(text, max_tokens)};
    std::vector<float> out(32);
    EXPECT_TRUE(model->embed(ids, pooling, true, out).is_ok());
    return out;
  }

  TempDir root_{"bert"};
  fs::path dir_;
};

void expect_near(const std::vector<float>& a, const std::vector<float>& b) {
  ASSERT_EQ(a.size(), b.size());
  for (size_t i = 0; i < a.size(); ++i) EXPECT_NEAR(a[i], b[i], 1e-6) << i;
}

TEST_F(BertEmbedderTest, VectorsAreTheEncodersPooledOutputOfThePromptedTruncatedText) {
  // e5 models get their prompts from the name when the repository does not declare them.
  auto e = make_bert_embedder(dir_, "acme/e5-tiny", 2);
  ASSERT_TRUE(e.is_ok()) << e.status().message();
  EXPECT_EQ((*e)->dimension(), 32u);
  EXPECT_EQ((*e)->model_id(), "acme/e5-tiny");
  std::vector<float> doc((*e)->dimension()), query((*e)->dimension());
  ASSERT_TRUE((*e)->embed("the cat sat on the mat", doc).is_ok());
  ASSERT_TRUE((*e)->embed_query("the cat sat on the mat", query).is_ok());
  // max_seq_length 6: [CLS] passage : the cat [SEP].
  expect_near(doc, expected("passage: the cat sat on the mat", Pooling::kCls, 6));
  expect_near(query, expected("query: the cat sat on the mat", Pooling::kCls, 6));
  double norm = 0;
  for (float v : doc) norm += v * v;
  EXPECT_NEAR(norm, 1.0, 1e-5);

  // A batch gives what one at a time gives.
  const std::string_view texts[] = {"dogs run fast", "a memory of rain .", "the cat"};
  std::vector<float> batch(3 * 32);
  ASSERT_TRUE((*e)->embed_batch(texts, batch).is_ok());
  for (size_t i = 0; i < 3; ++i) {
    std::vector<float> one(32);
    ASSERT_TRUE((*e)->embed(texts[i], one).is_ok());
    expect_near(std::vector<float>(batch.begin() + i * 32, batch.begin() + (i + 1) * 32), one);
  }
}

TEST_F(BertEmbedderTest, DeclaredPromptsPoolingAndLowerCasingAreFollowed) {
  write(dir_ / "1_Pooling/config.json", R"({"pooling_mode_mean_tokens": true})");
  write(dir_ / "sentence_bert_config.json", R"({"max_seq_length": 32, "do_lower_case": true})");
  write(dir_ / "config_sentence_transformers.json",
        R"({"prompts": {"query": "query : ", "document": ""}})");
  auto layout = read_sentence_layout(dir_, "acme/e5-tiny");
  ASSERT_TRUE(layout.is_ok()) << layout.status().message();
  EXPECT_EQ(layout->pooling, Pooling::kMean);
  EXPECT_EQ(layout->query_prompt, "query : ");
  EXPECT_EQ(layout->document_prompt, "");
  EXPECT_TRUE(layout->lower_case_input);
  auto e = make_bert_embedder(dir_, "acme/e5-tiny", 1);
  ASSERT_TRUE(e.is_ok()) << e.status().message();
  std::vector<float> v(32);
  ASSERT_TRUE((*e)->embed_query("THE Cat", v).is_ok());
  expect_near(v, expected("query : the cat", Pooling::kMean, 32));
}

TEST_F(BertEmbedderTest, SettingsWeCannotComputeAreErrorsNamingTheFile) {
  struct Case {
    const char* file;
    const char* text;
    const char* says;
  } cases[] = {
      {"1_Pooling/config.json", R"({"pooling_mode_mean_sqrt_len_tokens": true})", "not supported"},
      {"1_Pooling/config.json",
       R"({"pooling_mode_mean_tokens": true, "pooling_mode_cls_token": true})", "exactly one"},
      {"modules.json", R"([{"type": "sentence_transformers.models.Dense", "path": "2_Dense"}])",
       "Dense"},
      {"modules.json", R"([{"type": "sentence_transformers.models.Pooling", "path": "../x"}])",
       "leaves"},
      {"modules.json", "{not json", "not a JSON"},
  };
  for (const Case& c : cases) {
    const std::string saved = [&] {
      std::ifstream in(dir_ / c.file);
      return std::string(std::istreambuf_iterator<char>(in), {});
    }();
    write(dir_ / c.file, c.text);
    auto e = make_bert_embedder(dir_, "acme/tiny", 1);
    ASSERT_FALSE(e.is_ok()) << c.text;
    EXPECT_NE(e.status().message().find(c.says), std::string::npos) << e.status().message();
    EXPECT_NE(e.status().message().find(dir_.string()), std::string::npos) << e.status().message();
    write(dir_ / c.file, saved);
  }
}

TEST_F(BertEmbedderTest, TheRegistryFindsModelsByDirectoryOrNameAndNamesThePullCommand) {
  EmbedderOptions o;
  o.models_dir = root_ / "models";
  auto by_dir = make_embedder("bert:" + dir_.string(), o);
  ASSERT_TRUE(by_dir.is_ok()) << by_dir.status().message();
  EXPECT_EQ((*by_dir)->dimension(), 32u);
  auto by_name = make_embedder("acme/e5-tiny", o);
  ASSERT_TRUE(by_name.is_ok()) << by_name.status().message();
  EXPECT_EQ((*by_name)->model_id(), "acme/e5-tiny");
  auto absent = make_embedder("all-MiniLM-L6-v2", o);
  ASSERT_FALSE(absent.is_ok());
  EXPECT_EQ(absent.status().code(), StatusCode::kFailedPrecondition);
  EXPECT_NE(absent.status().message().find("mcp-memory model pull all-MiniLM-L6-v2"),
            std::string::npos)
      << absent.status().message();
}

}  // namespace
}  // namespace mcpmem
