// McpServer: the Model Context Protocol over JSON-RPC 2.0, independent of the transport.
// A transport hands it one message (a line on stdio, a POST body over HTTP) and writes back
// what it returns: a response, or nothing for notifications. Malformed input gets the JSON-RPC
// error codes (-32700 parse, -32600 invalid request, -32601 unknown method, -32602 bad params,
// -32603 internal); a tool that fails returns an `isError` result with a useful message.
//
// Two eras of the protocol, decided per message, one handler for both:
//  - legacy (2024-10-07 ... 2025-11-25): `initialize` names the version; ping and logging exist.
//    A request without `initialize` before it is served too (a restarted HTTP server, a client
//    that reconnects): nothing depends on that state.
//  - modern (2026-07-28): every request carries `_meta` with the protocol version and the
//    client's capabilities; `server/discover` describes the server; every result carries
//    `resultType` and the server's info, lists and reads carry cache hints (ttlMs,
//    cacheScope); an unsupported version gets -32022 with the supported list.
// Tools call MemoryService only. Thread-safety: it holds no state of its own, so any number of
// threads may share one (stdio uses one, HTTP one per request).
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "core/memory.h"
#include "service/memory_service.h"

namespace mcpmem {

// The modern revision, and the legacy ones `initialize` negotiates, newest first (the newest the
// official TypeScript SDK v1 knows, and every older one it still accepts).
inline constexpr const char* kModernProtocolVersion = "2026-07-28";
inline constexpr const char* kLegacyProtocolVersions[] = {"2025-11-25", "2025-06-18", "2025-03-26",
                                                          "2024-11-05", "2024-10-07"};
inline constexpr const char* kProtocolVersionMetaKey = "io.modelcontextprotocol/protocolVersion";
inline constexpr size_t kMaxMessageBytes = 4 << 20;  // larger messages are refused (-32600)

// JSON-RPC and MCP error codes.
inline constexpr int kParseError = -32700;
inline constexpr int kInvalidRequest = -32600;
inline constexpr int kMethodNotFound = -32601;
inline constexpr int kInvalidParams = -32602;
inline constexpr int kInternalError = -32603;
inline constexpr int kHeaderMismatch = -32020;              // modern HTTP headers vs body
inline constexpr int kUnsupportedProtocolVersion = -32022;  // modern: data.supported lists ours

// What McpServer::respond() made of a message, for transports that map it onto their own
// signals (HTTP statuses).
struct McpReply {
  std::optional<std::string> message;  // nullopt: nothing to send (notifications, responses)
  bool modern = false;                 // the message claimed a modern version in _meta
  int error_code = 0;                  // the error of a single-message reply, 0 for a result
  bool rejected = false;               // refused before dispatch: framing, envelope or version
};

// The `_meta` of a modern request's params (it claims a protocol version), else null.
const Json* mcp_modern_envelope(const Json& params);

class McpServer {
 public:
  explicit McpServer(MemoryService& service);

  // Handles one JSON-RPC message (or a legacy batch array).
  McpReply respond(std::string_view message);
  // The same for a message the transport has parsed already (and checked for size).
  McpReply respond_parsed(const Json& message);
  // respond()'s message alone: the serialized response, or nullopt when nothing is sent.
  std::optional<std::string> handle(std::string_view message) { return respond(message).message; }

 private:
  Json handle_one(const Json& message, McpReply& reply);
  Json dispatch(const std::string& method, const Json& params, bool modern);
  static Json initialize(const Json& params);
  static Json discover();
  Json call_tool(const Json& params);

  MemoryService& service_;
};

// The tools: their list (tools/list) and a call by name (tools/call). Names include the Python
// service's deprecated aliases, which are callable but not listed.
Json mcp_tool_list();
// Returns the CallToolResult ({content, structuredContent?, isError?}); nullopt for an unknown
// tool name.
std::optional<Json> mcp_call_tool(MemoryService& service, const std::string& name,
                                  const Json& arguments);

// Resources (memory://stats, memory://tags, memory://recent/{n}, memory://tag/{tag},
// memory://search/{query}) and the Python service's prompts (mcp_resources.cpp).
Json mcp_resource_list();
Json mcp_resource_templates();
// The ReadResourceResult, or an error message for an unknown or malformed URI.
Result<Json> mcp_read_resource(MemoryService& service, const std::string& uri);
Json mcp_prompt_list();
Result<Json> mcp_get_prompt(const std::string& name, const Json& arguments);

}  // namespace mcpmem
