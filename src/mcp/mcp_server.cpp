// JSON-RPC 2.0 framing and the MCP methods of both eras (initialize, ping and logging for the
// legacy one, server/discover for the modern one; tools, resources and prompts for both), and
// the modern result envelope. Everything that can be wrong with a message is answered with the
// matching error code; nothing here throws out to the transport.
#include "mcp/mcp_server.h"

#include <algorithm>

#include "core/json_parse.h"
#include "core/version.h"

namespace mcpmem {
namespace {

constexpr const char* kClientCapabilitiesMetaKey = "io.modelcontextprotocol/clientCapabilities";
constexpr const char* kClientInfoMetaKey = "io.modelcontextprotocol/clientInfo";
constexpr const char* kServerInfoMetaKey = "io.modelcontextprotocol/serverInfo";

// How long a modern client may reuse a list: the tools, prompts and resources a binary offers
// never change while it runs, and are the same for every caller. A read (stats, recent
// memories) is current only when made.
constexpr int64_t kListTtlMs = 5 * 60 * 1000;

// Signals a JSON-RPC error from inside dispatch().
struct RpcError {
  int code;
  std::string message;
  Json data = nullptr;
};

Json error_response(const Json& id, int code, const std::string& message, Json data = nullptr) {
  Json error = {{"code", code}, {"message", message}};
  if (!data.is_null()) error["data"] = std::move(data);
  return {{"jsonrpc", "2.0"}, {"id", id}, {"error", std::move(error)}};
}

bool valid_id(const Json& id) { return id.is_string() || id.is_number_integer() || id.is_null(); }

const char* kInstructions =
    "Long-term memory shared across sessions and machines. Use memory_store to remember facts, "
    "decisions and context; memory_search to recall them by meaning, keywords, tags or time "
    "('last week'); memory_list to browse; memory_update and memory_delete to curate. Results "
    "name each memory's hash, which memory_update and memory_delete take.";

Json server_info() { return {{"name", "memory"}, {"title", "mcp-memory"}, {"version", kVersion}}; }

// What this server offers; both eras declare it, the modern one has no logging.
Json capabilities(bool modern) {
  Json c = {{"tools", {{"listChanged", false}}},
            {"prompts", {{"listChanged", false}}},
            {"resources", {{"subscribe", false}, {"listChanged", false}}}};
  if (!modern) c["logging"] = Json::object();
  return c;
}

// Why a modern envelope is unusable, or "" when it is sound: the version and the client's
// capabilities are required, the client's info is optional but must be an Implementation.
std::string envelope_problem(const Json& meta) {
  const Json& version = meta[kProtocolVersionMetaKey];
  if (!version.is_string()) return std::string(kProtocolVersionMetaKey) + ": must be a string";
  auto caps = meta.find(kClientCapabilitiesMetaKey);
  if (caps == meta.end()) return std::string(kClientCapabilitiesMetaKey) + ": missing";
  if (!caps->is_object()) return std::string(kClientCapabilitiesMetaKey) + ": must be an object";
  auto info = meta.find(kClientInfoMetaKey);
  if (info != meta.end() && !(info->is_object() && info->value("name", Json()).is_string() &&
                              info->value("version", Json()).is_string())) {
    return std::string(kClientInfoMetaKey) + ": must be an object with name and version";
  }
  return "";
}

bool cacheable(const std::string& method) {
  return method == "tools/list" || method == "prompts/list" || method == "resources/list" ||
         method == "resources/templates/list" || method == "resources/read" ||
         method == "server/discover";
}

// The modern result envelope: resultType, the cache hints of lists and reads, the server's info.
void wrap_modern_result(const std::string& method, Json& result) {
  result["resultType"] = "complete";
  if (cacheable(method)) {
    const bool read = method == "resources/read";
    result["ttlMs"] = read ? 0 : kListTtlMs;
    result["cacheScope"] = read ? "private" : "public";
  }
  result["_meta"][kServerInfoMetaKey] = server_info();
}

}  // namespace

const Json* mcp_modern_envelope(const Json& params) {
  if (!params.is_object()) return nullptr;
  auto meta = params.find("_meta");
  if (meta == params.end() || !meta->is_object() || !meta->contains(kProtocolVersionMetaKey)) {
    return nullptr;
  }
  return &*meta;
}

McpServer::McpServer(MemoryService& service) : service_(service) {}

McpReply McpServer::respond(std::string_view message) {
  McpReply reply;
  auto refuse = [&](int code, const std::string& text) {
    reply.error_code = code;
    reply.rejected = true;
    reply.message = error_response(nullptr, code, text).dump();
    return reply;
  };
  if (message.size() > kMaxMessageBytes) {
    return refuse(kInvalidRequest, "message of " + std::to_string(message.size()) +
                                       " bytes exceeds the limit of " +
                                       std::to_string(kMaxMessageBytes));
  }
  auto read = parse_json(message, "the message");
  if (!read.is_ok()) return refuse(kParseError, "parse error: " + read.status().message());
  return respond_parsed(*read);
}

McpReply McpServer::respond_parsed(const Json& parsed) {
  McpReply reply;
  auto serialize = [](const Json& j) {
    return j.dump(-1, ' ', false, Json::error_handler_t::replace);
  };
  if (!parsed.is_array()) {
    Json r = handle_one(parsed, reply);
    if (!r.is_null()) reply.message = serialize(r);
    return reply;
  }
  // A legacy batch: the modern era has none.
  auto refuse = [&](const std::string& text) {
    reply.error_code = kInvalidRequest;
    reply.rejected = true;
    reply.message = serialize(error_response(nullptr, kInvalidRequest, text));
    return reply;
  };
  if (parsed.empty()) return refuse("empty batch");
  for (const Json& m : parsed) {
    if (m.is_object() && mcp_modern_envelope(m.value("params", Json()))) {
      reply.modern = true;
      return refuse(std::string("a batch cannot carry ") + kModernProtocolVersion + " requests");
    }
  }
  Json responses = Json::array();
  for (const Json& m : parsed) {
    McpReply one;
    Json r = handle_one(m, one);
    if (!r.is_null()) responses.push_back(std::move(r));
  }
  if (!responses.empty()) reply.message = serialize(responses);
  return reply;
}

Json McpServer::handle_one(const Json& m, McpReply& reply) {
  auto refuse = [&](const Json& id, int code, const std::string& text, Json data = nullptr) {
    reply.error_code = code;
    reply.rejected = true;
    return error_response(id, code, text, std::move(data));
  };
  if (!m.is_object()) return refuse(nullptr, kInvalidRequest, "a message must be an object");
  const bool has_id = m.contains("id");
  const Json id = has_id ? m["id"] : Json(nullptr);
  if (has_id && !valid_id(id)) {
    return refuse(nullptr, kInvalidRequest, "id must be a string or an integer");
  }
  if (m.value("jsonrpc", Json()) != "2.0") {
    return refuse(id, kInvalidRequest, "jsonrpc must be \"2.0\"");
  }
  if (!m.contains("method")) {
    // A response from the client (we send no requests): nothing to answer.
    if (m.contains("result") || m.contains("error")) return nullptr;
    return refuse(id, kInvalidRequest, "method is missing");
  }
  if (!m["method"].is_string()) return refuse(id, kInvalidRequest, "method must be a string");
  const std::string method = m["method"];
  const Json params = m.contains("params") ? m["params"] : Json::object();
  if (!params.is_object() && !params.is_array()) {
    return refuse(id, kInvalidRequest, "params must be an object");
  }
  const Json* envelope = mcp_modern_envelope(params);
  reply.modern = envelope != nullptr;
  if (envelope) {
    if (std::string problem = envelope_problem(*envelope); !problem.empty()) {
      return refuse(id, kInvalidParams,
                    std::string("Invalid _meta envelope for protocol revision ") +
                        kModernProtocolVersion + ": " + problem);
    }
    const std::string asked = (*envelope)[kProtocolVersionMetaKey];
    if (asked != kModernProtocolVersion) {
      return refuse(id, kUnsupportedProtocolVersion, "Unsupported protocol version: " + asked,
                    {{"supported", {kModernProtocolVersion}}, {"requested", asked}});
    }
  }
  if (!has_id) return nullptr;  // a notification: never answered
  try {
    Json result = dispatch(method, params, reply.modern);
    if (reply.modern) wrap_modern_result(method, result);
    return {{"jsonrpc", "2.0"}, {"id", id}, {"result", std::move(result)}};
  } catch (const RpcError& e) {
    reply.error_code = e.code;
    return error_response(id, e.code, e.message, e.data);
  } catch (const std::exception& e) {
    reply.error_code = kInternalError;
    return error_response(id, kInternalError, std::string("internal error: ") + e.what());
  }
}

Json McpServer::dispatch(const std::string& method, const Json& params, bool modern) {
  if (modern) {
    if (method == "server/discover") return discover();
  } else {
    if (method == "initialize") return initialize(params);
    if (method == "ping") return Json::object();
    if (method == "logging/setLevel") return Json::object();
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
    if (!r.is_ok()) throw RpcError{kInvalidParams, r.status().message(), {{"uri", params["uri"]}}};
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
  throw RpcError{kMethodNotFound, "Method not found: " + method};
}

Json McpServer::initialize(const Json& params) {
  if (!params.is_object()) throw RpcError{kInvalidParams, "initialize needs an object of params"};
  std::string asked = params.value("protocolVersion", Json("")).is_string()
                          ? params.value("protocolVersion", std::string())
                          : std::string();
  // Answer with the client's version when we speak it, else our newest (the client decides).
  std::string version = kLegacyProtocolVersions[0];
  for (const char* v : kLegacyProtocolVersions) {
    if (asked == v) version = v;
  }
  return {{"protocolVersion", version},
          {"capabilities", capabilities(false)},
          {"serverInfo", server_info()},
          {"instructions", kInstructions}};
}

Json McpServer::discover() {
  return {{"supportedVersions", {kModernProtocolVersion}},
          {"capabilities", capabilities(true)},
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
