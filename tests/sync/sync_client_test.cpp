// The spoke's sync round against a hub that misbehaves: HTTP 500s, bodies that are not JSON,
// JSON cut short, replies of the wrong shape, a batch with one bad version among good ones, a
// refused key, a hub that is not there. Each gives an error that says what happened; nothing
// of a bad reply is applied; the cursors stay where they were, so the next round repeats the
// work; `sync status` shows the error. The fake hub is our HttpServer on loopback, its two
// routes answering whatever the test sets.
#include "sync/sync_client.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <thread>

#include "../deep_json.h"
#include "../loopback_server.h"
#include "../temp_dir.h"
#include "http/http_server.h"
#include "platform/url.h"
#include "service/version_json.h"
#include "sync/sync_state.h"
#include "sync_test_util.h"

namespace mcpmem {
namespace {

namespace fs = std::filesystem;

Response json_reply(int status, const std::string& body) {
  Response r;
  r.status = status;
  r.set_content(body, "application/json");
  return r;
}

// Anonymous on 127.0.0.1: the key check is the fake's own business (a 401 where a test wants).
class FakeHub {
 public:
  Handler on_pull = [](const Request&) {
    return json_reply(200, R"({"versions": [], "next": 0, "more": false})");
  };
  Handler on_push = [](const Request&) {
    return json_reply(200, R"({"applied": {}, "hub_node": "fake"})");
  };

  FakeHub()
      : server_([this](HttpServer& s) {
          s.get("/api/sync/pull", [this](const Request& q) { return on_pull(q); });
          s.post("/api/sync/push", [this](const Request& q) { return on_push(q); });
        }) {}
  std::string url() const { return server_.url(); }

 private:
  LoopbackServer server_;  // last: it stops before the handlers it calls go
};

class SyncClientTest : public ::testing::Test {
 protected:
  void SetUp() override {
    spoke_ = node("spoke");
    source_ = node("elsewhere");
  }
  void TearDown() override {
    spoke_.reset();
    source_.reset();
  }

  std::unique_ptr<MemoryService> node(const std::string& name) {
    return testing_util::open_node(dir_.path(), name);
  }

  void store(MemoryService& s, const std::string& content) {
    StoreRequest r;
    r.content = content;
    r.allow_duplicate = true;
    auto out = s.store(r);
    ASSERT_TRUE(out.is_ok() && out->success);
  }

  // The versions `source_` would send, as a hub's pull reply lists them.
  OJson versions_from_source(int n) {
    for (int i = 0; i < n; ++i) store(*source_, "made elsewhere, number " + std::to_string(i));
    auto changed = source_->changed_since(0, 1000);
    EXPECT_TRUE(changed.is_ok());
    OJson list = OJson::array();
    for (const Memory& m : changed->versions) list.push_back(version_json(m));
    return list;
  }

  Result<SyncRound> round(const FakeHub& hub, const std::string& key = "k") {
    SyncClientOptions o;
    o.hub_url = hub.url();
    o.api_key = key;
    o.timeout_seconds = 5;
    return sync_once(*spoke_, o);
  }

  int64_t rows() { return spoke_->stats()->storage.total_memories; }

  TempDir dir_{"client"};
  std::unique_ptr<MemoryService> spoke_, source_;
};

TEST_F(SyncClientTest, BadPullRepliesApplyNothingAndKeepTheCursor) {
  OJson good = versions_from_source(3);
  OJson one_bad = good;
  one_bad[1]["content_hash"] = std::string(64, 'a');  // not the hash of its content
  struct Case {
    std::string name;
    int status;
    std::string body;
    std::string expected;  // in the error
  };
  const std::vector<Case> cases = {
      {"500 with a detail", 500, R"({"detail": "database is locked"})",
       "HTTP 500: database is locked"},
      {"502 from a proxy", 502, "<html>Bad Gateway</html>", "HTTP 502: <html>Bad Gateway</html>"},
      {"not JSON", 200, "<html>hello</html>", "not a sync reply (nothing applied)"},
      {"JSON cut short", 200, R"({"versions": [)" + good[0].dump(), "not a sync reply"},
      {"wrong shape", 200, R"({"versions": {}, "next": 3})", "not a sync reply"},
      {"no cursor", 200, R"({"versions": []})", "not a sync reply"},
      {"a bad version among good ones", 200,
       OJson({{"versions", one_bad}, {"next", 3}, {"more", false}}).dump(),
       "version 1: field 'content_hash'"},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.name);
    FakeHub hub;
    hub.on_pull = [&](const Request&) { return json_reply(c.status, c.body); };
    auto r = round(hub);
    ASSERT_FALSE(r.is_ok());
    EXPECT_NE(r.status().message().find(c.expected), std::string::npos) << r.status().message();
    EXPECT_NE(r.status().message().find("pulling from " + hub.url()), std::string::npos);
    EXPECT_EQ(rows(), 0);
    auto cursor = load_hub_cursor(*spoke_);
    ASSERT_TRUE(cursor.is_ok());
    EXPECT_EQ(cursor->pull_seq, 0);
    EXPECT_EQ(cursor->last_error, r.status().message());
    auto status = sync_status_json(*spoke_);
    ASSERT_TRUE(status.is_ok());
    EXPECT_EQ((*status)["hub"]["last_error"], r.status().message());
  }
  // The same hub, now answering well: everything arrives, and the error is cleared.
  FakeHub hub;
  hub.on_pull = [&](const Request&) {
    return json_reply(200, OJson({{"versions", good}, {"next", 3}, {"more", false}}).dump());
  };
  auto r = round(hub);
  ASSERT_TRUE(r.is_ok()) << r.status().message();
  EXPECT_EQ(rows(), 3);
  EXPECT_EQ(load_hub_cursor(*spoke_)->pull_seq, 3);
  EXPECT_EQ(load_hub_cursor(*spoke_)->last_error, "");
}

TEST_F(SyncClientTest, BadPushRepliesKeepTheChangesPending) {
  for (int i = 0; i < 3; ++i) store(*spoke_, "made on the spoke, number " + std::to_string(i));
  const int64_t head = *spoke_->last_change_seq();
  for (auto [status, body] :
       std::vector<std::pair<int, std::string>>{{500, R"({"detail": "disk full"})"},
                                                {200, "garbage"},
                                                {200, R"({"applied": 3})"},
                                                {503, ""}}) {
    SCOPED_TRACE(std::to_string(status) + " " + body);
    FakeHub hub;
    // Captured by name: clang 14 cannot capture structured bindings.
    hub.on_push = [status = status, body = body](const Request&) {
      return json_reply(status, body);
    };
    auto r = round(hub);
    ASSERT_FALSE(r.is_ok());
    EXPECT_NE(r.status().message().find("pushing to " + hub.url()), std::string::npos)
        << r.status().message();
    EXPECT_EQ(load_hub_cursor(*spoke_)->push_seq, 0);
  }
  // A working hub gets all three, and then nothing is pending.
  FakeHub hub;
  std::vector<std::string> received;
  hub.on_push = [&](const Request& req) {
    const Json body = Json::parse(req.body);
    for (const Json& v : body["versions"]) received.push_back(v["content"]);
    return json_reply(200, R"({"applied": {"new": 3}, "hub_node": "fake"})");
  };
  auto r = round(hub);
  ASSERT_TRUE(r.is_ok()) << r.status().message();
  EXPECT_EQ(received.size(), 3u);
  EXPECT_EQ(r->hub_applied.added, 3);
  EXPECT_EQ(load_hub_cursor(*spoke_)->push_seq, head);
  EXPECT_EQ(load_hub_cursor(*spoke_)->hub_node, "fake");
}

TEST_F(SyncClientTest, ARefusedKeyAndAnAbsentHubAreNamed) {
  {
    FakeHub hub;
    hub.on_push = [](const Request& req) {
      EXPECT_EQ(req.header("X-API-Key"), "wrong");  // the key goes in this header
      return json_reply(401, R"({"detail": "Invalid API key"})");
    };
    hub.on_pull = hub.on_push;
    store(*spoke_, "pending");
    auto r = round(hub, "wrong");
    ASSERT_FALSE(r.is_ok());
    EXPECT_NE(r.status().message().find("the hub refused the API key"), std::string::npos);
  }
  std::string url;
  {
    FakeHub gone;
    url = gone.url();
  }  // stopped: nothing listens on its port now
  SyncClientOptions o;
  o.hub_url = url;
  o.api_key = "k";
  o.timeout_seconds = 2;
  auto r = sync_once(*spoke_, o);
  ASSERT_FALSE(r.is_ok());
  EXPECT_NE(r.status().message().find("pushing to " + url + ": cannot connect"), std::string::npos)
      << r.status().message();
  EXPECT_EQ(load_hub_cursor(*spoke_)->push_seq, 0);
}

TEST_F(SyncClientTest, OptionsThatCannotWorkAreRefusedBeforeAnyRequest) {
  SyncClientOptions o;
  o.hub_url = "http://192.0.2.1:8000";
  o.api_key = "k";
  EXPECT_NE(check_options(o).message().find("must be https://"), std::string::npos);
  o.hub_url = "https://hub.example:8443";
  o.api_key = "";
  EXPECT_NE(check_options(o).message().find("no API key"), std::string::npos);
}

// Issue 15: a hub (or whatever answers in its place) replying with JSON 100,000 deep crashed
// the spoke. The round fails naming the limit, and the cursors do not move.
TEST_F(SyncClientTest, HubRepliesNestedHundredThousandDeepFailTheRoundNotTheSpoke_Issue15) {
  for (const std::string& deep : testing_json::hundred_thousand_deep()) {
    for (bool on_push : {true, false}) {
      FakeHub hub;
      (on_push ? hub.on_push : hub.on_pull) = [&](const Request&) {
        return json_reply(200, R"({"applied":{},"next":0,"versions":[],"x":)" + deep + "}");
      };
      store(*spoke_,
            std::string("pending ") + (on_push ? "push " : "pull ") + std::to_string(deep.size()));
      auto r = round(hub);
      ASSERT_FALSE(r.is_ok());
      EXPECT_NE(r.status().message().find("the hub's reply is JSON nested deeper than 64 levels"),
                std::string::npos)
          << r.status().message();
      EXPECT_EQ(load_hub_cursor(*spoke_)->pull_seq, 0);
    }
  }
}

// Issue 15: the plain-http rule was a prefix test, so http://127.0.0.1.evil.example passed and
// the API key would have gone to another machine in clear text. Decided on the parsed host now.
TEST(HubUrl, PlainHttpOnlyToALoopbackHostDecidedOnTheParsedHost_Issue15) {
  for (const char* loopback :
       {"http://localhost", "http://localhost:1", "http://LOCALHOST", "HTTP://LocalHost:8000/",
        "http://127.0.0.1:8000", "http://127.1.2.3", "http://127.255.255.254:9/sync",
        "http://[::1]:8443", "http://[::1]", "http://localhost/base?x#y"}) {
    EXPECT_TRUE(is_loopback_http_url(loopback)) << loopback;
  }
  for (const char* elsewhere :
       {"http://127.0.0.1.evil.example",     // a name that starts like the address
        "http://127.0.0.1@evil.example",     // userinfo: the host is evil.example
        "http://localhost@evil.example:80",  // same, with a name
        "http://evil.example/http://127.0.0.1",
        "http://localhost.evil.example",
        "http://localhost.",
        "http://a.localhost",
        "http://0x7f000001",  // resolvers read it as 127.0.0.1; refused as unusual
        "http://2130706433",
        "http://127.1",
        "http://0177.0.0.1",
        "http://127.0.0.1.",
        "http://127.0.0.256",
        "http://128.0.0.1",
        "http://[::1].evil.example",
        "http://[::ffff:127.0.0.1]",
        "http://[0:0:0:0:0:0:0:1]",
        "http://localhost:80x",
        "http://localhost:",
        "http://",
        "https//localhost",
        "ftp://localhost",
        "http://192.0.2.1:8000",
        "http:/localhost"}) {
    EXPECT_FALSE(is_loopback_http_url(elsewhere)) << elsewhere;
  }
  // check_options applies the rule; https is allowed anywhere.
  SyncClientOptions o;
  o.api_key = "k";
  o.hub_url = "http://127.0.0.1.evil.example:8000";
  EXPECT_NE(check_options(o).message().find("must be https://"), std::string::npos);
  o.hub_url = "http://127.0.0.1:8000/";
  EXPECT_TRUE(check_options(o).is_ok());
  o.hub_url = "https://127.0.0.1.evil.example:8443";
  EXPECT_TRUE(check_options(o).is_ok());
}

}  // namespace
}  // namespace mcpmem
