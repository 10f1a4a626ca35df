// MCP over Streamable HTTP at /mcp on an HttpServer, both eras of the protocol on one endpoint.
// POST carries one JSON-RPC message (or a legacy batch); requests get 200 application/json with
// the response, notifications and responses 202 with no body. The era is the message's:
//  - modern (2026-07-28): the body's `_meta` names the version and the MCP-Protocol-Version,
//    Mcp-Method and (for tools/call, prompts/get, resources/read) Mcp-Name headers must say the
//    same (400, -32020, when not). Nothing depends on a session. A message refused before
//    dispatch (envelope, version) is a 400 and an unknown method a 404, both echoing the id.
//  - legacy (initialize, 2024-10-07 ... 2025-11-25): `initialize` answers with a session id in
//    Mcp-Session-Id. The id is a nonce and its HMAC under a key kept in the data directory, so
//    the server verifies an id without remembering it: a client keeps working across a server
//    restart and after any idle time. An id that is not ours, or one ended by DELETE, gets 404;
//    a request without an id is served as well (the v2 SDK's stateless servers do the same).
// GET is 405: we offer no server-initiated stream (we send no server requests).
// The handlers return their Response, errors included, so tests call them without a socket;
// mount() registers them at `path`. Thread-safety: requests run in parallel.
#pragma once

#include <deque>
#include <string>
#include <unordered_set>

#include "core/thread_annotations.h"
#include "http/http_server.h"
#include "mcp/mcp_server.h"

namespace mcpmem {

// Ended sessions remembered, oldest forgotten first (a forgotten one is served again: harmless,
// the id grants nothing the API key does not).
inline constexpr size_t kMaxEndedMcpSessions = 65536;

class McpHttpEndpoint {
 public:
  // `session_key`: the secret the session ids are signed with (kept_token() of
  // mcp_session_key_file()); at least 16 bytes.
  McpHttpEndpoint(MemoryService& service, std::string session_key);
  void mount(HttpServer& server, const std::string& path = "/mcp");

  Response post(const Request& req);              // POST: a JSON-RPC message or batch
  Response end_session(const Request& req);       // DELETE
  static Response no_stream(const Request& req);  // GET: 405

 private:
  std::string session_mac(const std::string& nonce) const;  // HMAC-SHA256, 16 bytes, base64url
  std::string new_session_id() const;                       // nonce.mac
  bool session_valid(const std::string& id) const MCP_EXCLUDES(mu_);

  MemoryService& service_;
  const std::string session_key_;
  mutable Mutex mu_;
  std::unordered_set<std::string> ended_ MCP_GUARDED_BY(mu_);
  std::deque<std::string> ended_order_ MCP_GUARDED_BY(mu_);
};

// Where `serve` keeps the session key: <base_dir>/mcp_session_key (mode 0600).
std::string mcp_session_key_file(const Config& config);

}  // namespace mcpmem
