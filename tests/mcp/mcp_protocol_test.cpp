// The two eras of the protocol on one McpServer: the 2026-07-28 envelope (server/discover,
// _meta, resultType, cache hints, -32022, removed methods) and the legacy initialize, both
// declaring tools, prompts and resources, and answering a tool call with the same content.
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>

#include "../temp_dir.h"
#include "mcp/mcp_server.h"

namespace mcpmem {
namespace {

namespace fs = std::filesystem;

const Json kEnvelope = {{"io.modelcontextprotocol/protocolVersion", "2026-07-28"},
                        {"io.modelcontextprotocol/clientCapabilities", Json::object()},
                        {"io.modelcontextprotocol/clientInfo", {{"name", "t"}, {"version", "1"}}}};

class McpProtocolTest : public ::testing::Test {
 protected:
  void SetUp() override {
    Config config = config_from_env({{"HOME", dir_.path()}});
    config.db_path = dir_ / "mcp.db";
    config.synchronous_full = false;
    service_ = std::move(MemoryService::open(config)).value();
    server_ = std::make_unique<McpServer>(*service_);
  }
  void TearDown() override {
    server_.reset();
    service_.reset();
  }
  // A request of the modern era: `meta` is its _meta (the envelope unless the test breaks it).
  Json modern(const std::string& method, Json params = Json::object(), Json meta = kEnvelope) {
    params["_meta"] = std::move(meta);
    last_ = server_->respond(
        Json{{"jsonrpc", "2.0"}, {"id", ++id_}, {"method", method}, {"params", params}}.dump());
    return last_.message ? Json::parse(*last_.message) : Json();
  }
  Json legacy(const std::string& method, Json params = Json::object()) {
    last_ = server_->respond(
        Json{{"jsonrpc", "2.0"}, {"id", ++id_}, {"method", method}, {"params", params}}.dump());
    return last_.message ? Json::parse(*last_.message) : Json();
  }

  TempDir dir_{"proto"};
  std::unique_ptr<MemoryService> service_;
  std::unique_ptr<McpServer> server_;
  McpReply last_;
  int id_ = 0;
};

TEST_F(McpProtocolTest, DiscoverDescribesTheServerForTheModernEra) {
  Json r = modern("server/discover")["result"];
  EXPECT_TRUE(last_.modern);
  EXPECT_EQ(r["supportedVersions"], Json::array({"2026-07-28"}));
  for (const char* cap : {"tools", "prompts", "resources"}) {
    EXPECT_TRUE(r["capabilities"].contains(cap)) << cap;
  }
  EXPECT_FALSE(r["capabilities"].contains("logging"));  // gone in 2026-07-28
  EXPECT_EQ(r["resultType"], "complete");
  EXPECT_EQ(r["cacheScope"], "public");
  EXPECT_GT(r["ttlMs"].get<int64_t>(), 0);
  EXPECT_EQ(r["_meta"]["io.modelcontextprotocol/serverInfo"]["name"], "memory");
  EXPECT_NE(r["instructions"].get<std::string>().find("memory_store"), std::string::npos);
}

TEST_F(McpProtocolTest, InitializeDeclaresPromptsAndResourcesToo) {
  Json r = legacy("initialize", {{"protocolVersion", "2025-06-18"},
                                 {"capabilities", Json::object()},
                                 {"clientInfo", {{"name", "t"}, {"version", "1"}}}})["result"];
  EXPECT_FALSE(last_.modern);
  EXPECT_EQ(r["protocolVersion"], "2025-06-18");
  for (const char* cap : {"tools", "prompts", "resources", "logging"}) {
    EXPECT_TRUE(r["capabilities"].contains(cap)) << cap;
  }
  EXPECT_FALSE(r.contains("resultType"));  // the legacy envelope is unchanged
}

TEST_F(McpProtocolTest, EveryModernResultIsCompleteAndListsAndReadsCarryCacheHints) {
  for (const char* list :
       {"tools/list", "prompts/list", "resources/list", "resources/templates/list"}) {
    Json r = modern(list)["result"];
    EXPECT_EQ(r["resultType"], "complete") << list;
    EXPECT_EQ(r["cacheScope"], "public") << list;
    EXPECT_EQ(r["ttlMs"], 300000) << list;
  }
  Json read = modern("resources/read", {{"uri", "memory://stats"}})["result"];
  EXPECT_EQ(read["resultType"], "complete");
  EXPECT_EQ(read["ttlMs"], 0);  // current only when read
  EXPECT_EQ(read["cacheScope"], "private");
  EXPECT_EQ(read["contents"][0]["uri"], "memory://stats");
  Json call = modern("tools/call", {{"name", "memory_store"},
                                    {"arguments", {{"content", "the modern era stores too"}}}});
  EXPECT_EQ(call["result"]["resultType"], "complete");
  EXPECT_FALSE(call["result"].contains("ttlMs"));
  EXPECT_EQ(call["result"]["_meta"]["io.modelcontextprotocol/serverInfo"]["name"], "memory");
  Json prompt = modern("prompts/get",
                       {{"name", "memory_review"}, {"arguments", {{"time_period", "last week"}}}});
  EXPECT_EQ(prompt["result"]["resultType"], "complete");
}

TEST_F(McpProtocolTest, OneHandlerServesBothErasTheSameContent) {
  modern("tools/call", {{"name", "memory_store"}, {"arguments", {{"content", "one handler"}}}});
  Json a = modern("tools/call", {{"name", "memory_list"}, {"arguments", Json::object()}});
  Json b = legacy("tools/call", {{"name", "memory_list"}, {"arguments", Json::object()}});
  EXPECT_EQ(a["result"]["content"], b["result"]["content"]);
  EXPECT_EQ(a["result"]["structuredContent"], b["result"]["structuredContent"]);
}

TEST_F(McpProtocolTest, AnUnsupportedVersionGetsMinus32022WithTheSupportedList) {
  for (const char* asked : {"2099-01-01", "2025-06-18"}) {
    Json meta = kEnvelope;
    meta["io.modelcontextprotocol/protocolVersion"] = asked;
    Json r = modern("tools/list", Json::object(), meta);
    EXPECT_EQ(r["error"]["code"], -32022) << asked;
    EXPECT_EQ(r["error"]["data"]["supported"], Json::array({"2026-07-28"}));
    EXPECT_EQ(r["error"]["data"]["requested"], asked);
    EXPECT_EQ(r["id"], id_);
    EXPECT_TRUE(last_.rejected);
  }
}

TEST_F(McpProtocolTest, ABrokenEnvelopeIsRefusedBeforeDispatch) {
  Json no_caps = kEnvelope;
  no_caps.erase("io.modelcontextprotocol/clientCapabilities");
  Json r = modern("tools/list", Json::object(), no_caps);
  EXPECT_EQ(r["error"]["code"], -32602);
  EXPECT_EQ(r["error"]["message"],
            "Invalid _meta envelope for protocol revision 2026-07-28: "
            "io.modelcontextprotocol/clientCapabilities: missing");
  EXPECT_TRUE(last_.rejected);
  Json bad_info = kEnvelope;
  bad_info["io.modelcontextprotocol/clientInfo"] = "me";
  EXPECT_EQ(modern("tools/list", Json::object(), bad_info)["error"]["code"], -32602);
}

TEST_F(McpProtocolTest, MethodsTheModernEraRemovedAreUnknownThere) {
  for (const char* gone : {"ping", "logging/setLevel", "initialize", "resources/subscribe",
                           "subscriptions/listen", "completion/complete"}) {
    Json r = modern(gone);
    EXPECT_EQ(r["error"]["code"], -32601) << gone;
    EXPECT_FALSE(last_.rejected);
  }
  EXPECT_EQ(legacy("ping")["result"], Json::object());  // still there for legacy clients
}

TEST_F(McpProtocolTest, AMissingResourceNamesItsUri) {
  Json r = modern("resources/read", {{"uri", "memory://nothing"}});
  EXPECT_EQ(r["error"]["code"], -32602);
  EXPECT_EQ(r["error"]["data"]["uri"], "memory://nothing");
}

TEST_F(McpProtocolTest, NotificationsAndBatches) {
  Json note = {{"jsonrpc", "2.0"},
               {"method", "notifications/cancelled"},
               {"params", {{"requestId", 1}, {"_meta", kEnvelope}}}};
  McpReply quiet = server_->respond(note.dump());
  EXPECT_FALSE(quiet.message);
  EXPECT_TRUE(quiet.modern);
  Json batch = Json::array({{{"jsonrpc", "2.0"},
                             {"id", 1},
                             {"method", "tools/list"},
                             {"params", {{"_meta", kEnvelope}}}}});
  McpReply refused = server_->respond(batch.dump());
  EXPECT_TRUE(refused.rejected);
  EXPECT_EQ(Json::parse(*refused.message)["error"]["code"], -32600);
}

}  // namespace
}  // namespace mcpmem
