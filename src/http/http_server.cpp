// HttpServer on cpp-httplib. Every request passes screen() before routing, in this order:
// Host allow-list, Origin check, then the API key for any path not opened. Doing it before
// routing means a route added later cannot forget auth, and an unknown path without a key is a
// 401, not a 404 that tells a scanner which routes exist.
#include "http/http_server.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <openssl/crypto.h>
#include <openssl/sha.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <chrono>
#include <cstring>
#include <thread>

#include "core/log_text.h"
#include "core/memory.h"
#include "platform/listen_socket.h"

namespace mcpmem {
namespace {

using Clock = std::chrono::steady_clock;
thread_local Clock::time_point request_started;

// localhost, *.localhost (RFC 6761), 127.0.0.0/8 and ::1, written as a literal address (so
// "127.0.0.1.evil.com" is a name, not a loopback address).
bool is_loopback_name(const std::string& host) {
  if (host == "localhost" || (host.size() > 10 && host.ends_with(".localhost"))) return true;
  in_addr v4{};
  if (inet_pton(AF_INET, host.c_str(), &v4) == 1) return (ntohl(v4.s_addr) >> 24) == 127;
  in6_addr v6{};
  if (inet_pton(AF_INET6, host.c_str(), &v6) == 1) {
    return std::memcmp(&v6, &in6addr_loopback, sizeof v6) == 0;
  }
  return false;
}

std::string lower(std::string s) {
  for (char& c : s) c = static_cast<char>(c >= 'A' && c <= 'Z' ? c + 32 : c);
  return s;
}

// Constant-time equality that also hides the length of the key: both sides are hashed first.
bool keys_equal(const std::string& given, const std::string& expected) {
  unsigned char a[SHA256_DIGEST_LENGTH], b[SHA256_DIGEST_LENGTH];
  SHA256(reinterpret_cast<const unsigned char*>(given.data()), given.size(), a);
  SHA256(reinterpret_cast<const unsigned char*>(expected.data()), expected.size(), b);
  return CRYPTO_memcmp(a, b, sizeof a) == 0;
}

}  // namespace

std::string host_without_port(std::string_view authority) {
  if (!authority.empty() && authority.front() == '[') {
    size_t close = authority.find(']');
    return lower(std::string(
        authority.substr(1, close == std::string_view::npos ? std::string_view::npos : close - 1)));
  }
  size_t colon = authority.find(':');
  return lower(std::string(authority.substr(0, colon)));
}

int http_status(const Status& s) {
  switch (s.code()) {
    case StatusCode::kInvalidArgument:
      return 422;
    case StatusCode::kNotFound:
      return 404;
    case StatusCode::kAlreadyExists:
    case StatusCode::kFailedPrecondition:
      return 409;
    case StatusCode::kBusy:
      return 503;
    default:
      return 500;
  }
}

void set_json_error(httplib::Response& res, int status, const std::string& detail) {
  res.status = status;
  res.set_content(Json{{"detail", detail}}.dump(), "application/json");
}

HttpServer::HttpServer(HttpOptions options) : options_(std::move(options)) {
  for (auto& h : options_.allowed_hosts) h = lower(h);
  loopback_bind_ = is_loopback_name(host_without_port(options_.host)) || options_.host == "::1";
}

HttpServer::~HttpServer() = default;

Result<std::unique_ptr<HttpServer>> HttpServer::create(HttpOptions options) {
  if (options.allow_anonymous && !is_loopback_name(options.host)) {
    return Status::invalid_argument("anonymous access is only allowed on a loopback address, not " +
                                    options.host + ": set MCP_API_KEY instead");
  }
  if (!options.allow_anonymous && options.api_key.empty()) {
    return Status::invalid_argument("an API key is required (MCP_API_KEY)");
  }
  if (options.cert_file.empty() != options.key_file.empty()) {
    return Status::invalid_argument("HTTPS needs both MCP_SSL_CERT_FILE and MCP_SSL_KEY_FILE");
  }
  std::unique_ptr<HttpServer> self(new HttpServer(std::move(options)));
  const HttpOptions& o = self->options_;
  if (!o.cert_file.empty()) {
    auto tls = std::make_unique<httplib::SSLServer>(o.cert_file.c_str(), o.key_file.c_str());
    if (!tls->is_valid()) {
      return Status::invalid_argument("cannot load the TLS certificate " + o.cert_file +
                                      " and key " + o.key_file +
                                      " (PEM files, and the key must match the certificate)");
    }
    self->server_ = std::move(tls);
  } else {
    self->server_ = std::make_unique<httplib::Server>();
  }
  httplib::Server& s = *self->server_;
  const size_t threads = o.threads ? o.threads : kDefaultHttpThreads;
  s.new_task_queue = [threads] { return new httplib::ThreadPool(threads); };
  s.set_payload_max_length(kMaxRequestBodyBytes);
  s.set_read_timeout(kRequestReadTimeoutSeconds);
  s.set_keep_alive_timeout(kKeepAliveTimeoutSeconds);
  s.set_keep_alive_max_count(kKeepAliveMaxRequests);
  s.set_tcp_nodelay(true);  // headers and body go out as separate writes: no Nagle delay
  // Not the library's default (SO_REUSEPORT): a port in use must fail to bind (listen_socket.h).
  s.set_socket_options([](socket_t sock) { set_exclusive_listen_options(sock); });
  HttpServer* raw = self.get();
  s.set_pre_routing_handler(
      [raw](const httplib::Request& req, httplib::Response& res) { return raw->screen(req, res); });
  s.set_error_handler([](const httplib::Request&, httplib::Response& res) {
    if (!res.body.empty()) return;
    switch (res.status) {
      case 413:
        set_json_error(res, 413,
                       "request body exceeds " + std::to_string(kMaxRequestBodyBytes) + " bytes");
        break;
      case 404:
        set_json_error(res, 404, "Not Found");
        break;
      case 400:
        set_json_error(res, 400, "Bad Request");
        break;
      default:
        set_json_error(res, res.status, "HTTP error " + std::to_string(res.status));
    }
  });
  s.set_exception_handler(
      [](const httplib::Request& req, httplib::Response& res, std::exception_ptr ep) {
        std::string what = "unknown exception";
        try {
          std::rethrow_exception(ep);
        } catch (const std::exception& e) {
          what = e.what();
        } catch (...) {
        }
        spdlog::error("{} {}: {}", escape_log_text(req.method), escape_log_text(req.path),
                      escape_log_text(what));
        set_json_error(res, 500, "internal error: " + what);
      });
  s.set_logger([](const httplib::Request& req, const httplib::Response& res) {
    double ms = std::chrono::duration<double, std::milli>(Clock::now() - request_started).count();
    // The path is decoded (%0A is a newline): escaped, it cannot forge a line of the log.
    spdlog::info("{} {} {} {:.1f}ms", escape_log_text(req.method), escape_log_text(req.path),
                 res.status, ms);
  });
  if (o.port == 0) {
    self->port_ = s.bind_to_any_port(o.host);
  } else if (s.bind_to_port(o.host, o.port)) {
    self->port_ = o.port;
  }
  if (self->port_ <= 0) {
    return Status::io_error("cannot listen on " + o.host + ":" + std::to_string(o.port) +
                            " (address in use, or not an address of this machine)");
  }
  return self;
}

void HttpServer::get(const std::string& p, Handler h) {
  routes_.push_back({"GET", p});
  server_->Get(p, std::move(h));
}
void HttpServer::post(const std::string& p, Handler h) {
  routes_.push_back({"POST", p});
  server_->Post(p, std::move(h));
}
void HttpServer::put(const std::string& p, Handler h) {
  routes_.push_back({"PUT", p});
  server_->Put(p, std::move(h));
}
void HttpServer::del(const std::string& p, Handler h) {
  routes_.push_back({"DELETE", p});
  server_->Delete(p, std::move(h));
}
void HttpServer::open_path(const std::string& exact_path) { open_paths_.push_back(exact_path); }

std::vector<HttpServer::Route> HttpServer::routes() const {
  std::vector<Route> out = routes_;
  for (Route& r : out) {
    r.open = std::find(open_paths_.begin(), open_paths_.end(), r.pattern) != open_paths_.end();
  }
  return out;
}

std::string HttpServer::url() const {
  std::string host =
      options_.host.find(':') != std::string::npos ? "[" + options_.host + "]" : options_.host;
  return (tls() ? "https://" : "http://") + host + ":" + std::to_string(port_);
}

Status HttpServer::run() {
  if (!server_->listen_after_bind()) return Status::io_error("the HTTP server stopped abnormally");
  return Status::ok();
}

void HttpServer::stop() { server_->stop(); }

bool HttpServer::host_allowed(const std::string& host_header) const {
  std::string host = host_without_port(host_header);
  if (std::find(options_.allowed_hosts.begin(), options_.allowed_hosts.end(), host) !=
      options_.allowed_hosts.end()) {
    return true;
  }
  // A loopback server is only reachable from this machine, so a foreign Host name can only be
  // a DNS-rebinding page. A server bound to the network is reached by any of its names; the
  // API key protects it (MCP_ALLOWED_HOSTS narrows the names when wanted).
  if (loopback_bind_) return is_loopback_name(host);
  return options_.allowed_hosts.empty();
}

bool HttpServer::origin_allowed(const std::string& origin, const std::string& host_header) const {
  if (origin.empty()) return true;  // not a browser, or a same-origin GET
  size_t scheme = origin.find("://");
  if (scheme == std::string::npos) return false;  // "null" and other opaque origins
  std::string origin_host = host_without_port(std::string_view(origin).substr(scheme + 3));
  if (origin_host == host_without_port(host_header)) return true;  // same site (dashboard)
  if (is_loopback_name(origin_host)) return true;
  return std::find(options_.allowed_hosts.begin(), options_.allowed_hosts.end(), origin_host) !=
         options_.allowed_hosts.end();
}

bool HttpServer::authorized(const httplib::Request& req) const {
  if (options_.allow_anonymous) return true;
  std::string given = req.get_header_value("X-API-Key");
  if (given.empty()) {
    std::string auth = req.get_header_value("Authorization");
    if (auth.size() > 7 && lower(auth.substr(0, 7)) == "bearer ") given = auth.substr(7);
  }
  if (given.empty() && req.has_param("api_key")) given = req.get_param_value("api_key");
  return !given.empty() && keys_equal(given, options_.api_key);
}

httplib::Server::HandlerResponse HttpServer::screen(const httplib::Request& req,
                                                    httplib::Response& res) {
  using R = httplib::Server::HandlerResponse;
  request_started = Clock::now();
  const std::string host = req.get_header_value("Host");
  if (!host_allowed(host)) {
    set_json_error(res, 403, "Host not allowed: " + host);
    return R::Handled;
  }
  if (!origin_allowed(req.get_header_value("Origin"), host)) {
    set_json_error(res, 403, "Origin not allowed: " + req.get_header_value("Origin"));
    return R::Handled;
  }
  bool open = std::find(open_paths_.begin(), open_paths_.end(), req.path) != open_paths_.end();
  if (!open && !authorized(req)) {
    set_json_error(res, 401, "a valid API key is required (X-API-Key or Authorization: Bearer)");
    res.set_header("WWW-Authenticate", "Bearer");
    return R::Handled;
  }
  return R::Unhandled;
}

}  // namespace mcpmem
