// The persisted index through MemoryService, on real database files: a second process maps the
// file instead of reading vectors, catches up with writes made after it, and answers exactly
// what a process without the file answers, whatever happened to the file: torn (a rename never
// finished), truncated, flipped, made by another model or from another database, two writers at
// once, or the database restored from a backup under a newer index. Large stores: the HNSW graph
// is built in the background, searched with writes it has not caught up with, and saved.
#include <gtest/gtest.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <random>
#include <thread>

#include "../copy_over.h"
#include "../temp_dir.h"
#include "platform/durable_file.h"
#include "service/index_follower.h"
#include "service/memory_service.h"

namespace mcpmem {
namespace {

namespace fs = std::filesystem;

class IndexPersistenceTest : public ::testing::Test {
 protected:
  void SetUp() override {
    config_ = config_from_env({{"HOME", dir_.path()}});
    config_.db_path = dir_ / "memories.db";
    config_.synchronous_full = false;
    config_.semantic_dedup_enabled = false;
    index_path_ = config_.db_path + ".index";
  }
  std::unique_ptr<MemoryService> open(Config config, bool background = false) {
    ServiceOptions o;
    o.load_index_in_background = background;
    auto s = MemoryService::open(config, o);
    EXPECT_TRUE(s.is_ok()) << s.status().message();
    return s.is_ok() ? std::move(s).value() : nullptr;
  }
  std::unique_ptr<MemoryService> open() { return open(config_); }
  // The same database searched with no index file at all: the answer every path must give.
  Config without_file() const {
    Config c = config_;
    c.index_file = false;
    return c;
  }
  void store_many(MemoryService& s, int from, int count) {
    std::vector<StoreRequest> batch;
    std::mt19937 rng(static_cast<unsigned>(from));
    const char* words[] = {"deploy", "kafka", "tuesday", "budget",     "review", "garden",
                           "python", "rust",  "backup",  "litestream", "router", "coffee"};
    for (int i = from; i < from + count; ++i) {
      StoreRequest r;
      r.content = "note " + std::to_string(i);
      for (int w = 0; w < 8; ++w) r.content += std::string(" ") + words[rng() % 12];
      r.tags = {"t" + std::to_string(i % 5)};
      batch.push_back(r);
    }
    ASSERT_TRUE(s.store_batch(batch).is_ok());
  }
  std::vector<std::string> top(MemoryService& s, const std::string& query, size_t k = 10,
                               std::vector<std::string> tags = {}) {
    SearchRequest r;
    r.query = query;
    r.limit = static_cast<int>(k);
    r.mode = SearchMode::kSemantic;
    r.tags = std::move(tags);
    auto out = s.search(r);
    EXPECT_TRUE(out.is_ok()) << out.status().message();
    std::vector<std::string> hashes;
    if (out.is_ok()) {
      for (const auto& h : out->results) hashes.push_back(h.memory.content_hash);
    }
    return hashes;
  }
  void expect_exact(MemoryService& s) {
    auto exact = open(without_file());
    for (const char* q : {"deploy kafka tuesday", "garden coffee", "rust python backup",
                          "litestream router review budget"}) {
      EXPECT_EQ(top(s, q), top(*exact, q)) << q;
      EXPECT_EQ(top(s, q, 5, {"t2"}), top(*exact, q, 5, {"t2"})) << q;
    }
  }

  TempDir dir_{"idxsvc"};
  Config config_;
  std::string index_path_;
};

TEST_F(IndexPersistenceTest, ASecondProcessMapsTheFileAndCatchesUpWithLaterWrites) {
  {
    auto first = open();
    store_many(*first, 0, 3000);
    top(*first, "deploy");  // loads the index: a one-shot process writes the file
  }
  ASSERT_TRUE(fs::exists(index_path_));
  EXPECT_TRUE(owner_only(index_path_));
  {
    auto writer = open();  // never searches: the file is not touched
    store_many(*writer, 3000, 200);
    DeleteRequest d;
    d.content_hash = top(*writer, "deploy kafka tuesday")[0];
    ASSERT_TRUE(writer->remove(d).is_ok());
  }
  auto second = open();
  ASSERT_TRUE(second->wait_for_index().is_ok());
  IndexState s = second->index_state();
  EXPECT_TRUE(s.file_mapped);
  EXPECT_EQ(s.rows, 3199u);
  EXPECT_GT(s.rows_in_memory, 0u);  // the 200 new rows, from the change log
  EXPECT_LT(s.rows_in_memory, 300u);
  expect_exact(*second);
}

TEST_F(IndexPersistenceTest, DamagedOrForeignFilesAreRebuiltNeverTrusted) {
  {
    auto s = open();
    store_many(*s, 0, 1500);
    top(*s, "deploy");
  }
  const std::string good = dir_ / "good.index";
  fs::copy_file(index_path_, good);
  auto check_rebuilt = [&](const std::string& what) {
    auto s = open();
    ASSERT_TRUE(s->wait_for_index().is_ok()) << what;
    EXPECT_EQ(s->index_state().rows, 1500u) << what;
    expect_exact(*s);
    // The file was written again, whole.
    auto view = IndexFileView::open(index_path_, 384);
    EXPECT_TRUE(view.is_ok()) << what;
  };
  fs::resize_file(index_path_, fs::file_size(index_path_) / 3);
  check_rebuilt("truncated");
  copy_over(good, index_path_);
  {
    std::fstream f(index_path_, std::ios::in | std::ios::out | std::ios::binary);
    f.seekp(5000);
    f.put('\x7f');
  }
  check_rebuilt("a flipped byte");
  // Another database's file, and a torn write (the temporary file of a killed writer).
  {
    Config other = config_;
    other.db_path = dir_ / "other.db";
    auto o = open(other);
    store_many(*o, 9000, 100);
    top(*o, "deploy");
  }
  copy_over(dir_ / "other.db.index", index_path_);
  { std::ofstream(index_path_ + ".partial-1-0") << "torn"; }
  check_rebuilt("another database's file");
}

TEST_F(IndexPersistenceTest, AFileOfAnotherModelIsNotUsed) {
  {
    auto s = open();
    store_many(*s, 0, 500);
    top(*s, "deploy");
  }
  // Re-stamp the file as another model's: same dimension, so only the stamp tells.
  auto view = IndexFileView::open(index_path_, 384);
  ASSERT_TRUE(view.is_ok());
  IndexStamp stamp = (*view)->info().stamp;
  VectorIndex copy(384);
  copy.adopt_file(*view);
  stamp.model = "bge-small-en-v1.5";
  view->reset();
  ASSERT_TRUE(copy.write_file(index_path_ + ".other", stamp).is_ok());
  ASSERT_TRUE(replace_file(index_path_ + ".other", index_path_).is_ok());
  auto s = open();
  ASSERT_TRUE(s->wait_for_index().is_ok());
  auto rebuilt = IndexFileView::open(index_path_, 384);
  ASSERT_TRUE(rebuilt.is_ok());
  EXPECT_EQ((*rebuilt)->info().stamp.model, "hash-384");
  expect_exact(*s);
}

TEST_F(IndexPersistenceTest, ADatabaseRestoredFromABackupIgnoresANewerIndex) {
  const std::string backup = dir_ / "backup.db";
  {
    auto s = open();
    store_many(*s, 0, 800);
    top(*s, "deploy");  // the database has its id, and a file reflecting 800 memories
  }
  fs::copy_file(config_.db_path, backup);
  {
    auto s = open();
    store_many(*s, 800, 400);
    ASSERT_TRUE(s->rebuild_index().is_ok());  // the file now reflects 1200 memories
  }
  // Restore the backup under the newer file, then write different memories past its position.
  copy_over(backup, config_.db_path);
  fs::remove(config_.db_path + "-wal");
  fs::remove(config_.db_path + "-shm");
  {
    auto s = open(without_file());
    store_many(*s, 5000, 500);
  }
  auto s = open();
  ASSERT_TRUE(s->wait_for_index().is_ok());
  EXPECT_EQ(s->index_state().rows, 1300u);
  expect_exact(*s);
}

TEST_F(IndexPersistenceTest, TwoProcessesWritingTheFileAtOnceLeaveAGoodOne) {
  {
    auto s = open();
    store_many(*s, 0, 4000);
  }
  auto a = open();
  auto b = open();
  std::thread ta([&] {
    Status built = a->rebuild_index();
    EXPECT_TRUE(built.is_ok()) << built.message();
  });
  std::thread tb([&] {
    Status built = b->rebuild_index();
    EXPECT_TRUE(built.is_ok()) << built.message();
  });
  ta.join();
  tb.join();
  auto view = IndexFileView::open(index_path_, 384);
  ASSERT_TRUE(view.is_ok()) << view.status().message();
  EXPECT_EQ((*view)->rows(), 4000u);
  expect_exact(*a);
  expect_exact(*b);
  auto c = open();
  expect_exact(*c);
  EXPECT_TRUE(c->index_state().file_mapped);
}

TEST_F(IndexPersistenceTest, AServerBuildsTheGraphAndSearchesWritesItHasNotCaughtUpWith) {
  // A small store (graphs are slow to build under ThreadSanitizer, which runs this test).
  config_.hnsw_threshold = 300;
  config_.hnsw_min_recall = 0;  // search the graph even where the exact scan is faster
  {
    auto s = open();
    store_many(*s, 0, 400);
  }
  auto server = open(config_, /*background=*/true);
  auto ready = [&] { return server->index_state().hnsw_state == "ready"; };
  for (int i = 0; i < 600 && !ready(); ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  ASSERT_TRUE(ready()) << server->index_state().hnsw_state;
  // A memory written now is found at once, before the graph takes it in.
  StoreRequest r;
  r.content = "zebra quagga okapi giraffe savanna";
  auto stored = server->store(r);
  ASSERT_TRUE(stored.is_ok() && stored->success);
  EXPECT_EQ(top(*server, "zebra quagga okapi", 1)[0], stored->content_hash);
  // Recall against exact over many queries, and filters always exact.
  auto exact = open(without_file());
  size_t hits = 0, total = 0;
  std::mt19937 rng(4);
  const char* words[] = {"deploy", "kafka", "tuesday", "budget",     "review", "garden",
                         "python", "rust",  "backup",  "litestream", "router", "coffee"};
  for (int q = 0; q < 40; ++q) {
    std::string query =
        words[rng() % 12] + std::string(" ") + words[rng() % 12] + " " + words[rng() % 12];
    auto want = top(*exact, query);
    auto got = top(*server, query);
    for (const auto& h : got) hits += std::count(want.begin(), want.end(), h);
    total += want.size();
    EXPECT_EQ(top(*server, query, 5, {"t3"}), top(*exact, query, 5, {"t3"})) << query;
  }
  EXPECT_GE(static_cast<double>(hits) / static_cast<double>(total), 0.95);
  // The graph is saved beside the database, and the next server loads it instead of building.
  for (int i = 0; i < 100 && !fs::exists(index_path_ + ".hnsw"); ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  EXPECT_TRUE(fs::exists(index_path_ + ".hnsw"));
  server.reset();
  // The next server loads the saved graph instead of building one.
  auto next = open(config_, /*background=*/true);
  for (int i = 0; i < 100 && next->index_state().hnsw_state != "ready"; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  EXPECT_EQ(next->index_state().hnsw_state, "ready");
  EXPECT_EQ(top(*next, "zebra quagga okapi", 1)[0], stored->content_hash);
}

TEST(GraphCheckTest, AGraphMustFindTheAnswersAndBeAQuarterFasterThanTheScan) {
  EXPECT_TRUE((GraphCheck{.recall = 0.97, .graph_ms = 1.0, .exact_ms = 1.3}).good(0.95));
  EXPECT_FALSE((GraphCheck{.recall = 0.97, .graph_ms = 1.0, .exact_ms = 1.2}).good(0.95))
      << "faster, but within the noise of two equal paths";
  EXPECT_FALSE((GraphCheck{.recall = 0.90, .graph_ms = 0.1, .exact_ms = 5.0}).good(0.95));
  EXPECT_TRUE((GraphCheck{.recall = 0.10, .graph_ms = 9.0, .exact_ms = 1.0}).good(0))
      << "min_recall 0 accepts any graph";
  EXPECT_EQ((GraphCheck{.recall = 0.984, .graph_ms = 0.31, .exact_ms = 2.06}).describe(),
            "recall@10 0.98 in 0.3 ms against exact scans in 2.1 ms");
}

TEST_F(IndexPersistenceTest, AGraphWorseThanTheExactScanIsRefusedAndRemembered) {
  config_.hnsw_threshold = 300;
  // No graph finds more than every answer: refused whatever the two paths' timing, which on a
  // loaded machine is noise (the speed rule is GraphCheckTest's).
  config_.hnsw_min_recall = 1.01;
  {
    auto s = open();
    store_many(*s, 0, 400);
  }
  auto server = open(config_, /*background=*/true);
  for (int i = 0; i < 600 && server->index_state().hnsw_state != "refused"; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  IndexState state = server->index_state();
  ASSERT_EQ(state.hnsw_state, "refused");
  EXPECT_NE(state.hnsw_verdict.find("recall@10"), std::string::npos) << state.hnsw_verdict;
  EXPECT_FALSE(fs::exists(index_path_ + ".hnsw"));
  EXPECT_TRUE(fs::exists(index_path_ + ".hnsw.refused"));
  expect_exact(*server);
  server.reset();
  // The next server does not build it again (the store has not doubled).
  auto next = open(config_, /*background=*/true);
  ASSERT_TRUE(next->wait_for_index().is_ok());
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  EXPECT_EQ(next->index_state().hnsw_state, "refused");
}

}  // namespace
}  // namespace mcpmem
