// Streamable HTTP for McpServer. The transport rules live here (headers, statuses, session ids);
// the protocol is McpServer's, shared with stdio, so both transports answer every message
// identically. HTTP-level failures carry a JSON-RPC error body, as the official SDK's server
// does, so SDK clients show the message; a modern one echoes the request's id, which the v2
// client needs to show it as the server's error rather than a bare HTTP status.
#include "http/mcp_endpoint.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <vector>

#include "core/base64.h"
#include "core/json_parse.h"
#include "http/api_key.h"

namespace mcpmem {
namespace {

constexpr size_t kSessionNonceBytes = 16;
constexpr size_t kSessionMacBytes = 16;

Response rpc_error(int status, int code, const std::string& message, const Json& id = nullptr,
                   Json data = nullptr) {
  Response res;
  res.status = status;
  Json error = {{"code", code}, {"message", message}};
  if (!data.is_null()) error["data"] = std::move(data);
  Json body = {{"jsonrpc", "2.0"}, {"error", std::move(error)}, {"id", id}};
  res.set_content(body.dump(-1, ' ', false, Json::error_handler_t::replace), "application/json");
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

bool legacy_version(const std::string& v) {
  return std::any_of(std::begin(kLegacyProtocolVersions), std::end(kLegacyProtocolVersions),
                     [&](const char* known) { return v == known; });
}

// An Mcp-Name value: plain, or `=?base64?<utf-8 in base64>?=` for what a header cannot carry.
std::string decode_header_value(const std::string& value) {
  const std::string prefix = "=?base64?", suffix = "?=";
  if (value.size() < prefix.size() + suffix.size() || !value.starts_with(prefix) ||
      !value.ends_with(suffix)) {
    return value;
  }
  auto raw = base64_decode(
      std::string_view(value).substr(prefix.size(), value.size() - prefix.size() - suffix.size()));
  return raw ? *raw : value;
}

// Where a modern request's headers and body disagree (the spec's "server validation": proxies
// route on the headers, so they must say what the body does), or "" when they agree.
std::string header_mismatch(const Request& req, const Json& message, const Json& envelope) {
  const Json& claim = envelope[kProtocolVersionMetaKey];
  if (!claim.is_string()) return "";  // McpServer refuses the envelope itself
  // "" when `header` says `body`; else what is wrong.
  auto disagreement = [&](const char* header, const std::string& body, const char* what) {
    const std::string said = req.header(header);
    if (said == body) return std::string();
    if (said.empty()) return std::string("the ") + header + " header is missing";
    return std::string("the ") + header + " header names " + said + " but the body's " + what +
           " is " + body;
  };
  if (auto problem = disagreement("MCP-Protocol-Version", claim, "_meta version");
      !problem.empty()) {
    return problem;
  }
  const Json method = message.value("method", Json());
  if (!method.is_string()) return "";  // McpServer refuses the message itself
  if (auto problem = disagreement("Mcp-Method", method, "method"); !problem.empty()) {
    return problem;
  }
  const char* named = method == "tools/call" || method == "prompts/get" ? "name"
                      : method == "resources/read"                      ? "uri"
                                                                        : nullptr;
  if (named == nullptr) return "";
  const Json value = message["params"].value(named, Json());
  if (!value.is_string()) return "";  // a params error, McpServer's to answer
  if (!req.has_header("Mcp-Name")) return "the Mcp-Name header is missing";
  if (decode_header_value(req.header("Mcp-Name")) != value.get<std::string>()) {
    return std::string("the Mcp-Name header does not match the body's params.") + named;
  }
  return "";
}

}  // namespace

std::string mcp_session_key_file(const Config& config) {
  return config.base_dir + "/mcp_session_key";
}

McpHttpEndpoint::McpHttpEndpoint(MemoryService& service, std::string session_key)
    : service_(service), session_key_(std::move(session_key)) {}

void McpHttpEndpoint::mount(HttpServer& server, const std::string& path) {
  server.post(path, [this](const Request& req) { return post(req); });
  server.del(path, [this](const Request& req) { return end_session(req); });
  server.get(path, &McpHttpEndpoint::no_stream);
  // A client that meets a 401 looks for OAuth (RFC 9728, RFC 8414, OpenID discovery, then
  // dynamic registration). We are not an OAuth server: these answer 404 without a key, so
  // the client stops there, and the 404's text (which mcp-remote prints) says what to do.
  const std::vector<std::string> discovery = {"/.well-known/oauth-protected-resource",
                                              "/.well-known/oauth-authorization-server",
                                              "/.well-known/openid-configuration"};
  auto decline = [](const Request&) {
    return json_error(404,
                      "mcp-memory does not use OAuth: it takes an API key. Send it as the header "
                      "'X-API-Key: <key>' or 'Authorization: Bearer <key>' (mcp-remote: --header "
                      "\"X-API-Key:<key>\"); the server keeps it in the file api_key of its data "
                      "directory.");
  };
  auto open_get = [&](const std::string& p) {
    server.open_path(p);
    server.get(p, decline);
  };
  for (const std::string& d : discovery) {
    open_get(d);
    open_get(d + path);
  }
  open_get(path + "/.well-known/openid-configuration");
  server.open_path("/register");
  server.post("/register", decline);
}

Response McpHttpEndpoint::no_stream(const Request&) {
  Response res = rpc_error(405, -32000, "Method Not Allowed: this server offers no GET stream");
  res.set_header("Allow", "POST, DELETE");
  return res;
}

std::string McpHttpEndpoint::session_mac(const std::string& nonce) const {
  unsigned char mac[EVP_MAX_MD_SIZE];
  unsigned int mac_size = 0;
  HMAC(EVP_sha256(), session_key_.data(), static_cast<int>(session_key_.size()),
       reinterpret_cast<const unsigned char*>(nonce.data()), nonce.size(), mac, &mac_size);
  return base64url(std::string_view(reinterpret_cast<const char*>(mac), kSessionMacBytes));
}

std::string McpHttpEndpoint::new_session_id() const {
  auto nonce = random_token(kSessionNonceBytes);
  if (!nonce.is_ok()) return "";
  return *nonce + "." + session_mac(*nonce);
}

bool McpHttpEndpoint::session_valid(const std::string& id) const {
  const size_t dot = id.find('.');
  if (dot == std::string::npos) return false;
  const std::string expected = session_mac(id.substr(0, dot));
  const std::string_view given = std::string_view(id).substr(dot + 1);
  if (given.size() != expected.size() ||
      CRYPTO_memcmp(given.data(), expected.data(), expected.size()) != 0) {
    return false;
  }
  MutexLock lock(mu_);
  return !ended_.contains(id);
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
  auto parsed = parse_json(req.body, "the body");
  if (!parsed.is_ok()) {
    return rpc_error(400, kParseError, "Parse error: " + parsed.status().message());
  }
  const Json& message = *parsed;
  const Json id = message.is_object() ? message.value("id", Json()) : Json();
  const Json* envelope = message.is_object() && message.contains("params")
                             ? mcp_modern_envelope(message["params"])
                             : nullptr;
  const std::string version = req.header("MCP-Protocol-Version");
  const bool initializing = !envelope && is_initialize(message);
  if (envelope) {
    if (std::string problem = header_mismatch(req, message, *envelope); !problem.empty()) {
      return rpc_error(400, kHeaderMismatch,
                       "Bad Request: the request headers and body disagree: " + problem, id);
    }
  } else if (!version.empty() && !legacy_version(version)) {
    if (version >= kModernProtocolVersion) {
      return rpc_error(400, kInvalidParams,
                       std::string("Request is missing the required _meta envelope for protocol "
                                   "revision ") +
                           version,
                       id, {{"envelope", {{"missing", {"_meta"}}}}});
    }
    return rpc_error(400, -32000, "Bad Request: unsupported protocol version " + version, id);
  } else if (!initializing && req.has_header("Mcp-Session-Id") &&
             !session_valid(req.header("Mcp-Session-Id"))) {
    return rpc_error(404, -32001, "Session not found", id);
  }

  McpServer server(service_);
  McpReply reply = server.respond_parsed(message);
  Response res;
  if (initializing && reply.error_code == 0) {
    std::string session = new_session_id();
    if (session.empty()) return rpc_error(500, kInternalError, "cannot create a session id", id);
    res.set_header("Mcp-Session-Id", session);
  }
  if (!reply.message) {
    res.status = 202;
    return res;
  }
  res.status = 200;
  if (reply.modern && reply.rejected) res.status = 400;
  if (reply.modern && reply.error_code == kMethodNotFound) res.status = 404;
  res.set_content(*reply.message, "application/json");
  return res;
}

Response McpHttpEndpoint::end_session(const Request& req) {
  const std::string id = req.header("Mcp-Session-Id");
  if (id.empty()) {
    return rpc_error(400, -32000, "Bad Request: Mcp-Session-Id header is required");
  }
  if (!session_valid(id)) return rpc_error(404, -32001, "Session not found");
  MutexLock lock(mu_);
  if (ended_.insert(id).second) ended_order_.push_back(id);
  if (ended_order_.size() > kMaxEndedMcpSessions) {
    ended_.erase(ended_order_.front());
    ended_order_.pop_front();
  }
  return Response{};  // 200, no body
}

}  // namespace mcpmem
