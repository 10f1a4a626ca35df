// McpServer: the Model Context Protocol over JSON-RPC 2.0, independent of the transport.
// A transport hands it one message (a line on stdio, a POST body over HTTP) and writes back
// what it returns: a response, or nothing for notifications. Malformed input gets the JSON-RPC
// error codes (-32700 parse, -32600 invalid request, -32601 unknown method, -32602 bad params,
// -32603 internal); a tool that fails returns an `isError` result with a useful message.
// Tools call MemoryService only. Thread-safety: one thread per server (one per session).
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "core/memory.h"
#include "service/memory_service.h"

namespace mcpmem {

// Protocol versions we speak, newest first (the newest the official TypeScript SDK knows, and
// every older one it still accepts).
inline constexpr const char* kProtocolVersions[] = {"2025-11-25", "2025-06-18", "2025-03-26",
                                                    "2024-11-05", "2024-10-07"};
inline constexpr size_t kMaxMessageBytes = 4 << 20;  // larger messages are refused (-32600)

class McpServer {
 public:
  explicit McpServer(MemoryService& service);

  // Handles one JSON-RPC message (or a batch array). Returns the serialized response, or
  // nullopt when nothing is to be sent (notifications).
  std::optional<std::string> handle(std::string_view message);

  bool initialized() const { return initialized_; }
  const std::string& protocol_version() const { return protocol_version_; }

 private:
  Json handle_one(const Json& message);
  Json dispatch(const std::string& method, const Json& params);
  Json initialize(const Json& params);
  Json call_tool(const Json& params);

  MemoryService& service_;
  bool initialized_ = false;
  std::string protocol_version_;
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
