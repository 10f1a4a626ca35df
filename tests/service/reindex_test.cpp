// The model behind a database's vectors: another model is refused until `reindex` re-embeds
// them; a reindex resumes after an interruption, answers searches on the old vectors until it
// switches, takes in memories stored meanwhile, and stops processes still on the old model
// from mixing their vectors in afterwards.
#include "service/reindex.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <stdexcept>

#include "../temp_dir.h"
#include "../tiny_bert.h"
#include "embed/model_store.h"
#include "service/memory_service.h"

namespace mcpmem {
namespace {

namespace fs = std::filesystem;

class ReindexTest : public ::testing::Test {
 protected:
  void SetUp() override {
    config_ = config_from_env({{"HOME", dir_.path()}, {"MCP_MEMORY_BASE_DIR", dir_.path()}});
    config_.db_path = dir_ / "memories.db";
    config_.synchronous_full = false;
  }

  std::unique_ptr<MemoryService> open(const std::string& model = "") {
    Config c = config_;
    c.embedding_model = model;
    auto s = MemoryService::open(c);
    EXPECT_TRUE(s.is_ok()) << s.status().message();
    return s.is_ok() ? std::move(s).value() : nullptr;
  }
  void store(MemoryService& service, const std::string& content) {
    StoreRequest r;
    r.content = content;
    r.allow_duplicate = true;
    auto out = service.store(r);
    ASSERT_TRUE(out.is_ok() && out->success) << content;
  }
  std::string top_hit(MemoryService& service, const std::string& query) {
    SearchRequest s;
    s.query = query;
    s.limit = 1;
    auto out = service.search(s);
    EXPECT_TRUE(out.is_ok()) << out.status().message();
    return out.is_ok() && !out->results.empty() ? out->results[0].memory.content : "";
  }

  TempDir dir_{"reindex"};
  Config config_;
};

TEST_F(ReindexTest, AnotherModelIsRefusedWhileVectorsOfTheStoredOneExist) {
  {
    auto service = open();
    ASSERT_TRUE(service);
    EXPECT_EQ(service->embedder().model_id(), "hash-384");  // nothing chose another
    store(*service, "the first memory");
  }
  Config other = config_;
  other.embedding_model = "hash-256";
  auto refused = MemoryService::open(other);
  ASSERT_FALSE(refused.is_ok());
  EXPECT_EQ(refused.status().code(), StatusCode::kFailedPrecondition);
  EXPECT_NE(refused.status().message().find("mcp-memory reindex"), std::string::npos)
      << refused.status().message();
  EXPECT_NE(refused.status().message().find("hash-384"), std::string::npos);

  // Without a configured model, the database's own is used, whatever `model use` says.
  ASSERT_TRUE(set_default_model(dir_ / "models", "hash-256").is_ok());
  auto service = open();
  ASSERT_TRUE(service);
  EXPECT_EQ(service->embedder().model_id(), "hash-384");
  EXPECT_EQ(top_hit(*service, "the first memory"), "the first memory");
}

TEST_F(ReindexTest, ADatabaseWithoutVectorsTakesTheDefaultOrConfiguredModel) {
  ASSERT_TRUE(set_default_model(dir_ / "models", "hash-128").is_ok());
  {
    auto service = open();
    ASSERT_TRUE(service);
    EXPECT_EQ(service->embedder().model_id(), "hash-128");
  }
  auto service = open("hash-256");  // no vectors yet: nothing to mix up
  ASSERT_TRUE(service);
  EXPECT_EQ(service->embedder().model_id(), "hash-256");
  store(*service, "now the vectors are hash-256's");
  service.reset();
  EXPECT_EQ(open()->embedder().model_id(), "hash-256");  // the database's, not the default
}

TEST_F(ReindexTest, InterruptedReindexResumesAndSearchesUseTheOldVectorsUntilTheSwitch) {
  auto old_model = open();
  ASSERT_TRUE(old_model);
  for (int i = 0; i < 300; ++i) store(*old_model, "memory number " + std::to_string(i));

  // Interrupted after two batches (as a kill would: each batch is its own transaction).
  ReindexOptions o;
  o.model = "hash-256";
  o.batch = 64;
  int batches = 0;
  o.progress = [&](int64_t, int64_t) {
    if (++batches == 2) throw std::runtime_error("killed");
  };
  EXPECT_THROW((void)reindex(config_, o), std::runtime_error);
  auto status = vector_model_status(config_);
  ASSERT_TRUE(status.is_ok());
  EXPECT_EQ(status->model, "hash-384");
  EXPECT_EQ(status->reindex_to, "hash-256");
  EXPECT_EQ(status->reindex_done, 128);
  EXPECT_EQ(status->reindex_total, 300);

  // Meanwhile the old model's process searches its vectors and stores more.
  EXPECT_EQ(top_hit(*old_model, "memory number 17"), "memory number 17");
  store(*old_model, "stored during the reindex");
  auto refused = MemoryService::open([&] {
    Config c = config_;
    c.embedding_model = "hash-256";
    return c;
  }());
  EXPECT_FALSE(refused.is_ok());  // not switched yet

  o.progress = nullptr;
  auto report = reindex(config_, o);
  ASSERT_TRUE(report.is_ok()) << report.status().message();
  EXPECT_EQ(report->from_model, "hash-384");
  EXPECT_EQ(report->to_model, "hash-256");
  EXPECT_EQ(report->resumed, 128);
  EXPECT_EQ(report->embedded, 301 - 128);
  EXPECT_EQ(report->total, 301);

  // The old process may not write vectors of its model any more, nor search the new ones.
  StoreRequest late;
  late.content = "a write from the old model";
  auto write = old_model->store(late);
  ASSERT_FALSE(write.is_ok());
  EXPECT_EQ(write.status().code(), StatusCode::kFailedPrecondition);
  EXPECT_NE(write.status().message().find("restart"), std::string::npos);
  SearchRequest s;
  s.query = "memory number 5";
  EXPECT_FALSE(old_model->search(s).is_ok());

  auto new_model = open();
  ASSERT_TRUE(new_model);
  EXPECT_EQ(new_model->embedder().model_id(), "hash-256");
  EXPECT_EQ(top_hit(*new_model, "stored during the reindex"), "stored during the reindex");
  EXPECT_EQ(top_hit(*new_model, "memory number 250"), "memory number 250");
  status = vector_model_status(config_);
  EXPECT_EQ(status->vectors, 301);
  EXPECT_EQ(status->dimension, 256u);
  EXPECT_TRUE(status->reindex_to.empty());
}

TEST_F(ReindexTest, ReindexToTheCurrentModelDoesNothingUnlessForced) {
  {
    auto service = open();
    store(*service, "one");
  }
  ReindexOptions o;
  o.model = "hash-384";
  auto report = reindex(config_, o);
  ASSERT_TRUE(report.is_ok());
  EXPECT_TRUE(report->already);
  o.force = true;
  report = reindex(config_, o);
  ASSERT_TRUE(report.is_ok());
  EXPECT_FALSE(report->already);
  EXPECT_EQ(report->embedded, 1);
}

TEST_F(ReindexTest, WithoutATargetReindexNamesHowToChooseOne) {
  auto report = reindex(config_, {});
  ASSERT_FALSE(report.is_ok());
  EXPECT_NE(report.status().message().find("model use"), std::string::npos);
  ASSERT_TRUE(set_default_model(dir_ / "models", "hash-64").is_ok());
  report = reindex(config_, {});
  ASSERT_TRUE(report.is_ok()) << report.status().message();
  EXPECT_EQ(report->to_model, "hash-64");
}

TEST_F(ReindexTest, AStoredModelThisMachineCannotLoadIsNamedWithTheWayOut) {
  testing_util::make_tiny_bert(dir_.path());
  {
    auto service = open("bert:" + dir_ / "tiny");
    ASSERT_TRUE(service);
    store(*service, "hello world memory");
  }
  fs::remove_all(dir_ / "tiny");
  auto refused = MemoryService::open(config_);
  ASSERT_FALSE(refused.is_ok());
  EXPECT_NE(refused.status().message().find("bert:tiny"), std::string::npos)
      << refused.status().message();
  EXPECT_NE(refused.status().message().find("reindex --model"), std::string::npos);
  ReindexOptions o;
  o.model = "hash-384";
  ASSERT_TRUE(reindex(config_, o).is_ok());
  auto service = open();
  ASSERT_TRUE(service);
  EXPECT_EQ(top_hit(*service, "hello world memory"), "hello world memory");
}

// The model's bar comes with the near-exact wording rule; a configured threshold replaces both
// (semantic dedup as the Python service's, the numbers and negations still guarded).
TEST_F(ReindexTest, TheDuplicateBarIsTheModelsUnlessConfigured) {
  auto service = open();
  EXPECT_DOUBLE_EQ(service->embedder().duplicate_cosine(), 0.70);
  StoreRequest a;
  a.content = "the deploy key rotates every ninety days";
  ASSERT_TRUE(service->store(a)->success);
  StoreRequest typo;
  typo.content = "the deploy key rotates every ninety dyas";
  EXPECT_FALSE(service->store(typo)->success);  // a near-copy within the window
  StoreRequest more;
  more.content = "the deploy key rotates every ninety days now";
  EXPECT_TRUE(service->store(more)->success);  // another word: another statement
  DeleteRequest d;
  d.content_hash = service->store(more)->content_hash;
  ASSERT_TRUE(service->remove(d).is_ok());
  service.reset();
  config_.semantic_dedup_threshold = 0.90;  // cosine 0.936
  service = open();
  EXPECT_FALSE(service->store(more)->success);
  config_.semantic_dedup_threshold = 0.99;
  service.reset();
  service = open();
  EXPECT_TRUE(service->store(typo)->success);
}

}  // namespace
}  // namespace mcpmem
