// One connection's life on Boost.Beast, as a coroutine on its own strand: TLS handshake (with a
// deadline), then requests until the client or a limit ends it. Every read has a deadline and
// a size cap set before it starts, so a client can hold no more than its socket, a 16 KiB head
// and a 4 MiB body, for no longer than the timeouts of http_server.h. A request's head is
// screened (limits, Host, Origin, key, route, body rules) before a byte of its body is read;
// a refused request with a body unread is answered and the connection closed, since the rest
// of the stream cannot be trusted to be a next request.
#include <spdlog/spdlog.h>

#include <array>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <chrono>
#include <deque>

#include "core/log_text.h"
#include "http/http_server_impl.h"
#include "http/tls_stream.h"
#include "platform/url.h"

namespace mcpmem {
namespace {

namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;
using Clock = std::chrono::steady_clock;
constexpr auto kAwait = asio::as_tuple(asio::use_awaitable);

// The open end of a streamed body (ResponseStream): the handler's side queues chunks from any
// thread; the connection's coroutine takes them on its strand and writes them in order.
class StreamChannel : public ResponseStream, public std::enable_shared_from_this<StreamChannel> {
 public:
  explicit StreamChannel(const asio::any_io_executor& strand) : strand_(strand), wake_(strand) {
    wake_.expires_at(asio::steady_timer::time_point::max());
  }

  bool write(std::string chunk) override MCP_EXCLUDES(mu_) {
    MutexLock lock(mu_);
    if (closed_) return false;
    if (queued_bytes_ + chunk.size() > kMaxStreamBacklogBytes) {  // the client stopped reading
      closed_ = aborted_ = true;
      notify();
      return false;
    }
    queued_bytes_ += chunk.size();
    queue_.push_back(std::move(chunk));
    notify();
    return true;
  }
  void close() override MCP_EXCLUDES(mu_) {
    MutexLock lock(mu_);
    closed_ = true;
    notify();
  }
  void abort() override MCP_EXCLUDES(mu_) {
    MutexLock lock(mu_);
    closed_ = aborted_ = true;
    notify();
  }
  bool is_open() const override MCP_EXCLUDES(mu_) {
    MutexLock lock(mu_);
    return !closed_;
  }

  struct Batch {
    std::deque<std::string> chunks;
    bool closed = false;
    bool aborted = false;  // end without the final chunk
  };
  // What is queued; when nothing is, the next write() or close() wakes wait().
  Batch take() MCP_EXCLUDES(mu_) {
    MutexLock lock(mu_);
    Batch batch{std::move(queue_), closed_, aborted_};
    queue_.clear();
    queued_bytes_ = 0;
    if (batch.chunks.empty() && !closed_) waiting_ = true;
    return batch;
  }
  asio::awaitable<void> wait() { co_await wake_.async_wait(kAwait); }
  void peer_gone() MCP_EXCLUDES(mu_) {
    MutexLock lock(mu_);
    closed_ = aborted_ = true;
  }

 private:
  void notify() MCP_REQUIRES(mu_) {
    if (!waiting_) return;
    waiting_ = false;
    // On the strand, so the cancel lands after the coroutine started waiting.
    asio::post(strand_, [self = shared_from_this()] { self->wake_.cancel(); });
  }

  asio::any_io_executor strand_;
  asio::steady_timer wake_;  // strand only; cancelled to wake the writer
  mutable Mutex mu_;
  std::deque<std::string> queue_ MCP_GUARDED_BY(mu_);
  size_t queued_bytes_ MCP_GUARDED_BY(mu_) = 0;
  bool closed_ MCP_GUARDED_BY(mu_) = false;
  bool aborted_ MCP_GUARDED_BY(mu_) = false;
  bool waiting_ MCP_GUARDED_BY(mu_) = false;
};

std::string_view view(beast::string_view s) { return {s.data(), s.size()}; }

// Malformed input (answered 400), as opposed to a stream that ended or timed out.
bool is_parse_error(const boost::system::error_code& ec) {
  return ec.category() == make_error_code(http::error::bad_target).category() &&
         ec != http::error::end_of_stream && ec != http::error::partial_message;
}

template <class Stream>
class Connection {
 public:
  Connection(HttpServer::Impl& impl, Stream& stream, ConnectionEntry& entry, std::string address)
      : impl_(impl), stream_(stream), entry_(entry), address_(std::move(address)) {}

  // True when the connection ended with a request not read to its end (refused from its
  // head, or cut by a limit): the client may still be sending it.
  bool unread_input() const { return unread_; }

  asio::awaitable<void> run() {
    entry_.cancel = [this] { beast::get_lowest_layer(stream_).cancel(); };
    bool first = true;
    while (co_await wait_for_request(first)) {
      first = false;
      if (!co_await serve_one()) break;
      if (impl_.stopping) break;
    }
    entry_.cancel = nullptr;
  }

 private:
  // Waits for the next request's first byte: kHeaderReadTimeoutSeconds on a new connection
  // (a client that connects and says nothing is dropped), kKeepAliveTimeoutSeconds between
  // requests. Between requests the connection holds no buffer.
  asio::awaitable<bool> wait_for_request(bool first) {
    if (buffer_.size() > 0) co_return true;  // pipelined
    buffer_.shrink_to_fit();
    if (impl_.stopping) co_return false;
    entry_.idle = true;
    beast::get_lowest_layer(stream_).expires_after(
        std::chrono::seconds(first ? kHeaderReadTimeoutSeconds : kKeepAliveTimeoutSeconds));
    auto [ec, n] = co_await stream_.async_read_some(buffer_.prepare(512), kAwait);
    entry_.idle = false;
    buffer_.commit(n);
    co_return !ec;
  }

  // One request and its reply; false when the connection must close afterwards.
  asio::awaitable<bool> serve_one() {
    started_ = Clock::now();
    unread_ = true;  // until the request was read to its end
    http::request_parser<http::string_body> parser;
    parser.header_limit(kMaxHeaderBytes);
    parser.body_limit(kMaxRequestBodyBytes);
    beast::get_lowest_layer(stream_).expires_after(std::chrono::seconds(kHeaderReadTimeoutSeconds));
    auto [ec, n] = co_await http::async_read_header(stream_, buffer_, parser, kAwait);
    method_ = "-";
    path_ = "-";
    if (ec == http::error::header_limit) {
      co_await reply(
          json_error(431, "request headers exceed " + std::to_string(kMaxHeaderBytes) + " bytes"),
          11, false);
      co_return false;
    }
    if (ec == http::error::body_limit) {  // a declared Content-Length past the limit
      co_await reply(too_large(), 11, false);
      co_return false;
    }
    if (ec) {
      // A parse error gets a 400; a timeout or a closed socket gets nothing.
      if (is_parse_error(ec)) {
        co_await reply(json_error(400, "malformed HTTP request: " + ec.message()), 11, false);
      }
      co_return false;
    }
    auto& head = parser.get();
    const unsigned version = head.version();
    Request req;
    req.method = std::string(view(head.method_string()));
    method_ = req.method;
    const std::string_view target = view(head.target());
    if (target.size() > kMaxUrlBytes) {
      co_await reply(json_error(414, "the URL exceeds " + std::to_string(kMaxUrlBytes) + " bytes"),
                     version, false);
      co_return false;
    }
    size_t field_count = 0;
    for (const auto& field : head) {
      if (++field_count > kMaxHeaderCount) break;
      req.headers.emplace(std::string(view(field.name_string())), std::string(view(field.value())));
    }
    if (field_count > kMaxHeaderCount) {
      co_await reply(json_error(431, "more than " + std::to_string(kMaxHeaderCount) + " headers"),
                     version, false);
      co_return false;
    }
    const size_t query_at = target.find('?');
    req.path = url_decode(target.substr(0, query_at), false);
    path_ = req.path;
    if (query_at != std::string_view::npos) req.params = parse_query(target.substr(query_at + 1));
    const bool body_pending = !parser.is_done();
    if (!body_pending) unread_ = false;
    const bool keep_alive = head.keep_alive() && !impl_.stopping;
    if (req.path.empty() || req.path.front() != '/') {
      co_await reply(json_error(400, "the request target must be a path"), version, false);
      co_return false;
    }

    if (auto refused = impl_.screen(req)) {
      co_await reply(std::move(*refused), version, keep_alive && !body_pending);
      co_return keep_alive && !body_pending;
    }
    RouteMatch route = impl_.route(req.method, req.path);
    if (route.handler == nullptr) {
      co_await reply(json_error(404, "Not Found"), version, keep_alive && !body_pending);
      co_return keep_alive && !body_pending;
    }
    if (auto refused = refuse_body(head, route.takes_body, body_pending)) {
      co_await reply(std::move(*refused), version, false);
      co_return false;
    }
    if (body_pending) {
      if (beast::iequals(head[http::field::expect], "100-continue")) {
        http::response<http::empty_body> go_on{http::status::continue_, version};
        beast::get_lowest_layer(stream_).expires_after(std::chrono::seconds(kWriteTimeoutSeconds));
        auto [wec, wn] = co_await http::async_write(stream_, go_on, kAwait);
        if (wec) co_return false;
      }
      beast::get_lowest_layer(stream_).expires_after(std::chrono::seconds(kBodyReadTimeoutSeconds));
      auto [bec, bn] = co_await http::async_read(stream_, buffer_, parser, kAwait);
      if (bec == http::error::body_limit) {
        co_await reply(too_large(), version, false);
        co_return false;
      }
      if (bec) {
        if (is_parse_error(bec)) {
          co_await reply(json_error(400, "malformed request body: " + bec.message()), version,
                         false);
        }
        co_return false;
      }
    }
    unread_ = false;
    req.body = std::move(parser.get().body());
    req.matches = std::move(route.matches);
    req.remote_address = address_;
    Response res = co_await impl_.call(*route.handler, req);
    if (res.stream) {
      co_await stream(std::move(res), version);
      co_return false;
    }
    co_return co_await reply(std::move(res), version, keep_alive, req.method == "HEAD");
  }

  static Response too_large() {
    return json_error(413,
                      "request body exceeds " + std::to_string(kMaxRequestBodyBytes) + " bytes");
  }

  // The body rules, decided on the head: no encoding we would have to inflate (a 500 KB gzip
  // body can inflate to gigabytes), no body where the route takes none, none declared too big.
  static std::optional<Response> refuse_body(const http::request_header<>& head, bool takes_body,
                                             bool body_pending) {
    const auto encoding = head[http::field::content_encoding];
    if (!encoding.empty() && !beast::iequals(encoding, "identity")) {
      return json_error(415, "Content-Encoding " + std::string(view(encoding)) +
                                 " is not accepted: send the body uncompressed");
    }
    if (!body_pending) return std::nullopt;
    if (!takes_body) return json_error(413, "this route takes no request body");
    const auto length = head[http::field::content_length];
    if (!length.empty() &&
        std::strtoull(std::string(view(length)).c_str(), nullptr, 10) > kMaxRequestBodyBytes) {
      return too_large();
    }
    return std::nullopt;
  }

  // Writes a whole reply; true when the connection stays open.
  asio::awaitable<bool> reply(Response res, unsigned version, bool keep_alive,
                              bool head_only = false) {
    http::response<http::string_body> out;
    out.version(version);
    out.result(static_cast<unsigned>(res.status));
    for (const auto& [name, value] : res.headers) out.insert(name, value);
    out.keep_alive(keep_alive);
    if (head_only) {
      out.content_length(res.body.size());
    } else {
      out.body() = std::move(res.body);
      out.prepare_payload();
    }
    log(res.status);
    beast::get_lowest_layer(stream_).expires_after(std::chrono::seconds(kWriteTimeoutSeconds));
    if (head_only) {
      http::response_serializer<http::string_body> sr{out};
      auto [ec, n] = co_await http::async_write_header(stream_, sr, kAwait);
      co_return !ec && keep_alive;
    }
    auto [ec, n] = co_await http::async_write(stream_, out, kAwait);
    co_return !ec && keep_alive;
  }

  // A streamed reply: the head, then chunks as the handler's side queues them, until it closes
  // the stream, the client goes, or the server stops.
  asio::awaitable<void> stream(Response res, unsigned version) {
    http::response<http::empty_body> out;
    out.version(version);
    out.result(static_cast<unsigned>(res.status));
    for (const auto& [name, value] : res.headers) out.insert(name, value);
    out.keep_alive(false);
    out.chunked(true);
    log(res.status);
    http::response_serializer<http::empty_body> sr{out};
    beast::get_lowest_layer(stream_).expires_after(std::chrono::seconds(kWriteTimeoutSeconds));
    auto [ec, n] = co_await http::async_write_header(stream_, sr, kAwait);
    if (ec) co_return;
    auto channel = std::make_shared<StreamChannel>(stream_.get_executor());
    entry_.end_stream = [channel] { channel->close(); };
    if (impl_.stopping) channel->close();
    res.stream(channel);
    for (;;) {
      StreamChannel::Batch batch = channel->take();
      bool failed = false;
      for (const std::string& chunk : batch.chunks) {
        if (chunk.empty()) continue;
        beast::get_lowest_layer(stream_).expires_after(std::chrono::seconds(kWriteTimeoutSeconds));
        auto [wec, wn] =
            co_await asio::async_write(stream_, http::make_chunk(asio::buffer(chunk)), kAwait);
        if (wec) {
          failed = true;
          break;
        }
      }
      if (failed) {
        channel->peer_gone();
        break;
      }
      if (batch.closed) {
        if (!batch.aborted) {
          beast::get_lowest_layer(stream_).expires_after(
              std::chrono::seconds(kWriteTimeoutSeconds));
          co_await asio::async_write(stream_, http::make_chunk_last(), kAwait);
        }
        break;
      }
      if (batch.chunks.empty()) {
        beast::get_lowest_layer(stream_).expires_never();
        co_await channel->wait();
      }
    }
    entry_.end_stream = nullptr;
  }

  void log(int status) const {
    const double ms = std::chrono::duration<double, std::milli>(Clock::now() - started_).count();
    // The path is decoded (%0A is a newline): escaped, it cannot forge a line of the log.
    spdlog::info("{} {} {} {:.1f}ms", escape_log_text(method_), escape_log_text(path_), status, ms);
  }

  HttpServer::Impl& impl_;
  Stream& stream_;
  ConnectionEntry& entry_;
  std::string address_;
  beast::flat_buffer buffer_;
  Clock::time_point started_;
  std::string method_ = "-";
  std::string path_ = "-";
  bool unread_ = false;
};

// After a reply that left a request unread: stop sending, then read and drop what the client
// still sends, for a bounded time and size, before closing. Closing with unread bytes makes the
// kernel send a reset, which can destroy the reply before the client reads it (a 413 would
// reach it as "connection reset"); RFC 9112 §9.6 asks for this "lingering" close.
constexpr auto kLingerTime = std::chrono::seconds(1);
constexpr size_t kLingerBytes = 1 << 20;

asio::awaitable<void> linger(beast::tcp_stream& tcp) {
  boost::system::error_code ignored;
  tcp.socket().shutdown(tcp::socket::shutdown_send, ignored);
  tcp.expires_after(kLingerTime);
  std::array<char, 4096> sink;
  for (size_t dropped = 0; dropped < kLingerBytes;) {
    auto [ec, n] = co_await tcp.async_read_some(asio::buffer(sink), kAwait);
    if (ec) break;
    dropped += n;
  }
}

// Ends a connection; `drain` when the client may still be sending (see linger()).
asio::awaitable<void> close_gracefully(TlsStream& stream, bool drain) {
  beast::get_lowest_layer(stream).expires_after(std::chrono::seconds(2));
  co_await stream.shutdown();
  if (drain) co_await linger(beast::get_lowest_layer(stream));
  boost::system::error_code ignored;
  beast::get_lowest_layer(stream).socket().shutdown(tcp::socket::shutdown_both, ignored);
}

asio::awaitable<void> close_gracefully(beast::tcp_stream& stream, bool drain) {
  if (drain) co_await linger(stream);
  boost::system::error_code ignored;
  stream.socket().shutdown(tcp::socket::shutdown_both, ignored);
}

asio::awaitable<void> run_connection(HttpServer::Impl& impl, tcp::socket socket,
                                     std::string address, bool counted_per_ip) {
  ConnectionSlot slot(impl, address, counted_per_ip);
  auto entry = std::make_shared<ConnectionEntry>();
  entry->strand = socket.get_executor();
  auto enrolled = impl.enroll(entry);
  boost::system::error_code ignored;
  socket.set_option(tcp::no_delay(true), ignored);  // head and body are separate writes
  beast::tcp_stream tcp_stream(std::move(socket));
  if (impl.tls) {
    TlsStream tls(std::move(tcp_stream), impl.tls->native_handle());
    beast::get_lowest_layer(tls).expires_after(std::chrono::seconds(kTlsHandshakeTimeoutSeconds));
    entry->idle = true;  // a handshake in progress is not a request: shutdown may cut it
    entry->cancel = [&tls] { beast::get_lowest_layer(tls).cancel(); };
    const boost::system::error_code ec = co_await tls.handshake();
    entry->idle = false;
    entry->cancel = nullptr;
    if (!ec) {
      Connection connection(impl, tls, *entry, address);
      co_await connection.run();
      co_await close_gracefully(tls, connection.unread_input());
    }
  } else {
    Connection connection(impl, tcp_stream, *entry, address);
    co_await connection.run();
    co_await close_gracefully(tcp_stream, connection.unread_input());
  }
  impl.withdraw(enrolled);
}

}  // namespace

void serve_connection(HttpServer::Impl& impl, tcp::socket socket) {
  boost::system::error_code ec;
  const auto peer = socket.remote_endpoint(ec);
  if (ec) return;  // already gone
  auto address = peer.address();
  if (address.is_v6() && address.to_v6().is_v4_mapped()) {
    address = asio::ip::make_address_v4(asio::ip::v4_mapped, address.to_v6());
  }
  const bool loopback = address.is_loopback();
  const std::string text = address.to_string();
  if (!impl.admit(text, loopback)) {
    spdlog::warn("connection from {} refused: too many open connections", text);
    return;  // the socket closes as it goes out of scope
  }
  const bool counted_per_ip = !(loopback && impl.options.loopback_exempt_from_ip_cap);
  const auto executor = socket.get_executor();
  asio::co_spawn(executor, run_connection(impl, std::move(socket), text, counted_per_ip),
                 [](std::exception_ptr e) {
                   if (!e) return;
                   try {
                     std::rethrow_exception(e);
                   } catch (const std::exception& ex) {
                     spdlog::error("connection ended by an error: {}", ex.what());
                   }
                 });
}

}  // namespace mcpmem
