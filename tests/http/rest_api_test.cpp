// The REST API over a real socket: the Python service's paths, JSON shapes and key order,
// status codes for bad input (400 malformed, 422 invalid field, 404 unknown, 413 too big) with
// nothing changed, the events each write emits, and the sync guide's health fields.
// (rest_handlers_test.cpp calls the same handlers without a socket.)
#include "http/rest_api.h"

#include <sys/stat.h>

#include <ctime>
#include <filesystem>
#include <fstream>
#include <regex>

#include "../deep_json.h"
#include "core/content_hash.h"
#include "http_fixture.h"

namespace mcpmem {
namespace {

class RestTest : public HttpTest {
 protected:
  void SetUp() override {
    HttpTest::SetUp();
    start();
  }
  TestResult post(const std::string& path, const Json& body) {
    return client().Post(path.c_str(), with_key(), body.dump(), "application/json");
  }
  Json ok_json(const TestResult& r, int status = 200) {
    EXPECT_TRUE(r);
    if (!r) return Json();
    EXPECT_EQ(r->status, status) << r->body;
    EXPECT_EQ(r->get_header_value("Content-Type"), "application/json");
    return Json::parse(r->body);
  }
  std::string store(const std::string& content, Json tags = Json::array()) {
    Json j = ok_json(post("/api/memories", {{"content", content}, {"tags", tags}}));
    EXPECT_EQ(j["success"], true) << j.dump();
    return j["content_hash"];
  }
};

// With near-duplicate dedup on, as `serve --http` runs by default.
class RestDedupTest : public RestTest {
 protected:
  void SetUp() override {
    HttpTest::SetUp();
    Config c = service_->config();
    c.semantic_dedup_enabled = true;
    service_.reset();
    service_ = std::move(MemoryService::open(c)).value();
    start();
  }
};

// Issue 16: a near-duplicate's answer named the refused text's hash, which no memory has. It
// keeps the Python service's shape (200, success false) with the stored memory's hash.
TEST_F(RestDedupTest, ANearDuplicateAnswersWithTheStoredMemorysHash_Issue16) {
  const std::string hash = store("Release train leaves on Thursdays at noon");
  Json near =
      ok_json(post("/api/memories", {{"content", "Release train leaves on Thursdays at noon!!"}}));
  EXPECT_EQ(near["success"], false);
  EXPECT_EQ(near["content_hash"], hash);
  EXPECT_EQ(near["message"], "Duplicate content detected (semantically similar to " + hash + ")");
  EXPECT_TRUE(near["memory"].is_null());
  Json corrected =
      ok_json(post("/api/memories", {{"content", "Release train leaves on Fridays at noon"}}));
  EXPECT_EQ(corrected["success"], true) << corrected.dump();
}

TEST_F(RestTest, StoreGetUpdateDeleteWithThePythonShapes) {
  auto r = client().Post("/api/memories", with_key({{"X-Agent-ID", "claude"}}),
                         R"({"content":"Release train leaves on Thursdays","tags":["ops"],)"
                         R"("memory_type":"decision","metadata":{"owner":"kim"}})",
                         "application/json");
  Json stored = ok_json(r);
  const std::string hash = *content_hash("Release train leaves on Thursdays");
  EXPECT_EQ(stored["success"], true);
  EXPECT_EQ(stored["message"], "Memory stored successfully");
  EXPECT_EQ(stored["content_hash"], hash);
  EXPECT_EQ(stored["memory"]["tags"], Json({"ops", "agent:claude"}));
  // Key order of MemoryResponse, as the Python service prints it.
  const std::string raw = r->body.substr(r->body.find("\"memory\""));
  EXPECT_LT(raw.find("\"content\""), raw.find("\"content_hash\""));
  EXPECT_LT(raw.find("\"metadata\""), raw.find("\"created_at\""));
  EXPECT_LT(raw.find("\"created_at_iso\""), raw.find("\"updated_at\""));

  Json dup = ok_json(post("/api/memories", {{"content", "release train leaves on thursdays"}}));
  EXPECT_EQ(dup["success"], false);
  EXPECT_EQ(dup["message"], "Duplicate content detected (exact match)");
  EXPECT_EQ(dup["content_hash"], hash);
  EXPECT_TRUE(dup["memory"].is_null());

  Json got = ok_json(client().Get(("/api/memories/" + hash).c_str(), with_key()));
  EXPECT_EQ(got["metadata"]["owner"], "kim");
  const double created = got["created_at"];

  Json upd = ok_json(client().Put(("/api/memories/" + hash).c_str(), with_key(),
                                  R"({"tags":["ops","release"],"metadata":{"team":"infra"}})",
                                  "application/json"));
  EXPECT_EQ(upd["success"], true);
  EXPECT_EQ(upd["memory"]["tags"], Json({"ops", "release"}));
  EXPECT_EQ(upd["memory"]["metadata"]["owner"], "kim");  // merged
  EXPECT_EQ(upd["memory"]["metadata"]["team"], "infra");
  EXPECT_EQ(upd["memory"]["created_at"], created);
  Json same = ok_json(
      client().Put(("/api/memories/" + hash).c_str(), with_key(), "{}", "application/json"));
  EXPECT_EQ(same["message"], "No updates provided - memory unchanged");

  Json del = ok_json(client().Delete(("/api/memories/" + hash).c_str(), with_key()));
  EXPECT_EQ(del, Json({{"success", true},
                       {"message", "Memory deleted successfully"},
                       {"content_hash", hash}}));
  Json again = ok_json(client().Delete(("/api/memories/" + hash).c_str(), with_key()));
  EXPECT_EQ(again["success"], false);
  auto gone = client().Get(("/api/memories/" + hash).c_str(), with_key());
  EXPECT_EQ(gone->status, 404);
  EXPECT_EQ(Json::parse(gone->body)["detail"], "Memory not found");
  EXPECT_EQ(
      client().Put(("/api/memories/" + hash).c_str(), with_key(), "{}", "application/json")->status,
      404);
  std::lock_guard<std::mutex> lock(events_mu_);
  EXPECT_TRUE(events_.empty());  // stores and deletes reach /api/events by the change log
}

TEST_F(RestTest, ListPagesAndFilters) {
  for (int i = 0; i < 25; ++i) {
    store("paged memory number " + std::to_string(i) + " about topic " + std::to_string(i % 3),
          i % 2 ? Json({"odd"}) : Json({"even", "x"}));
  }
  Json page = ok_json(client().Get("/api/memories?page=2&page_size=10", with_key()));
  EXPECT_EQ(page["total"], 25);
  EXPECT_EQ(page["page"], 2);
  EXPECT_EQ(page["memories"].size(), 10u);
  EXPECT_EQ(page["has_more"], true);
  Json odd = ok_json(client().Get("/api/memories?tag=odd&page_size=100", with_key()));
  EXPECT_EQ(odd["total"], 12);
  Json all = ok_json(client().Get("/api/memories?tag=even,x&tag_match=all", with_key()));
  EXPECT_EQ(all["total"], 13);
  for (const char* bad : {"/api/memories?page=0", "/api/memories?page_size=101",
                          "/api/memories?page=x", "/api/memories?tag_match=some"}) {
    EXPECT_EQ(client().Get(bad, with_key())->status, 422) << bad;
  }
  Json tags = ok_json(client().Get("/api/tags", with_key()));
  EXPECT_EQ(tags["tags"].size(), 3u);
  Json stats = ok_json(client().Get("/api/stats", with_key()));
  EXPECT_EQ(stats["total_memories"], 25);
}

TEST_F(RestTest, SearchesHaveThePythonShapeAndOurFilters) {
  const std::string redis =
      store("Redis is configured through REDIS_URL in the env file", {"redis"});
  store("Postgres backups run nightly with pg_dump", {"postgres"});
  store("The redis cache keeps sessions for a day", {"redis", "cache"});
  Json s = ok_json(post("/api/search", {{"query", "how is redis configured"}, {"n_results", 2}}));
  ASSERT_EQ(s["results"].size(), 2u);
  EXPECT_EQ(s["total_found"], 2);
  EXPECT_EQ(s["search_type"], "semantic");
  EXPECT_EQ(s["results"][0]["memory"]["content_hash"], redis);
  EXPECT_TRUE(s["results"][0]["similarity_score"].is_number());
  EXPECT_TRUE(s["processing_time_ms"].is_number());
  Json strict = ok_json(
      post("/api/search", {{"query", "how is redis configured"}, {"similarity_threshold", 0.99}}));
  EXPECT_EQ(strict["results"].size(), 0u);
  Json kw = ok_json(post("/api/search", {{"query", "pg_dump"}, {"mode", "keyword"}}));
  EXPECT_EQ(kw["results"].size(), 1u);

  Json by_tag =
      ok_json(post("/api/search/by-tag", {{"tags", {"redis", "cache"}}, {"match_all", true}}));
  EXPECT_EQ(by_tag["results"].size(), 1u);
  EXPECT_EQ(by_tag["search_type"], "tag");
  EXPECT_EQ(post("/api/search/by-tag", {{"tags", Json::array()}})->status, 400);

  Json by_time = ok_json(post("/api/search/by-time", {{"query", "today"}, {"n_results", 10}}));
  EXPECT_EQ(by_time["results"].size(), 3u);
  auto bad_time = post("/api/search/by-time", {{"query", "whenever you like"}});
  EXPECT_EQ(bad_time->status, 400);
  EXPECT_NE(Json::parse(bad_time->body)["detail"].get<std::string>().find("Could not parse"),
            std::string::npos);

  Json similar =
      ok_json(client().Get(("/api/search/similar/" + redis + "?n_results=1").c_str(), with_key()));
  ASSERT_EQ(similar["results"].size(), 1u);
  EXPECT_NE(similar["results"][0]["memory"]["content_hash"], redis);
  EXPECT_EQ(similar["search_type"], "similar");
  EXPECT_EQ(client().Get("/api/search/similar/nope", with_key())->status, 404);
  std::lock_guard<std::mutex> lock(events_mu_);
  // One per answered search (the three refused ones emit nothing).
  EXPECT_EQ(std::count(events_.begin(), events_.end(), "search_completed"), 6);
}

// Issue 13, scope 7: /api/search reads a time named in its query, as the MCP tool memory_search
// does (the same service call), and says which window it used; an explicit time_expr wins.
// The clock is 2026-12-06 15:00 UTC.
class RestTimeTest : public RestTest {
 protected:
  void SetUp() override {
    HttpTest::SetUp();
    setenv("TZ", "UTC", 1);
    tzset();
    const Config config = service_->config();
    service_.reset();
    ServiceOptions o;
    o.clock = [] { return utc(2026, 12, 6, 15); };
    service_ = std::move(MemoryService::open(config, o)).value();
    start();
  }
  static double utc(int y, int mo, int d, int h = 0, int mi = 0) {
    std::tm tm{};
    tm.tm_year = y - 1900;
    tm.tm_mon = mo - 1;
    tm.tm_mday = d;
    tm.tm_hour = h;
    tm.tm_min = mi;
    return static_cast<double>(timegm(&tm));
  }
  void store_at(const std::string& content, double created) {
    StoreRequest r;
    r.content = content;
    r.created_at = created;
    ASSERT_TRUE(service_->store(r)->success) << content;
  }
};

TEST_F(RestTimeTest, SearchReadsATimeInTheQueryAndSaysWhichWindow) {
  store_at("The hub was down yesterday after the power cut", utc(2026, 11, 26, 9));
  store_at("Rotated the API key of the staging hub", utc(2026, 12, 5, 17, 45));
  Json r = ok_json(post("/api/search", {{"query", "what did I store yesterday"}}));
  ASSERT_EQ(r["total_found"], 1) << r.dump();
  EXPECT_EQ(r["results"][0]["memory"]["content"], "Rotated the API key of the staging hub");
  EXPECT_EQ(r["search_type"], "time");
  EXPECT_EQ(r["query"], "what did I store yesterday");
  EXPECT_EQ(r["time_window"]["expression"], "yesterday");
  EXPECT_EQ(r["time_window"]["start_iso"], "2026-12-05T00:00:00Z");
  EXPECT_EQ(r["time_window"]["end_iso"], "2026-12-05T23:59:59.999999Z");
  EXPECT_EQ(r["time_window"]["from_query"], true);

  Json given =
      ok_json(post("/api/search", {{"query", "hub down yesterday"}, {"time_expr", "last month"}}));
  ASSERT_EQ(given["total_found"], 1) << given.dump();
  EXPECT_EQ(given["results"][0]["memory"]["content"],
            "The hub was down yesterday after the power cut");
  EXPECT_EQ(given["time_window"]["expression"], "last month");
  EXPECT_EQ(given["time_window"]["from_query"], false);

  Json plain = ok_json(post("/api/search", {{"query", "staging hub"}}));
  EXPECT_EQ(plain["total_found"], 2);
  EXPECT_FALSE(plain.contains("time_window"));
}

TEST_F(RestTest, BadBodiesAreRefusedAndChangeNothing) {
  store("the only memory");
  struct Case {
    std::string body;
    int status;
  };
  const Case cases[] = {
      {"{", 400},
      {"[1,2]", 400},
      {"\"text\"", 400},
      {R"({"content":5})", 422},
      {R"({"content":""})", 422},
      {R"({"content":"x","tags":"a,b","metadata":[1]})", 422},
      {R"({"content":"x","tags":[1,2]})", 422},
      {R"({"content":"\xff\xfe bad utf8"})", 400},  // not JSON: JSON text is UTF-8
      {R"({"content":"x","memory_type":7})", 422},
  };
  for (const Case& c : cases) {
    auto r = client().Post("/api/memories", with_key(), c.body, "application/json");
    ASSERT_TRUE(r);
    EXPECT_EQ(r->status, c.status) << c.body << " -> " << r->body;
    EXPECT_TRUE(Json::parse(r->body)["detail"].is_string()) << r->body;
  }
  const std::string big = R"({"content":")" + std::string(kMaxRequestBodyBytes, 'a') + "\"}";
  EXPECT_EQ(client().Post("/api/memories", with_key(), big, "application/json")->status, 413);
  const std::pair<const char*, Json> wrong_types[] = {
      {"/api/search", {{"query", "x"}, {"n_results", "ten"}}},
      {"/api/search", {{"query", "x"}, {"n_results", 101}}},
      {"/api/search", {{"query", "x"}, {"similarity_threshold", 2}}},
      {"/api/search", {{"query", "x"}, {"mode", "fuzzy"}}},
      {"/api/search/by-tag", {{"tags", {"a"}}, {"match_all", "yes"}}},
      {"/api/search/by-time", {{"query", "today"}, {"n_results", 0}}},
  };
  for (const auto& [path, body] : wrong_types) {
    EXPECT_EQ(client().Post(path, with_key(), "nope", "application/json")->status, 400) << path;
    EXPECT_EQ(post(path, body)->status, 422) << path << " " << body.dump();
  }
  EXPECT_EQ(memory_count(), 1);
}

// Issue 15: a body nested 60,000 deep crashed the server (stack overflow copying or printing it).
TEST_F(RestTest, JsonNestedHundredThousandDeepIsA400AndTheServerLives_Issue15) {
  const std::string hash = store("kept");
  for (const std::string& deep : testing_json::hundred_thousand_deep()) {
    // As the whole body, and as a field value of a body that is otherwise right.
    for (const std::string& body : {deep, R"({"content":"x","metadata":{"m":)" + deep + "}}"}) {
      for (const char* path :
           {"/api/memories", "/api/search", "/api/search/by-tag", "/api/search/by-time"}) {
        auto r = client().Post(path, with_key(), body, "application/json");
        ASSERT_TRUE(r) << path;
        EXPECT_EQ(r->status, 400) << path;
        EXPECT_EQ(Json::parse(r->body)["detail"],
                  "the request body is JSON nested deeper than 64 levels")
            << path;
      }
      auto put =
          client().Put(("/api/memories/" + hash).c_str(), with_key(), body, "application/json");
      ASSERT_TRUE(put);
      EXPECT_EQ(put->status, 400);
    }
  }
  EXPECT_EQ(ok_json(client().Get("/api/health"))["status"], "healthy");
  EXPECT_EQ(memory_count(), 1);
  EXPECT_EQ(ok_json(client().Get(("/api/memories/" + hash).c_str(), with_key()))["content"],
            "kept");
}

TEST_F(RestTest, BackupsAreCompleteStandaloneFilesListedNewestFirst) {
  store("a memory worth keeping");
  Json none = ok_json(client().Get("/api/backup/list", with_key()));
  EXPECT_EQ(none["total_count"], 0);
  Json made = ok_json(post("/api/backup/now", Json::object()));
  EXPECT_EQ(made["success"], true);
  const std::string name = made["filename"];
  EXPECT_TRUE(std::regex_match(name, std::regex(R"(memory_backup_\d{8}_\d{6}\.db)"))) << name;
  Json second = ok_json(post("/api/backup/now", Json::object()));
  EXPECT_NE(second["filename"], made["filename"]);  // same second: a new name, not overwritten
  Json list = ok_json(client().Get("/api/backup/list", with_key()));
  EXPECT_EQ(list["total_count"], 2);
  EXPECT_EQ(list["backups"][0]["filename"], second["filename"]);
  Json status = ok_json(client().Get("/api/backup/status", with_key()));
  EXPECT_EQ(status["backup_count"], 2);
  EXPECT_EQ(status["enabled"], true);
  EXPECT_EQ(status["interval"], "daily");
  EXPECT_TRUE(status["last_backup_time"].is_number());

  // Owner-only (issue 15), even in this process whose umask lets others read new files.
  const std::string backups = service_->config().backups_path;
  struct stat st {};
  ASSERT_EQ(::stat((backups + "/" + name).c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  ASSERT_EQ(::stat(backups.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0700u);

  // The copy opens on its own (no WAL beside it) with every memory in it.
  Config copy_config = service_->config();
  copy_config.db_path = service_->config().backups_path + "/" + name;
  auto copy = MemoryService::open(copy_config);
  ASSERT_TRUE(copy.is_ok()) << copy.status().message();
  EXPECT_EQ((*copy)->stats()->storage.total_memories, 1);
}

// The dashboard's buttons: a backup downloaded as it is, and restored into a new file beside the
// backups (never over the live database). Only names the list shows are served.
TEST_F(RestTest, ABackupDownloadsAndRestoresToANewFile) {
  store("a memory to get back");
  const std::string name = ok_json(post("/api/backup/now", Json::object()))["filename"];
  const std::string path = service_->config().backups_path + "/" + name;
  auto got = client().Get(("/api/backup/download/" + name).c_str(), with_key());
  ASSERT_TRUE(got);
  EXPECT_EQ(got->status, 200);
  EXPECT_EQ(got->get_header_value("Content-Type"), "application/octet-stream");
  std::ifstream in(path, std::ios::binary);
  const std::string file((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  EXPECT_EQ(got->body, file);
  EXPECT_EQ(client().Get(("/api/backup/download/" + name).c_str())->status, 401);
  for (const std::string bad : {"memory_backup_nope.db", "..%2Fsqlite_vec.db", "sqlite_vec.db"}) {
    EXPECT_EQ(client().Get(("/api/backup/download/" + bad).c_str(), with_key())->status, 404)
        << bad;
  }

  Json restored = ok_json(post("/api/backup/restore", Json{{"filename", name}}));
  EXPECT_EQ(restored["memories"], 1);
  const std::string copy = restored["path"];
  EXPECT_EQ(copy.rfind(service_->config().backups_path + "/restored/restored_", 0), 0u) << copy;
  EXPECT_TRUE(std::filesystem::exists(copy));
  Json again = ok_json(post("/api/backup/restore", Json{{"filename", name}}));
  EXPECT_NE(again["path"], restored["path"]);  // a second copy, the first one kept
  auto missing = post("/api/backup/restore", Json{{"filename", "memory_backup_x.db"}});
  EXPECT_EQ(missing->status, 404);
  EXPECT_EQ(post("/api/backup/restore", Json::object())->status, 422);
  EXPECT_EQ(memory_count(), 1);  // the live database untouched
}

// The sync guide: `curl -k https://localhost:8443/api/health/detailed` with the key, and its
// monitoring script reading memory_count and last_modified.
TEST_F(RestTest, DetailedHealthHasThePythonFieldsAndTheSyncGuideFields) {
  store("one memory for the health check");
  Json h = ok_json(client().Get("/api/health/detailed", with_key()));
  EXPECT_EQ(h["status"], "healthy");
  EXPECT_EQ(h["version"], "test");
  EXPECT_EQ(h["memory_count"], 1);
  EXPECT_TRUE(h["last_modified"].is_string());
  EXPECT_EQ(h["storage"]["backend"], "sqlite-vec");
  EXPECT_EQ(h["storage"]["embedding_model"], "hash-384");
  EXPECT_EQ(h["statistics"]["total_memories"], 1);
  EXPECT_TRUE(h["uptime_seconds"].is_number());
  EXPECT_EQ(client().Get("/api/health/detailed")->status, 401);
  Json open = ok_json(client().Get("/api/health"));
  EXPECT_EQ(open["memory_count"], 1);
  EXPECT_EQ(open["last_modified"], h["last_modified"]);
}

}  // namespace
}  // namespace mcpmem
