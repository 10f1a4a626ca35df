// MCP over Streamable HTTP (spec 2025-11-25 §transports) at /mcp on an HttpServer:
//   POST   one JSON-RPC message or batch; requests get 200 application/json with the response,
//          notifications and responses 202 with no body. `initialize` opens a session whose id
//          comes back in Mcp-Session-Id; every later POST must carry it (400 without, 404 for an
//          unknown or ended session). MCP-Protocol-Version, when sent, must be one we speak.
//   DELETE ends the session named by Mcp-Session-Id.
//   GET    405: we offer no server-initiated stream (we send no server requests).
// Sessions idle longer than kMcpSessionIdleSeconds are dropped; at most kMaxMcpSessions live.
// The three handlers return their Response, errors included, so tests call them without a
// socket; mount() registers them at `path`.
// Thread-safety: requests of different sessions run in parallel; one session's run in order.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <string>
#include <unordered_map>

#include "core/thread_annotations.h"
#include "http/http_server.h"
#include "mcp/mcp_server.h"

namespace mcpmem {

inline constexpr size_t kMaxMcpSessions = 1024;
inline constexpr int kMcpSessionIdleSeconds = 3600;

class McpHttpEndpoint {
 public:
  explicit McpHttpEndpoint(MemoryService& service);
  void mount(HttpServer& server, const std::string& path = "/mcp");

  size_t session_count() const;

  Response post(const Request& req);              // POST: a JSON-RPC message or batch
  Response end_session(const Request& req);       // DELETE
  static Response no_stream(const Request& req);  // GET: 405

 private:
  struct Session {
    explicit Session(MemoryService& service) : server(service) {}
    Mutex mu;  // one request of a session at a time
    McpServer server MCP_GUARDED_BY(mu);
    std::atomic<int64_t> last_used_s{0};  // steady clock seconds
  };

  std::shared_ptr<Session> open_session(std::string* id) MCP_EXCLUDES(mu_);
  std::shared_ptr<Session> find_session(const std::string& id) MCP_EXCLUDES(mu_);

  MemoryService& service_;
  mutable Mutex mu_;
  std::unordered_map<std::string, std::shared_ptr<Session>> sessions_ MCP_GUARDED_BY(mu_);
};

}  // namespace mcpmem
