// TlsStream (tls_stream.h): OpenSSL on memory BIOs, driven from coroutines on the
// connection's strand.
#include "http/tls_stream.h"

#include <openssl/err.h>

#include <array>
#include <string>
#include <vector>

namespace mcpmem {
namespace {

namespace asio = boost::asio;
using boost::system::error_code;
constexpr auto kAwait = asio::as_tuple(asio::use_awaitable);

// Ciphertext read while nothing is pending: an idle connection waits on this much.
constexpr size_t kFirstReadBytes = 512;
// What is read at once after that, when the socket has more.
constexpr size_t kMaxReadBytes = 64 << 10;

BIO* empty_memory_bio() {
  BIO* bio = BIO_new(BIO_s_mem());
  BIO_set_mem_eof_return(bio, -1);  // empty means "retry", not end of stream
  return bio;
}

bool holds_memory(BIO* bio) {
  BUF_MEM* memory = nullptr;
  BIO_get_mem_ptr(bio, &memory);
  return memory != nullptr && memory->max > 0;
}

error_code tls_error() {
  ERR_clear_error();
  return asio::error::connection_aborted;
}

}  // namespace

TlsStream::TlsStream(boost::beast::tcp_stream tcp, SSL_CTX* context)
    : tcp_(std::move(tcp)), ssl_(SSL_new(context)) {
  rbio_ = empty_memory_bio();
  wbio_ = empty_memory_bio();
  SSL_set_bio(ssl_, rbio_, wbio_);
  SSL_set_accept_state(ssl_);
}

TlsStream::~TlsStream() { SSL_free(ssl_); }

void TlsStream::shed_buffers() {
  // OpenSSL's record buffers (16 KB each way): SSL_MODE_RELEASE_BUFFERS frees them only on
  // some paths; this refuses while they hold data, so it is always safe.
  (void)SSL_free_buffers(ssl_);
  if (BIO_ctrl_pending(rbio_) == 0 && holds_memory(rbio_)) {
    rbio_ = empty_memory_bio();
    SSL_set0_rbio(ssl_, rbio_);
  }
  if (BIO_ctrl_pending(wbio_) == 0 && holds_memory(wbio_)) {
    wbio_ = empty_memory_bio();
    SSL_set0_wbio(ssl_, wbio_);
  }
}

asio::awaitable<error_code> TlsStream::flush() {
  while (BIO_ctrl_pending(wbio_) > 0) {
    char* data = nullptr;
    const long size = BIO_get_mem_data(wbio_, &data);
    if (size <= 0) break;
    auto [ec, n] =
        co_await asio::async_write(tcp_, asio::buffer(data, static_cast<size_t>(size)), kAwait);
    if (ec) co_return ec;
    (void)BIO_reset(wbio_);
  }
  co_return error_code();
}

asio::awaitable<error_code> TlsStream::fill() {
  shed_buffers();  // this may be a long wait: hold no buffer through it
  std::array<char, kFirstReadBytes> first;
  auto [ec, n] = co_await tcp_.async_read_some(asio::buffer(first), kAwait);
  if (ec) co_return ec;
  BIO_write(rbio_, first.data(), static_cast<int>(n));
  if (n < first.size()) co_return error_code();
  // More is likely there (a whole record, a request body): take what the socket already has.
  error_code ignored;
  const size_t available = tcp_.socket().available(ignored);
  if (available == 0) co_return error_code();
  std::vector<char> rest(std::min(available, kMaxReadBytes));
  const size_t got = tcp_.socket().read_some(asio::buffer(rest), ignored);
  if (got > 0) BIO_write(rbio_, rest.data(), static_cast<int>(got));
  co_return error_code();
}

asio::awaitable<error_code> TlsStream::handshake() {
  for (;;) {
    ERR_clear_error();
    const int done = SSL_do_handshake(ssl_);
    if (error_code ec = co_await flush()) co_return ec;
    if (done == 1) co_return error_code();
    if (SSL_get_error(ssl_, done) != SSL_ERROR_WANT_READ) co_return tls_error();
    if (error_code ec = co_await fill()) co_return ec;
  }
}

asio::awaitable<void> TlsStream::shutdown() {
  ERR_clear_error();
  if (SSL_shutdown(ssl_) < 0) ERR_clear_error();
  co_await flush();
}

asio::awaitable<TlsStream::Outcome> TlsStream::read_some(asio::mutable_buffer into) {
  if (into.size() == 0) co_return Outcome{};
  for (;;) {
    // Nothing to decrypt: wait for ciphertext before asking OpenSSL, which would set up its
    // 16 KB record buffer and keep it through the wait.
    if (!SSL_has_pending(ssl_) && BIO_ctrl_pending(rbio_) == 0) {
      if (error_code ec = co_await flush()) co_return Outcome{ec, 0};
      if (error_code ec = co_await fill()) co_return Outcome{ec, 0};
    }
    ERR_clear_error();
    size_t got = 0;
    const int ok = SSL_read_ex(ssl_, into.data(), into.size(), &got);
    if (ok == 1) co_return Outcome{error_code(), got};
    switch (SSL_get_error(ssl_, ok)) {
      case SSL_ERROR_WANT_READ:  // part of a record: read the rest
        if (error_code ec = co_await flush()) co_return Outcome{ec, 0};
        if (error_code ec = co_await fill()) co_return Outcome{ec, 0};
        break;
      case SSL_ERROR_ZERO_RETURN:  // close_notify
        co_return Outcome{asio::error::eof, 0};
      default:
        co_return Outcome{tls_error(), 0};
    }
  }
}

asio::awaitable<TlsStream::Outcome> TlsStream::write_some(std::vector<asio::const_buffer> pieces) {
  // Beast hands a reply over as many small pieces (status line, each header, body): joined,
  // they go out as one record instead of one record each.
  std::string joined;
  if (pieces.size() > 1) {
    for (const asio::const_buffer& piece : pieces) {
      joined.append(static_cast<const char*>(piece.data()), piece.size());
    }
    pieces = {asio::buffer(joined)};
  }
  size_t written = 0;
  for (const asio::const_buffer& piece : pieces) {
    ERR_clear_error();
    size_t n = 0;
    // Memory BIOs take everything: a write never waits for the socket here.
    if (SSL_write_ex(ssl_, piece.data(), piece.size(), &n) != 1) {
      co_return Outcome{tls_error(), written};
    }
    written += n;
  }
  if (error_code ec = co_await flush()) co_return Outcome{ec, 0};
  co_return Outcome{error_code(), written};
}

}  // namespace mcpmem
