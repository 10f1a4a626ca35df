// Background sync loops of two spokes against a real hub (HttpServer + the sync routes on
// loopback) while threads store, update and delete on every node at once: when the writers
// stop, all three databases hold the same memories with the same tags, and the loops stop
// promptly. The ThreadSanitizer run (make tsan) checks the loops, the server's handlers and
// the service for races.
#include "sync/sync_loop.h"

#include <gtest/gtest.h>
#include <httplib.h>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <map>
#include <thread>
#include <vector>

#include "core/content_hash.h"
#include "http/http_server.h"
#include "http/sync_api.h"
#include "service/version_json.h"
#include "sync/sync_client.h"
#include "sync_test_util.h"

namespace mcpmem {
namespace {

namespace fs = std::filesystem;
constexpr const char* kHubKey = "sync-loop-test-key";

// content hash -> tags of every alive memory.
std::map<std::string, std::vector<std::string>> contents(MemoryService& s) {
  std::map<std::string, std::vector<std::string>> out;
  ListRequest r;
  r.page_size = 1000;
  auto page = s.list(r);
  EXPECT_TRUE(page.is_ok()) << page.status().message();
  if (!page.is_ok()) return out;
  for (const Memory& m : page->memories) out[m.content_hash] = m.tags;
  return out;
}

class SyncLoopTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/mcpmem-loop-XXXXXX";
    dir_ = mkdtemp(tmpl);
    hub_ = testing_util::open_node(dir_, "hub");
    for (const char* name : {"laptop", "desktop"})
      spokes_.push_back(testing_util::open_node(dir_, name));
    HttpOptions o;
    o.port = 0;
    o.api_key = kHubKey;
    server_ = std::move(HttpServer::create(o)).value();
    mount_sync_api(*server_, *hub_);
    server_thread_ = std::thread([this] { (void)server_->run(); });
    while (!server_->running()) std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  void TearDown() override {
    server_->stop();
    server_thread_.join();
    server_.reset();
    spokes_.clear();
    hub_.reset();
    fs::remove_all(dir_);
  }

  SyncLoopOptions loop_options() const {
    SyncLoopOptions o;
    o.client.hub_url = "http://127.0.0.1:" + std::to_string(server_->port());
    o.client.api_key = kHubKey;
    o.client.timeout_seconds = 10;
    o.interval_seconds = 0.2;
    return o;
  }

  std::string dir_;
  std::unique_ptr<MemoryService> hub_;
  std::vector<std::unique_ptr<MemoryService>> spokes_;
  std::unique_ptr<HttpServer> server_;
  std::thread server_thread_;
};

// Each writer stores its own memories, retags every third and deletes every fifth, on its node.
void write_on(MemoryService& node, const std::string& writer, int count) {
  for (int i = 0; i < count; ++i) {
    StoreRequest r;
    r.content = "note " + std::to_string(i) + " written by " + writer;
    r.tags = {writer};
    r.skip_semantic_dedup = true;
    auto stored = node.store(r);
    ASSERT_TRUE(stored.is_ok() && stored->success) << stored.status().message();
    const std::string hash = stored->content_hash;
    if (i % 3 == 0) {
      UpdateRequest u;
      u.content_hash = hash;
      u.tags = std::vector<std::string>{writer, "retagged"};
      ASSERT_TRUE(node.update(u).is_ok());
    }
    if (i % 5 == 0) {
      DeleteRequest d;
      d.content_hash = hash;
      ASSERT_TRUE(node.remove(d).is_ok());
    }
  }
}

TEST_F(SyncLoopTest, BackgroundLoopsConvergeWhileEveryNodeWrites) {
  std::vector<std::unique_ptr<SyncLoop>> loops;
  for (auto& spoke : spokes_) {
    loops.push_back(std::make_unique<SyncLoop>(*spoke, loop_options()));
    loops.back()->start();
  }
  constexpr int kPerWriter = 30;
  {
    std::vector<std::jthread> writers;
    writers.emplace_back([&] { write_on(*hub_, "hub-writer", kPerWriter); });
    for (size_t n = 0; n < spokes_.size(); ++n) {
      for (int w = 0; w < 2; ++w) {
        const std::string name = "spoke" + std::to_string(n) + "-writer" + std::to_string(w);
        writers.emplace_back([&, n, name] { write_on(*spokes_[n], name, kPerWriter); });
      }
    }
  }
  // 5 writers x 30, a fifth of them deleted.
  const size_t expected = 5 * (kPerWriter - kPerWriter / 5);
  auto converged = [&] {
    auto on_hub = contents(*hub_);
    if (on_hub.size() != expected) return false;
    return std::all_of(spokes_.begin(), spokes_.end(),
                       [&](auto& spoke) { return contents(*spoke) == on_hub; });
  };
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
  while (!converged() && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  EXPECT_EQ(contents(*hub_).size(), expected);
  for (auto& spoke : spokes_) EXPECT_EQ(contents(*spoke), contents(*hub_));
  for (const auto& [hash, tags] : contents(*hub_)) EXPECT_FALSE(tags.empty()) << hash;

  const auto stop_started = std::chrono::steady_clock::now();
  for (auto& loop : loops) loop->stop();
  loops.clear();  // joins
  EXPECT_LT(std::chrono::steady_clock::now() - stop_started, std::chrono::seconds(5));
}

// A conflict is recorded where the two versions meet (the hub) and travels to every node; a
// resolution made on any node holds on all, and two resolutions made at once end as the same
// one everywhere (the earlier). A pushed conflict that is not one is refused whole.
TEST_F(SyncLoopTest, AConflictAndItsResolutionAreOneFactOnEveryNode) {
  MemoryService &laptop = *spokes_[0], &desktop = *spokes_[1];
  const SyncClientOptions client = loop_options().client;
  auto round = [&](MemoryService& s) {
    auto r = sync_once(s, client);
    ASSERT_TRUE(r.is_ok()) << r.status().message();
  };
  StoreRequest sr;
  sr.content = "the build server is in rack 4";
  sr.skip_semantic_dedup = true;
  const std::string hash = (*laptop.store(sr)).content_hash;
  round(laptop);
  round(desktop);
  UpdateRequest u;
  u.content_hash = hash;
  u.memory_type = "laptop-type";
  ASSERT_TRUE(laptop.update(u).is_ok());
  std::this_thread::sleep_for(std::chrono::milliseconds(5));
  u.memory_type = "desktop-type";
  ASSERT_TRUE(desktop.update(u).is_ok());
  round(laptop);
  round(desktop);  // the hub meets the two versions here
  round(laptop);
  std::string uid;
  for (MemoryService* s : {hub_.get(), &laptop, &desktop}) {
    auto c = s->conflicts(false, 10);
    ASSERT_TRUE(c.is_ok());
    ASSERT_EQ(c->size(), 1u) << s->node_name();
    if (uid.empty()) uid = c->front().uid;
    EXPECT_EQ(c->front().uid, uid);
    EXPECT_EQ(c->front().fields, "memory_type");
    EXPECT_NE(c->front().loser.find("laptop-type"), std::string::npos);
  }
  // Both spokes resolve before hearing of the other: the laptop first.
  const int64_t on_laptop = (*laptop.conflicts(false, 1)).front().id;
  const int64_t on_desktop = (*desktop.conflicts(false, 1)).front().id;
  ASSERT_TRUE(laptop.resolve_conflict(on_laptop, "winner").is_ok());
  std::this_thread::sleep_for(std::chrono::milliseconds(5));
  ASSERT_TRUE(desktop.resolve_conflict(on_desktop, "loser").is_ok());
  for (int i = 0; i < 2; ++i) {
    round(desktop);
    round(laptop);
  }
  for (MemoryService* s : {hub_.get(), &laptop, &desktop}) {
    EXPECT_EQ(*s->count_conflicts(true), 0) << s->node_name();
    auto c = s->conflicts(true, 10);
    ASSERT_EQ(c->size(), 1u) << s->node_name();
    EXPECT_EQ(c->front().resolution, "kept-winner") << s->node_name();
    EXPECT_EQ(c->front().resolved_by, "laptop") << s->node_name();
    // Keeping the loser on the desktop was an edit: it holds everywhere.
    EXPECT_EQ((*s->get(hash))->memory_type, "laptop-type") << s->node_name();
  }

  // A pushed conflict that is not one: 422, nothing of the request applied.
  httplib::Client hub(client.hub_url);
  const std::string fresh = "a memory pushed with a bad conflict";
  for (const char* conflict :
       {R"({"uid": "x", "content_hash": "x"})", R"({"uid": 1})",
        R"({"uid": "HASH:v", "content_hash": "HASH", "detected_at": "2026-01-01T00:00:00Z",
            "winner": {}, "loser": {}, "resolved_at": "2026-01-02T00:00:00Z"})",
        R"({"uid": "HASH:v", "content_hash": "HASH", "detected_at": "yesterday",
            "winner": {}, "loser": {}})"}) {
    std::string text = conflict;
    for (size_t at; (at = text.find("HASH")) != std::string::npos;) text.replace(at, 4, hash);
    Json body = {{"node", "mallory"},
                 {"versions", Json::array({{{"content", fresh},
                                            {"content_hash", *content_hash(fresh)},
                                            {"created_at", 1.8e9},
                                            {"updated_at", 1.8e9}}})},
                 {"conflicts", Json::array({Json::parse(text)})}};
    auto r = hub.Post("/api/sync/push", {{"X-API-Key", kHubKey}}, body.dump(), "application/json");
    ASSERT_TRUE(r);
    EXPECT_EQ(r->status, 422) << conflict;
    EXPECT_NE(r->body.find("conflicts[0]"), std::string::npos) << r->body;
  }
  EXPECT_FALSE((*hub_->get(*content_hash(fresh))).has_value());
  EXPECT_EQ(*hub_->count_conflicts(false), 1);
}

}  // namespace
}  // namespace mcpmem

namespace mcpmem {
namespace {

// The stored vector of every alive memory, by content hash.
std::map<std::string, std::vector<float>> vectors(MemoryService& s) {
  std::map<std::string, std::vector<float>> out;
  ScanOptions o;
  o.vector_dimension = s.embedder().dimension();
  auto n = s.scan_memories(o, [&](const Memory& m, std::span<const float> v) {
    out[m.content_hash].assign(v.begin(), v.end());
    return true;
  });
  EXPECT_TRUE(n.is_ok()) << n.status().message();
  return out;
}

TEST_F(SyncLoopTest, VectorsTravelBetweenNodesOfOneModelAndAreMadeAgainByAnother) {
  // A vector hash-384 would never make for this text: if it arrives, it travelled.
  auto record = [](const std::string& content) {
    VersionParseOptions po;
    po.default_origin = "elsewhere";
    auto parsed = parse_version(Json{{"content", content},
                                     {"content_hash", content_hash(content).value()},
                                     {"tags", Json::array()},
                                     {"metadata", Json::object()},
                                     {"created_at", 1.7e9},
                                     {"updated_at", 1.7e9}},
                                po);
    EXPECT_TRUE(parsed.is_ok()) << parsed.status().message();
    return std::move(parsed).value();
  };
  IncomingVersion v = record("a memory whose vector was made elsewhere");
  v.embedding.assign(384, 0.0f);
  v.embedding[7] = 0.6f;
  v.embedding[300] = -0.8f;
  const std::vector<float> shipped = v.embedding;
  std::vector<IncomingVersion> versions = {v};
  ASSERT_TRUE(spokes_[0]
                  ->write_transaction(
                      [&]() -> Status { return spokes_[0]->apply_versions(versions, {}).status(); })
                  .is_ok());

  SyncClientOptions client = loop_options().client;
  auto first = sync_once(*spokes_[0], client);  // learns the hub's model, pulls
  ASSERT_TRUE(first.is_ok()) << first.status().message();
  ASSERT_TRUE(sync_once(*spokes_[0], client).is_ok());  // nothing new to push
  ASSERT_TRUE(sync_once(*spokes_[1], client).is_ok());
  EXPECT_NE(vectors(*hub_)[v.memory.content_hash], shipped);  // the first push had no vector

  // A memory pushed once the spoke knows the hub's model carries its vector both ways.
  v = record("a second memory with a vector from elsewhere");
  v.embedding = shipped;
  versions = {v};
  ASSERT_TRUE(spokes_[0]
                  ->write_transaction(
                      [&]() -> Status { return spokes_[0]->apply_versions(versions, {}).status(); })
                  .is_ok());
  ASSERT_TRUE(sync_once(*spokes_[0], client).is_ok());
  ASSERT_TRUE(sync_once(*spokes_[1], client).is_ok());
  EXPECT_EQ(vectors(*hub_)[v.memory.content_hash], shipped);
  EXPECT_EQ(vectors(*spokes_[1])[v.memory.content_hash], shipped);

  // A node of another model ignores them and embeds the memory itself.
  Config c = config_from_env({{"HOME", dir_}});
  c.db_path = dir_ + "/other-model.db";
  c.synchronous_full = false;
  c.node_name = "other";
  c.embedding_model = "hash-256";
  auto other = MemoryService::open(c);
  ASSERT_TRUE(other.is_ok()) << other.status().message();
  ASSERT_TRUE(sync_once(**other, client).is_ok());
  auto theirs = vectors(**other);
  ASSERT_EQ(theirs.count(v.memory.content_hash), 1u);
  EXPECT_EQ(theirs[v.memory.content_hash].size(), 256u);
  EXPECT_EQ(theirs[v.memory.content_hash], (*other)->embedder().embed(v.memory.content));
}

}  // namespace
}  // namespace mcpmem
