// BertModel against PyTorch: the tiny random BERT of tests/fixtures/bert-tiny (and its F16 twin)
// must give the hidden states and the mean / CLS / max poolings, normalised or not, that the
// reference encoder in make_bert_fixture.py computed in float64 for a padded batch, within 1e-5,
// on both GEMM paths and with 1 or 2 threads; a sequence's result must not depend on its batch.
// Bad configs, damaged or mismatched weights and bad token ids are refused by name.
#include "embed/bert_model.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <functional>
#include <map>
#include <nlohmann/json.hpp>

#include "../temp_dir.h"
#include "embed/bert_kernels.h"

namespace mcpmem {
namespace {

namespace fs = std::filesystem;
using Json = nlohmann::json;

const std::string kTiny = std::string(MCP_TEST_FIXTURES) + "/bert-tiny";
const std::string kTinyF16 = std::string(MCP_TEST_FIXTURES) + "/bert-tiny-f16";
constexpr double kTolerance = 1e-5;

struct Reference {
  std::vector<std::vector<int32_t>> sequences;
  std::vector<std::vector<float>> hidden_states;  // per sequence, length x hidden
  std::map<std::string, std::vector<std::vector<float>>> pooled;
};

Reference load_reference(const std::string& dir) {
  std::ifstream in(dir + "/reference.json");
  const Json j = Json::parse(in);
  Reference r;
  r.sequences = j.at("sequences").get<std::vector<std::vector<int32_t>>>();
  r.hidden_states = j.at("hidden_states").get<std::vector<std::vector<float>>>();
  for (const auto& [key, value] : j.at("pooled").items()) {
    r.pooled[key] = value.get<std::vector<std::vector<float>>>();
  }
  return r;
}

double max_abs_difference(std::span<const float> a, std::span<const float> b) {
  EXPECT_EQ(a.size(), b.size());
  double worst = 0;
  for (size_t i = 0; i < std::min(a.size(), b.size()); ++i) {
    worst = std::max(worst, std::fabs(double{a[i]} - b[i]));
  }
  return worst;
}

BertModel load_or_die(const std::string& dir, BertOptions options = {}) {
  auto model = BertModel::load(dir, options);
  EXPECT_TRUE(model.is_ok()) << model.status().message();
  return std::move(model).value();
}

const char* pooling_key(Pooling pooling, bool normalize) {
  switch (pooling) {
    case Pooling::kMean:
      return normalize ? "mean_normalized" : "mean";
    case Pooling::kCls:
      return normalize ? "cls_normalized" : "cls";
    case Pooling::kMax:
      return normalize ? "max_normalized" : "max";
  }
  return "";
}

// --- The tiny model on each GEMM path, one and two threads. ---

struct RunSetup {
  bool force_openblas;
  int threads;
};

void PrintTo(const RunSetup& setup, std::ostream* out) {
  *out << (setup.force_openblas ? "OpenBLAS" : "best GEMM") << ", " << setup.threads
       << " thread(s)";
}

class BertTinyTest : public ::testing::TestWithParam<RunSetup> {
 protected:
  BertOptions options() const {
    return {.threads = GetParam().threads, .force_openblas = GetParam().force_openblas};
  }
};

TEST_P(BertTinyTest, HiddenStatesMatchTorchInAPaddedBatch) {
  const Reference ref = load_reference(kTiny);
  BertModel model = load_or_die(kTiny, options());
  auto states = model.forward(ref.sequences);
  ASSERT_TRUE(states.is_ok()) << states.status().message();
  ASSERT_EQ(states->sequences(), ref.sequences.size());
  for (size_t i = 0; i < ref.sequences.size(); ++i) {
    EXPECT_EQ(states->length(i), ref.sequences[i].size());
    EXPECT_LE(max_abs_difference(states->sequence(i), ref.hidden_states[i]), kTolerance)
        << "sequence " << i << " of " << ref.sequences[i].size() << " tokens";
  }
}

TEST_P(BertTinyTest, EveryPoolingMatchesTorch) {
  const Reference ref = load_reference(kTiny);
  BertModel model = load_or_die(kTiny, options());
  const size_t h = model.hidden_size();
  for (Pooling pooling : {Pooling::kMean, Pooling::kCls, Pooling::kMax}) {
    for (bool normalize : {false, true}) {
      const char* key = pooling_key(pooling, normalize);
      std::vector<float> out(ref.sequences.size() * h);
      ASSERT_TRUE(model.embed(ref.sequences, pooling, normalize, out).is_ok());
      for (size_t i = 0; i < ref.sequences.size(); ++i) {
        EXPECT_LE(max_abs_difference(std::span(out).subspan(i * h, h), ref.pooled.at(key)[i]),
                  kTolerance)
            << key << " of sequence " << i;
      }
    }
  }
}

TEST_P(BertTinyTest, ASequenceDoesNotDependOnItsBatch) {
  const Reference ref = load_reference(kTiny);
  BertModel model = load_or_die(kTiny, options());
  auto together = model.forward(ref.sequences);
  ASSERT_TRUE(together.is_ok());
  // Alone, and in another batch: reversed, with a duplicate.
  std::vector<std::vector<int32_t>> other(ref.sequences.rbegin(), ref.sequences.rend());
  other.push_back(ref.sequences[0]);
  auto shuffled = model.forward(other);
  ASSERT_TRUE(shuffled.is_ok());
  // Our AVX-512 kernel computes each token's dot products in the same order whatever the
  // batch: the same bits. OpenBLAS picks kernels by matrix size: the same to rounding.
  const double tolerance = std::string(model.gemm_name()) == "avx512" ? 0.0 : kTolerance;
  const size_t n = ref.sequences.size();
  for (size_t i = 0; i < n; ++i) {
    auto alone = model.forward(std::span(ref.sequences).subspan(i, 1));
    ASSERT_TRUE(alone.is_ok());
    EXPECT_LE(max_abs_difference(alone->sequence(0), together->sequence(i)), tolerance) << i;
    EXPECT_LE(max_abs_difference(shuffled->sequence(n - 1 - i), together->sequence(i)), tolerance)
        << i;
  }
  EXPECT_LE(max_abs_difference(shuffled->sequence(n), together->sequence(0)), tolerance);
}

INSTANTIATE_TEST_SUITE_P(GemmPathsAndThreads, BertTinyTest,
                         ::testing::Values(RunSetup{false, 1}, RunSetup{false, 2},
                                           RunSetup{true, 1}, RunSetup{true, 2}),
                         [](const ::testing::TestParamInfo<RunSetup>& info) {
                           return std::string(info.param.force_openblas ? "OpenBlas" : "Best") +
                                  (info.param.threads == 1 ? "OneThread" : "TwoThreads");
                         });

TEST(BertModel, F16WeightsMatchTorchOnTheRoundedWeights) {
  const Reference ref = load_reference(kTinyF16);
  BertModel model = load_or_die(kTinyF16);
  auto states = model.forward(ref.sequences);
  ASSERT_TRUE(states.is_ok()) << states.status().message();
  for (size_t i = 0; i < ref.sequences.size(); ++i) {
    EXPECT_LE(max_abs_difference(states->sequence(i), ref.hidden_states[i]), kTolerance) << i;
  }
  std::vector<float> out(ref.sequences.size() * model.hidden_size());
  ASSERT_TRUE(model.embed(ref.sequences, Pooling::kMean, true, out).is_ok());
  EXPECT_LE(max_abs_difference(out,
                               [&] {
                                 std::vector<float> all;
                                 for (const auto& v : ref.pooled.at("mean_normalized")) {
                                   all.insert(all.end(), v.begin(), v.end());
                                 }
                                 return all;
                               }()),
            kTolerance);
}

TEST(BertModel, UsesTheAvx512KernelWhereTheCpuHasIt) {
  EXPECT_STREQ(load_or_die(kTiny).gemm_name(), detail::cpu_has_avx512() ? "avx512" : "openblas");
  EXPECT_STREQ(load_or_die(kTiny, {.force_openblas = true}).gemm_name(), "openblas");
}

TEST(BertModel, EmptyBatchGivesNothing) {
  BertModel model = load_or_die(kTiny);
  auto states = model.forward({});
  ASSERT_TRUE(states.is_ok());
  EXPECT_EQ(states->sequences(), 0u);
  EXPECT_TRUE(model.embed({}, Pooling::kMean, true, {}).is_ok());
}

TEST(BertModel, BadTokenSequencesAreRefusedNamingThem) {
  BertModel model = load_or_die(kTiny);
  auto error = [&](std::vector<std::vector<int32_t>> batch) {
    auto states = model.forward(batch);
    EXPECT_EQ(states.status().code(), StatusCode::kInvalidArgument);
    return states.status().message();
  };
  EXPECT_EQ(error({{1, 2}, {}}), "token sequence 1: is empty");
  EXPECT_EQ(error({std::vector<int32_t>(41, 5)}),
            "token sequence 0: has 41 tokens; the model takes at most 40");
  EXPECT_EQ(error({{1, 96, 2}}),
            "token sequence 0: token 1 is id 96, outside the vocabulary of 96");
  EXPECT_EQ(error({{1, 2}, {1, -1, 2}}),
            "token sequence 1: token 1 is id -1, outside the vocabulary of 96");
  std::vector<float> wrong(31);
  EXPECT_EQ(
      model.embed(std::vector<std::vector<int32_t>>{{1, 2}}, Pooling::kCls, false, wrong).code(),
      StatusCode::kInvalidArgument);
}

TEST(BertModel, ThreadsOutOfRangeAreRefused) {
  EXPECT_EQ(BertModel::load(kTiny, {.threads = 0}).status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(BertModel::load(kTiny, {.threads = 65}).status().code(), StatusCode::kInvalidArgument);
}

TEST(BertModel, PoolingOfHandMadeStates) {
  const std::vector<float> states{1, -2, 3, 4, 0, -1};  // 3 tokens x 2
  std::vector<float> out(2);
  pool_hidden_states(states, Pooling::kMean, false, out);
  EXPECT_EQ(out, (std::vector<float>{4.0f / 3, 1.0f / 3}));
  pool_hidden_states(states, Pooling::kCls, false, out);
  EXPECT_EQ(out, (std::vector<float>{1, -2}));
  pool_hidden_states(states, Pooling::kMax, false, out);
  EXPECT_EQ(out, (std::vector<float>{3, 4}));
  pool_hidden_states(states, Pooling::kMax, true, out);
  EXPECT_EQ(out, (std::vector<float>{0.6f, 0.8f}));
  pool_hidden_states(std::vector<float>{0, 0}, Pooling::kMean, true, out);
  EXPECT_EQ(out, (std::vector<float>{0, 0}));  // zero stays zero, as F.normalize
}

// --- Model directories made wrong on purpose. ---

class BertModelFilesTest : public ::testing::Test {
 protected:
  void SetUp() override {
    fs::copy_file(kTiny + "/config.json", dir_ / "config.json");
    fs::copy_file(kTiny + "/model.safetensors", dir_ / "model.safetensors");
  }

  void edit_config(const std::function<void(Json&)>& edit) {
    std::ifstream in(kTiny + "/config.json");
    Json config = Json::parse(in);
    edit(config);
    std::ofstream(dir_ / "config.json") << config.dump();
  }
  // Rewrites model.safetensors' header (offsets count from the data region, so the data stays).
  void edit_header(const std::function<void(Json&)>& edit) {
    std::ifstream in(kTiny + "/model.safetensors", std::ios::binary);
    const std::string bytes((std::istreambuf_iterator<char>(in)), {});
    uint64_t n;
    std::memcpy(&n, bytes.data(), 8);
    Json header = Json::parse(bytes.substr(8, n));
    edit(header);
    std::string text = header.dump();
    text.append((8 - text.size() % 8) % 8, ' ');
    const uint64_t m = text.size();
    std::string out(8, '\0');
    std::memcpy(out.data(), &m, 8);
    std::ofstream(dir_ / "model.safetensors", std::ios::binary)
        << out << text << bytes.substr(8 + n);
  }
  Status load_error() {
    auto model = BertModel::load(dir_.path());
    EXPECT_FALSE(model.is_ok());
    return model.status();
  }
  std::string config_path() const { return dir_ / "config.json"; }
  std::string weights_path() const { return dir_ / "model.safetensors"; }

  TempDir dir_{"bert-model"};
};

TEST_F(BertModelFilesTest, BertPrefixedTensorNamesLoadTheSame) {
  edit_header([](Json& header) {
    Json renamed;
    for (auto& [key, value] : header.items()) {
      renamed[key == "__metadata__" ? key : "bert." + key] = value;
    }
    header = renamed;
  });
  const Reference ref = load_reference(kTiny);
  auto states = load_or_die(dir_.path()).forward(ref.sequences);
  ASSERT_TRUE(states.is_ok()) << states.status().message();
  for (size_t i = 0; i < ref.sequences.size(); ++i) {
    EXPECT_LE(max_abs_difference(states->sequence(i), ref.hidden_states[i]), kTolerance);
  }
}

TEST_F(BertModelFilesTest, UnsupportedConfigIsRefusedNamingTheSetting) {
  struct Case {
    const char* key;
    Json value;
    const char* message;
  };
  const Case cases[] = {
      {"hidden_act", "gelu_new",
       R"(: hidden_act "gelu_new" is not supported (only "gelu", the exact erf GELU))"},
      {"position_embedding_type", "relative_key",
       R"(: position_embedding_type "relative_key" is not supported (only "absolute")"},
      {"model_type", "roberta", R"(: model_type "roberta" is not supported (only "bert")"},
      {"num_attention_heads", 5, ": hidden_size 32 is not a multiple of num_attention_heads 5"},
      {"hidden_size", "32", ": hidden_size is not an integer"},
      {"vocab_size", -3, ": vocab_size is -3, outside 1..4194304"},
      {"layer_norm_eps", "tiny", ": layer_norm_eps \"tiny\" is not a number in (0, 1)"},
  };
  for (const Case& c : cases) {
    edit_config([&](Json& config) { config[c.key] = c.value; });
    Status s = load_error();
    EXPECT_EQ(s.code(), StatusCode::kInvalidArgument) << c.key;
    EXPECT_NE(s.message().find(config_path() + c.message), std::string::npos) << s.message();
  }
  edit_config([](Json& config) { config.erase("intermediate_size"); });
  EXPECT_EQ(load_error().message(), config_path() + ": intermediate_size is missing");

  std::ofstream(config_path()) << "{\"vocab_size\": 96,";
  EXPECT_EQ(load_error().code(), StatusCode::kCorruption);
}

TEST_F(BertModelFilesTest, ConfigThatDisagreesWithTheWeightsIsRefused) {
  edit_config([](Json& config) { config["num_hidden_layers"] = 3; });
  Status more = load_error();
  EXPECT_EQ(more.code(), StatusCode::kNotFound);
  EXPECT_EQ(more.message(),
            weights_path() + ": no tensor 'encoder.layer.2.attention.self.query.weight'");

  edit_config([](Json& config) { config["num_hidden_layers"] = 1; });
  EXPECT_NE(
      load_error().message().find("tensor 'encoder.layer.1.attention.self.query.weight' is beyond "
                                  "num_hidden_layers 1 of config.json"),
      std::string::npos);

  edit_config([](Json& config) { config["vocab_size"] = 100; });
  Status vocab = load_error();
  EXPECT_EQ(vocab.code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(vocab.message(), weights_path() +
                                 ": tensor 'embeddings.word_embeddings.weight' has shape "
                                 "[96, 32], expected [100, 32]");

  edit_config([](Json& config) { config["intermediate_size"] = 128; });
  EXPECT_EQ(load_error().message(), weights_path() +
                                        ": tensor 'encoder.layer.0.intermediate.dense.weight' "
                                        "has shape [64, 32], expected [128, 32]");
}

TEST_F(BertModelFilesTest, MissingOrMisshapenTensorIsNamed) {
  edit_header([](Json& header) { header.erase("encoder.layer.1.output.LayerNorm.bias"); });
  Status missing = load_error();
  EXPECT_EQ(missing.code(), StatusCode::kNotFound);
  EXPECT_EQ(missing.message(),
            weights_path() + ": no tensor 'encoder.layer.1.output.LayerNorm.bias'");

  edit_header([](Json& header) {
    header["encoder.layer.0.attention.self.key.weight"]["shape"] = {16, 64};
  });
  EXPECT_EQ(load_error().message(),
            weights_path() +
                ": tensor 'encoder.layer.0.attention.self.key.weight' has shape "
                "[16, 64], expected [32, 32]");

  edit_header([](Json& header) { header["embeddings.LayerNorm.weight"]["dtype"] = "I32"; });
  EXPECT_EQ(load_error().message(), weights_path() +
                                        ": tensor 'embeddings.LayerNorm.weight' is I32, "
                                        "expected F32, F16 or BF16");
}

TEST_F(BertModelFilesTest, MissingOrTruncatedFilesAreRefused) {
  fs::resize_file(weights_path(), fs::file_size(weights_path()) - 10);
  Status truncated = load_error();
  EXPECT_EQ(truncated.code(), StatusCode::kCorruption);
  EXPECT_NE(truncated.message().find(weights_path() + ": tensor 'pooler.dense.weight': data ends"),
            std::string::npos)
      << truncated.message();

  fs::remove(weights_path());
  EXPECT_EQ(load_error().code(), StatusCode::kNotFound);
  fs::remove(config_path());
  Status no_config = load_error();
  EXPECT_EQ(no_config.code(), StatusCode::kNotFound);
  EXPECT_NE(no_config.message().find("config.json"), std::string::npos);
}

}  // namespace
}  // namespace mcpmem
