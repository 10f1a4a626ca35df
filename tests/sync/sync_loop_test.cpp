// Background sync loops of two spokes against a real hub (HttpServer + the sync routes on
// loopback) while threads store, update and delete on every node at once: when the writers
// stop, all three databases hold the same memories with the same tags, and the loops stop
// promptly. The ThreadSanitizer run (make tsan) checks the loops, the server's handlers and
// the service for races.
#include "sync/sync_loop.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <map>
#include <thread>
#include <vector>

#include "../temp_dir.h"
#include "../tiny_bert.h"
#include "core/content_hash.h"
#include "http/http_server.h"
#include "http/sync_api.h"
#include "platform/http_client.h"
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
    hub_ = testing_util::open_node(dir_.path(), "hub");
    for (const char* name : {"laptop", "desktop"})
      spokes_.push_back(testing_util::open_node(dir_.path(), name));
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
  }

  SyncLoopOptions loop_options() const {
    SyncLoopOptions o;
    o.client.hub_url = "http://127.0.0.1:" + std::to_string(server_->port());
    o.client.api_key = kHubKey;
    o.client.timeout_seconds = 10;
    o.interval_seconds = 0.2;
    return o;
  }

  TempDir dir_{"loop"};
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
    r.allow_duplicate = true;
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
  sr.allow_duplicate = true;
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
  HttpClient hub;
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
    HttpRequest push;
    push.method = "POST";
    push.url = client.hub_url + "/api/sync/push";
    push.headers = {{"X-API-Key", kHubKey}, {"Content-Type", "application/json"}};
    push.body = body.dump();
    auto r = hub.send(push);
    ASSERT_TRUE(r.is_ok()) << r.status().message();
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
  // Nodes of a sentence model (the tiny BERT of tests/fixtures): its vectors are worth shipping.
  const std::string model = testing_util::make_tiny_bert(dir_.path());
  auto open = [&](const std::string& name, const std::string& embedding_model) {
    Config c = config_from_env({{"HOME", dir_.path()}});
    c.db_path = dir_ / (name + ".db");
    c.synchronous_full = false;
    c.node_name = name;
    c.embedding_model = embedding_model;
    auto s = MemoryService::open(c);
    EXPECT_TRUE(s.is_ok()) << s.status().message();
    return s.is_ok() ? std::move(s).value() : nullptr;
  };
  auto hub = open("bert-hub", "bert:" + model);
  auto a = open("bert-a", "bert:" + model);
  auto b = open("bert-b", "bert:" + model);
  ASSERT_TRUE(hub && a && b);
  HttpOptions o;
  o.port = 0;
  o.api_key = kHubKey;
  auto server = std::move(HttpServer::create(o)).value();
  mount_sync_api(*server, *hub);
  std::thread serving([&] { (void)server->run(); });
  while (!server->running()) std::this_thread::sleep_for(std::chrono::milliseconds(1));
  SyncClientOptions client = loop_options().client;
  client.hub_url = "http://127.0.0.1:" + std::to_string(server->port());

  // A vector the model would never make for this text: if it arrives, it travelled.
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
  std::vector<float> shipped(32, 0.0f);
  shipped[7] = 0.6f;
  shipped[30] = -0.8f;
  auto store_on_a = [&](const std::string& content) {
    IncomingVersion v = record(content);
    v.embedding = shipped;
    std::vector<IncomingVersion> versions = {v};
    EXPECT_TRUE(a->write_transaction([&]() -> Status {
                   return a->apply_versions(versions, {}).status();
                 }).is_ok());
    return v.memory.content_hash;
  };
  const std::string first = store_on_a("hello world memory");
  auto round = sync_once(*a, client);  // learns the hub's model, pulls
  ASSERT_TRUE(round.is_ok()) << round.status().message();
  EXPECT_NE(vectors(*hub)[first], shipped);  // the first push did not know the hub's model

  // A memory pushed once the spoke knows the hub's model carries its vector both ways.
  const std::string second = store_on_a("hello memory world");
  ASSERT_TRUE(sync_once(*a, client).is_ok());
  ASSERT_TRUE(sync_once(*b, client).is_ok());
  EXPECT_EQ(vectors(*hub)[second], shipped);
  EXPECT_EQ(vectors(*b)[second], shipped);

  // A node of another model ignores them and embeds the memory itself.
  auto other = open("hash-node", "hash-384");
  ASSERT_TRUE(sync_once(*other, client).is_ok());
  auto theirs = vectors(*other);
  ASSERT_EQ(theirs.count(second), 1u);
  EXPECT_EQ(theirs[second], other->embedder().embed("hello memory world"));
  server->stop();
  serving.join();
}

}  // namespace
}  // namespace mcpmem
