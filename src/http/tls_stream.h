// TlsStream: server-side TLS over a beast::tcp_stream that holds almost nothing while its
// connection is idle. asio::ssl::stream keeps two 17 KB record buffers per connection and a
// 2 x 17 KB BIO pair for as long as the connection lives (~75 KB: 10,000 idle HTTPS clients
// were 815 MB). Here OpenSSL reads and writes memory BIOs that this class fills from and drains
// to the socket: ciphertext is read 512 bytes at a time while nothing is pending (then whatever
// else the socket has), drained BIOs are replaced by empty ones before every wait for the
// peer, and SSL_MODE_RELEASE_BUFFERS (set on the context) frees OpenSSL's own record buffers. An
// idle connection keeps its SSL state (a few KB) and nothing else. Timeouts and cancellation are
// the tcp_stream's (beast::get_lowest_layer(stream)), since every socket operation goes through it.
// One operation at a time (HTTP/1.1 reads, then writes).
#pragma once

#include <openssl/ssl.h>

#include <boost/asio.hpp>
#include <boost/beast/core.hpp>
#include <tuple>

namespace mcpmem {

class TlsStream {
 public:
  using executor_type = boost::beast::tcp_stream::executor_type;
  using next_layer_type = boost::beast::tcp_stream;
  using Outcome = std::tuple<boost::system::error_code, std::size_t>;

  TlsStream(boost::beast::tcp_stream tcp, SSL_CTX* context);
  ~TlsStream();
  TlsStream(const TlsStream&) = delete;
  TlsStream& operator=(const TlsStream&) = delete;

  executor_type get_executor() { return tcp_.get_executor(); }
  next_layer_type& next_layer() { return tcp_; }

  // The server side of the handshake; an error when it failed or the peer went away.
  boost::asio::awaitable<boost::system::error_code> handshake();
  // Sends close_notify (does not wait for the peer's).
  boost::asio::awaitable<void> shutdown();

  // AsyncReadStream / AsyncWriteStream, as Beast's algorithms use them.
  template <class MutableBuffers, class Token>
  auto async_read_some(const MutableBuffers& buffers, Token&& token) {
    boost::asio::mutable_buffer into;
    for (auto it = boost::asio::buffer_sequence_begin(buffers);
         it != boost::asio::buffer_sequence_end(buffers); ++it) {
      if (boost::asio::mutable_buffer b(*it); b.size() > 0) {
        into = b;
        break;
      }
    }
    return run(read_some(into), std::forward<Token>(token));
  }
  template <class ConstBuffers, class Token>
  auto async_write_some(const ConstBuffers& buffers, Token&& token) {
    std::vector<boost::asio::const_buffer> pieces;
    size_t total = 0;
    for (auto it = boost::asio::buffer_sequence_begin(buffers);
         it != boost::asio::buffer_sequence_end(buffers) && total < kMaxWriteBytes; ++it) {
      boost::asio::const_buffer b(*it);
      if (b.size() == 0) continue;
      if (total + b.size() > kMaxWriteBytes) b = boost::asio::buffer(b, kMaxWriteBytes - total);
      pieces.push_back(b);
      total += b.size();
    }
    return run(write_some(std::move(pieces)), std::forward<Token>(token));
  }

 private:
  // Plaintext handed to OpenSSL per write call: records of up to 16 KB, sent together.
  static constexpr size_t kMaxWriteBytes = 64 << 10;

  template <class Token>
  auto run(boost::asio::awaitable<Outcome> operation, Token&& token) {
    return boost::asio::async_initiate<Token, void(boost::system::error_code, std::size_t)>(
        [this](auto handler, boost::asio::awaitable<Outcome> op) {
          boost::asio::co_spawn(
              get_executor(), std::move(op),
              [h = std::move(handler)](std::exception_ptr e, Outcome outcome) mutable {
                auto [ec, n] = outcome;
                if (e) ec = boost::asio::error::fault;
                std::move(h)(ec, n);
              });
        },
        token, std::move(operation));
  }

  boost::asio::awaitable<Outcome> read_some(boost::asio::mutable_buffer into);
  boost::asio::awaitable<Outcome> write_some(std::vector<boost::asio::const_buffer> pieces);
  // Sends the ciphertext OpenSSL queued.
  boost::asio::awaitable<boost::system::error_code> flush();
  // Reads more ciphertext for OpenSSL.
  boost::asio::awaitable<boost::system::error_code> fill();
  // Replaces drained BIOs that hold a buffer by empty ones (their memory goes back).
  void shed_buffers();

  boost::beast::tcp_stream tcp_;
  SSL* ssl_ = nullptr;
  BIO* rbio_ = nullptr;  // owned by ssl_
  BIO* wbio_ = nullptr;  // owned by ssl_
};

}  // namespace mcpmem
