// HttpServer's insides, shared by http_server.cpp (listening, routes, the screening rules, the
// worker pool, shutdown) and http_connection.cpp (one connection's life on Beast). Not a public
// header: only those two files include it.
#pragma once

#include <atomic>
#include <boost/asio.hpp>
#include <boost/asio/ssl.hpp>
#include <list>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <regex>
#include <thread>
#include <unordered_map>

#include "core/thread_annotations.h"
#include "http/http_server.h"

namespace mcpmem {

namespace asio = boost::asio;

// A live connection as shutdown sees it. `close` runs on the connection's strand and is
// replaced by the connection while it waits idle (closing it is then safe) or streams.
struct ConnectionEntry {
  asio::any_io_executor strand;
  bool idle = false;                 // waiting for a request's first byte (strand only)
  std::function<void()> cancel;      // closes the socket (strand only)
  std::function<void()> end_stream;  // set while streaming (strand only)
};

// Counts a connection against the global and per-address caps for as long as it lives.
class ConnectionSlot {
 public:
  ConnectionSlot(HttpServer::Impl& impl, std::string address, bool counted_per_ip);
  ~ConnectionSlot();
  ConnectionSlot(const ConnectionSlot&) = delete;
  ConnectionSlot& operator=(const ConnectionSlot&) = delete;

 private:
  HttpServer::Impl& impl_;
  std::string address_;
  bool counted_per_ip_;
};

// What the screening of a request head decided.
struct RouteMatch {
  const Handler* handler = nullptr;
  bool takes_body = false;
  std::vector<std::string> matches;
};

class HttpServer::Impl {
 public:
  explicit Impl(HttpOptions o);

  Status listen();
  void add_route(const std::string& method, const std::string& pattern, Handler handler);

  // The rules a request head must pass, in order, before anything else: Host, Origin, key.
  // Returns the error response, or nullopt when the request may proceed.
  std::optional<Response> screen(const Request& head) const;
  // The handler for `method` and `path`, or a null handler.
  RouteMatch route(const std::string& method, const std::string& path) const;
  // Runs a handler on a worker and resumes the caller on its own executor; exceptions become
  // 500s, and a full queue a 503.
  asio::awaitable<Response> call(const Handler& handler, const Request& request);

  void accept_loop_start();
  void stop();

  // Connection bookkeeping (thread-safe).
  bool admit(const std::string& address, bool loopback) MCP_EXCLUDES(mu_);
  void release(const std::string& address, bool counted_per_ip) MCP_EXCLUDES(mu_);
  std::list<std::shared_ptr<ConnectionEntry>>::iterator enroll(std::shared_ptr<ConnectionEntry>)
      MCP_EXCLUDES(mu_);
  void withdraw(std::list<std::shared_ptr<ConnectionEntry>>::iterator) MCP_EXCLUDES(mu_);

  // Declared before the io_context: coroutine frames it destroys at the end still reach the
  // connection bookkeeping, the TLS context and the routes.
  HttpOptions options;
  bool loopback_bind = true;
  int port = 0;
  std::optional<asio::ssl::context> tls;
  struct RouteEntry {
    std::string method;
    std::string pattern;
    std::optional<std::regex> regex;  // unset: an exact path
    Handler handler;
  };
  std::vector<RouteEntry> routes;
  // "METHOD path" of the exact routes -> index in `routes`: most requests never try a regex.
  std::unordered_map<std::string, size_t> exact_routes;
  std::vector<std::string> open_paths;
  mutable Mutex mu_;
  size_t connections MCP_GUARDED_BY(mu_) = 0;
  std::map<std::string, size_t> per_ip MCP_GUARDED_BY(mu_);
  std::list<std::shared_ptr<ConnectionEntry>> live MCP_GUARDED_BY(mu_);
  std::atomic<bool> running{false};
  std::atomic<bool> stopping{false};
  std::atomic<size_t> in_flight{0};  // handler calls queued or running
  size_t worker_count = 0;

  asio::io_context ioc;
  asio::ip::tcp::acceptor acceptor{ioc};
  asio::thread_pool workers;
  // stop() and the last connection's end meet here: the grace timer ends the loop if
  // connections outlive kShutdownGraceSeconds, and is cancelled when the last one goes.
  asio::strand<asio::io_context::executor_type> shutdown_strand{ioc.get_executor()};
  std::optional<asio::steady_timer> grace;  // shutdown_strand only

 private:
  bool host_allowed(const std::string& host_header) const;
  bool origin_allowed(const std::string& origin, const std::string& host_header) const;
  static std::string given_key(const Request& head);  // X-API-Key, Bearer or ?api_key=
};

// Serves one accepted connection until it closes (http_connection.cpp).
void serve_connection(HttpServer::Impl& impl, asio::ip::tcp::socket socket);

}  // namespace mcpmem
