// McpHttpEndpoint's handlers called alone with hand-made Requests, no server: a session opened
// by initialize, used, and ended; the transport's refusals (415, 405 with Allow, 404 for an
// ended session). http_server_test.cpp drives the same endpoint over a socket.
#include "http/mcp_endpoint.h"

#include "http_fixture.h"

namespace mcpmem {
namespace {

class McpEndpointTest : public HttpTest {};

TEST_F(McpEndpointTest, HandlersAnswerAHandMadeRequestWithoutASocket) {
  McpHttpEndpoint endpoint(*service_, "test-session-key-0123456789");
  auto message = [](const std::string& body, const std::string& session) {
    Request r;
    r.method = "POST";
    r.headers.emplace("Content-Type", "application/json");
    if (!session.empty()) r.headers.emplace("Mcp-Session-Id", session);
    r.body = body;
    return r;
  };
  Response init = endpoint.post(message(kInitialize, ""));
  ASSERT_EQ(init.status, 200) << init.body;
  const std::string session = init.header("Mcp-Session-Id");
  EXPECT_EQ(session.size(), 45u);
  Response ping = endpoint.post(message(R"({"jsonrpc":"2.0","id":7,"method":"ping"})", session));
  EXPECT_EQ(ping.status, 200);
  EXPECT_EQ(ping.header("Content-Type"), "application/json");
  EXPECT_EQ(Json::parse(ping.body)["id"], 7);
  Response note =
      endpoint.post(message(R"({"jsonrpc":"2.0","method":"notifications/initialized"})", session));
  EXPECT_EQ(note.status, 202);
  EXPECT_TRUE(note.body.empty());
  Request text = message(kInitialize, "");
  text.headers.erase("Content-Type");
  text.headers.emplace("Content-Type", "text/plain");
  EXPECT_EQ(endpoint.post(text).status, 415);
  Response get = McpHttpEndpoint::no_stream(Request{});
  EXPECT_EQ(get.status, 405);
  EXPECT_EQ(get.header("Allow"), "POST, DELETE");
  EXPECT_EQ(Json::parse(get.body)["error"]["code"], -32000);
  Response end = endpoint.end_session(message("", session));
  EXPECT_EQ(end.status, 200);
  EXPECT_EQ(endpoint.end_session(message("", session)).status, 404);
}

}  // namespace
}  // namespace mcpmem
