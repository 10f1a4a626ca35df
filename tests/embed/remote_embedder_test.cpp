// Remote embedders against a fake server on loopback (our HttpServer): Ollama's and the
// OpenAI-compatible reply shapes, batching, the key, and every way a server can fail: down, too
// slow, 500s (retried, then an error), garbage, a vector of the wrong size. Each failure is an
// error that names the server, and nothing of a bad reply is returned.
#include "embed/remote_embedder.h"

#include <gtest/gtest.h>

#include <atomic>
#include <cmath>
#include <nlohmann/json.hpp>
#include <thread>

#include "../loopback_server.h"
#include "http/http_server.h"

namespace mcpmem {
namespace {

using Json = nlohmann::json;

// Anonymous on 127.0.0.1: the key is the handler's business (the OpenAI test checks it).
HttpOptions anonymous_loopback() {
  HttpOptions o;
  o.port = 0;
  o.allow_anonymous = true;
  return o;
}

class FakeServer {
 public:
  explicit FakeServer(Handler h)
      : handler_(std::move(h)), server_([this](HttpServer& s) {
          auto route = [this](const Request& q) {
            ++requests;
            return handler_(q);
          };
          s.post("/api/embed", route);
          s.post("/v1/embeddings", route);
        }) {}
  std::string url() const { return server_.url(); }
  std::atomic<int> requests{0};

 private:
  Handler handler_;
  LoopbackServer server_;
};

Response reply(int status, const std::string& body, const std::string& type) {
  Response r;
  r.status = status;
  r.set_content(body, type);
  return r;
}

// A vector per input: (len(text), 1, 0, 2) — so each text's vector is checkable.
Json vectors_for(const Json& input, size_t dim = 4) {
  Json out = Json::array();
  for (const Json& t : input) {
    Json v = Json::array({static_cast<double>(t.get<std::string>().size()), 1.0, 0.0, 2.0});
    while (v.size() < dim) v.push_back(0.5);
    while (v.size() > dim) v.erase(v.size() - 1);
    out.push_back(v);
  }
  return out;
}

Response ollama_ok(const Request& q) {
  Json body = Json::parse(q.body);
  return reply(200,
               Json{{"model", body["model"]}, {"embeddings", vectors_for(body["input"])}}.dump(),
               "application/json");
}

EmbedderOptions quick() {
  EmbedderOptions o;
  o.timeout_ms = 2000;
  o.retries = 1;
  return o;
}

TEST(RemoteEmbedderTest, OllamaEmbedsInBatchesAndNormalises) {
  std::atomic<size_t> largest{0};
  FakeServer server([&](const Request& q) {
    Json body = Json::parse(q.body);
    EXPECT_EQ(body["model"], "nomic-embed-text");
    largest = std::max<size_t>(largest, body["input"].size());
    return ollama_ok(q);
  });
  auto e = make_embedder("ollama:" + server.url() + "/#nomic-embed-text", quick());
  ASSERT_TRUE(e.is_ok()) << e.status().message();
  EXPECT_EQ((*e)->dimension(), 4u);
  EXPECT_EQ((*e)->model_id(), "ollama:nomic-embed-text");
  std::vector<float> v = (*e)->embed("abc");
  const double n = std::sqrt(9.0 + 1 + 0 + 4);
  EXPECT_NEAR(v[0], 3 / n, 1e-6);
  EXPECT_NEAR(v[3], 2 / n, 1e-6);

  std::vector<std::string> texts;
  for (int i = 0; i < 150; ++i) texts.push_back(std::string(static_cast<size_t>(i + 1), 'x'));
  std::vector<std::string_view> views(texts.begin(), texts.end());
  std::vector<float> out(150 * 4);
  ASSERT_TRUE((*e)->embed_batch(views, out).is_ok());
  EXPECT_EQ(largest.load(), 64u);  // three requests: 64, 64, 22
  for (size_t i = 0; i < 150; ++i) {
    const double len = static_cast<double>(i + 1), norm = std::sqrt(len * len + 5);
    EXPECT_NEAR(out[i * 4], len / norm, 1e-6) << i;
  }
}

TEST(RemoteEmbedderTest, OpenAiCompatibleReadsItemsByIndexAndSendsTheKey) {
  FakeServer server([&](const Request& q) {
    if (q.header("Authorization") != "Bearer sk-test") {
      return reply(401, R"({"error": "bad key"})", "application/json");
    }
    Json body = Json::parse(q.body);
    Json data = Json::array();
    Json vectors = vectors_for(body["input"]);
    for (size_t i = vectors.size(); i-- > 0;) {  // reversed: the index says which is which
      data.push_back({{"object", "embedding"}, {"index", i}, {"embedding", vectors[i]}});
    }
    return reply(200, Json{{"data", data}, {"model", body["model"]}}.dump(), "application/json");
  });
  EmbedderOptions o = quick();
  auto refused = make_embedder("openai:" + server.url() + "#bge-small", o);
  ASSERT_FALSE(refused.is_ok());
  EXPECT_NE(refused.status().message().find("MCP_EMBEDDING_API_KEY"), std::string::npos)
      << refused.status().message();
  o.api_key = "sk-test";
  auto e = make_embedder("openai:" + server.url() + "/v1#bge-small", o);
  ASSERT_TRUE(e.is_ok()) << e.status().message();
  const std::string_view texts[] = {"a", "abcd"};
  std::vector<float> out(8);
  ASSERT_TRUE((*e)->embed_batch(texts, out).is_ok());
  EXPECT_NEAR(out[0], 1 / std::sqrt(6.0), 1e-6);
  EXPECT_NEAR(out[4], 4 / std::sqrt(21.0), 1e-6);
}

TEST(RemoteEmbedderTest, EveryFailureIsAnErrorNamingTheServer) {
  std::atomic<int> mode{0};
  FakeServer server([&](const Request& q) {
    switch (mode.load()) {
      case 0:
        return ollama_ok(q);
      case 1:
        return reply(500, "model is loading", "text/plain");
      case 2:
        return reply(200, "<html>not json</html>", "text/html");
      case 3: {
        Json body = Json::parse(q.body);
        return reply(200, Json{{"embeddings", vectors_for(body["input"], 5)}}.dump(),
                     "application/json");
      }
      case 4:
        return reply(200, R"({"embeddings": [[1, "x", 3, 4]]})", "application/json");
      case 5:
        return reply(200, R"({"embeddings": []})", "application/json");
      case 7:  // issue 15: 100,000 deep used to overflow the stack
        return reply(200,
                     R"({"embeddings": )" + std::string(100'000, '[') + "1" +
                         std::string(100'000, ']') + "}",
                     "application/json");
      default:
        std::this_thread::sleep_for(std::chrono::milliseconds(1500));
        return ollama_ok(q);
    }
  });
  EmbedderOptions o = quick();
  o.timeout_ms = 500;
  auto e = make_embedder("ollama:" + server.url() + "#m", o);
  ASSERT_TRUE(e.is_ok()) << e.status().message();
  struct Case {
    int mode;
    const char* says;
  } cases[] = {{1, "HTTP 500: model is loading"},
               {2, "not a JSON object"},
               {3, "a vector of 5 numbers where ollama:m gives 4"},
               {4, "not a number"},
               {5, "asked for 1 vectors, got 0"},
               {6, "timed out"},
               {7, "the reply is JSON nested deeper than 64 levels"}};
  for (const Case& c : cases) {
    mode = c.mode;
    const int before = server.requests;
    std::vector<float> out(4, 7.0f);
    Status s = (*e)->embed("text", out);
    EXPECT_FALSE(s.is_ok()) << c.mode;
    EXPECT_NE(s.message().find(c.says), std::string::npos) << s.message();
    EXPECT_NE(s.message().find(server.url()), std::string::npos) << s.message();
    EXPECT_EQ(out, std::vector<float>(4, 7.0f)) << "a bad reply wrote something";
    // Down, slow and 5xx are retried once; an answer that is wrong is not.
    EXPECT_EQ(server.requests - before, c.mode == 1 || c.mode == 6 ? 2 : 1) << c.mode;
  }
}

TEST(RemoteEmbedderTest, AServerThatIsNotThereOrASpecThatIsWrongIsNamed) {
  int port = 0;
  {
    auto bound = HttpServer::create(anonymous_loopback());
    ASSERT_TRUE(bound.is_ok()) << bound.status().message();
    port = (*bound)->port();
  }  // closed: nothing listens there now
  EmbedderOptions o = quick();
  o.retries = 0;
  auto down = make_embedder("ollama:http://127.0.0.1:" + std::to_string(port) + "#m", o);
  ASSERT_FALSE(down.is_ok());
  EXPECT_NE(down.status().message().find("127.0.0.1:" + std::to_string(port)), std::string::npos)
      << down.status().message();
  for (const char* spec : {"ollama:http://127.0.0.1:1", "ollama:#m", "openai:ftp://x#m",
                           "ollama:http://127.0.0.1:1#"}) {
    auto bad = make_embedder(spec, o);
    ASSERT_FALSE(bad.is_ok()) << spec;
    EXPECT_EQ(bad.status().code(), StatusCode::kInvalidArgument) << bad.status().message();
  }
}

// Issue 15: the key goes as a bearer token, so plain http may carry it only on this machine;
// a keyless server elsewhere (an Ollama box on the LAN) may still be plain http.
TEST(RemoteEmbedderTest, AKeyIsNeverSentInClearToAnotherMachine_Issue15) {
  EmbedderOptions o = quick();
  o.api_key = "sk-test";
  for (const char* spec :
       {"openai:http://192.0.2.1:8080#m", "openai:http://127.0.0.1.evil.example:8080#m"}) {
    auto refused = make_embedder(spec, o);
    ASSERT_FALSE(refused.is_ok()) << spec;
    EXPECT_EQ(refused.status().code(), StatusCode::kInvalidArgument) << spec;
    EXPECT_NE(refused.status().message().find("use https://"), std::string::npos)
        << refused.status().message();
  }
}

}  // namespace
}  // namespace mcpmem
