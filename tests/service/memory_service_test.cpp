// MemoryService on real databases with the real hash-384 embedder and a fixed clock: dedup,
// bad input, search modes, filters before top-k (the Python service's #214), paging, update,
// delete, stats, cleanup, and an index that follows other writers.
#include "service/memory_service.h"

#include <gtest/gtest.h>
#include <sqlite3.h>

#include <filesystem>

#include "../temp_dir.h"
#include "core/content_hash.h"
#include "core/time_format.h"
#include "service/version_json.h"

namespace mcpmem {
namespace {

namespace fs = std::filesystem;
constexpr double kNow = 1752676200;  // 2025-07-16 14:30:00 UTC, a Wednesday

class ServiceTest : public ::testing::Test {
 protected:
  void SetUp() override {
    config_ = config_from_env({{"HOME", dir_.path()}});
    config_.db_path = dir_ / "memories.db";
    config_.synchronous_full = false;
    service_ = open_service();
  }
  void TearDown() override { service_.reset(); }
  std::unique_ptr<MemoryService> open_service(ServiceOptions o = {}) {
    o.clock = [this] { return now_; };
    auto s = MemoryService::open(config_, o);
    EXPECT_TRUE(s.is_ok()) << s.status().message();
    if (!s.is_ok()) return nullptr;
    return std::move(s).value();
  }
  StoreResult store(const std::string& content, std::vector<std::string> tags = {},
                    std::optional<double> created = std::nullopt, const std::string& type = "") {
    StoreRequest r;
    r.content = content;
    r.tags = std::move(tags);
    r.created_at = created;
    r.memory_type = type;
    auto out = service_->store(r);
    EXPECT_TRUE(out.is_ok()) << out.status().message();
    return out.is_ok() ? *out : StoreResult{};
  }
  int64_t total() { return service_->stats()->storage.total_memories; }
  SearchResponse search(SearchRequest r) {
    auto out = service_->search(r);
    EXPECT_TRUE(out.is_ok()) << out.status().message();
    return out.is_ok() ? *out : SearchResponse{};
  }

  TempDir dir_{"svc"};
  Config config_;
  double now_ = kNow;
  std::unique_ptr<MemoryService> service_;
};

TEST_F(ServiceTest, StoreHashesLikePythonAndRejectsExactDuplicates) {
  auto r = store("Deploys happen on Tuesdays", {"Ops", " ops ", ""});
  EXPECT_TRUE(r.success);
  EXPECT_EQ(r.message, "Memory stored successfully");
  EXPECT_EQ(r.content_hash, *content_hash("deploys happen on tuesdays"));
  EXPECT_EQ(r.memory->tags, std::vector<std::string>{"ops"});
  EXPECT_DOUBLE_EQ(r.memory->created_at, kNow);
  auto dup = store("  DEPLOYS happen on tuesdays\n");
  EXPECT_FALSE(dup.success);
  EXPECT_EQ(dup.message, "Duplicate content detected (exact match)");
  EXPECT_EQ(dup.duplicate, Duplicate::kExact);
  EXPECT_EQ(dup.content_hash, r.content_hash);
  ASSERT_TRUE(dup.memory.has_value());  // the memory already stored
  EXPECT_EQ(dup.memory->content, "Deploys happen on Tuesdays");
  EXPECT_EQ(total(), 1);
  EXPECT_EQ(store("untagged thought").memory->tags, std::vector<std::string>{"untagged"});
}

TEST_F(ServiceTest, SemanticDedupWithinTheWindowOnly) {
  store("The staging database password rotates every month on the first");
  auto near = store("The staging database password rotates every month on the first!!");
  // Punctuation does not change the words: same features, same vector.
  EXPECT_FALSE(near.success);
  EXPECT_NE(near.message.find("semantically similar to"), std::string::npos);
  StoreRequest session;
  session.content = "The staging database password rotates every month on the first!!";
  session.memory_type = "session";
  EXPECT_TRUE(service_->store(session)->success);  // sessions are exempt (Python #463)
  // A near-identical memory older than the 24 h window does not count.
  store("Kubernetes ingress timeouts need raising to 120 seconds", {}, kNow - 3 * 86400);
  EXPECT_TRUE(store("Kubernetes ingress timeouts need raising to 120 seconds!").success);
}

// Issue 16: semantic dedup refused corrected facts ("Postgres 17 needs pgvector 0.8" was a
// duplicate of "Postgres 16 needs pgvector 0.7", "16 cores" of "8 cores") and named the
// refused text's hash. A near-duplicate is now the same words and facts up to case,
// punctuation and typos, and the result names the memory already stored.
TEST_F(ServiceTest, CorrectedFactsAreNeverNearDuplicates_Issue16) {
  for (const auto& [stored, corrected] : std::vector<std::pair<std::string, std::string>>{
           {"Postgres 16 needs pgvector 0.7", "Postgres 17 needs pgvector 0.8"},
           {"The build server has 8 cores", "The build server has 16 cores"},
           {"The cache is warm after deploys", "The cache is not warm after deploys"},
           {"Deploys happen on Tuesdays after the standup",
            "Deploys happen on Thursdays after the standup"},
           {"The backup job runs nightly and writes to the NAS",
            "The backup job runs weekly and writes to the NAS"}}) {
    ASSERT_TRUE(store(stored).success) << stored;
    auto r = store(corrected);
    EXPECT_TRUE(r.success) << corrected << ": " << r.message;
    EXPECT_EQ(r.duplicate, Duplicate::kNone);
  }
}

TEST_F(ServiceTest, ANearDuplicateNamesTheStoredMemory_Issue16) {
  const auto first = store("The staging database password rotates every month", {"ops"});
  for (const char* variant : {"the STAGING database password rotates every month!",
                              "The staging databse password rotates every month",
                              "The staging  database\tpassword rotates every month."}) {
    auto r = store(variant);
    EXPECT_FALSE(r.success) << variant;
    EXPECT_EQ(r.duplicate, Duplicate::kNear) << variant;
    EXPECT_EQ(r.content_hash, first.content_hash) << "the stored memory's hash, not the refused";
    ASSERT_TRUE(r.memory.has_value());
    EXPECT_EQ(r.memory->content, "The staging database password rotates every month");
    EXPECT_EQ(r.memory->tags, std::vector<std::string>{"ops"});
    EXPECT_EQ(r.message,
              "Duplicate content detected (semantically similar to " + first.content_hash + ")");
  }
  EXPECT_EQ(total(), 1);
}

TEST_F(ServiceTest, AllowDuplicateStoresANearDuplicateButNeverTheSameText_Issue16) {
  const auto first = store("Kubernetes ingress timeouts need raising to 120 seconds");
  StoreRequest r;
  r.content = "Kubernetes ingres timeouts need raising to 120 seconds";
  r.allow_duplicate = true;
  auto near = service_->store(r);
  ASSERT_TRUE(near.is_ok());
  EXPECT_TRUE(near->success);
  EXPECT_EQ(near->duplicate, Duplicate::kNone);
  r.content = "kubernetes ingress timeouts need raising to 120 seconds ";
  auto same = service_->store(r);
  ASSERT_TRUE(same.is_ok());
  EXPECT_FALSE(same->success);
  EXPECT_EQ(same->duplicate, Duplicate::kExact);
  EXPECT_EQ(same->content_hash, first.content_hash);
  ASSERT_TRUE(same->memory.has_value());
  EXPECT_EQ(same->memory->content, "Kubernetes ingress timeouts need raising to 120 seconds");
  EXPECT_EQ(total(), 2);
}

// MCP_SEMANTIC_DEDUP_THRESHOLD asks for semantic dedup at that cosine, as the Python service's:
// other wording counts, but numbers and negations still do not merge.
TEST_F(ServiceTest, AConfiguredThresholdStillKeepsCorrectedFacts_Issue16) {
  config_.semantic_dedup_threshold = 0.85;
  service_ = open_service();
  store("The staging database password rotates every month on the first");
  auto reworded = store("The staging database password rotates every week on the first");
  EXPECT_EQ(reworded.duplicate, Duplicate::kNear);  // cosine 0.90
  store("The hub runs on a machine with 8 cores");
  EXPECT_TRUE(store("The hub runs on a machine with 16 cores").success);  // cosine 0.89
}

TEST_F(ServiceTest, SemanticDedupCanBeTurnedOff) {
  config_.semantic_dedup_enabled = false;
  service_ = open_service();
  store("Coffee machine on floor 3 is broken");
  EXPECT_TRUE(store("Coffee machine on floor 3 is broken!").success);
}

TEST_F(ServiceTest, BadInputIsRefusedAndChangesNothing) {
  store("existing");
  auto bad = [&](StoreRequest r) {
    auto out = service_->store(r);
    EXPECT_FALSE(out.is_ok());
    EXPECT_EQ(out.status().code(), StatusCode::kInvalidArgument);
    return out.status().message();
  };
  StoreRequest r;
  r.content = "\xff\xfe not utf8";
  bad(r);
  r.content = "   \n ";
  EXPECT_NE(bad(r).find("empty"), std::string::npos);
  r.content = std::string(10 << 20, 'x');
  EXPECT_NE(bad(r).find("limit"), std::string::npos);
  r.content = "fine";
  r.metadata = Json::array({1, 2});
  bad(r);
  r.metadata = Json::object();
  r.tags = {std::string(500, 't')};
  bad(r);
  EXPECT_EQ(total(), 1);
}

TEST_F(ServiceTest, SearchModesAndScores) {
  store("Postgres 16 needs the pgvector extension on the hub", {"db"});
  store("Deploys happen on Tuesdays after the standup", {"ops"});
  store("Litestream replicates the SQLite WAL to S3", {"db", "sync"});
  SearchRequest r;
  r.query = "pgvector extension for postgres";
  auto sem = search(r);
  ASSERT_EQ(sem.results.size(), 3u);
  EXPECT_EQ(sem.results[0].memory.content_hash,
            *content_hash("Postgres 16 needs the pgvector extension on the hub"));
  for (const auto& h : sem.results) {
    EXPECT_GE(h.similarity_score, 0.0);
    EXPECT_LE(h.similarity_score, 1.0);
  }
  r.query = "Postgres 16 needs the pgvector extension on the hub";
  EXPECT_GT(search(r).results[0].similarity_score, 0.99);  // (1 + cos) / 2 with cos = 1

  r.mode = SearchMode::kExact;
  r.query = "SQLITE wal";
  auto exact = search(r);
  ASSERT_EQ(exact.results.size(), 1u);
  EXPECT_EQ(exact.results[0].similarity_score, 1.0);
  r.mode = SearchMode::kKeyword;
  r.query = "tuesdays standup";
  auto kw = search(r);
  ASSERT_EQ(kw.results.size(), 1u);
  EXPECT_EQ(kw.search_type, "keyword");
  r.mode = SearchMode::kHybrid;
  r.query = "litestream";
  auto hy = search(r);
  ASSERT_FALSE(hy.results.empty());
  EXPECT_NE(hy.results[0].memory.content.find("Litestream"), std::string::npos);
}

// The Python service's #214: filters applied after top-k returned too few results.
TEST_F(ServiceTest, Issue214FiltersApplyBeforeTopK) {
  std::vector<StoreRequest> batch;
  for (int i = 0; i < 500; ++i) {
    StoreRequest r;
    bool target = i % 16 == 0 && i < 16 * 30;  // 30 targets, semantically far from the query
    r.content = target ? "grocery list item number " + std::to_string(i) + " bananas apples"
                       : "kubernetes deployment note " + std::to_string(i) + " about ingress";
    r.tags = {target ? "groceries" : "k8s"};
    r.created_at = target ? kNow - 86400 : kNow - 40 * 86400;
    batch.push_back(r);
  }
  auto stored = service_->store_batch(batch);
  ASSERT_TRUE(stored.is_ok());
  SearchRequest r;
  r.query = "kubernetes ingress deployment";
  r.tags = {"groceries"};
  r.limit = 20;
  EXPECT_EQ(search(r).results.size(), 20u);
  r.limit = 50;
  EXPECT_EQ(search(r).results.size(), 30u);
  r.tags.clear();
  r.time_expr = "yesterday";
  r.limit = 20;
  auto timed = search(r);
  ASSERT_EQ(timed.results.size(), 20u);
  for (const auto& h : timed.results) EXPECT_EQ(h.memory.tags[0], "groceries");
}

// Bulk stores write batch k while the next batch is prepared on other threads: results stay in
// request order, duplicates (in the request and in the database) and invalid requests are
// reported at their own index, across batch boundaries.
TEST_F(ServiceTest, StoreBatchAcrossManyPipelinedBatchesKeepsEveryResultInPlace) {
  config_.bulk_batch_size = 7;
  config_.semantic_dedup_enabled = false;
  service_ = open_service();
  store("already here", {});
  std::vector<StoreRequest> batch;
  for (int i = 0; i < 600; ++i) {
    StoreRequest r;
    r.content = i % 50 == 3   ? std::string()  // invalid: empty
                : i % 50 == 4 ? "already here"
                : i % 50 == 5 ? "memory number " + std::to_string(i - 5)  // repeats i - 5
                              : "memory number " + std::to_string(i);
    batch.push_back(r);
  }
  auto out = service_->store_batch(batch);
  ASSERT_TRUE(out.is_ok());
  ASSERT_EQ(out->size(), 600u);
  int stored = 0;
  for (int i = 0; i < 600; ++i) {
    const StoreResult& r = (*out)[i];
    if (i % 50 == 3 || i % 50 == 4 || i % 50 == 5) {
      EXPECT_FALSE(r.success) << i;
      continue;
    }
    ASSERT_TRUE(r.success) << i << " " << r.message;
    EXPECT_EQ(r.memory->content, "memory number " + std::to_string(i));
    EXPECT_EQ(r.content_hash, *content_hash("memory number " + std::to_string(i)));
    ++stored;
  }
  EXPECT_EQ(stored, 600 - 3 * 12);
  EXPECT_EQ(service_->stats()->storage.total_memories, stored + 1);
  SearchRequest q;
  q.query = "memory number 599";
  q.mode = SearchMode::kExact;
  EXPECT_EQ(search(q).results.size(), 1u);
}

// Issue 16: every recall by filters alone was labelled "time", a tags-only one too.
TEST_F(ServiceTest, ARecallByFiltersAloneIsLabelledWithWhatFiltered_Issue16) {
  store("tagged yesterday", {"ops"}, kNow - 86400, "decision");
  store("tagged today", {"ops"}, kNow, "note");
  SearchRequest r;
  r.tags = {"ops"};
  EXPECT_EQ(search(r).search_type, "tags");
  EXPECT_EQ(search(r).results.size(), 2u);
  r.time_expr = "yesterday";
  EXPECT_EQ(search(r).search_type, "tags+time");
  r.memory_type = "decision";
  auto all = search(r);
  EXPECT_EQ(all.search_type, "tags+time+type");
  ASSERT_EQ(all.results.size(), 1u);
  EXPECT_EQ(all.results[0].memory.content, "tagged yesterday");
  SearchRequest by_type;
  by_type.memory_type = "note";
  EXPECT_EQ(search(by_type).search_type, "type");
  SearchRequest dated;
  dated.after = kNow - 3600;
  EXPECT_EQ(search(dated).search_type, "time");
  dated.query = "tagged";  // words to rank by: the mode ranks
  EXPECT_EQ(search(dated).search_type, "semantic");
}

TEST_F(ServiceTest, TimeOnlyRecallAndSearchErrors) {
  store("old", {}, kNow - 10 * 86400);
  store("yesterday's note", {}, kNow - 86400);
  SearchRequest r;
  r.time_expr = "yesterday";
  auto out = search(r);
  ASSERT_EQ(out.results.size(), 1u);
  EXPECT_EQ(out.search_type, "time");
  EXPECT_EQ(out.results[0].memory.content, "yesterday's note");
  SearchRequest blank;
  EXPECT_EQ(service_->search(blank).status().code(), StatusCode::kInvalidArgument);
  SearchRequest bad_time;
  bad_time.query = "x";
  bad_time.time_expr = "whenever";
  auto err = service_->search(bad_time);
  ASSERT_FALSE(err.is_ok());
  EXPECT_NE(err.status().message().find("last week"), std::string::npos);
  SearchRequest bad_limit;
  bad_limit.query = "x";
  bad_limit.limit = 0;
  EXPECT_FALSE(service_->search(bad_limit).is_ok());
  bad_limit.limit = 100000;
  EXPECT_FALSE(service_->search(bad_limit).is_ok());
}

TEST_F(ServiceTest, ListPagesNewestFirstWithFilters) {
  for (int i = 0; i < 25; ++i) {
    store("memory number " + std::to_string(i) + " with distinct words " + std::string(i, 'z'),
          {i % 2 ? "odd" : "even"}, kNow - 1000 + i, i % 5 ? "note" : "decision");
  }
  ListRequest r;
  r.page_size = 10;
  r.page = 2;
  auto page = service_->list(r);
  ASSERT_TRUE(page.is_ok());
  EXPECT_EQ(page->total, 25);
  EXPECT_TRUE(page->has_more);
  ASSERT_EQ(page->memories.size(), 10u);
  EXPECT_GT(page->memories[0].created_at, page->memories[1].created_at);
  r.page = 3;
  EXPECT_FALSE(service_->list(r)->has_more);
  EXPECT_EQ(service_->list(r)->memories.size(), 5u);
  ListRequest odd;
  odd.tags = {"ODD"};
  EXPECT_EQ(service_->list(odd)->total, 12);
  ListRequest decisions;
  decisions.memory_type = "decision";
  EXPECT_EQ(service_->list(decisions)->total, 5);
  r.page = 0;
  EXPECT_FALSE(service_->list(r).is_ok());
}

TEST_F(ServiceTest, UpdateMergesMetadataAndKeepsCreatedAt) {
  StoreRequest s;
  s.content = "Team decided to adopt Litestream";
  s.tags = {"sync"};
  s.metadata = {{"project", "atlas"}, {"owner", "kim"}};
  auto stored = service_->store(s);
  const std::string hash = stored->content_hash;
  const std::string old_hlc = stored->memory->hlc;
  now_ += 3600;
  UpdateRequest u;
  u.content_hash = hash;
  u.tags = std::vector<std::string>{"Sync", "Decision"};
  u.memory_type = "decision";
  u.metadata = Json{{"owner", "lee"}, {"reviewed", true}};
  auto updated = service_->update(u);
  ASSERT_TRUE(updated.is_ok());
  auto got = **service_->get(hash);
  EXPECT_EQ(got.tags, (std::vector<std::string>{"sync", "decision"}));
  EXPECT_EQ(got.memory_type, "decision");
  EXPECT_EQ(got.metadata["project"], "atlas");
  EXPECT_EQ(got.metadata["owner"], "lee");
  EXPECT_EQ(got.metadata["reviewed"], true);
  EXPECT_DOUBLE_EQ(got.created_at, kNow);
  EXPECT_DOUBLE_EQ(got.updated_at, kNow + 3600);
  EXPECT_GT(got.hlc, old_hlc);
  u.content_hash = std::string(64, 'a');
  EXPECT_EQ(service_->update(u).status().code(), StatusCode::kNotFound);
}

TEST_F(ServiceTest, DeleteByHashTagsAndTimeWithDryRun) {
  auto a = store("alpha memory about caching layers", {"tmp"}, kNow - 10 * 86400);
  store("beta memory about queues", {"tmp", "keep"}, kNow - 5 * 86400);
  store("gamma memory about logging", {"keep"}, kNow);
  DeleteRequest none;
  EXPECT_EQ(service_->remove(none).status().code(), StatusCode::kInvalidArgument);
  DeleteRequest dry;
  dry.tags = {"tmp"};
  dry.dry_run = true;
  auto preview = service_->remove(dry);
  EXPECT_EQ(preview->content_hashes.size(), 2u);
  EXPECT_EQ(total(), 3);
  DeleteRequest by_time;
  by_time.before = kNow - 7 * 86400;
  EXPECT_EQ(service_->remove(by_time)->count, 1);
  EXPECT_FALSE(service_->get(a.content_hash)->has_value());
  SearchRequest s;
  s.query = "alpha memory about caching layers";
  for (const auto& h : search(s).results) EXPECT_NE(h.memory.content_hash, a.content_hash);
  DeleteRequest all_tags;
  all_tags.tags = {"tmp", "keep"};
  all_tags.match_all_tags = true;
  EXPECT_EQ(service_->remove(all_tags)->count, 1);
  DeleteRequest missing;
  missing.content_hash = a.content_hash;
  EXPECT_EQ(service_->remove(missing).status().code(), StatusCode::kNotFound);
  // Re-storing deleted content works and leaves one row.
  EXPECT_TRUE(store("alpha memory about caching layers").success);
  EXPECT_EQ(total(), 2);
  EXPECT_EQ(service_->search(s)->results[0].memory.content_hash, a.content_hash);
}

TEST_F(ServiceTest, StatsTagsAndSources) {
  store("from the laptop", {"source:laptop", "x"});
  store("from the desktop", {"source:desktop"});
  store("also laptop, different words", {"source:laptop"});
  auto st = service_->stats(true);
  ASSERT_TRUE(st.is_ok());
  EXPECT_EQ(st->storage.total_memories, 3);
  EXPECT_EQ(st->embedding_model, "hash-384");
  EXPECT_EQ(st->embedding_dimension, 384u);
  ASSERT_EQ(st->sources.size(), 2u);
  EXPECT_EQ(st->sources[0].tag, "laptop");
  EXPECT_EQ(st->sources[0].count, 2);
  EXPECT_GT(st->storage.last_modified, 0);
  auto tags = service_->tags();
  EXPECT_EQ((*tags)[0].tag, "source:laptop");
}

TEST_F(ServiceTest, CleanupRemovesRowsWhoseContentHashesAlike) {
  store("Same text");
  sqlite3* raw = nullptr;
  sqlite3_open(config_.db_path.c_str(), &raw);
  sqlite3_busy_timeout(raw, 5000);
  // An old Python version hashed metadata too: same content, another hash.
  ASSERT_EQ(sqlite3_exec(raw,
                         "INSERT INTO memories(content_hash, content, tags, created_at, updated_at)"
                         " VALUES ('legacyhash', 'same TEXT ', 'x', 1, 1)",
                         nullptr, nullptr, nullptr),
            SQLITE_OK);
  sqlite3_close(raw);
  EXPECT_EQ(total(), 2);
  EXPECT_EQ(*service_->cleanup_duplicates(), 1);
  EXPECT_EQ(total(), 1);
  EXPECT_EQ(*service_->cleanup_duplicates(), 0);
}

TEST_F(ServiceTest, IndexFollowsOtherWriters) {
  store("seed memory so both indexes load");
  auto other = open_service();
  SearchRequest s;
  s.query = "quantum entanglement experiment results";
  ASSERT_TRUE(other->search(s).is_ok());  // B's index is loaded now
  store("quantum entanglement experiment results from the lab");
  auto found = other->search(s);
  ASSERT_FALSE(found->results.empty());
  EXPECT_EQ(found->results[0].memory.content,
            "quantum entanglement experiment results from the lab");
  DeleteRequest d;
  d.content_hash = found->results[0].memory.content_hash;
  ASSERT_TRUE(service_->remove(d).is_ok());
  auto after = other->search(s);
  ASSERT_TRUE(after.is_ok());
  for (const auto& h : after->results) EXPECT_NE(h.memory.content_hash, *d.content_hash);
  // A row written by another program without a vector becomes searchable (vector re-made).
  sqlite3* raw = nullptr;
  sqlite3_open(config_.db_path.c_str(), &raw);
  sqlite3_busy_timeout(raw, 5000);
  ASSERT_EQ(sqlite3_exec(raw,
                         "INSERT INTO memories(content_hash, content, tags, created_at, updated_at)"
                         " VALUES ('py1', 'penguins migrate across antarctic ice', 'py', 5, 5)",
                         nullptr, nullptr, nullptr),
            SQLITE_OK);
  sqlite3_close(raw);
  s.query = "penguins antarctic ice";
  auto py = other->search(s);
  ASSERT_FALSE(py->results.empty());
  EXPECT_EQ(py->results[0].memory.content_hash, "py1");
}

TEST_F(ServiceTest, BackgroundLoadingNeverGivesPartialResults) {
  std::vector<StoreRequest> batch;
  for (int i = 0; i < 5000; ++i) {
    StoreRequest r;
    r.content = "background memory " + std::to_string(i) + " token" + std::to_string(i * 7919);
    batch.push_back(r);
  }
  ASSERT_TRUE(service_->store_batch(batch).is_ok());
  service_.reset();
  ServiceOptions o;
  o.load_index_in_background = true;
  service_ = open_service(o);
  EXPECT_EQ(total(), 5000);  // stats answer while loading
  SearchRequest s;
  s.query = "background memory 4321 token" + std::to_string(4321 * 7919);
  auto out = search(s);
  ASSERT_FALSE(out.results.empty());
  EXPECT_EQ(out.results[0].memory.content, s.query);
  EXPECT_TRUE(service_->index_ready());
  EXPECT_EQ(service_->stats()->index_size, 5000u);
}

TEST_F(ServiceTest, OpensThePythonServiceDatabaseAndSearchesIt) {
  service_.reset();
  fs::copy_file(std::string(MCP_TEST_FIXTURES) + "/python_service.db", config_.db_path,
                fs::copy_options::overwrite_existing);
  service_ = open_service();
  SearchRequest s;
  s.query = "kubernetes ingress timeouts";
  auto out = search(s);
  ASSERT_FALSE(out.results.empty());
  EXPECT_EQ(out.results[0].memory.content,
            "Python service memory about Kubernetes ingress timeouts");
  EXPECT_EQ(total(), 9);
}

// Issue 13, scope 0: once a node has seen a version from a machine whose clock runs ahead,
// every new process on its file seeded its clock from the same hlc_high and issued the same
// version again, so a second edit (or a delete) looked "unchanged" to the other nodes and was
// dropped. Each local write now observes hlc_high and the row's version in its transaction and
// persists the version it made.
TEST_F(ServiceTest, EditsByShortLivedProcessesAfterAFastClockNeverRepeatAVersion) {
  const std::string hash = store("a memory edited from several short-lived processes").content_hash;
  service_.reset();
  {
    auto db = Database::open(config_.db_path, {});
    ASSERT_TRUE(db.is_ok());
    const int64_t ahead_ms = (static_cast<int64_t>(now_) + 600) * 1000;  // 10 min fast
    ASSERT_TRUE((*db)->set_meta(kHlcHighKey, Hlc{ahead_ms, 3, "fastnode"}.to_string()).is_ok());
  }
  std::vector<std::string> versions;
  for (const char* tag : {"a", "b", "c"}) {
    service_ = open_service();  // a new process: its clock starts from what the file says
    UpdateRequest u;
    u.content_hash = hash;
    u.tags = std::vector<std::string>{tag};
    auto updated = service_->update(u);
    ASSERT_TRUE(updated.is_ok()) << updated.status().message();
    versions.push_back(updated->hlc);
    service_.reset();
  }
  service_ = open_service();
  DeleteRequest d;
  d.content_hash = hash;
  ASSERT_TRUE(service_->remove(d).is_ok());
  auto tombstone = Database::open(config_.db_path, {}).value()->get_by_hash(hash, true);
  ASSERT_TRUE(tombstone.is_ok() && tombstone->has_value());
  versions.push_back((*tombstone)->hlc);
  store("a memory edited from several short-lived processes");  // over its own tombstone
  versions.push_back(service_->get(hash).value()->hlc);
  for (size_t i = 1; i < versions.size(); ++i) {
    EXPECT_LT(versions[i - 1], versions[i]) << "write " << i << " repeated or went back";
  }
  EXPECT_EQ(versions.front().substr(0, 16), versions.back().substr(0, 16))
      << "every version stays at the fast clock's time, ordered by the counter";
}

// A version the given time ahead of now, as another node (or an attacker) would send it.
IncomingVersion version_ahead(const std::string& content, double seconds_ahead) {
  IncomingVersion v;
  v.memory.content = content;
  v.memory.content_hash = *content_hash(content);
  v.memory.tags = {"pushed"};
  v.memory.created_at = v.memory.updated_at = kNow;
  const int64_t ms = static_cast<int64_t>((kNow + seconds_ahead) * 1000);
  v.memory.hlc = Hlc{ms, 0, "elsewhere"}.to_string();
  v.memory.origin = "elsewhere";
  return v;
}

TEST_F(ServiceTest, AVersionTooFarAheadIsRefusedWholeAndNeverMovesTheClock) {
  std::vector<IncomingVersion> batch = {version_ahead("fine, a minute ahead", 60),
                                        version_ahead("poison, two hours ahead", 7200)};
  auto applied = service_->apply_versions(batch, {});
  ASSERT_FALSE(applied.is_ok());
  EXPECT_EQ(applied.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(applied.status().message().find("MCP_SYNC_MAX_SKEW"), std::string::npos)
      << applied.status().message();
  EXPECT_FALSE(service_->get(*content_hash("fine, a minute ahead"))->has_value());  // none of it
  const std::string next = store("written after the refused push").memory->hlc;
  EXPECT_LT(Hlc::parse(next)->wall_ms, static_cast<int64_t>((now_ + 5) * 1000)) << next;

  // A 10-minute-fast machine is within the limit, and a version without an HLC is judged by its
  // time: updated_at 9e15 (a 19-digit version) is refused, as is a time beyond the year 9999.
  std::vector<IncomingVersion> fast = {version_ahead("from the fast laptop", 600)};
  auto fast_applied = service_->apply_versions(fast, {});
  EXPECT_TRUE(fast_applied.is_ok()) << fast_applied.status().message();
  IncomingVersion far = version_ahead("updated in the far future", 0);
  far.memory.hlc.clear();
  far.memory.updated_at = 9e15;
  std::vector<IncomingVersion> far_batch = {far};
  EXPECT_EQ(service_->apply_versions(far_batch, {}).status().code(), StatusCode::kInvalidArgument);
  for (const char* record : {R"({"content":"x","created_at":1e300})",
                             R"({"content":"x","created_at":1,"updated_at":9e15})",
                             R"({"content":"x","created_at":-1})"}) {
    auto parsed = parse_version(Json::parse(record), {});
    EXPECT_FALSE(parsed.is_ok()) << record;
    EXPECT_NE(parsed.status().message().find("between 1970 and 9999"), std::string::npos)
        << parsed.status().message();
  }
}

TEST_F(ServiceTest, PushedVersionsObeyTheStoreLimits) {
  IncomingVersion big = version_ahead(std::string(config_.max_content_bytes + 1, 'x'), 0);
  std::vector<IncomingVersion> batch = {big};
  auto applied = service_->apply_versions(batch, {});
  ASSERT_FALSE(applied.is_ok());
  EXPECT_NE(applied.status().message().find("MCP_MEMORY_MAX_CONTENT_BYTES"), std::string::npos)
      << applied.status().message();
  IncomingVersion meta = version_ahead("with huge metadata", 0);
  meta.memory.metadata["blob"] = std::string(config_.max_metadata_bytes, 'm');
  batch = {meta};
  EXPECT_FALSE(service_->apply_versions(batch, {}).is_ok());
  EXPECT_EQ(service_->stats()->storage.total_memories, 0);
}

TEST_F(ServiceTest, APoisonedClockOnDiskIsRepairedAtStart) {
  service_.reset();
  {
    auto db = Database::open(config_.db_path, {});
    ASSERT_TRUE(db.is_ok());
    ASSERT_TRUE((*db)->set_meta(kHlcHighKey, "999999999999999-ffffffff-x").is_ok());
  }
  service_ = open_service();
  const std::string version = store("after the repair").memory->hlc;
  EXPECT_LT(Hlc::parse(version)->wall_ms, static_cast<int64_t>((now_ + 5) * 1000)) << version;
  auto db = Database::open(config_.db_path, {});
  EXPECT_LT(*(*db)->get_meta(kHlcHighKey).value(), std::string("999"));
}

}  // namespace
}  // namespace mcpmem

namespace mcpmem {
namespace {

TEST_F(ServiceTest, DeletingBeforeATimeSparesWhatWasCreatedAtIt) {
  store("made at midnight", {}, 1735689600);  // 2025-01-01 00:00 UTC
  store("made the day before", {}, 1735689600 - 86400);
  DeleteRequest d;
  d.before = 1735689600;  // "before 2025-01-01": not that day
  auto out = service_->remove(d);
  ASSERT_TRUE(out.is_ok());
  EXPECT_EQ(out->count, 1);
  EXPECT_EQ(total(), 1);
}

TEST_F(ServiceTest, AMinimumScoreKeepsOnlyHitsAtOrAboveIt) {
  store("the backup runs at midnight");
  store("lunch is at noon on fridays");
  SearchRequest s;
  s.query = "when does the backup run";
  auto all = search(s);
  ASSERT_EQ(all.results.size(), 2u);
  s.min_score = (all.results[0].similarity_score + all.results[1].similarity_score) / 2;
  auto strong = search(s);
  ASSERT_EQ(strong.results.size(), 1u);
  EXPECT_EQ(strong.results[0].memory.content, "the backup runs at midnight");
}

}  // namespace
}  // namespace mcpmem
