// The HTTP listener and MCP over Streamable HTTP, on a real socket on loopback: API-key auth on
// every route (header, bearer, query; wrong keys refused), DNS-rebinding protection (Host and
// Origin), size limits, malformed bodies, the session life cycle, HTTPS with a real
// certificate, the key file (generated once, mode 0600), and no key ever in the log.
#include "http/http_server.h"

#include <gtest/gtest.h>
#include <spdlog/sinks/ostream_sink.h>
#include <spdlog/spdlog.h>
#include <sys/stat.h>

#include <filesystem>
#include <regex>
#include <set>
#include <sstream>
#include <thread>

#include "../deep_json.h"
#include "../temp_dir.h"
#include "http/api_key.h"
#include "http_fixture.h"

namespace mcpmem {
namespace {

// Open, and only what the sync guide's monitoring script reads: a count and a time.
TEST_F(HttpTest, HealthIsOpenAndMinimal) {
  start();
  auto r = client().Get("/api/health");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200);
  Json j = Json::parse(r->body);
  EXPECT_EQ(j.size(), 3u) << r->body;
  EXPECT_EQ(j["status"], "healthy");
  EXPECT_EQ(j["memory_count"], 0);
  EXPECT_TRUE(j["last_modified"].is_null());
}

// Walks every registered route (regex groups filled in) plus paths nobody registered: all but
// the open health check answer 401 without a key and with wrong or almost-right keys.
TEST_F(HttpTest, EveryOtherRouteAnswers401WithoutOrWithAWrongKey) {
  start();
  std::vector<HttpServer::Route> routes = server_->routes();
  ASSERT_GE(routes.size(), 15u);
  routes.push_back({"GET", "/api/nothing-here"});
  routes.push_back({"PUT", "/x"});
  routes.push_back({"GET", "/api/health/x"});
  std::set<std::string> open;
  for (const HttpServer::Route& route : routes) {
    std::string path = std::regex_replace(route.pattern, std::regex(R"(\([^)]*\))"), "abc");
    for (const char* key : {"", "wrong", "test-key-5f1c2a9", "test-key-5f1c2a9bx"}) {
      TestHeaders headers{{"Content-Type", "application/json"}};
      if (*key) headers.emplace("X-API-Key", key);
      const bool takes_body = route.method == "POST" || route.method == "PUT";
      auto r = client().send(route.method, path, headers, takes_body ? "{}" : "");
      ASSERT_TRUE(r);
      const bool oauth =
          route.pattern.find("well-known") != std::string::npos || route.pattern == "/register";
      if (route.open) {
        EXPECT_EQ(r->status, oauth ? 404 : 200) << route.method << " " << path;
        continue;
      }
      EXPECT_EQ(r->status, 401) << route.method << " " << path << " key '" << key << "'";
      EXPECT_EQ(r->get_header_value("WWW-Authenticate"),
                *key ? R"(Bearer realm="mcp-memory", error="invalid_token")"
                     : R"(Bearer realm="mcp-memory")");
      const std::string detail = Json::parse(r->body)["detail"];
      EXPECT_TRUE(detail.starts_with(*key ? "the API key is wrong: send the key of this server"
                                          : "no API key was sent: send the key of this server"))
          << detail;
    }
    if (route.open) open.insert(route.method + " " + route.pattern);
  }
  // The minimal health check, the dashboard's files and the OAuth discovery that answers 404
  // (so MCP clients report the key instead of starting OAuth), nothing else.
  EXPECT_EQ(open, (std::set<std::string>{
                      "GET /api/health", "GET /", "GET /static/app.js", "GET /static/style.css",
                      "GET /.well-known/oauth-protected-resource",
                      "GET /.well-known/oauth-protected-resource/mcp",
                      "GET /.well-known/oauth-authorization-server",
                      "GET /.well-known/oauth-authorization-server/mcp",
                      "GET /.well-known/openid-configuration",
                      "GET /.well-known/openid-configuration/mcp",
                      "GET /mcp/.well-known/openid-configuration", "POST /register"}));
  auto query = client().Get("/api/health?x=1");
  EXPECT_EQ(query->status, 200);  // the query string does not change the path
}

TEST_F(HttpTest, DashboardFilesAreServedWithAStrictPolicyAndNothingElseIsReachable) {
  start();
  auto index = client().Get("/");
  ASSERT_EQ(index->status, 200);
  EXPECT_EQ(index->get_header_value("Content-Type"), "text/html; charset=utf-8");
  EXPECT_NE(index->body.find("<title>mcp-memory</title>"), std::string::npos);
  EXPECT_NE(index->get_header_value("Content-Security-Policy").find("default-src 'self'"),
            std::string::npos);
  EXPECT_EQ(index->get_header_value("X-Content-Type-Options"), "nosniff");
  EXPECT_EQ(client().Get("/static/app.js")->get_header_value("Content-Type"),
            "text/javascript; charset=utf-8");
  for (const char* path : {"/static/../api/stats", "/static/..%2f..%2fetc%2fpasswd",
                           "/static/%2e%2e/%2e%2e/etc/passwd", "/static/app.js/../../x",
                           "/index.html", "/static/", "/static/missing.js", "//etc/passwd"}) {
    auto anonymous = client().Get(path);
    EXPECT_NE(anonymous->status, 200) << path;
    auto keyed = client().Get(path, with_key());
    EXPECT_NE(keyed->status, 200) << path;
    EXPECT_EQ(keyed->body.find("root:"), std::string::npos) << path;
  }
}

// Issue 13, scope 7: the key prompt said ~/.local/share/mcp-memory/api_key whatever the base
// directory was. It names the file this server's key is kept in, and never holds the key.
TEST_F(HttpTest, DashboardKeyPromptNamesTheKeyFileTheServerUses) {
  Config c =
      config_from_env({{"HOME", dir_.path()}, {"MCP_MEMORY_BASE_DIR", dir_ / "data <&> here"}});
  auto key = resolve_api_key(c);
  ASSERT_TRUE(key.is_ok()) << key.status().message();
  ASSERT_EQ(key->file, dir_ / "data <&> here/api_key");
  HttpOptions o;
  o.api_key = key->key;
  dashboard_.api_key_file = api_key_file(c);
  start(o);
  auto page = client().Get("/");
  ASSERT_EQ(page->status, 200);
  const std::string prompt = "<code>" + dir_.path() + "/data &lt;&amp;&gt; here/api_key</code>";
  EXPECT_NE(page->body.find(prompt), std::string::npos) << page->body;
  EXPECT_EQ(page->body.find(key->key), std::string::npos);
  EXPECT_EQ(page->body.find("~/.local/share"), std::string::npos);
  EXPECT_EQ(page->body.find("{{"), std::string::npos);
}

TEST_F(HttpTest, DashboardKeyPromptNamesMcpApiKeyWhenTheKeyComesFromIt) {
  Config c = config_from_env({{"HOME", dir_.path()}, {"MCP_API_KEY", kKey}});
  dashboard_.api_key_file = api_key_file(c);
  EXPECT_EQ(dashboard_.api_key_file, "");
  start();
  auto page = client().Get("/");
  ASSERT_EQ(page->status, 200);
  EXPECT_NE(page->body.find("started with (its <code>MCP_API_KEY</code>)"), std::string::npos)
      << page->body;
  EXPECT_EQ(page->body.find(kKey), std::string::npos);
  EXPECT_FALSE(fs::exists(c.base_dir + "/api_key"));
}

TEST_F(HttpTest, KeyIsAcceptedAsHeaderBearerOrQueryParameter) {
  start();
  auto c = client();
  EXPECT_EQ(c.Get("/mcp", {{"X-API-Key", kKey}})->status, 405);
  EXPECT_EQ(c.Get("/mcp", {{"Authorization", std::string("Bearer ") + kKey}})->status, 405);
  EXPECT_EQ(c.Get("/mcp", {{"Authorization", std::string("bearer ") + kKey}})->status, 405);
  EXPECT_EQ(c.Get((std::string("/mcp?api_key=") + kKey).c_str())->status, 405);
  EXPECT_EQ(c.Get("/mcp", {{"Authorization", std::string("Basic ") + kKey}})->status, 401);
}

TEST_F(HttpTest, ForeignHostNamesAreRefusedOnALoopbackBind) {
  start();
  const std::string port = std::to_string(server_->port());
  for (std::string host : {"localhost", "127.0.0.1", "[::1]"}) {
    auto r = client().Get("/api/health", {{"Host", host + ":" + port}});
    EXPECT_EQ(r->status, 200) << host;
  }
  for (std::string host :
       {std::string("evil.example.com"), "evil.example.com:" + port,
        std::string("localhost.evil.com"), std::string("127.0.0.1.evil.com"), std::string()}) {
    auto r = client().Get("/api/health", {{"Host", host}});
    EXPECT_EQ(r->status, 403) << host;
  }
}

TEST_F(HttpTest, AllowedHostsExtendTheLoopbackNames) {
  HttpOptions o;
  o.allowed_hosts = {"memory.local"};
  start(o);
  EXPECT_EQ(client().Get("/api/health", {{"Host", "Memory.Local:8000"}})->status, 200);
  EXPECT_EQ(client().Get("/api/health", {{"Host", "other.local"}})->status, 403);
}

TEST_F(HttpTest, CrossSiteOriginsAreRefused) {
  start();
  const std::string self = "http://127.0.0.1:" + std::to_string(server_->port());
  EXPECT_EQ(client().Get("/api/health", {{"Origin", self}})->status, 200);
  EXPECT_EQ(client().Get("/api/health", {{"Origin", "http://localhost:3000"}})->status, 200);
  EXPECT_EQ(client().Get("/api/health", {{"Origin", "https://evil.example.com"}})->status, 403);
  EXPECT_EQ(client().Get("/api/health", {{"Origin", "null"}})->status, 403);
  auto r = mcp_post(kInitialize);
  ASSERT_EQ(r->status, 200);
  TestHeaders h = with_key({{"Origin", "https://evil.example.com"}});
  EXPECT_EQ(client().Post("/mcp", h, kInitialize, "application/json")->status, 403);
}

TEST_F(HttpTest, OversizedAndMalformedBodiesAreRefusedAndChangeNothing) {
  start();
  const std::string session = open_session();
  std::string huge = R"({"jsonrpc":"2.0","id":2,"method":"tools/call","params":{"name":)"
                     R"("memory_store","arguments":{"content":")" +
                     std::string(kMaxRequestBodyBytes, 'a') + R"("}}})";
  auto r = mcp_post(huge, session);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 413);
  EXPECT_NE(r->body.find("exceeds"), std::string::npos);

  for (std::string bad : {"{", "not json", "\xff\xfe", R"({"jsonrpc":"2.0","id":3,)"}) {
    auto m = mcp_post(bad, session);
    ASSERT_TRUE(m);
    EXPECT_EQ(m->status, 400) << bad;
    EXPECT_EQ(Json::parse(m->body)["error"]["code"], -32700);
  }
  // Valid JSON, wrong JSON-RPC shape: a JSON-RPC error inside a 200.
  auto shape = mcp_post(R"({"jsonrpc":"1.0","id":4,"method":"ping"})", session);
  EXPECT_EQ(shape->status, 200);
  EXPECT_EQ(Json::parse(shape->body)["error"]["code"], -32600);
  EXPECT_EQ(memory_count(), 0);
}

// Issue 15: /mcp bodies nested 100,000 deep (the body, the id, ping's params) crashed the
// server. Each is a 400 with a -32700 naming the limit; the session still answers after.
TEST_F(HttpTest, McpJsonNestedHundredThousandDeepIsAParseErrorAndTheServerLives_Issue15) {
  start();
  const std::string session = open_session();
  for (const std::string& deep : testing_json::hundred_thousand_deep()) {
    for (const std::string& body :
         {deep, R"({"jsonrpc":"2.0","id":)" + deep + R"(,"method":"ping"})",
          R"({"jsonrpc":"2.0","id":1,"method":"ping","params":)" + deep + "}"}) {
      for (const std::string& in_session : {session, std::string()}) {
        auto r = mcp_post(body, in_session);
        ASSERT_TRUE(r);
        EXPECT_EQ(r->status, 400);
        Json j = Json::parse(r->body);
        EXPECT_EQ(j["error"]["code"], -32700);
        EXPECT_EQ(j["error"]["message"],
                  "Parse error: the body is JSON nested deeper than 64 levels");
      }
    }
  }
  auto ping = mcp_post(R"({"jsonrpc":"2.0","id":9,"method":"ping"})", session);
  ASSERT_TRUE(ping);
  EXPECT_EQ(ping->status, 200);
  EXPECT_EQ(Json::parse(ping->body)["id"], 9);
}

TEST_F(HttpTest, SessionLifeCycle) {
  start();
  const std::string session = open_session();
  ASSERT_EQ(session.size(), 45u);  // nonce.mac, both base64url

  auto note = mcp_post(R"({"jsonrpc":"2.0","method":"notifications/initialized"})", session);
  EXPECT_EQ(note->status, 202);
  EXPECT_TRUE(note->body.empty());

  auto store = mcp_post(R"({"jsonrpc":"2.0","id":2,"method":"tools/call","params":{"name":)"
                        R"("memory_store","arguments":{"content":"over http","tags":["h"]}}})",
                        session);
  ASSERT_EQ(store->status, 200);
  EXPECT_EQ(store->get_header_value("Content-Type"), "application/json");
  EXPECT_EQ(Json::parse(store->body)["result"]["structuredContent"]["success"], true);
  EXPECT_EQ(memory_count(), 1);

  // Without a session id the request is served (stateless); an id we did not sign is not ours.
  EXPECT_EQ(mcp_post(R"({"jsonrpc":"2.0","id":3,"method":"ping"})")->status, 200);
  EXPECT_EQ(mcp_post(R"({"jsonrpc":"2.0","id":3,"method":"ping"})", "nope")->status, 404);
  std::string forged = session;
  forged.back() = forged.back() == 'A' ? 'B' : 'A';
  EXPECT_EQ(mcp_post(R"({"jsonrpc":"2.0","id":3,"method":"ping"})", forged)->status, 404);

  auto end = client().Delete("/mcp", with_key({{"Mcp-Session-Id", session}}));
  EXPECT_EQ(end->status, 200);
  auto after = mcp_post(R"({"jsonrpc":"2.0","id":4,"method":"ping"})", session);
  EXPECT_EQ(after->status, 404);
  EXPECT_EQ(Json::parse(after->body)["error"]["code"], -32001);
  EXPECT_EQ(Json::parse(after->body)["id"], 4);
  EXPECT_EQ(client().Delete("/mcp", with_key({{"Mcp-Session-Id", session}}))->status, 404);
}

TEST_F(HttpTest, ASessionSurvivesARestartOfTheServer) {
  start();
  const std::string session = open_session();
  stop();
  start();
  auto r = mcp_post(R"({"jsonrpc":"2.0","id":5,"method":"tools/list"})", session);
  ASSERT_EQ(r->status, 200) << r->body;
  EXPECT_TRUE(Json::parse(r->body)["result"]["tools"].is_array());
  // Under another key (another server's data directory) the id is not ours.
  stop();
  session_key_ = "another-key-0123456789abcdef";
  start();
  EXPECT_EQ(mcp_post(R"({"jsonrpc":"2.0","id":6,"method":"tools/list"})", session)->status, 404);
}

// The 2026-07-28 era over HTTP: no session, headers that must match the body, and the
// statuses the v2 SDK client reads (400 echoing the id, 404 for an unknown method).
TEST_F(HttpTest, ModernRequestsNeedHeadersThatMatchTheBody) {
  start();
  const Json envelope = {{"io.modelcontextprotocol/protocolVersion", "2026-07-28"},
                         {"io.modelcontextprotocol/clientCapabilities", Json::object()}};
  auto post = [&](const std::string& method, Json params, TestHeaders headers, const Json& meta) {
    params["_meta"] = meta;
    Json body = {{"jsonrpc", "2.0"}, {"id", 41}, {"method", method}, {"params", params}};
    headers.emplace("X-API-Key", kKey);
    return client().Post("/mcp", headers, body.dump(), "application/json");
  };
  auto headers = [](const std::string& method, const std::string& name = "") {
    TestHeaders h = {{"MCP-Protocol-Version", "2026-07-28"}, {"Mcp-Method", method}};
    if (!name.empty()) h.emplace("Mcp-Name", name);
    return h;
  };
  auto error_of = [](const TestResult& r) { return Json::parse(r->body)["error"]; };

  auto list = post("tools/list", Json::object(), headers("tools/list"), envelope);
  ASSERT_EQ(list->status, 200) << list->body;
  EXPECT_EQ(Json::parse(list->body)["result"]["resultType"], "complete");
  EXPECT_FALSE(list->has_header("Mcp-Session-Id"));

  const Json store = {{"name", "memory_store"}, {"arguments", {{"content", "modern over http"}}}};
  auto stored = post("tools/call", store, headers("tools/call", "memory_store"), envelope);
  ASSERT_EQ(stored->status, 200) << stored->body;
  EXPECT_EQ(memory_count(), 1);
  // A name a header cannot carry plainly comes base64-encoded.
  auto read = post("resources/read", {{"uri", "memory://stats"}},
                   headers("resources/read", "=?base64?bWVtb3J5Oi8vc3RhdHM=?="), envelope);
  EXPECT_EQ(read->status, 200) << read->body;

  // Headers that disagree with the body, or are missing: 400, -32020, the id echoed.
  for (const TestHeaders& wrong :
       {TestHeaders{{"Mcp-Method", "tools/list"}},
        TestHeaders{{"MCP-Protocol-Version", "2026-07-28"}}, headers("tools/call"),
        headers("tools/call", "memory_delete"), headers("prompts/list", "memory_store")}) {
    auto r = post("tools/call", store, wrong, envelope);
    EXPECT_EQ(r->status, 400) << r->body;
    EXPECT_EQ(error_of(r)["code"], -32020) << r->body;
    EXPECT_EQ(Json::parse(r->body)["id"], 41);
  }
  EXPECT_EQ(memory_count(), 1);

  Json future = envelope;
  future["io.modelcontextprotocol/protocolVersion"] = "2099-01-01";
  TestHeaders future_headers = {{"MCP-Protocol-Version", "2099-01-01"},
                                {"Mcp-Method", "tools/list"}};
  auto unsupported = post("tools/list", Json::object(), future_headers, future);
  EXPECT_EQ(unsupported->status, 400);
  EXPECT_EQ(error_of(unsupported)["code"], -32022);
  EXPECT_EQ(error_of(unsupported)["data"]["supported"], Json::array({"2026-07-28"}));
  EXPECT_EQ(Json::parse(unsupported->body)["id"], 41);

  auto ping = post("ping", Json::object(), headers("ping"), envelope);
  EXPECT_EQ(ping->status, 404);
  EXPECT_EQ(error_of(ping)["code"], -32601);

  // A modern version in the header without the envelope in the body.
  TestHeaders bare = headers("tools/list");
  bare.emplace("X-API-Key", kKey);
  auto missing = client().Post("/mcp", bare, R"({"jsonrpc":"2.0","id":42,"method":"tools/list"})",
                               "application/json");
  EXPECT_EQ(missing->status, 400);
  EXPECT_EQ(error_of(missing)["code"], -32602);
  EXPECT_EQ(Json::parse(missing->body)["id"], 42);

  // A notification: 202, nothing back.
  Json note = {{"jsonrpc", "2.0"},
               {"method", "notifications/cancelled"},
               {"params", {{"requestId", 1}, {"_meta", envelope}}}};
  TestHeaders note_headers = headers("notifications/cancelled");
  note_headers.emplace("X-API-Key", kKey);
  auto quiet = client().Post("/mcp", note_headers, note.dump(), "application/json");
  EXPECT_EQ(quiet->status, 202);
  EXPECT_TRUE(quiet->body.empty());
}

// mcp-remote adds Mcp-Method (and Mcp-Name) to legacy requests too: they are not checked there.
TEST_F(HttpTest, LegacyRequestsMayCarryTheModernHeaders) {
  start();
  const std::string session = open_session();
  TestHeaders h = with_key({{"Mcp-Session-Id", session},
                            {"MCP-Protocol-Version", "2025-11-25"},
                            {"Mcp-Method", "tools/list"}});
  auto r = client().Post("/mcp", h, R"({"jsonrpc":"2.0","id":3,"method":"tools/list"})",
                         "application/json");
  EXPECT_EQ(r->status, 200) << r->body;
}

// A client that met a 401 looks for OAuth; we are not an OAuth server, and say so.
TEST_F(HttpTest, OAuthDiscoveryAnswers404WithTheWayToPassTheKey) {
  start();
  for (const char* path :
       {"/.well-known/oauth-protected-resource/mcp", "/.well-known/oauth-authorization-server",
        "/.well-known/openid-configuration"}) {
    auto r = client().Get(path);
    EXPECT_EQ(r->status, 404) << path;
    EXPECT_NE(r->body.find("does not use OAuth"), std::string::npos) << r->body;
  }
  auto reg =
      client().Post("/register", {}, R"({"client_name":"MCP CLI Proxy"})", "application/json");
  EXPECT_EQ(reg->status, 404);
  EXPECT_NE(reg->body.find("X-API-Key"), std::string::npos);
}

TEST_F(HttpTest, FailedInitializeOpensNoSession) {
  start();
  auto r = mcp_post(R"({"jsonrpc":"2.0","id":1,"method":"initialize","params":[]})");
  ASSERT_EQ(r->status, 200);
  EXPECT_TRUE(Json::parse(r->body).contains("error"));
  EXPECT_FALSE(r->has_header("Mcp-Session-Id"));
}

TEST_F(HttpTest, TransportRulesForHeadersAndMethods) {
  start();
  const std::string session = open_session();
  auto c = client();
  auto get = c.Get("/mcp", with_key());
  EXPECT_EQ(get->status, 405);
  EXPECT_EQ(get->get_header_value("Allow"), "POST, DELETE");
  EXPECT_EQ(c.Post("/mcp", with_key(), kInitialize, "text/plain")->status, 415);
  EXPECT_EQ(
      c.Post("/mcp", with_key({{"Accept", "text/html"}}), kInitialize, "application/json")->status,
      406);
  TestHeaders old = with_key({{"Mcp-Session-Id", session}, {"MCP-Protocol-Version", "1999-01-01"}});
  EXPECT_EQ(c.Post("/mcp", old, R"({"jsonrpc":"2.0","id":5,"method":"ping"})", "application/json")
                ->status,
            400);
  TestHeaders ok = with_key({{"Mcp-Session-Id", session}, {"MCP-Protocol-Version", "2025-06-18"}});
  EXPECT_EQ(
      c.Post("/mcp", ok, R"({"jsonrpc":"2.0","id":6,"method":"ping"})", "application/json")->status,
      200);
}

TEST_F(HttpTest, AnonymousAccessOnlyOnLoopback) {
  HttpOptions o;
  o.allow_anonymous = true;
  o.host = "0.0.0.0";
  o.port = 0;
  auto refused = HttpServer::create(o);
  ASSERT_FALSE(refused.is_ok());
  EXPECT_NE(refused.status().message().find("loopback"), std::string::npos);

  HttpOptions keyless;
  keyless.port = 0;
  EXPECT_FALSE(HttpServer::create(keyless).is_ok());

  HttpOptions local;
  local.allow_anonymous = true;
  start(local);
  EXPECT_EQ(client().Get("/mcp")->status, 405);
}

TEST_F(HttpTest, TheKeyNeverReachesTheLog) {
  std::ostringstream log;
  auto previous = spdlog::default_logger();
  auto logger = std::make_shared<spdlog::logger>(
      "capture", std::make_shared<spdlog::sinks::ostream_sink_mt>(log));
  logger->set_level(spdlog::level::debug);
  spdlog::set_default_logger(logger);
  start();
  client().Get((std::string("/mcp?api_key=") + kKey).c_str());
  client().Get("/mcp", {{"Authorization", std::string("Bearer ") + kKey}});
  client().Get("/mcp", {{"X-API-Key", "almost-the-key"}});
  mcp_post(kInitialize);
  stop();
  spdlog::set_default_logger(previous);
  const std::string text = log.str();
  EXPECT_NE(text.find("GET /mcp 405"), std::string::npos) << text;
  EXPECT_NE(text.find("GET /mcp 401"), std::string::npos) << text;
  EXPECT_EQ(text.find(kKey), std::string::npos) << text;
  EXPECT_EQ(text.find("almost-the-key"), std::string::npos) << text;
}

// Issue 15: the decoded path went into the access log as it was, so `%0A` forged log lines.
TEST_F(HttpTest, AccessLogEscapesControlCharactersOfThePath_Issue15) {
  std::ostringstream log;
  auto previous = spdlog::default_logger();
  auto logger = std::make_shared<spdlog::logger>(
      "capture", std::make_shared<spdlog::sinks::ostream_sink_mt>(log));
  logger->set_level(spdlog::level::debug);
  logger->set_pattern("%v");
  spdlog::set_default_logger(logger);
  start();
  auto r = client().Get("/api/x%0Aforged%20line%0D%1B[31m%09%5C", with_key());
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 404);
  stop();
  spdlog::set_default_logger(previous);
  std::istringstream lines(log.str());
  std::vector<std::string> about_x;
  for (std::string line; std::getline(lines, line);) {
    if (line.find("/api/x") != std::string::npos || line.find("forged") != std::string::npos) {
      about_x.push_back(line);
    }
  }
  ASSERT_EQ(about_x.size(), 1u) << log.str();
  EXPECT_EQ(about_x[0].rfind("GET /api/x\\nforged line\\r\\x1b[31m\\t\\\\ 404 ", 0), 0u)
      << about_x[0];
}

TEST_F(HttpTest, ServesHttpsWithARealCertificate) {
  const std::string cert = dir_ / "cert.pem", key = dir_ / "key.pem";
  const std::string cmd =
      "openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes "
      "-days 2 -subj /CN=localhost -addext subjectAltName=IP:127.0.0.1 "
      "-keyout " +
      key + " -out " + cert + " 2>/dev/null";
  ASSERT_EQ(std::system(cmd.c_str()), 0);
  HttpOptions o;
  o.cert_file = cert;
  o.key_file = key;
  start(o);
  EXPECT_EQ(server_->url().rfind("https://127.0.0.1:", 0), 0u);
  TestClient tls(server_->port(), /*tls=*/true, cert);  // verifies the certificate
  auto r = tls.Get("/api/health");
  ASSERT_TRUE(r) << r.error();
  EXPECT_EQ(r->status, 200);
  auto session = tls.Post("/mcp", with_key(), kInitialize, "application/json");
  ASSERT_TRUE(session);
  EXPECT_EQ(session->status, 200);
  // Plain HTTP to the TLS port gets no answer.
  EXPECT_FALSE(client().Get("/api/health") && client().Get("/api/health")->status == 200);
}

TEST_F(HttpTest, UnreadableCertificateIsAClearError) {
  HttpOptions o;
  o.api_key = kKey;
  o.port = 0;
  o.cert_file = dir_ / "missing.pem";
  o.key_file = dir_ / "missing.key";
  auto r = HttpServer::create(o);
  ASSERT_FALSE(r.is_ok());
  EXPECT_NE(r.status().message().find("missing.pem"), std::string::npos);
  o.key_file.clear();
  EXPECT_NE(HttpServer::create(o).status().message().find("both"), std::string::npos);
}

TEST(ApiKey, GeneratedOnceKeptWithMode0600AndReused) {
  const TempDir dir("key");
  Config c = config_from_env({{"HOME", dir.path()}});
  c.base_dir = dir / "data";
  auto first = resolve_api_key(c);
  ASSERT_TRUE(first.is_ok());
  EXPECT_TRUE(first->generated);
  EXPECT_EQ(first->key.size(), 43u);
  struct stat st {};
  ASSERT_EQ(stat(first->file.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  auto second = resolve_api_key(c);
  ASSERT_TRUE(second.is_ok());
  EXPECT_FALSE(second->generated);
  EXPECT_EQ(second->key, first->key);
  EXPECT_FALSE(second->file_too_open);
  chmod(first->file.c_str(), 0644);
  EXPECT_TRUE(resolve_api_key(c)->file_too_open);

  c.api_key = "from-env";
  auto env = resolve_api_key(c);
  EXPECT_EQ(env->key, "from-env");
  EXPECT_TRUE(env->file.empty());
}

TEST(HostWithoutPort, HandlesNamesAddressesAndBrackets) {
  EXPECT_EQ(host_without_port("Example.COM:80"), "example.com");
  EXPECT_EQ(host_without_port("[::1]:8000"), "::1");
  EXPECT_EQ(host_without_port("[::1]"), "::1");
  EXPECT_EQ(host_without_port("127.0.0.1"), "127.0.0.1");
  EXPECT_EQ(host_without_port(""), "");
}

}  // namespace
}  // namespace mcpmem

namespace mcpmem {
namespace {

TEST(HttpStatus, EveryRouteMapsAFailureTheSameWay) {
  EXPECT_EQ(http_status(Status::invalid_argument("x")), 422);
  EXPECT_EQ(http_status(Status::not_found("x")), 404);
  EXPECT_EQ(http_status(Status::already_exists("x")), 409);
  EXPECT_EQ(http_status(Status::failed_precondition("re-embedded: restart")), 409);
  EXPECT_EQ(http_status(Status::busy("x")), 503);
  EXPECT_EQ(http_status(Status::io_error("x")), 500);
  EXPECT_EQ(http_status(Status::corruption("x")), 500);
}

}  // namespace
}  // namespace mcpmem
