// JSON-RPC 2.0 framing and the MCP methods (initialize, ping, tools, resources, prompts,
// logging). Everything that can be wrong with a message is answered with the matching error
// code; nothing here throws out to the transport.
#include "mcp/mcp_server.h"

#include <algorithm>

#include "core/json_parse.h"
#include "core/version.h"

namespace mcpmem {
namespace {

constexpr int kParseError = -32700;
constexpr int kInvalidRequest = -32600;
constexpr int kMethodNotFound = -32601;
constexpr int kInvalidParams = -32602;
constexpr int kInternalError = -32603;

// Signals a JSON-RPC error from inside dispatch().
struct RpcError {
  int code;
  std::string message;
};

Json error_response(const Json& id, int code, const std::string& message) {
  return {{"jsonrpc", "2.0"}, {"id", id}, {"error", {{"code", code}, {"message", message}}}};
}

bool valid_id(const Json& id) { return id.is_string() || id.is_number_integer() || id.is_null(); }

const char* kInstructions =
    "Long-term memory shared across sessions and machines. Use memory_store to remember facts, "
    "decisions and context; memory_search to recall them by meaning, keywords, tags or time "
    "('last week'); memory_list to browse; memory_update and memory_delete to curate.";

}  // namespace

McpServer::McpServer(MemoryService& service) : service_(service) {}

std::optional<std::string> McpServer::handle(std::string_view message) {
  if (message.size() > kMaxMessageBytes) {
    return error_response(nullptr, kInvalidRequest,
                          "message of " + std::to_string(message.size()) +
                              " bytes exceeds the limit of " + std::to_string(kMaxMessageBytes))
        .dump();
  }
  auto read = parse_json(message, "the message");
  if (!read.is_ok()) {
    return error_response(nullptr, kParseError, "parse error: " + read.status().message()).dump();
  }
  Json parsed = std::move(*read);
  if (parsed.is_array()) {
    if (parsed.empty()) return error_response(nullptr, kInvalidRequest, "empty batch").dump();
    Json responses = Json::array();
    for (const Json& m : parsed) {
      Json r = handle_one(m);
      if (!r.is_null()) responses.push_back(std::move(r));
    }
    if (responses.empty()) return std::nullopt;
    return responses.dump(-1, ' ', false, Json::error_handler_t::replace);
  }
  Json r = handle_one(parsed);
  if (r.is_null()) return std::nullopt;
  return r.dump(-1, ' ', false, Json::error_handler_t::replace);
}

Json McpServer::handle_one(const Json& m) {
  if (!m.is_object())
    return error_response(nullptr, kInvalidRequest, "a message must be an object");
  const bool has_id = m.contains("id");
  const Json id = has_id ? m["id"] : Json(nullptr);
  if (has_id && !valid_id(id)) {
    return error_response(nullptr, kInvalidRequest, "id must be a string or an integer");
  }
  if (m.value("jsonrpc", Json()) != "2.0") {
    return error_response(id, kInvalidRequest, "jsonrpc must be \"2.0\"");
  }
  if (!m.contains("method")) {
    // A response from the client (we send no requests yet): nothing to answer.
    if (m.contains("result") || m.contains("error")) return nullptr;
    return error_response(id, kInvalidRequest, "method is missing");
  }
  if (!m["method"].is_string())
    return error_response(id, kInvalidRequest, "method must be a string");
  const std::string method = m["method"];
  const Json params = m.contains("params") ? m["params"] : Json::object();
  if (!params.is_object() && !params.is_array()) {
    return error_response(id, kInvalidRequest, "params must be an object");
  }
  if (!has_id) {  // notification: never answered
    if (method == "notifications/initialized") initialized_ = true;
    return nullptr;
  }
  try {
    Json result = dispatch(method, params);
    return {{"jsonrpc", "2.0"}, {"id", id}, {"result", std::move(result)}};
  } catch (const RpcError& e) {
    return error_response(id, e.code, e.message);
  } catch (const std::exception& e) {
    return error_response(id, kInternalError, std::string("internal error: ") + e.what());
  }
}

Json McpServer::dispatch(const std::string& method, const Json& params) {
  if (method == "initialize") return initialize(params);
  if (method == "ping") return Json::object();
  if (protocol_version_.empty()) {
    throw RpcError{kInvalidRequest, "the session is not initialized: send initialize first"};
  }
  // Lists come whole in one page (no nextCursor), so no cursor we could receive is valid.
  if (method.ends_with("/list") && params.is_object() && params.contains("cursor") &&
      !params["cursor"].is_null()) {
    throw RpcError{kInvalidParams, "invalid cursor: this server returns every item in one page"};
  }
  if (method == "tools/list") return {{"tools", mcp_tool_list()}};
  if (method == "tools/call") return call_tool(params);
  if (method == "resources/list") return {{"resources", mcp_resource_list()}};
  if (method == "resources/templates/list") {
    return {{"resourceTemplates", mcp_resource_templates()}};
  }
  if (method == "resources/read") {
    if (!params.is_object() || !params.contains("uri") || !params["uri"].is_string()) {
      throw RpcError{kInvalidParams, "resources/read needs a uri"};
    }
    auto r = mcp_read_resource(service_, params["uri"]);
    if (!r.is_ok()) throw RpcError{kInvalidParams, r.status().message()};
    return *r;
  }
  if (method == "prompts/list") return {{"prompts", mcp_prompt_list()}};
  if (method == "prompts/get") {
    if (!params.is_object() || !params.contains("name") || !params["name"].is_string()) {
      throw RpcError{kInvalidParams, "prompts/get needs a name"};
    }
    Json args = params.value("arguments", Json::object());
    auto r = mcp_get_prompt(params["name"], args.is_object() ? args : Json::object());
    if (!r.is_ok()) throw RpcError{kInvalidParams, r.status().message()};
    return *r;
  }
  if (method == "logging/setLevel") return Json::object();
  throw RpcError{kMethodNotFound, "method not found: " + method};
}

Json McpServer::initialize(const Json& params) {
  if (!params.is_object()) throw RpcError{kInvalidParams, "initialize needs an object of params"};
  std::string asked = params.value("protocolVersion", Json("")).is_string()
                          ? params.value("protocolVersion", std::string())
                          : std::string();
  // Answer with the client's version when we speak it, else our newest (the client decides).
  protocol_version_ = kProtocolVersions[0];
  for (const char* v : kProtocolVersions) {
    if (asked == v) protocol_version_ = v;
  }
  return {{"protocolVersion", protocol_version_},
          {"capabilities", {{"tools", {{"listChanged", false}}}, {"logging", Json::object()}}},
          {"serverInfo", {{"name", "memory"}, {"title", "mcp-memory"}, {"version", kVersion}}},
          {"instructions", kInstructions}};
}

Json McpServer::call_tool(const Json& params) {
  if (!params.is_object() || !params.contains("name") || !params["name"].is_string()) {
    throw RpcError{kInvalidParams, "tools/call needs a tool name"};
  }
  Json arguments = params.value("arguments", Json::object());
  if (arguments.is_null()) arguments = Json::object();
  if (!arguments.is_object()) throw RpcError{kInvalidParams, "arguments must be an object"};
  auto result = mcp_call_tool(service_, params["name"], arguments);
  if (!result) throw RpcError{kInvalidParams, "unknown tool: " + params["name"].get<std::string>()};
  return *result;
}

}  // namespace mcpmem
