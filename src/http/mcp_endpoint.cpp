// Streamable HTTP for McpServer. The transport rules live here; the protocol is McpServer's,
// shared with stdio, so both transports answer every message identically. HTTP-level failures
// carry a JSON-RPC error body with id null, as the official SDK's server does, so SDK clients
// show the message.
#include "http/mcp_endpoint.h"

#include <algorithm>
#include <vector>

#include "core/json_parse.h"
#include "http/api_key.h"

namespace mcpmem {
namespace {

int64_t now_s() {
  return std::chrono::duration_cast<std::chrono::seconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

Response rpc_error(int status, int code, const std::string& message) {
  Response res;
  res.status = status;
  Json body = {
      {"jsonrpc", "2.0"}, {"error", {{"code", code}, {"message", message}}}, {"id", nullptr}};
  res.set_content(body.dump(), "application/json");
  return res;
}

bool is_initialize(const Json& message) {
  auto one = [](const Json& m) {
    return m.is_object() && m.contains("method") && m["method"] == "initialize";
  };
  if (message.is_array()) return std::any_of(message.begin(), message.end(), one);
  return one(message);
}

bool contains(const std::string& haystack, const char* needle) {
  return haystack.find(needle) != std::string::npos;
}

}  // namespace

McpHttpEndpoint::McpHttpEndpoint(MemoryService& service) : service_(service) {}

void McpHttpEndpoint::mount(HttpServer& server, const std::string& path) {
  server.post(path, [this](const Request& req) { return post(req); });
  server.del(path, [this](const Request& req) { return end_session(req); });
  server.get(path, &McpHttpEndpoint::no_stream);
}

Response McpHttpEndpoint::no_stream(const Request&) {
  Response res = rpc_error(405, -32000, "Method Not Allowed: this server offers no GET stream");
  res.set_header("Allow", "POST, DELETE");
  return res;
}

size_t McpHttpEndpoint::session_count() const {
  MutexLock lock(mu_);
  return sessions_.size();
}

std::shared_ptr<McpHttpEndpoint::Session> McpHttpEndpoint::open_session(std::string* id) {
  auto token = random_token(16);
  if (!token.is_ok()) return nullptr;
  auto session = std::make_shared<Session>(service_);
  session->last_used_s = now_s();
  MutexLock lock(mu_);
  const int64_t now = now_s();
  std::erase_if(sessions_, [now](const auto& kv) {
    return now - kv.second->last_used_s.load() > kMcpSessionIdleSeconds;
  });
  if (sessions_.size() >= kMaxMcpSessions) {  // drop the least recently used
    auto oldest = std::min_element(sessions_.begin(), sessions_.end(), [](auto& a, auto& b) {
      return a.second->last_used_s.load() < b.second->last_used_s.load();
    });
    sessions_.erase(oldest);
  }
  *id = *token;
  sessions_.emplace(*id, session);
  return session;
}

std::shared_ptr<McpHttpEndpoint::Session> McpHttpEndpoint::find_session(const std::string& id) {
  MutexLock lock(mu_);
  auto it = sessions_.find(id);
  if (it == sessions_.end()) return nullptr;
  it->second->last_used_s = now_s();
  return it->second;
}

Response McpHttpEndpoint::post(const Request& req) {
  const std::string accept = req.header("Accept");
  if (!accept.empty() && !contains(accept, "application/json") && !contains(accept, "*/*") &&
      !contains(accept, "text/event-stream")) {
    return rpc_error(406, -32000, "Not Acceptable: the client must accept application/json");
  }
  if (!contains(req.header("Content-Type"), "application/json")) {
    return rpc_error(415, -32000, "Unsupported Media Type: send application/json");
  }
  const std::string version = req.header("MCP-Protocol-Version");
  if (!version.empty() && std::none_of(std::begin(kProtocolVersions), std::end(kProtocolVersions),
                                       [&](const char* v) { return version == v; })) {
    return rpc_error(400, -32000, "Bad Request: unsupported protocol version " + version);
  }
  auto parsed = parse_json(req.body, "the body");
  if (!parsed.is_ok()) {
    return rpc_error(400, -32700, "Parse error: " + parsed.status().message());
  }
  Json message = std::move(*parsed);

  std::string id;
  std::shared_ptr<Session> session;
  const bool initializing = is_initialize(message);
  if (initializing) {
    session = open_session(&id);
    if (!session) return rpc_error(500, -32603, "cannot create a session id");
  } else {
    id = req.header("Mcp-Session-Id");
    if (id.empty()) {
      return rpc_error(400, -32000, "Bad Request: Mcp-Session-Id header is required");
    }
    session = find_session(id);
    if (!session) return rpc_error(404, -32001, "Session not found");
  }

  std::optional<std::string> reply;
  bool initialized = false;
  {
    MutexLock lock(session->mu);
    reply = session->server.handle(req.body);
    initialized = !session->server.protocol_version().empty();
  }
  Response res;
  if (initializing) {
    if (!initialized) {  // initialize failed: no session
      MutexLock lock(mu_);
      sessions_.erase(id);
    } else {
      res.set_header("Mcp-Session-Id", id);
    }
  }
  if (!reply) {
    res.status = 202;
    return res;
  }
  res.status = 200;
  res.set_content(*reply, "application/json");
  return res;
}

Response McpHttpEndpoint::end_session(const Request& req) {
  const std::string id = req.header("Mcp-Session-Id");
  if (id.empty()) {
    return rpc_error(400, -32000, "Bad Request: Mcp-Session-Id header is required");
  }
  MutexLock lock(mu_);
  if (sessions_.erase(id) == 0) return rpc_error(404, -32001, "Session not found");
  return Response{};  // 200, no body
}

}  // namespace mcpmem
