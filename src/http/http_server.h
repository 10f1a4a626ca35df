// HttpServer: the HTTP(S) listener every network front end of mcp-memory mounts its routes on
// (MCP Streamable HTTP at /mcp, the REST API, the dashboard, the sync hub). It is meant to face
// a hostile network (the sync guide's hub listens on 0.0.0.0), so it owns what all routes need
// and none may forget:
//   - API-key auth on every route not explicitly opened (X-API-Key, Authorization: Bearer,
//     ?api_key=), compared in constant time, checked on the headers before a body is read;
//   - DNS-rebinding protection: on a loopback bind only loopback Host names (plus
//     MCP_ALLOWED_HOSTS) are served, and a cross-site Origin is refused with 403;
//   - a hard limit on everything a client sends, enforced before it is buffered (the constants
//     below, each with its reason), and on how long it may take to send it;
//   - access log lines (method, path without query, status, ms), escaped, never keys or bodies.
// The engine is Boost.Beast on Asio: one event loop run by a thread per core holds every
// connection (an idle one costs a few KB, not a thread), and handlers, which block on SQLite
// and embedding, run on a small worker pool so the loop never waits for them.
// Thread-safety: add routes before run(); stop() is safe from any thread.
#pragma once

#include <atomic>
#include <cstddef>
#include <memory>
#include <string>
#include <vector>

#include "core/status.h"
#include "http/http_message.h"

namespace mcpmem {

// What a client may send. Beyond a limit the request is answered with the status named and
// the connection closed; nothing past the limit is read.
// Headers: 16 KiB is what nginx and Beast's own default allow; every client we serve (SDKs,
// browsers, curl, our sync client) sends well under 2 KiB. 431 beyond.
inline constexpr size_t kMaxHeaderBytes = 16 << 10;
inline constexpr size_t kMaxHeaderCount = 100;  // 431 beyond
// The target (path and query). Our longest legitimate URLs are a few hundred bytes. 414 beyond.
inline constexpr size_t kMaxUrlBytes = 8 << 10;
// A request body, counted as it arrives whatever its framing (Content-Length or chunked); the
// largest legitimate body is a sync push of 500 changes. 413 beyond.
inline constexpr size_t kMaxRequestBodyBytes = 4 << 20;
// Time to send a whole request head once its first byte came, and a whole body: a client that
// trickles bytes is dropped after this and never holds more than its socket.
inline constexpr int kHeaderReadTimeoutSeconds = 10;
inline constexpr int kBodyReadTimeoutSeconds = 30;
// A keep-alive connection with no request in flight is closed after this. Idle connections cost
// memory only (no thread), so this is long enough for clients that reuse connections.
inline constexpr int kKeepAliveTimeoutSeconds = 60;
inline constexpr int kTlsHandshakeTimeoutSeconds = 10;
// A reply the client does not read is abandoned after this.
inline constexpr int kWriteTimeoutSeconds = 30;
// Open connections at most (then new ones are closed at once): bounds memory and descriptors.
// Measured: 10,000 idle connections cost the server ~N MB (docs/perf.md).
inline constexpr size_t kMaxConnections = 10'000;
// Open connections per client address, so one host cannot take them all. Loopback peers are
// exempt: they are this machine (a reverse proxy in front of us looks like one peer).
inline constexpr size_t kMaxConnectionsPerIp = 256;
// Requests waiting for a worker beyond the ones being handled: 503 beyond (retry later).
inline constexpr size_t kMaxQueuedRequests = 1024;
// A streamed response (SSE) whose client does not read: closed once this much is queued.
inline constexpr size_t kMaxStreamBacklogBytes = 1 << 20;

struct HttpOptions {
  std::string host = "127.0.0.1";
  int port = 8000;        // 0 = any free port (see HttpServer::port())
  std::string cert_file;  // both set: HTTPS
  std::string key_file;
  std::string api_key;                     // required unless allow_anonymous
  bool allow_anonymous = false;            // refused unless `host` is a loopback address
  std::vector<std::string> allowed_hosts;  // extra Host header names (without port)
  size_t io_threads = 0;                   // event-loop threads; 0 = one per core
  size_t workers = 0;                      // handler threads; 0 = default_http_workers()
  size_t max_connections = kMaxConnections;
  size_t max_connections_per_ip = kMaxConnectionsPerIp;
  bool loopback_exempt_from_ip_cap = true;  // tests turn it off to reach the cap
};

// Handler threads when HttpOptions::workers is 0: four per core (at least 8). Handlers are mostly
// CPU (the vector index, JSON), so more threads than cores only add switches; the spare ones
// cover handlers that wait (a busy SQLite lock, a remote embedder's round trip).
size_t default_http_workers();

class HttpServer {
 public:
  // Checks the options (TLS files load, anonymous only on loopback) and binds the port: a port
  // in use is an error, never shared (see platform/listen_socket.h).
  static Result<std::unique_ptr<HttpServer>> create(HttpOptions options);
  ~HttpServer();

  // Routes: an exact path or a regular expression whose groups land in Request::matches
  // (R"(/api/memories/([^/]+))"). Every route needs the API key unless opened with open_path().
  // POST and PUT routes take a body; a body sent to any other route is refused unread (413).
  void get(const std::string& pattern, Handler handler);
  void post(const std::string& pattern, Handler handler);
  void put(const std::string& pattern, Handler handler);
  void del(const std::string& pattern, Handler handler);
  void open_path(const std::string& exact_path);  // served without a key

  struct Route {
    std::string method;
    std::string pattern;  // as registered
    bool open = false;
  };
  // Every route registered so far (what the auth test walks).
  std::vector<Route> routes() const;

  int port() const;
  std::string url() const;  // e.g. "https://127.0.0.1:8443"
  bool tls() const;

  // Serves until stop(); in-flight requests finish (for up to a few seconds) before it returns.
  Status run();
  void stop();
  bool running() const;
  size_t open_connections() const;

  class Impl;

 private:
  explicit HttpServer(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

// The HTTP status of a failed Status, the same for every route: 422 a bad argument, 404 not
// found, 409 already there or not possible in the current state (e.g. the database was
// re-embedded with another model), 503 busy (retry), 500 anything else.
int http_status(const Status& s);

// Host part of a Host header or URL authority: "[::1]:8000" -> "::1", "Example.com:80" ->
// "example.com".
std::string host_without_port(std::string_view authority);

}  // namespace mcpmem
