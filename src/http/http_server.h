// HttpServer: the HTTP(S) listener every network front end of mcp-memory mounts its routes on
// (MCP Streamable HTTP at /mcp, the REST API, the dashboard, the sync hub). It owns what all of
// them need and none may forget:
//   - API-key auth on every route not explicitly opened (X-API-Key, Authorization: Bearer,
//     ?api_key=), compared in constant time; 401 with a JSON body otherwise;
//   - DNS-rebinding protection: on a loopback bind only loopback Host names (plus
//     MCP_ALLOWED_HOSTS) are served, and a cross-site Origin is refused with 403;
//   - request size (413) and time limits, keep-alive, a thread pool sized to the machine;
//   - access log lines (method, path without query, status, ms) and never keys or bodies.
// Thread-safety: add routes before run(); stop() is safe from any thread.
#pragma once

#include <httplib.h>

#include <atomic>
#include <memory>
#include <string>
#include <vector>

#include "core/status.h"

namespace mcpmem {

inline constexpr size_t kMaxRequestBodyBytes = 4 << 20;  // 413 beyond
inline constexpr int kRequestReadTimeoutSeconds = 30;
// An idle keep-alive connection holds a worker until this passes, and stop() waits for workers:
// it bounds shutdown time too. (Clients such as node's fetch drop idle sockets after 4 s.)
inline constexpr int kKeepAliveTimeoutSeconds = 5;
inline constexpr size_t kKeepAliveMaxRequests = 10000;
// cpp-httplib gives each open connection a thread for as long as it is kept alive, so this is
// also how many clients are served at once (more wait in the queue). Idle threads cost
// little; most of the work is SQLite and the index, which take their own locks.
inline constexpr size_t kDefaultHttpThreads = 64;

struct HttpOptions {
  std::string host = "127.0.0.1";
  int port = 8000;        // 0 = any free port (see HttpServer::port())
  std::string cert_file;  // both set: HTTPS
  std::string key_file;
  std::string api_key;                     // required unless allow_anonymous
  bool allow_anonymous = false;            // refused unless `host` is a loopback address
  std::vector<std::string> allowed_hosts;  // extra Host header names (without port)
  size_t threads = 0;                      // 0 = kDefaultHttpThreads
};

class HttpServer {
 public:
  using Handler = httplib::Server::Handler;

  // Checks the options (TLS files load, anonymous only on loopback) and binds the port.
  static Result<std::unique_ptr<HttpServer>> create(HttpOptions options);
  ~HttpServer();

  // Routes (httplib patterns). Every route needs the API key unless opened with open_path().
  void get(const std::string& pattern, Handler handler);
  void post(const std::string& pattern, Handler handler);
  void put(const std::string& pattern, Handler handler);
  void del(const std::string& pattern, Handler handler);
  void open_path(const std::string& exact_path);  // served without a key

  struct Route {
    std::string method;
    std::string pattern;  // as registered (may hold regex groups)
    bool open = false;
  };
  // Every route registered so far (what the auth test walks).
  std::vector<Route> routes() const;

  int port() const { return port_; }
  std::string url() const;  // e.g. "https://127.0.0.1:8443"
  bool tls() const { return !options_.cert_file.empty(); }

  // Serves until stop(); in-flight requests finish before it returns.
  Status run();
  void stop();
  bool running() const { return server_->is_running(); }

 private:
  explicit HttpServer(HttpOptions options);
  httplib::Server::HandlerResponse screen(const httplib::Request& req, httplib::Response& res);
  bool host_allowed(const std::string& host_header) const;
  bool origin_allowed(const std::string& origin, const std::string& host_header) const;
  bool authorized(const httplib::Request& req) const;

  HttpOptions options_;
  std::unique_ptr<httplib::Server> server_;
  std::vector<std::string> open_paths_;
  std::vector<Route> routes_;
  bool loopback_bind_ = true;
  int port_ = 0;
};

// JSON error bodies: {"detail": message} as the Python service's REST API answers.
void set_json_error(httplib::Response& res, int status, const std::string& detail);
// The HTTP status of a failed Status, the same for every route: 422 a bad argument, 404 not
// found, 409 already there or not possible in the current state (e.g. the database was
// re-embedded with another model), 503 busy (retry), 500 anything else.
int http_status(const Status& s);

// Host part of a Host header or URL authority: "[::1]:8000" -> "::1", "Example.com:80" ->
// "example.com".
std::string host_without_port(std::string_view authority);

}  // namespace mcpmem
