// HttpServer on Boost.Asio: the listening socket, routes, the rules every request head passes
// (Host allow-list, Origin check, then the API key for any path not opened), the worker pool
// and shutdown. Screening before routing means a route added later cannot forget auth, and an
// unknown path without a key is a 401, not a 404 that tells a scanner which routes exist.
// One connection's life (limits, timeouts, TLS, streaming) is in http_connection.cpp.
#include <openssl/crypto.h>
#include <openssl/sha.h>
#include <openssl/ssl.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <cstring>

#include "core/log_text.h"
#include "http/http_server_impl.h"
#include "platform/listen_socket.h"

namespace mcpmem {
namespace {

// localhost, *.localhost (RFC 6761), 127.0.0.0/8 and ::1, written as a literal address (so
// "127.0.0.1.evil.com" is a name, not a loopback address).
bool is_loopback_name(const std::string& host) {
  if (host == "localhost" || (host.size() > 10 && host.ends_with(".localhost"))) return true;
  boost::system::error_code ec;
  const auto address = boost::asio::ip::make_address(host, ec);
  return !ec && address.is_loopback();
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

size_t default_io_threads() { return std::max(1u, std::thread::hardware_concurrency()); }

}  // namespace

size_t default_http_workers() { return std::max<size_t>(8, 4 * default_io_threads()); }

namespace {

// Grace given to in-flight requests at stop() before the loop is stopped regardless.
constexpr int kShutdownGraceSeconds = 5;

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

// ---- Impl: routes and screening ----

HttpServer::Impl::Impl(HttpOptions o)
    : options(std::move(o)),
      ioc(static_cast<int>(options.io_threads ? options.io_threads : default_io_threads())),
      workers(options.workers ? options.workers : default_http_workers()) {
  worker_count = options.workers ? options.workers : default_http_workers();
  for (auto& h : options.allowed_hosts) h = lower(h);
  loopback_bind = is_loopback_name(host_without_port(options.host)) || options.host == "::1";
}

void HttpServer::Impl::add_route(const std::string& method, const std::string& pattern,
                                 Handler handler) {
  RouteEntry entry{method, pattern, std::nullopt, std::move(handler)};
  if (pattern.find_first_of("()[]*+?\\^$|") != std::string::npos) {
    entry.regex.emplace(pattern, std::regex::ECMAScript | std::regex::optimize);
  } else {
    exact_routes.emplace(method + " " + pattern, routes.size());
  }
  routes.push_back(std::move(entry));
}

RouteMatch HttpServer::Impl::route(const std::string& method, const std::string& path) const {
  // HEAD is GET without the body (the connection drops the body).
  const std::string wanted = method == "HEAD" ? std::string("GET") : method;
  const bool takes_body = wanted == "POST" || wanted == "PUT";
  if (auto exact = exact_routes.find(wanted + " " + path); exact != exact_routes.end()) {
    return {&routes[exact->second].handler, takes_body, {path}};
  }
  for (const RouteEntry& r : routes) {
    if (r.method != wanted || !r.regex) continue;
    RouteMatch m{&r.handler, takes_body, {}};
    std::smatch groups;
    if (!std::regex_match(path, groups, *r.regex)) continue;
    for (const auto& g : groups) m.matches.push_back(g.str());
    return m;
  }
  return {};
}

bool HttpServer::Impl::host_allowed(const std::string& host_header) const {
  std::string host = host_without_port(host_header);
  if (std::find(options.allowed_hosts.begin(), options.allowed_hosts.end(), host) !=
      options.allowed_hosts.end()) {
    return true;
  }
  // A loopback server is only reachable from this machine, so a foreign Host name can only be
  // a DNS-rebinding page. A server bound to the network is reached by any of its names; the
  // API key protects it (MCP_ALLOWED_HOSTS narrows the names when wanted).
  if (loopback_bind) return is_loopback_name(host);
  return options.allowed_hosts.empty();
}

bool HttpServer::Impl::origin_allowed(const std::string& origin,
                                      const std::string& host_header) const {
  if (origin.empty()) return true;  // not a browser, or a same-origin GET
  size_t scheme = origin.find("://");
  if (scheme == std::string::npos) return false;  // "null" and other opaque origins
  std::string origin_host = host_without_port(std::string_view(origin).substr(scheme + 3));
  if (origin_host == host_without_port(host_header)) return true;  // same site (dashboard)
  if (is_loopback_name(origin_host)) return true;
  return std::find(options.allowed_hosts.begin(), options.allowed_hosts.end(), origin_host) !=
         options.allowed_hosts.end();
}

std::string HttpServer::Impl::given_key(const Request& head) {
  std::string given = head.header("X-API-Key");
  if (given.empty()) {
    std::string auth = head.header("Authorization");
    if (auth.size() > 7 && lower(auth.substr(0, 7)) == "bearer ") given = auth.substr(7);
  }
  if (given.empty()) given = head.param("api_key");
  return given;
}

std::optional<Response> HttpServer::Impl::screen(const Request& head) const {
  const std::string host = head.header("Host");
  if (!host_allowed(host)) return json_error(403, "Host not allowed: " + host);
  const std::string origin = head.header("Origin");
  if (!origin_allowed(origin, host)) return json_error(403, "Origin not allowed: " + origin);
  const bool open = std::find(open_paths.begin(), open_paths.end(), head.path) != open_paths.end();
  if (open || options.allow_anonymous) return std::nullopt;
  const std::string given = given_key(head);
  if (!given.empty() && keys_equal(given, options.api_key)) return std::nullopt;
  // Says what is wrong and how to send the key, for a person reading a client's error: MCP
  // bridges (mcp-remote) and SDK clients print the body.
  Response res = json_error(
      401, std::string(given.empty() ? "no API key was sent" : "the API key is wrong") +
               ": send the key of this server as the header 'X-API-Key: <key>' or "
               "'Authorization: Bearer <key>' (mcp-remote: --header \"X-API-Key:<key>\"). The "
               "server keeps it in the file api_key of its data directory (or takes "
               "MCP_API_KEY); this server does not use OAuth.");
  res.set_header("WWW-Authenticate", given.empty() ? "Bearer realm=\"mcp-memory\""
                                                   : "Bearer realm=\"mcp-memory\", "
                                                     "error=\"invalid_token\"");
  return res;
}

asio::awaitable<Response> HttpServer::Impl::call(const Handler& handler, const Request& request) {
  if (in_flight.fetch_add(1) >= worker_count + kMaxQueuedRequests) {
    in_flight.fetch_sub(1);
    Response busy = json_error(503, "the server is busy; retry shortly");
    busy.set_header("Retry-After", "1");
    co_return busy;
  }
  Response res = co_await asio::co_spawn(
      workers,
      [&]() -> asio::awaitable<Response> {
        try {
          co_return handler(request);
        } catch (const std::exception& e) {
          spdlog::error("{} {}: {}", escape_log_text(request.method), escape_log_text(request.path),
                        escape_log_text(e.what()));
          co_return json_error(500, std::string("internal error: ") + e.what());
        }
      },
      asio::use_awaitable);
  in_flight.fetch_sub(1);
  co_return res;
}

// ---- Impl: connections ----

bool HttpServer::Impl::admit(const std::string& address, bool loopback) {
  MutexLock lock(mu_);
  if (connections >= options.max_connections) return false;
  const bool capped = !(loopback && options.loopback_exempt_from_ip_cap);
  if (capped && per_ip[address] >= options.max_connections_per_ip) return false;
  ++connections;
  if (capped) ++per_ip[address];
  return true;
}

void HttpServer::Impl::release(const std::string& address, bool counted_per_ip) {
  MutexLock lock(mu_);
  --connections;
  if (!counted_per_ip) return;
  auto it = per_ip.find(address);
  if (it != per_ip.end() && --it->second == 0) per_ip.erase(it);
}

std::list<std::shared_ptr<ConnectionEntry>>::iterator HttpServer::Impl::enroll(
    std::shared_ptr<ConnectionEntry> entry) {
  MutexLock lock(mu_);
  live.push_front(std::move(entry));
  return live.begin();
}

void HttpServer::Impl::withdraw(std::list<std::shared_ptr<ConnectionEntry>>::iterator it) {
  bool last = false;
  {
    MutexLock lock(mu_);
    live.erase(it);
    last = live.empty();
  }
  if (last && stopping) {
    asio::post(shutdown_strand, [this] {
      if (grace) grace->cancel();
    });
  }
}

ConnectionSlot::ConnectionSlot(HttpServer::Impl& impl, std::string address, bool counted_per_ip)
    : impl_(impl), address_(std::move(address)), counted_per_ip_(counted_per_ip) {}

ConnectionSlot::~ConnectionSlot() { impl_.release(address_, counted_per_ip_); }

Status HttpServer::Impl::listen() {
  using asio::ip::tcp;
  boost::system::error_code ec;
  tcp::resolver resolver(ioc);
  auto endpoints = resolver.resolve(options.host, std::to_string(options.port),
                                    tcp::resolver::passive | tcp::resolver::numeric_service, ec);
  std::string why = ec ? ec.message() : "no address";
  for (const auto& entry : endpoints) {
    tcp::endpoint at = entry.endpoint();
    acceptor.open(at.protocol(), ec);
    if (ec) continue;
    // Not SO_REUSEPORT: a port in use must fail to bind (platform/listen_socket.h).
    set_exclusive_listen_options(static_cast<std::uintptr_t>(acceptor.native_handle()));
    acceptor.bind(at, ec);
    if (!ec) acceptor.listen(asio::socket_base::max_listen_connections, ec);
    if (!ec) {
      port = acceptor.local_endpoint().port();
      return Status::ok();
    }
    why = ec.message();
    acceptor.close();
  }
  return Status::io_error("cannot listen on " + options.host + ":" + std::to_string(options.port) +
                          ": " + why + " (is another server running on that port?)");
}

void HttpServer::Impl::accept_loop_start() {
  // On the shutdown strand, so stop() closes the acceptor between two of its steps.
  asio::co_spawn(
      shutdown_strand,
      [this]() -> asio::awaitable<void> {
        for (;;) {
          auto [ec, socket] = co_await acceptor.async_accept(asio::make_strand(ioc),
                                                             asio::as_tuple(asio::use_awaitable));
          if (stopping) co_return;
          if (ec) {
            // Out of descriptors and the like: wait instead of spinning, then go on.
            if (ec == asio::error::operation_aborted || !acceptor.is_open()) co_return;
            spdlog::warn("accept failed: {}", ec.message());
            asio::steady_timer pause(ioc, std::chrono::milliseconds(50));
            co_await pause.async_wait(asio::as_tuple(asio::use_awaitable));
            continue;
          }
          serve_connection(*this, std::move(socket));
        }
      },
      asio::detached);
}

void HttpServer::Impl::stop() {
  if (stopping.exchange(true)) return;
  asio::post(shutdown_strand, [this] {
    boost::system::error_code ignored;
    acceptor.close(ignored);
    std::list<std::shared_ptr<ConnectionEntry>> snapshot;
    {
      MutexLock lock(mu_);
      snapshot = live;
    }
    if (snapshot.empty()) return;
    // Idle connections close now; busy ones finish their request and then close; streams end.
    for (const auto& entry : snapshot) {
      asio::post(entry->strand, [entry] {
        if (entry->end_stream) entry->end_stream();
        if (entry->idle && entry->cancel) entry->cancel();
      });
    }
    grace.emplace(shutdown_strand, std::chrono::seconds(kShutdownGraceSeconds));
    grace->async_wait([this](const boost::system::error_code& ec) {
      if (!ec) ioc.stop();  // cancelled: every connection ended in time
    });
  });
}

// ---- HttpServer ----

HttpServer::HttpServer(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

HttpServer::~HttpServer() {
  stop();
  impl_->workers.join();
}

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
  auto impl = std::make_unique<Impl>(std::move(options));
  const HttpOptions& o = impl->options;
  if (!o.cert_file.empty()) {
    impl->tls.emplace(asio::ssl::context::tls_server);
    auto& ctx = *impl->tls;
    boost::system::error_code ec;
    ctx.set_options(asio::ssl::context::default_workarounds | asio::ssl::context::no_sslv2 |
                    asio::ssl::context::no_sslv3 | asio::ssl::context::no_tlsv1 |
                    asio::ssl::context::no_tlsv1_1 | asio::ssl::context::single_dh_use);
    // OpenSSL frees its record buffers when it can (TlsStream frees them before every wait).
    SSL_CTX_set_mode(ctx.native_handle(), SSL_MODE_RELEASE_BUFFERS);
    ctx.use_certificate_chain_file(o.cert_file, ec);
    if (!ec) ctx.use_private_key_file(o.key_file, asio::ssl::context::pem, ec);
    if (ec || SSL_CTX_check_private_key(ctx.native_handle()) != 1) {
      return Status::invalid_argument("cannot load the TLS certificate " + o.cert_file +
                                      " and key " + o.key_file +
                                      " (PEM files, and the key must match the certificate)");
    }
  }
  if (Status s = impl->listen(); !s.is_ok()) return s;
  return std::unique_ptr<HttpServer>(new HttpServer(std::move(impl)));
}

void HttpServer::get(const std::string& p, Handler h) { impl_->add_route("GET", p, std::move(h)); }
void HttpServer::post(const std::string& p, Handler h) {
  impl_->add_route("POST", p, std::move(h));
}
void HttpServer::put(const std::string& p, Handler h) { impl_->add_route("PUT", p, std::move(h)); }
void HttpServer::del(const std::string& p, Handler h) {
  impl_->add_route("DELETE", p, std::move(h));
}
void HttpServer::open_path(const std::string& exact_path) {
  impl_->open_paths.push_back(exact_path);
}

std::vector<HttpServer::Route> HttpServer::routes() const {
  std::vector<Route> out;
  for (const auto& r : impl_->routes) {
    const auto& open = impl_->open_paths;
    out.push_back(
        {r.method, r.pattern, std::find(open.begin(), open.end(), r.pattern) != open.end()});
  }
  return out;
}

int HttpServer::port() const { return impl_->port; }
bool HttpServer::tls() const { return impl_->tls.has_value(); }
bool HttpServer::running() const { return impl_->running; }

std::string HttpServer::url() const {
  const std::string& h = impl_->options.host;
  std::string host = h.find(':') != std::string::npos ? "[" + h + "]" : h;
  return (tls() ? "https://" : "http://") + host + ":" + std::to_string(impl_->port);
}

size_t HttpServer::open_connections() const {
  MutexLock lock(impl_->mu_);
  return impl_->connections;
}

Status HttpServer::run() {
  if (impl_->stopping) return Status::ok();
  impl_->accept_loop_start();
  impl_->running = true;
  const size_t threads =
      impl_->options.io_threads ? impl_->options.io_threads : default_io_threads();
  std::vector<std::thread> extra;
  for (size_t i = 1; i < threads; ++i) extra.emplace_back([this] { impl_->ioc.run(); });
  impl_->ioc.run();
  for (auto& t : extra) t.join();
  impl_->running = false;
  return Status::ok();
}

void HttpServer::stop() { impl_->stop(); }

}  // namespace mcpmem
