// The sync conflict routes over a real socket: a conflict made the way a hub meets one (two
// nodes' concurrent edits of one field of a memory, applied by MemoryService::apply_versions)
// is listed with both versions and the field that lost; keeping the loser makes it current; a
// second resolve is a 409; bad requests (422), unknown ids (404) and missing or wrong keys (401)
// change nothing. Then the handlers alone (SyncHandlerTest), with hand-made Requests.
#include "http/sync_api.h"

#include "../deep_json.h"
#include "core/content_hash.h"
#include "core/hlc.h"
#include "http_fixture.h"

namespace mcpmem {
namespace {

// Same content hash (case differs), so they are two versions of one memory.
constexpr const char* kLaptopText = "Deploy notes live in the team wiki";
constexpr const char* kDesktopText = "DEPLOY NOTES live in the team wiki";
constexpr int64_t kLaptopWallMs = 1754993730000, kDesktopWallMs = 1754993731000;

class SyncApiTest : public HttpTest {
 protected:
  void SetUp() override {
    HttpTest::SetUp();
    start();
  }

  // `node` pushes its own version of `content` (made without having seen any other): created at
  // `wall_ms` with `tags`, then its memory_type edited to "<node>-type" a millisecond later.
  void push_version(const std::string& node, const std::string& content,
                    const std::vector<std::string>& tags, int64_t wall_ms) {
    IncomingVersion v;
    v.memory.content = content;
    v.memory.content_hash = *content_hash(content);
    v.memory.tags = tags;
    v.memory.memory_type = node + "-type";
    v.memory.created_at = v.memory.updated_at = static_cast<double>(wall_ms) / 1000.0;
    const std::string created = Hlc{wall_ms, 0, node}.to_string();
    const std::string edited = Hlc{wall_ms + 1, 0, node}.to_string();
    v.memory.fields = fields_written_by(created, tags, {}, v.memory.created_at);
    v.memory.fields.observe(edited);
    v.memory.fields.type = edited;
    v.memory.hlc = edited;
    v.memory.origin = node;
    std::vector<IncomingVersion> versions{std::move(v)};
    ApplyOptions o;
    o.source = "sync:" + node;
    ASSERT_TRUE(service_->apply_versions(versions, o).is_ok());
  }
  void make_conflict() {
    push_version("laptop", kLaptopText, {"from-laptop"}, kLaptopWallMs);
    push_version("desktop", kDesktopText, {"from-desktop"}, kDesktopWallMs);
  }

  Json get_json(const std::string& path, int status = 200) {
    auto r = client().Get(path.c_str(), with_key());
    EXPECT_TRUE(r);
    if (!r) return Json();
    EXPECT_EQ(r->status, status) << path << ": " << r->body;
    return Json::parse(r->body, nullptr, false);
  }
  TestResult resolve(const std::string& id, const std::string& body,
                     TestHeaders headers = with_key()) {
    return client().Post(("/api/sync/conflicts/" + id + "/resolve").c_str(), headers, body,
                         "application/json");
  }
};

TEST_F(SyncApiTest, ConcurrentVersionsAreListedAndKeepingTheLoserMakesItCurrent) {
  make_conflict();
  const std::string hash = *content_hash(kLaptopText);

  Json list = get_json("/api/sync/conflicts");
  EXPECT_EQ(list["unresolved"], 1);
  ASSERT_EQ(list["conflicts"].size(), 1u);
  const Json c = list["conflicts"][0];
  EXPECT_EQ(c["content_hash"], hash);
  EXPECT_EQ(c["source"], "sync:desktop");
  EXPECT_TRUE(c["detected_at"].is_string());
  EXPECT_TRUE(c["resolved_at"].is_null());
  EXPECT_TRUE(c["resolution"].is_null());
  // The later edit wins; the earlier one is kept whole, with the field it lost. Tags of both
  // merge (no conflict), and the newer creation's text is the content.
  EXPECT_EQ(c["fields"], Json({"memory_type"}));
  EXPECT_EQ(c["winner"]["content"], kDesktopText);
  EXPECT_EQ(c["winner"]["origin"], "desktop");
  EXPECT_EQ(c["winner"]["memory_type"], "desktop-type");
  EXPECT_EQ(c["winner"]["tags"], Json({"from-desktop", "from-laptop"}));
  const Hlc desktop_version{kDesktopWallMs + 1, 0, "desktop"};
  EXPECT_EQ(c["winner"]["hlc"], desktop_version.to_string());
  EXPECT_EQ(c["loser"]["content"], kLaptopText);
  EXPECT_EQ(c["loser"]["origin"], "laptop");
  EXPECT_EQ(c["loser"]["memory_type"], "laptop-type");
  EXPECT_EQ(get_json("/api/memories/" + hash)["content"], kDesktopText);
  EXPECT_EQ(get_json("/api/sync/status")["conflicts_unresolved"], 1);

  const std::string id = std::to_string(c["id"].get<int64_t>());
  auto r = resolve(id, R"({"keep":"loser"})");
  ASSERT_TRUE(r);
  ASSERT_EQ(r->status, 200) << r->body;
  Json settled = Json::parse(r->body);
  EXPECT_EQ(settled["success"], true);
  EXPECT_EQ(settled["conflict"]["resolution"], "kept-loser");
  EXPECT_TRUE(settled["conflict"]["resolved_at"].is_string());
  EXPECT_EQ(settled["memory"]["memory_type"], "laptop-type");
  EXPECT_EQ(settled["memory"]["origin"], service_->node_name());  // a new edit made here

  Json now = get_json("/api/memories/" + hash);
  EXPECT_EQ(now["memory_type"], "laptop-type");
  EXPECT_EQ(now["tags"], Json({"from-desktop", "from-laptop"}));
  Json after = get_json("/api/sync/conflicts");
  EXPECT_EQ(after["unresolved"], 0);
  EXPECT_TRUE(after["conflicts"].empty());
  Json all = get_json("/api/sync/conflicts?all=1");
  ASSERT_EQ(all["conflicts"].size(), 1u);
  EXPECT_EQ(all["conflicts"][0]["resolution"], "kept-loser");
  EXPECT_EQ(get_json("/api/sync/status")["conflicts_unresolved"], 0);

  // Settled once: a second answer (say, from another tab) is refused and changes nothing.
  auto again = resolve(id, R"({"keep":"winner"})");
  ASSERT_TRUE(again);
  EXPECT_EQ(again->status, 409);
  EXPECT_NE(Json::parse(again->body)["detail"].get<std::string>().find("already resolved"),
            std::string::npos);
  EXPECT_EQ(get_json("/api/memories/" + hash)["memory_type"], "laptop-type");
  EXPECT_EQ(get_json("/api/sync/conflicts?all=1")["conflicts"][0]["resolution"], "kept-loser");
}

TEST_F(SyncApiTest, ConflictRoutesRefuseMissingAndWrongKeys) {
  make_conflict();
  const std::string id = std::to_string(service_->conflicts(false, 10)->front().id);
  for (const TestHeaders& h : {TestHeaders{}, TestHeaders{{"X-API-Key", "wrong"}},
                               TestHeaders{{"Authorization", "Bearer test-key-5f1c2a9"}}}) {
    auto list = client().Get("/api/sync/conflicts", h);
    ASSERT_TRUE(list);
    EXPECT_EQ(list->status, 401);
    EXPECT_EQ(list->body.find(kLaptopText), std::string::npos);
    auto r = resolve(id, R"({"keep":"loser"})", h);
    ASSERT_TRUE(r);
    EXPECT_EQ(r->status, 401);
  }
  EXPECT_EQ(*service_->count_conflicts(true), 1);
  EXPECT_EQ((*service_->get(*content_hash(kLaptopText)))->content, kDesktopText);
}

TEST_F(SyncApiTest, BadRequestsAreRefusedWithAReasonAndChangeNothing) {
  make_conflict();
  const std::string id = std::to_string(service_->conflicts(false, 10)->front().id);
  for (const char* body :
       {"", "not json", "[]", "{}", R"({"keep":"both"})", R"({"keep":1})", R"({"keep":"Loser"})"}) {
    auto r = resolve(id, body);
    ASSERT_TRUE(r);
    EXPECT_EQ(r->status, 422) << body;
    EXPECT_NE(r->body.find("keep"), std::string::npos) << r->body;
  }
  for (const char* unknown : {"999", "abc", "-1"}) {
    auto r = resolve(unknown, R"({"keep":"loser"})");
    ASSERT_TRUE(r);
    EXPECT_EQ(r->status, 404) << unknown;
    EXPECT_NE(r->body.find("no sync conflict"), std::string::npos) << r->body;
  }
  for (const char* query : {"?all=maybe", "?limit=0", "?limit=ten", "?limit=-2"}) {
    get_json(std::string("/api/sync/conflicts") + query, 422);
  }
  EXPECT_EQ(*service_->count_conflicts(true), 1);
  EXPECT_EQ((*service_->get(*content_hash(kLaptopText)))->content, kDesktopText);
}

// Issue 15: push and resolve bodies nested 100,000 deep are a 400 naming the limit; the hub
// lives on and nothing changed.
TEST_F(SyncApiTest, JsonNestedHundredThousandDeepIsA400AndTheHubLives_Issue15) {
  make_conflict();
  const std::string id = std::to_string(service_->conflicts(false, 10)->front().id);
  const Json before = get_json("/api/sync/status");
  for (const std::string& deep : testing_json::hundred_thousand_deep()) {
    for (const std::string& body :
         {deep, R"({"node":"evil","versions":[{"content":"x","metadata":)" + deep + "}]}"}) {
      auto push = client().Post("/api/sync/push", with_key(), body, "application/json");
      ASSERT_TRUE(push);
      EXPECT_EQ(push->status, 400);
      EXPECT_EQ(Json::parse(push->body)["detail"],
                "the request body is JSON nested deeper than 64 levels");
    }
    auto r = resolve(id, R"({"keep":)" + deep + "}");
    ASSERT_TRUE(r);
    EXPECT_EQ(r->status, 400);
    EXPECT_NE(r->body.find("JSON nested deeper than 64 levels"), std::string::npos) << r->body;
  }
  EXPECT_EQ(get_json("/api/sync/status")["memory_count"], before["memory_count"]);
  EXPECT_EQ(*service_->count_conflicts(true), 1);
  EXPECT_EQ((*service_->get(*content_hash(kLaptopText)))->content, kDesktopText);
}

TEST_F(SyncApiTest, ListIsNewestFirstAndLimited) {
  make_conflict();
  push_version("laptop", "Standup moved to 9:30", {"a"}, kLaptopWallMs);
  push_version("desktop", "standup moved to 9:30", {"b"}, kDesktopWallMs);
  Json list = get_json("/api/sync/conflicts?limit=1");
  EXPECT_EQ(list["unresolved"], 2);
  ASSERT_EQ(list["conflicts"].size(), 1u);
  EXPECT_EQ(list["conflicts"][0]["content_hash"], *content_hash("Standup moved to 9:30"));
  EXPECT_EQ(get_json("/api/sync/conflicts")["conflicts"].size(), 2u);
}

class SyncHandlerTest : public HttpTest {};

TEST_F(SyncHandlerTest, PullFromAnEmptyHubIsAnEmptyBatch) {
  Response r = handle_sync_pull(*service_, Request{});
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(r.header("Content-Type"), "application/json");
  Json j = Json::parse(r.body);
  EXPECT_EQ(j["hub_node"], service_->node_name());
  EXPECT_TRUE(j["versions"].empty());
  EXPECT_EQ(j["more"], false);
  EXPECT_EQ(j["embedding_model"], "hash-384");
}

TEST_F(SyncHandlerTest, RefusalsNameWhatIsWrongAndApplyNothing) {
  Request pull;
  pull.params.emplace("since", "x");
  Response bad_pull = handle_sync_pull(*service_, pull);
  EXPECT_EQ(bad_pull.status, 422);
  EXPECT_EQ(Json::parse(bad_pull.body)["detail"],
            "'since' and 'limit' must be whole numbers (limit >= 1)");
  auto push = [&](const std::string& body) {
    Request r;
    r.body = body;
    return handle_sync_push(*service_, r);
  };
  const std::pair<std::string, std::pair<int, std::string>> cases[] = {
      {"[]", {400, "the request body must be a JSON object"}},
      {R"({"versions":{}})", {422, "'versions' must be a list"}},
      {R"({"versions":[],"node":7})", {422, "'node' must be a string"}},
      {R"({"versions":[],"conflicts":{}})", {422, "'conflicts' must be a list"}},
  };
  for (const auto& [body, expected] : cases) {
    Response r = push(body);
    EXPECT_EQ(r.status, expected.first) << body;
    EXPECT_EQ(Json::parse(r.body)["detail"], expected.second) << body;
  }
  Response bad_version = push(R"({"versions":[{"content":5}]})");
  EXPECT_EQ(bad_version.status, 422);
  const std::string detail = Json::parse(bad_version.body)["detail"];
  EXPECT_EQ(detail.rfind("versions[0]: ", 0), 0u) << detail;
  EXPECT_NE(detail.find("(nothing was applied)"), std::string::npos) << detail;
  EXPECT_EQ(memory_count(), 0);

  Request resolve;
  resolve.matches = {"/api/sync/conflicts/abc/resolve", "abc"};
  resolve.body = R"({"keep":"loser"})";
  Response unknown = handle_resolve_conflict(*service_, resolve);
  EXPECT_EQ(unknown.status, 404);
  EXPECT_EQ(Json::parse(unknown.body)["detail"], "no sync conflict with id abc");
  Request list;
  list.params.emplace("limit", "0");
  EXPECT_EQ(handle_list_conflicts(*service_, list).status, 422);
}

}  // namespace
}  // namespace mcpmem
