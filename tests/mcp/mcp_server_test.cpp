// The MCP server: JSON-RPC framing and errors, version negotiation, the tools with the Python
// service's names and text, their structuredContent, aliases, bad arguments as isError
// results; and the real binary over stdio with a burst of pipelined requests.
#include "mcp/mcp_server.h"

#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <regex>
#include <set>
#include <sstream>

#include "../deep_json.h"
#include "../temp_dir.h"
#include "core/content_hash.h"

namespace mcpmem {
namespace {

namespace fs = std::filesystem;

class McpTest : public ::testing::Test {
 protected:
  void SetUp() override {
    config_ = config_from_env({{"HOME", dir_.path()}});
    config_.db_path = dir_ / "mcp.db";
    config_.synchronous_full = false;
    service_ = std::move(MemoryService::open(config_)).value();
    server_ = std::make_unique<McpServer>(*service_);
  }
  // Reopens the service on a clock the test moves (now_), so memories are stored at set times.
  void use_test_clock(double now) {
    now_ = now;
    server_.reset();
    service_.reset();
    ServiceOptions o;
    o.clock = [this] { return now_; };
    service_ = std::move(MemoryService::open(config_, o)).value();
    server_ = std::make_unique<McpServer>(*service_);
  }
  void TearDown() override {
    server_.reset();
    service_.reset();
  }
  Json rpc(const Json& message) {
    auto out = server_->handle(message.dump());
    return out ? Json::parse(*out) : Json();
  }
  Json request(const std::string& method, Json params = Json::object()) {
    return rpc({{"jsonrpc", "2.0"}, {"id", ++id_}, {"method", method}, {"params", params}});
  }
  void initialize() {
    Json r = request("initialize", {{"protocolVersion", "2025-11-25"},
                                    {"capabilities", Json::object()},
                                    {"clientInfo", {{"name", "test"}, {"version", "1"}}}});
    ASSERT_EQ(r["result"]["protocolVersion"], "2025-11-25");
    EXPECT_FALSE(server_->handle(R"({"jsonrpc":"2.0","method":"notifications/initialized"})"));
  }
  Json call(const std::string& tool, Json args) {
    Json r = request("tools/call", {{"name", tool}, {"arguments", args}});
    EXPECT_TRUE(r.contains("result")) << r.dump();
    return r["result"];
  }
  static std::string text(const Json& result) { return result["content"][0]["text"]; }

  TempDir dir_{"mcp"};
  Config config_;
  double now_ = 0;
  std::unique_ptr<MemoryService> service_;
  std::unique_ptr<McpServer> server_;
  int id_ = 0;
};

TEST_F(McpTest, InitializeNegotiatesVersions) {
  Json r =
      request("initialize", {{"protocolVersion", "2024-11-05"}, {"capabilities", Json::object()}});
  EXPECT_EQ(r["result"]["protocolVersion"], "2024-11-05");
  EXPECT_EQ(r["result"]["serverInfo"]["name"], "memory");
  EXPECT_TRUE(r["result"]["capabilities"].contains("tools"));
  Json future = request("initialize", {{"protocolVersion", "2099-01-01"}});
  EXPECT_EQ(future["result"]["protocolVersion"], kLegacyProtocolVersions[0]);
}

TEST_F(McpTest, ProtocolErrorsHaveTheRightCodes) {
  EXPECT_EQ(Json::parse(*server_->handle("{not json"))["error"]["code"], -32700);
  EXPECT_EQ(Json::parse(*server_->handle("42"))["error"]["code"], -32600);
  EXPECT_EQ(Json::parse(*server_->handle(R"({"id":1,"method":"ping"})"))["error"]["code"], -32600);
  EXPECT_EQ(Json::parse(
                *server_->handle(R"({"jsonrpc":"2.0","id":{},"method":"ping"})"))["error"]["code"],
            -32600);
  EXPECT_EQ(
      Json::parse(*server_->handle(R"({"jsonrpc":"2.0","id":1,"method":7})"))["error"]["code"],
      -32600);
  // Nothing depends on initialize: a client that reconnects to a restarted server is served.
  EXPECT_EQ(request("ping")["result"], Json::object());
  EXPECT_TRUE(request("tools/list")["result"]["tools"].is_array());
  initialize();
  EXPECT_EQ(request("no/such/method")["error"]["code"], -32601);
  EXPECT_EQ(request("tools/call", {{"arguments", Json::object()}})["error"]["code"], -32602);
  EXPECT_EQ(request("tools/call", {{"name", "nope"}})["error"]["code"], -32602);
  // Every list comes in one page: no cursor is valid, a null one is the first page.
  for (const char* list : {"tools/list", "resources/list", "prompts/list"}) {
    EXPECT_EQ(request(list, {{"cursor", "abc"}})["error"]["code"], -32602) << list;
    EXPECT_FALSE(request(list, {{"cursor", nullptr}}).contains("error")) << list;
    EXPECT_FALSE(request(list)["result"].contains("nextCursor")) << list;
  }
  std::string huge = R"({"jsonrpc":"2.0","id":1,"method":"ping","params":{"x":")" +
                     std::string(kMaxMessageBytes, 'x') + "\"}}";
  Json big = Json::parse(*server_->handle(huge));
  EXPECT_EQ(big["error"]["code"], -32600);
  EXPECT_NE(big["error"]["message"].get<std::string>().find("limit"), std::string::npos);
  // Notifications are never answered, even unknown ones.
  EXPECT_FALSE(
      server_->handle(R"({"jsonrpc":"2.0","method":"notifications/cancelled","params":{}})"));
  // Batches get an array of responses.
  Json batch = Json::parse(*server_->handle(
      R"([{"jsonrpc":"2.0","id":"a","method":"ping"},{"jsonrpc":"2.0","method":"notifications/x"}])"));
  ASSERT_TRUE(batch.is_array());
  EXPECT_EQ(batch.size(), 1u);
  EXPECT_EQ(batch[0]["id"], "a");
}

// Issue 15: a message nested 60,000 deep (as the whole message, the id, or ping's params)
// crashed the process. Each is now a -32700 parse error naming the limit, with a null id.
TEST_F(McpTest, JsonNestedHundredThousandDeepIsAParseError_Issue15) {
  initialize();
  for (const std::string& deep : testing_json::hundred_thousand_deep()) {
    for (const std::string& message :
         {deep, R"({"jsonrpc":"2.0","id":)" + deep + R"(,"method":"ping"})",
          R"({"jsonrpc":"2.0","id":1,"method":"ping","params":)" + deep + "}",
          R"({"jsonrpc":"2.0","id":2,"method":"tools/call","params":{"name":"memory_store",)"
          R"("arguments":{"content":"x","metadata":)" +
              deep + "}}}",
          "[" + deep + "]"}) {
      auto out = server_->handle(message);
      ASSERT_TRUE(out);
      Json r = Json::parse(*out);
      EXPECT_EQ(r["error"]["code"], -32700);
      EXPECT_EQ(r["error"]["message"],
                "parse error: the message is JSON nested deeper than 64 levels");
      EXPECT_TRUE(r["id"].is_null());
    }
  }
  EXPECT_EQ(request("ping")["result"], Json::object());
  EXPECT_EQ(service_->stats()->storage.total_memories, 0);
}

TEST_F(McpTest, ToolsListHasSchemasAndAnnotations) {
  initialize();
  Json tools = request("tools/list")["result"]["tools"];
  std::set<std::string> names;
  for (const Json& t : tools) {
    names.insert(t["name"]);
    EXPECT_EQ(t["inputSchema"]["type"], "object") << t["name"];
    EXPECT_FALSE(t["description"].get<std::string>().empty());
    EXPECT_TRUE(t["annotations"].contains("readOnlyHint"));
  }
  for (const char* n : {"memory_store", "memory_search", "memory_list", "memory_delete",
                        "memory_update", "memory_health", "memory_stats", "memory_cleanup",
                        "memory_sync_status", "memory_store_session"}) {
    EXPECT_TRUE(names.count(n)) << n;
  }
  EXPECT_FALSE(names.count("store_memory"));  // aliases are callable, not listed
}

TEST_F(McpTest, StoreSearchListUpdateDelete) {
  initialize();
  Json stored =
      call("memory_store", {{"content", "Deploys happen on Tuesdays"},
                            {"metadata", {{"tags", "ops,release"}, {"type", "decision"}}}});
  std::string hash = *content_hash("Deploys happen on Tuesdays");
  EXPECT_EQ(text(stored), "Memory stored successfully (hash: " + hash + ")");
  EXPECT_EQ(stored["structuredContent"]["success"], true);
  Json dup = call("memory_store", {{"content", "deploys happen on tuesdays"}});
  EXPECT_EQ(text(dup).rfind("Already stored (hash: " + hash + "); nothing changed.", 0), 0u)
      << text(dup);
  EXPECT_EQ(dup["structuredContent"]["success"], true);
  EXPECT_EQ(dup["structuredContent"]["duplicate"], "exact");

  Json found = call("memory_search", {{"query", "when do deploys happen"}, {"limit", 5}});
  EXPECT_EQ(
      text(found).rfind("Found 1 memories (mode: semantic) for query: 'when do deploys happen'", 0),
      0u)
      << text(found);
  EXPECT_NE(text(found).find("hash: " + hash), std::string::npos);
  EXPECT_EQ(found["structuredContent"]["results"][0]["tags"], Json({"ops", "release"}));
  EXPECT_EQ(found["structuredContent"]["results"][0]["memory_type"], "decision");
  Json none = call("memory_search", {{"query", "tuesdays"}, {"tags", Json::array({"other"})}});
  EXPECT_EQ(none["structuredContent"]["total_found"], 0);

  Json list = call("memory_list", {{"page", 1}, {"page_size", 5}});
  EXPECT_EQ(list["structuredContent"]["total"], 1);
  EXPECT_NE(text(list).find("hash: " + hash), std::string::npos) << text(list);

  Json upd = call(
      "memory_update",
      {{"content_hash", hash}, {"updates", {{"tags", Json::array({"ops"})}, {"owner", "kim"}}}});
  EXPECT_EQ(upd["structuredContent"]["memory"]["metadata"]["owner"], "kim");
  EXPECT_EQ(upd["structuredContent"]["memory"]["tags"], Json({"ops"}));

  Json refuse = call("memory_delete", Json::object());
  EXPECT_EQ(refuse["isError"], true);
  Json dry = call("memory_delete", {{"tags", "ops"}, {"dry_run", true}});
  EXPECT_EQ(text(dry), "Would delete 1 memories\nHashes: " + hash);
  Json del = call("memory_delete", {{"content_hash", hash}});
  EXPECT_EQ(text(del), "Deleted 1 memories");
  EXPECT_EQ(call("memory_stats", Json::object())["structuredContent"]["total_memories"], 0);
}

TEST_F(McpTest, StoreSessionKeepsAConversationTogetherAsThePythonServiceDoes) {
  initialize();
  Json turns = Json::array({{{"role", "user"}, {"content", "  How do I configure Redis?\u3000"}},
                            {{"role", "assistant"}, {"content", "Set REDIS_URL in .env"}},
                            {{"role", "user"}, {"content", "   "}}});
  Json r = call("memory_store_session",
                {{"turns", turns}, {"session_id", "s-1"}, {"tags", "redis,config"}});
  const std::string content = "[user] How do I configure Redis?\n[assistant] Set REDIS_URL in .env";
  const std::string hash = *content_hash(content);
  EXPECT_EQ(text(r), "Session stored successfully (session_id: s-1, hash: " + hash + ", turns: 2)");
  auto m = service_->get(hash);
  ASSERT_TRUE(m.is_ok() && m->has_value());
  EXPECT_EQ((*m)->content, content);
  EXPECT_EQ((*m)->memory_type, "session");
  EXPECT_EQ((*m)->tags, (std::vector<std::string>{"session:s-1", "redis", "config"}));

  // Past 1,500 characters: chunks of whole turns, each tagged chunk:i/n; a UUID4 session id.
  Json long_turns = Json::array();
  for (int i = 0; i < 5; ++i) {
    long_turns.push_back({{"role", i % 2 ? "assistant" : "user"},
                          {"content", std::to_string(i) + std::string(500, 'x')}});
  }
  Json chunked = call("memory_store_session", {{"turns", long_turns}});
  EXPECT_NE(text(chunked).find(", chunks: 3/3, turns: 5)"), std::string::npos) << text(chunked);
  const std::string id = chunked["structuredContent"]["session_id"];
  EXPECT_TRUE(
      std::regex_match(id, std::regex("[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-"
                                      "[0-9a-f]{12}")))
      << id;
  Json hashes = chunked["structuredContent"]["content_hashes"];
  ASSERT_EQ(hashes.size(), 3u);  // 509 + 514 + 509 > 1500: two turns per chunk
  auto first = service_->get(hashes[0].get<std::string>());
  EXPECT_EQ((*first)->tags, (std::vector<std::string>{"session:" + id, "chunk:1/3"}));
  EXPECT_EQ(std::count((*first)->content.begin(), (*first)->content.end(), '\n'), 1);

  EXPECT_EQ(call("memory_store_session", {{"turns", Json::array()}})["isError"], true);
  EXPECT_EQ(call("memory_store_session", {{"turns", Json::array({{{"role", "user"}}})}})["isError"],
            true);
  EXPECT_EQ(call("memory_store_session", {{"turns", "hello"}})["isError"], true);
}

TEST_F(McpTest, BadArgumentsAreIsErrorResultsNamingTheArgument) {
  initialize();
  struct Case {
    const char* tool;
    Json args;
    const char* says;
  };
  const std::vector<Case> cases = {
      {"memory_store", Json::object(), "'content' is required"},
      {"memory_store", {{"content", 5}}, "'content' must be a string"},
      {"memory_store", {{"content", "x"}, {"metadata", "nope"}}, "'metadata' must be an object"},
      {"memory_search", {{"query", "x"}, {"limit", 0}}, "'limit' must be an integer from 1 to 100"},
      {"memory_search", {{"query", "x"}, {"mode", "psychic"}}, "'mode'"},
      {"memory_search", {{"query", "x"}, {"time_expr", "whenever"}}, "time expression"},
      {"memory_search", {{"query", "x"}, {"after", "soon"}}, "'after' must be a date"},
      {"memory_search",
       {{"query", "x"}, {"time_from_query", "yes"}},
       "'time_from_query' must be true or false"},
      {"memory_list", {{"page_size", "ten"}}, "'page_size' must be an integer"},
      {"memory_update", {{"content_hash", "abc"}, {"updates", Json::object()}}, "'updates'"},
      {"memory_update", {{"content_hash", "abc"}, {"updates", {{"tags", "x"}}}}, "no memory"},
  };
  for (const Case& c : cases) {
    Json r = call(c.tool, c.args);
    EXPECT_EQ(r["isError"], true) << c.tool << " " << c.args.dump();
    EXPECT_NE(text(r).find(c.says), std::string::npos) << text(r);
  }
}

double utc(int y, int mo, int d, int h = 0, int mi = 0) {
  std::tm tm{};
  tm.tm_year = y - 1900;
  tm.tm_mon = mo - 1;
  tm.tm_mday = d;
  tm.tm_hour = h;
  tm.tm_min = mi;
  return static_cast<double>(timegm(&tm));
}

std::vector<std::string> contents(const Json& result) {
  std::vector<std::string> out;
  for (const Json& m : result["structuredContent"]["results"]) out.push_back(m["content"]);
  return out;
}

// Issue 13, scope 7: memory_search read no time in its query, so "what did I store yesterday"
// returned every memory; recall_memory read it. Memories are stored ten days before, yesterday
// (twice) and today, on a clock set to 2026-12-06 15:00 UTC.
class McpTimeTest : public McpTest {
 protected:
  void SetUp() override {
    McpTest::SetUp();
    setenv("TZ", "UTC", 1);
    tzset();
    use_test_clock(utc(2026, 11, 26, 9));
    store("The hub was down yesterday after the power cut");
    now_ = utc(2026, 12, 5, 9, 30);
    store("Moved the nightly backups to the NAS");
    now_ = utc(2026, 12, 5, 17, 45);
    store("Rotated the API key of the staging hub");
    now_ = utc(2026, 12, 6, 11);
    store("Standup moved to 10am from Monday");
    now_ = utc(2026, 12, 6, 15);
    initialize();
  }
  void store(const std::string& content) {
    StoreRequest r;
    r.content = content;
    ASSERT_TRUE(service_->store(r)->success) << content;
  }
  static constexpr const char* kYesterday =
      "Time window: yesterday (2026-12-05T00:00:00Z .. 2026-12-05T23:59:59.999999Z)";
};

TEST_F(McpTimeTest, SearchForWhatWasStoredYesterdayGivesOnlyYesterdaysMemories) {
  Json r = call("memory_search", {{"query", "what did I store yesterday"}});
  // Nothing but the time and filler words: the window is browsed, newest first.
  EXPECT_EQ(contents(r), (std::vector<std::string>{"Rotated the API key of the staging hub",
                                                   "Moved the nightly backups to the NAS"}));
  EXPECT_EQ(text(r).rfind("Found 2 memories (mode: time) for query: 'what did I store "
                          "yesterday'\n" +
                              std::string(kYesterday) + ", read from the query\n\n1. Rotated",
                          0),
            0u)
      << text(r);
  const Json& window = r["structuredContent"]["time_window"];
  EXPECT_EQ(window["expression"], "yesterday");
  EXPECT_DOUBLE_EQ(window["start"].get<double>(), utc(2026, 12, 5));
  EXPECT_NEAR(window["end"].get<double>(), utc(2026, 12, 6) - 1e-6, 1e-5);
  EXPECT_EQ(window["start_iso"], "2026-12-05T00:00:00Z");
  EXPECT_EQ(window["end_iso"], "2026-12-05T23:59:59.999999Z");
  EXPECT_EQ(window["from_query"], true);
  EXPECT_EQ(r["structuredContent"]["query"], "what did I store yesterday");
}

TEST_F(McpTimeTest, TheOtherWordsAreSearchedWithinTheWindow) {
  // "hub" alone, among yesterday's: the memory that says "yesterday" ten days ago is out.
  Json keyword = call("memory_search", {{"query", "hub from yesterday"}, {"mode", "keyword"}});
  EXPECT_EQ(contents(keyword),
            (std::vector<std::string>{"Rotated the API key of the staging hub"}));
  EXPECT_EQ(keyword["structuredContent"]["search_type"], "keyword");
  Json semantic = call("memory_search", {{"query", "nightly backups yesterday"}});
  ASSERT_EQ(semantic["structuredContent"]["total_found"], 2) << text(semantic);
  EXPECT_EQ(contents(semantic)[0], "Moved the nightly backups to the NAS");
  EXPECT_NE(text(semantic).find(kYesterday), std::string::npos) << text(semantic);
  // recall_memory reads its whole query as the time, as before; its reply names the window too.
  Json recall = call("recall_memory", {{"query", "yesterday"}});
  EXPECT_EQ(recall["structuredContent"]["total_found"], 2);
  EXPECT_NE(text(recall).find(std::string(kYesterday) + "\n"), std::string::npos) << text(recall);
  EXPECT_EQ(recall["structuredContent"]["time_window"]["from_query"], false);
}

TEST_F(McpTimeTest, AQueryWithoutTimeWordsIsUnchanged) {
  Json r = call("memory_search", {{"query", "staging hub power cut"}});
  EXPECT_EQ(r["structuredContent"]["total_found"], 4);
  EXPECT_FALSE(r["structuredContent"].contains("time_window"));
  EXPECT_EQ(text(r).find("Time window"), std::string::npos);
  EXPECT_EQ(text(r).rfind("Found 4 memories (mode: semantic) for query: 'staging hub power "
                          "cut'\n\n1. ",
                          0),
            0u)
      << text(r);
  // Asked not to, or in exact mode (a literal string), the words are searched as written.
  Json as_written =
      call("memory_search", {{"query", "what did I store yesterday"}, {"time_from_query", false}});
  EXPECT_EQ(as_written["structuredContent"]["total_found"], 4);
  EXPECT_FALSE(as_written["structuredContent"].contains("time_window"));
  Json exact = call("memory_search", {{"query", "down yesterday"}, {"mode", "exact"}});
  EXPECT_EQ(contents(exact),
            (std::vector<std::string>{"The hub was down yesterday after the power cut"}));
  // retrieve_memory is the Python service's plain semantic search.
  Json retrieve = call("retrieve_memory", {{"query", "what did I store yesterday"}});
  EXPECT_FALSE(retrieve["structuredContent"].contains("time_window"));
}

TEST_F(McpTimeTest, AnExplicitTimeExprWins) {
  Json r = call("memory_search", {{"query", "what did I store yesterday"}, {"time_expr", "today"}});
  EXPECT_EQ(contents(r), (std::vector<std::string>{"Standup moved to 10am from Monday"}));
  EXPECT_EQ(r["structuredContent"]["time_window"]["expression"], "today");
  EXPECT_EQ(r["structuredContent"]["time_window"]["from_query"], false);
  EXPECT_NE(text(r).find("Time window: today (2026-12-06T00:00:00Z .. "
                         "2026-12-06T23:59:59.999999Z)\n"),
            std::string::npos)
      << text(r);
  // after/before are explicit too: the query's "yesterday" is then just a word.
  Json dated =
      call("memory_search", {{"query", "what did I store yesterday"}, {"after", "2026-12-06"}});
  EXPECT_EQ(contents(dated), (std::vector<std::string>{"Standup moved to 10am from Monday"}));
  EXPECT_FALSE(dated["structuredContent"].contains("time_window"));
}

TEST_F(McpTest, PythonAliasesStillWork) {
  initialize();
  call("store_memory", {{"content", "Alias stored memory about penguins"}, {"tags", "birds"}});
  Json r = call("retrieve_memory", {{"query", "penguins"}, {"n_results", 3}});
  EXPECT_EQ(r["structuredContent"]["total_found"], 1);
  EXPECT_EQ(call("search_by_tag", {{"tags", Json::array({"birds"})}})["structuredContent"]["total"],
            1);
  EXPECT_NE(text(call("check_database_health", Json::object())).find("Health"), std::string::npos);
  Json sync = call("memory_sync_status", Json::object())["structuredContent"];
  EXPECT_TRUE(sync["hub"].is_null());
  EXPECT_EQ(sync["conflicts_unresolved"], 0);
  EXPECT_TRUE(sync["peers"].is_array());
  Json gone = call("delete_memory",
                   {{"content_hash", *content_hash("Alias stored memory about penguins")}});
  EXPECT_EQ(text(gone), "Deleted 1 memories");
}

TEST_F(McpTest, ResourcesAndPrompts) {
  initialize();
  call("memory_store", {{"content", "Resource test memory about glaciers"}, {"tags", "ice,geo"}});
  Json list = request("resources/list")["result"]["resources"];
  ASSERT_EQ(list.size(), 2u);
  EXPECT_EQ(request("resources/templates/list")["result"]["resourceTemplates"].size(), 3u);
  auto read = [&](const std::string& uri) {
    Json r = request("resources/read", {{"uri", uri}});
    EXPECT_TRUE(r.contains("result")) << r.dump();
    return Json::parse(r["result"]["contents"][0]["text"].get<std::string>());
  };
  EXPECT_EQ(read("memory://stats")["total_memories"], 1);
  EXPECT_EQ(read("memory://tags")["count"], 2);
  EXPECT_EQ(read("memory://recent/5")["count"], 1);
  EXPECT_EQ(read("memory://tag/ice")["count"], 1);
  EXPECT_EQ(read("memory://search/glaciers%20melting")["memories"][0]["tags"],
            Json({"ice", "geo"}));
  EXPECT_EQ(request("resources/read", {{"uri", "memory://recent/0"}})["error"]["code"], -32602);
  EXPECT_EQ(request("resources/read", {{"uri", "file:///etc/passwd"}})["error"]["code"], -32602);

  Json prompts = request("prompts/list")["result"]["prompts"];
  EXPECT_EQ(prompts.size(), 5u);
  Json p = request("prompts/get",
                   {{"name", "memory_review"}, {"arguments", {{"time_period", "last week"}}}});
  std::string text = p["result"]["messages"][0]["content"]["text"];
  EXPECT_NE(text.find("last week"), std::string::npos);
  EXPECT_EQ(request("prompts/get", {{"name", "memory_review"}})["error"]["code"], -32602);
  EXPECT_EQ(request("prompts/get", {{"name", "nope"}})["error"]["code"], -32602);
}

// ---- Issue 16, scope 4: replies an agent can act on ----

// Every property of `schema`, nested ones too, has a description.
void expect_described(const Json& schema, const std::string& where) {
  if (schema.contains("items")) expect_described(schema["items"], where + "[]");
  if (!schema.contains("properties")) return;
  for (const auto& [name, property] : schema["properties"].items()) {
    EXPECT_FALSE(property.value("description", std::string()).empty()) << where << "." << name;
    expect_described(property, where + "." + name);
  }
}

// structuredContent against the tool's outputSchema, as SDK clients check it: required keys,
// the type of every declared property, enums.
void expect_matches(const Json& schema, const Json& value, const std::string& where) {
  ASSERT_TRUE(value.is_object()) << where;
  for (const Json& key : schema.value("required", Json::array())) {
    EXPECT_TRUE(value.contains(key.get<std::string>())) << where << " lacks " << key;
  }
  for (const auto& [name, property] : schema["properties"].items()) {
    if (!value.contains(name)) continue;
    const Json& v = value[name];
    const std::string type = property.value("type", "");
    const bool ok = type == "string"    ? v.is_string()
                    : type == "integer" ? v.is_number_integer()
                    : type == "number"  ? v.is_number()
                    : type == "boolean" ? v.is_boolean()
                    : type == "array"   ? v.is_array()
                    : type == "object"  ? v.is_object()
                                        : true;
    EXPECT_TRUE(ok) << where << "." << name << " is not " << type << ": " << v.dump();
    if (property.contains("enum")) {
      const Json& values = property["enum"];
      EXPECT_NE(std::find(values.begin(), values.end(), v), values.end()) << where << "." << name;
    }
  }
}

class McpRepliesTest : public McpTest {
 protected:
  void SetUp() override {
    McpTest::SetUp();
    initialize();
  }
  // A tool call whose structuredContent, when there is one, matches the tool's outputSchema.
  Json checked_call(const std::string& tool, Json args) {
    Json r = call(tool, std::move(args));
    if (r.contains("structuredContent")) {
      const Json tools = request("tools/list")["result"]["tools"];  // not a temporary's part
      for (const Json& t : tools) {
        if (t["name"] == tool) expect_matches(t["outputSchema"], r["structuredContent"], tool);
      }
    }
    return r;
  }
  std::string stored_hash(const std::string& content, Json args = Json::object()) {
    args["content"] = content;
    Json r = checked_call("memory_store", args);
    EXPECT_EQ(r["structuredContent"]["success"], true) << text(r);
    EXPECT_FALSE(r.contains("isError")) << text(r);
    return r["structuredContent"]["content_hash"];
  }
};

TEST_F(McpRepliesTest, EveryInputPropertyAndPromptArgumentIsDescribed_Issue16) {
  Json tools = request("tools/list")["result"]["tools"];
  for (const Json& t : tools) expect_described(t["inputSchema"], t["name"]);
  const Json prompts = request("prompts/list")["result"]["prompts"];
  for (const Json& p : prompts) {
    for (const Json& a : p["arguments"]) {
      EXPECT_FALSE(a.value("description", std::string()).empty()) << p["name"] << "." << a["name"];
    }
  }
  // Defaults and ranges are in the words, for clients that show only descriptions.
  for (const Json& t : tools) {
    const Json& props = t["inputSchema"]["properties"];
    if (t["name"] == "memory_search") {
      EXPECT_EQ(props["limit"]["description"], "Results to return, 1-100 (default 10)");
    } else if (t["name"] == "memory_list") {
      EXPECT_EQ(props["page_size"]["description"], "Memories per page, 1-100 (default 20)");
    } else if (t["name"] == "memory_store") {
      EXPECT_EQ(props["allow_duplicate"]["type"], "boolean");
      EXPECT_NE(props["allow_duplicate"]["description"].get<std::string>().find("default false"),
                std::string::npos);
    }
  }
}

// Search text carried no score or type: only structuredContent had them, which some clients
// drop. Every result now shows what the next call needs.
TEST_F(McpRepliesTest, SearchTextCarriesHashTypeTagsDateAndScore_Issue16) {
  use_test_clock(utc(2026, 12, 1, 10));
  initialize();
  const std::string hash = stored_hash("Deploys happen on Tuesdays",
                                       {{"tags", "ops,release"}, {"memory_type", "decision"}});
  Json r = checked_call("memory_search", {{"query", "Deploys happen on Tuesdays"}});
  EXPECT_EQ(text(r),
            "Found 1 memories (mode: semantic) for query: 'Deploys happen on Tuesdays'\n\n"
            "1. Deploys happen on Tuesdays\n   hash: " +
                hash +
                " | type: decision | tags: ops, release | created: 2026-12-01T10:00:00Z | "
                "score: 1.00");
  EXPECT_EQ(r["structuredContent"]["truncated"], false);
}

// A tags-only search was labelled "(mode: time)".
TEST_F(McpRepliesTest, AFilterOnlySearchIsLabelledWithWhatFiltered_Issue16) {
  stored_hash("Rotate the staging key", {{"tags", "ops"}});
  stored_hash("Lunch is at noon", {{"tags", "social"}});
  Json tags = checked_call("memory_search", {{"tags", "ops"}});
  EXPECT_EQ(text(tags).rfind("Found 1 memories (mode: tags) for query: ''\n\n1. Rotate", 0), 0u)
      << text(tags);
  EXPECT_EQ(tags["structuredContent"]["search_type"], "tags");
  Json both = checked_call("memory_search", {{"tags", "ops"}, {"time_expr", "today"}});
  EXPECT_EQ(both["structuredContent"]["search_type"], "tags+time") << text(both);
  Json typed = checked_call("memory_search", {{"memory_type", "note"}});
  EXPECT_EQ(typed["structuredContent"]["search_type"], "type");
  EXPECT_EQ(typed["structuredContent"]["total_found"], 2);
}

// Results cut by max_response_chars said "Found 3 memories" while total_found was 1.
TEST_F(McpRepliesTest, ACutReplyCountsEveryMemoryFoundAndSaysHowManyItShows_Issue16) {
  for (const char* topic : {"backups", "restores", "snapshots"}) {
    stored_hash(std::string("The nightly ") + topic + " job on the hub writes " + topic +
                " of every database to the NAS, keeps fourteen days of them, and mails the "
                "on-call engineer when a run fails or takes longer than an hour");
  }
  Json cut = checked_call("memory_search", {{"query", "nightly job"}, {"max_response_chars", 500}});
  EXPECT_EQ(text(cut).rfind("Found 3 memories (mode: semantic) for query: 'nightly job'; showing 1 "
                            "to stay under 500 characters\n\n1. The nightly",
                            0),
            0u)
      << text(cut);
  EXPECT_EQ(text(cut).find("\n\n2. "), std::string::npos);
  EXPECT_LE(text(cut).size(), 500u);
  EXPECT_EQ(cut["structuredContent"]["total_found"], 3);
  EXPECT_EQ(cut["structuredContent"]["results"].size(), 1u);
  EXPECT_EQ(cut["structuredContent"]["truncated"], true);
  Json whole = checked_call("memory_search", {{"query", "nightly job"}});
  EXPECT_EQ(whole["structuredContent"]["results"].size(), 3u);
  EXPECT_EQ(whole["structuredContent"]["truncated"], false);
  EXPECT_EQ(text(whole).find("showing"), std::string::npos);
}

// memory_update with updates {"content": ...} answered "Updated fields: content" and put the
// text into metadata.content.
TEST_F(McpRepliesTest, UpdateRefusesTheContentAndNamesMetadataKeys_Issue16) {
  const std::string hash = stored_hash("Deploys happen on Tuesdays");
  Json refused =
      call("memory_update", {{"content_hash", hash}, {"updates", {{"content", "on Thursdays"}}}});
  EXPECT_EQ(refused["isError"], true);
  EXPECT_EQ(text(refused),
            "Error: a memory's content cannot be changed (its hash is its content). Store the "
            "corrected text with memory_store, then delete the old one with memory_delete "
            "content_hash=" +
                hash + ".");
  for (const char* key : {"content_hash", "hash", "id", "created_at", "created_at_iso",
                          "updated_at", "updated_at_iso", "embedding"}) {
    Json r = call("memory_update", {{"content_hash", hash}, {"updates", {{key, "x"}, {"a", 1}}}});
    EXPECT_EQ(r["isError"], true) << key;
    EXPECT_NE(text(r).find(std::string("'") + key + "' cannot be changed"), std::string::npos)
        << text(r);
  }
  const Memory unchanged = **service_->get(hash);
  EXPECT_TRUE(unchanged.metadata.empty()) << unchanged.metadata.dump();  // nothing was applied

  Json ok = checked_call("memory_update", {{"content_hash", hash},
                                           {"updates",
                                            {{"tags", "ops"},
                                             {"owner", "kim"},
                                             {"metadata", {{"team", "infra"}}},
                                             {"type", "decision"}}}});
  EXPECT_FALSE(ok.contains("isError"));
  EXPECT_EQ(text(ok).rfind("Memory updated successfully. Updated fields: metadata.team, "
                           "metadata.owner, tags, memory_type\n\n1. Deploys happen on Tuesdays\n"
                           "   hash: " +
                               hash + " | type: decision | tags: ops | created: ",
                           0),
            0u)
      << text(ok);
  EXPECT_EQ(ok["structuredContent"]["updated_fields"],
            Json({"metadata.team", "metadata.owner", "tags", "memory_type"}));
  EXPECT_EQ(ok["structuredContent"]["memory"]["metadata"]["owner"], "kim");
}

// Semantic dedup refused corrected facts with success:false, no isError, the refused text's
// hash and no hint.
TEST_F(McpRepliesTest, ANearDuplicateIsAnErrorNamingTheStoredMemoryAndTheWayOut_Issue16) {
  const std::string hash =
      stored_hash("The staging database password rotates every month", {{"tags", "ops"}});
  Json near = checked_call("memory_store",
                           {{"content", "The staging databse password rotates every month"}});
  EXPECT_EQ(near["isError"], true);
  EXPECT_EQ(near["structuredContent"]["success"], false);
  EXPECT_EQ(near["structuredContent"]["content_hash"], hash);
  EXPECT_EQ(near["structuredContent"]["duplicate"], "near");
  const std::string t = text(near);
  EXPECT_EQ(t.rfind("Not stored: a near-duplicate of memory " + hash, 0), 0u) << t;
  EXPECT_NE(t.find("\n\n1. The staging database password rotates every month\n   hash: " + hash +
                   " | type: note | tags: ops"),
            std::string::npos)
      << t;
  EXPECT_NE(t.find("allow_duplicate: true"), std::string::npos) << t;
  EXPECT_NE(t.find("memory_update content_hash=" + hash), std::string::npos) << t;
  EXPECT_NE(t.find("memory_delete content_hash=" + hash), std::string::npos) << t;
  // The update the reply points to finds the memory.
  EXPECT_FALSE(call("memory_update", {{"content_hash", hash}, {"updates", {{"tags", "ops,db"}}}})
                   .contains("isError"));

  Json forced = checked_call(
      "memory_store",
      {{"content", "The staging databse password rotates every month"}, {"allow_duplicate", true}});
  EXPECT_EQ(text(forced), "Memory stored successfully (hash: " +
                              *content_hash("The staging databse password rotates every month") +
                              ")");
  // The corrected facts of the issue are new memories.
  stored_hash("Postgres 16 needs pgvector 0.7");
  stored_hash("Postgres 17 needs pgvector 0.8");
  stored_hash("The build server has 8 cores");
  stored_hash("The build server has 16 cores");
}

// An exact duplicate's reply omitted the existing hash; it is no error (the memory exists).
TEST_F(McpRepliesTest, AnExactDuplicateIsNoErrorAndSaysWhatDiffers_Issue16) {
  const std::string hash =
      stored_hash("Deploys happen on Tuesdays", {{"tags", "ops"}, {"memory_type", "decision"}});
  Json same = checked_call(
      "memory_store",
      {{"content", "deploys happen on tuesdays "}, {"tags", "OPS"}, {"memory_type", "decision"}});
  EXPECT_FALSE(same.contains("isError"));
  EXPECT_EQ(same["structuredContent"]["success"], true);
  EXPECT_EQ(same["structuredContent"]["duplicate"], "exact");
  EXPECT_EQ(same["structuredContent"]["content_hash"], hash);
  EXPECT_EQ(
      text(same),
      "Already stored (hash: " + hash +
          "); nothing changed.\n\n1. Deploys happen on Tuesdays\n   hash: " + hash +
          " | type: decision | tags: ops | created: " +
          same["content"][0]["text"].get<std::string>().substr(text(same).rfind("created: ") + 9));
  Json other = checked_call("memory_store", {{"content", "Deploys happen on Tuesdays"},
                                             {"tags", Json::array({"ops", "release"})},
                                             {"memory_type", "note"}});
  EXPECT_NE(text(other).find("\nThis call gave tags ops, release and type note, which the stored "
                             "memory does not have; to change them: memory_update content_hash=" +
                             hash + R"( updates={"memory_type":"note","tags":["ops","release"]})"),
            std::string::npos)
      << text(other);
}

// Prompt texts showed unfilled arguments as "(any)".
TEST_F(McpRepliesTest, PromptsNeverShowUnfilledArguments_Issue16) {
  const Json prompts = request("prompts/list")["result"]["prompts"];
  for (const Json& p : prompts) {
    Json args = Json::object();
    for (const Json& a : p["arguments"]) {
      if (a["required"] == true) args[a["name"].get<std::string>()] = "last week";
    }
    Json r = request("prompts/get", {{"name", p["name"]}, {"arguments", args}});
    const std::string t = r["result"]["messages"][0]["content"]["text"];
    for (const char* trace : {"(any)", "\"\"", "{", "  ", " .", " ,", "..", "()"}) {
      EXPECT_EQ(t.find(trace), std::string::npos) << p["name"] << ": " << t;
    }
  }
  auto prompt = [&](const std::string& name, const Json& args) -> std::string {
    return request(
        "prompts/get",
        {{"name", name}, {"arguments", args}})["result"]["messages"][0]["content"]["text"];
  };
  EXPECT_EQ(prompt("memory_review", {{"time_period", "last week"}}),
            "Review the memories stored last week. Use memory_search with time_expr \"last week\" "
            "and an empty query to list them. Summarize the key facts, decisions and open "
            "questions, and point out memories that look outdated.");
  EXPECT_NE(prompt("memory_review", {{"time_period", "last week"}, {"focus_area", "deploys"}})
                .find("time_expr \"last week\" and the query \"deploys\" to find those about it."),
            std::string::npos);
  EXPECT_EQ(prompt("knowledge_export", Json::object()),
            "Collect the memories with memory_search and memory_list and present them, with their "
            "tags and creation dates.");
  EXPECT_EQ(prompt("learning_session", {{"topic", "WAL"}, {"key_points", "Readers never block."}}),
            "Store what was learned about WAL with memory_store (tags: learning, WAL). Key "
            "points: Readers never block.");
}

// memory_list, memory_stats and memory_health returned pretty-printed JSON as text.
TEST_F(McpRepliesTest, ListStatsHealthAndSyncStatusAreTextNotJson_Issue16) {
  std::vector<std::string> hashes;
  for (const char* c : {"First ops memory about deploys", "Second ops memory about alerts",
                        "Third ops memory about backups"}) {
    hashes.push_back(stored_hash(c, {{"tags", "ops"}}));
  }
  Json page1 = checked_call("memory_list", {{"page_size", 2}, {"tags", "ops"}});
  const std::string t1 = text(page1);
  EXPECT_EQ(t1.rfind("Page 1 of 2 (2 per page), 3 memories tagged ops (newest first)\n\n1. ", 0),
            0u)
      << t1;
  EXPECT_NE(t1.find("hash: " + hashes[2]), std::string::npos);
  EXPECT_TRUE(t1.ends_with("\n\nMore: memory_list page=2 page_size=2 tags=ops")) << t1;
  Json page2 = checked_call("memory_list", {{"page", 2}, {"page_size", 2}, {"tags", "ops"}});
  EXPECT_EQ(
      text(page2).rfind("Page 2 of 2 (2 per page), 3 memories tagged ops (newest first)\n\n3. "
                        "First ops memory about deploys\n   hash: " +
                            hashes[0],
                        0),
      0u)
      << text(page2);
  EXPECT_EQ(text(page2).find("More:"), std::string::npos);
  EXPECT_EQ(text(checked_call("memory_list", {{"tags", "nope"}})), "No memories tagged nope");

  for (const char* tool : {"memory_list", "memory_stats", "memory_health", "memory_sync_status"}) {
    const std::string t = text(call(tool, Json::object()));
    EXPECT_EQ(t.find('{'), std::string::npos) << tool << ":\n" << t;
    EXPECT_FALSE(Json::accept(t)) << tool;
  }
  const std::string stats = text(call("memory_stats", Json::object()));
  EXPECT_NE(stats.find("\ntotal_memories: 3\n"), std::string::npos) << stats;
  EXPECT_NE(stats.find("\nembedding_model: hash-384\n"), std::string::npos) << stats;
  const std::string health = text(call("memory_health", Json::object()));
  EXPECT_EQ(health.rfind("Database Health Check Results:\nvalidation.status: healthy\n", 0), 0u)
      << health;
  EXPECT_NE(health.find("\nstatistics.total_memories: 3\n"), std::string::npos) << health;
  const std::string sync = text(call("memory_sync_status", Json::object()));
  EXPECT_NE(sync.find("\nmemory_count: 3\n"), std::string::npos) << sync;
  EXPECT_NE(sync.find("\nhub: none configured (mcp-memory sync --hub URL)\n"), std::string::npos)
      << sync;
}

// The real binary on stdio: 1,000 pipelined requests, every one answered in order.
TEST(McpStdio, PipelinedBurstIsAnsweredInOrder) {
  const TempDir dir("stdio");
  std::ostringstream in;
  in << R"({"jsonrpc":"2.0","id":0,"method":"initialize","params":{"protocolVersion":"2025-06-18","capabilities":{}}})"
     << "\n"
     << R"({"jsonrpc":"2.0","method":"notifications/initialized"})"
     << "\n";
  for (int i = 1; i <= 1000; ++i) {
    if (i % 100 == 0) {
      in << "{broken json\n";
    } else if (i % 10 == 0) {
      in << R"({"jsonrpc":"2.0","id":)" << i
         << R"(,"method":"tools/call","params":{"name":"memory_store","arguments":{"content":"note )"
         << i << R"("}}})"
         << "\n";
    } else {
      in << R"({"jsonrpc":"2.0","id":)" << i << R"(,"method":"ping"})"
         << "\n";
    }
  }
  std::ofstream(dir / "in") << in.str();
  std::string cmd = std::string("MCP_MEMORY_SQLITE_PATH=") + dir.path() +
                    "/db MCP_SEMANTIC_DEDUP_ENABLED=false " + MCP_BINARY + " serve < " +
                    dir.path() + "/in > " + dir.path() + "/out 2> " + dir.path() + "/err";
  ASSERT_EQ(std::system(cmd.c_str()), 0);
  std::ifstream out(dir / "out");
  std::string line;
  int lines = 0, stored = 0, parse_errors = 0, last_id = -1;
  while (std::getline(out, line)) {
    Json r = Json::parse(line);  // stdout holds protocol only
    ++lines;
    if (r.contains("error")) {
      EXPECT_EQ(r["error"]["code"], -32700);
      ++parse_errors;
      continue;
    }
    EXPECT_GT(r["id"].get<int>(), last_id);
    last_id = r["id"];
    if (r["result"].contains("structuredContent"))
      stored += r["result"]["structuredContent"]["success"].get<bool>();
  }
  EXPECT_EQ(lines, 1001);
  EXPECT_EQ(parse_errors, 10);
  EXPECT_EQ(stored, 90);
}

// Issue 15 over stdio against the real binary: deep lines are answered with -32700 and the
// process goes on to answer the next line and exits 0.
TEST(McpStdio, JsonNestedHundredThousandDeepIsAParseErrorAndTheServerGoesOn_Issue15) {
  const TempDir dir("stdio");
  {
    std::ofstream in(dir / "in");
    in << R"({"jsonrpc":"2.0","id":0,"method":"initialize","params":{"protocolVersion":)"
          R"("2025-06-18","capabilities":{}}})"
       << "\n";
    for (const std::string& deep : testing_json::hundred_thousand_deep()) {
      in << deep << "\n";
      in << R"({"jsonrpc":"2.0","id":)" << deep << R"(,"method":"ping"})"
         << "\n";
      in << R"({"jsonrpc":"2.0","id":1,"method":"ping","params":)" << deep << "}\n";
    }
    in << R"({"jsonrpc":"2.0","id":7,"method":"ping"})"
       << "\n";
  }
  std::string cmd = std::string("MCP_MEMORY_SQLITE_PATH=") + dir.path() + "/db " + MCP_BINARY +
                    " serve < " + dir.path() + "/in > " + dir.path() + "/out 2> " + dir.path() +
                    "/err";
  ASSERT_EQ(std::system(cmd.c_str()), 0);
  std::ifstream out(dir / "out");
  std::vector<Json> replies;
  for (std::string line; std::getline(out, line);) replies.push_back(Json::parse(line));
  ASSERT_EQ(replies.size(), 8u);
  for (size_t i = 1; i < 7; ++i) {
    EXPECT_EQ(replies[i]["error"]["code"], -32700) << i;
    EXPECT_NE(
        replies[i]["error"]["message"].get<std::string>().find("JSON nested deeper than 64 levels"),
        std::string::npos);
  }
  EXPECT_EQ(replies[7]["id"], 7);
  EXPECT_EQ(replies[7]["result"], Json::object());
}

// stdin closed in the middle of a request: the partial message gets a parse error, the server
// exits cleanly, and nothing but protocol reaches stdout.
TEST(McpStdio, StdinClosedMidRequest) {
  const TempDir dir("stdio");
  std::ofstream(dir / "in") << R"({"jsonrpc":"2.0","id":0,"method":"initialize","params":{}})"
                            << "\n"
                            << R"({"jsonrpc":"2.0","id":1,"method":"tools/ca)";
  std::string cmd = std::string("MCP_MEMORY_SQLITE_PATH=") + dir.path() + "/db " + MCP_BINARY +
                    " serve < " + dir.path() + "/in > " + dir.path() + "/out 2> " + dir.path() +
                    "/err";
  ASSERT_EQ(std::system(cmd.c_str()), 0);
  std::ifstream out(dir / "out");
  std::string first, second, third;
  ASSERT_TRUE(std::getline(out, first));
  ASSERT_TRUE(std::getline(out, second));
  EXPECT_FALSE(std::getline(out, third));
  EXPECT_EQ(Json::parse(first)["id"], 0);
  EXPECT_EQ(Json::parse(second)["error"]["code"], -32700);
}

}  // namespace
}  // namespace mcpmem
