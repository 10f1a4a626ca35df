// hash-384: deterministic, unit norm, similar texts closer than unrelated ones, NFKC and case
// insensitive, and pinned golden values (stored vectors depend on them).
#include "embed/hash_embedder.h"

#include <gtest/gtest.h>

#include <cmath>

namespace mcpmem {
namespace {

float cosine(const std::vector<float>& a, const std::vector<float>& b) {
  float s = 0;
  for (size_t i = 0; i < a.size(); ++i) s += a[i] * b[i];
  return s;
}

TEST(HashEmbedder, DeterministicAndUnitNorm) {
  HashEmbedder e;
  EXPECT_EQ(e.model_id(), "hash-384");
  EXPECT_EQ(e.dimension(), 384u);
  auto a = e.embed("The cat sat on the mat");
  auto b = e.embed("The cat sat on the mat");
  ASSERT_EQ(a.size(), 384u);
  EXPECT_EQ(a, b);
  EXPECT_NEAR(cosine(a, a), 1.0f, 1e-5);
}

TEST(HashEmbedder, SimilarTextsScoreHigherThanUnrelated) {
  HashEmbedder e;
  auto base = e.embed("the cat sat on the mat");
  auto near = e.embed("a cat sat on a mat");
  auto far = e.embed("quarterly revenue grew in the third quarter");
  EXPECT_GT(cosine(base, near), 0.5f);
  EXPECT_GT(cosine(base, near), cosine(base, far) + 0.3f);
  // Word forms share character trigrams.
  EXPECT_GT(cosine(e.embed("deployment"), e.embed("deployments")), 0.4f);
  EXPECT_LT(std::fabs(cosine(e.embed("deployment"), e.embed("elephant"))), 0.2f);
}

TEST(HashEmbedder, CaseAndCompatibilityFormsDoNotMatter) {
  HashEmbedder e;
  EXPECT_NEAR(cosine(e.embed("Fullwidth TEXT"), e.embed("ｆｕｌｌｗｉｄｔｈ text")), 1.0f, 1e-5);
  EXPECT_NEAR(cosine(e.embed("STRASSE"), e.embed("straße")), 1.0f, 1e-5);  // case folding
}

TEST(HashEmbedder, NoFeaturesGiveZeros) {
  HashEmbedder e;
  for (float v : e.embed("  ...  !!! ")) EXPECT_EQ(v, 0.0f);
  for (float v : e.embed("")) EXPECT_EQ(v, 0.0f);
}

TEST(HashEmbedder, InvalidUtf8IsRefused) {
  HashEmbedder e;
  std::vector<float> out(384);
  EXPECT_EQ(e.embed("\xff\xfe", out).code(), StatusCode::kInvalidArgument);
  std::vector<float> wrong(10);
  EXPECT_FALSE(e.embed("ok", wrong).is_ok());
}

TEST(HashEmbedder, GoldenValuesArePinned) {
  // Vectors live in users' databases: any change here needs a new model id, not a new golden.
  HashEmbedder e;
  auto v = e.embed("hello world");
  std::vector<std::pair<size_t, float>> nonzero;
  for (size_t i = 0; i < v.size(); ++i) {
    if (v[i] != 0) nonzero.emplace_back(i, v[i]);
  }
  ASSERT_EQ(nonzero.size(), 13u);  // 2 words, 1 pair, 10 trigrams, no collisions
  const std::pair<size_t, float> golden[] = {
      {32, -0.184851706f}, {41, -0.184851706f}, {62, 0.184851706f}, {68, 0.184851706f},
      {126, 0.184851706f}, {186, 0.184851706f}, {221, 0.31688866f}, {226, -0.184851706f}};
  for (size_t i = 0; i < sizeof(golden) / sizeof(golden[0]); ++i) {
    EXPECT_EQ(nonzero[i].first, golden[i].first);
    EXPECT_NEAR(nonzero[i].second, golden[i].second, 1e-6);
  }
}

TEST(HashEmbedder, RegistryKnowsHashModels) {
  EXPECT_EQ((*make_embedder("hash-384"))->dimension(), 384u);
  EXPECT_EQ((*make_embedder("hash-256"))->model_id(), "hash-256");
  auto bad = make_embedder("all-MiniLM-L6-v2-typo");
  ASSERT_FALSE(bad.is_ok());
  EXPECT_NE(bad.status().message().find("hash-384"), std::string::npos);
}

}  // namespace
}  // namespace mcpmem
