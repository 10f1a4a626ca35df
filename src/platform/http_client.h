// The project's HTTP(S) client, on libcurl: every request mcp-memory sends (sync with a hub,
// remote embedders, `model pull`, the HTTP benchmark) goes through it, so these hold for all:
//   - TLS is always verified. A CA file, when given, is the only trust for that request (it
//     replaces the system's CAs: `--hub-ca cert.pem` pins a self-signed hub); never "insecure".
//   - A request carrying a credential header (Authorization, X-API-Key, Proxy-Authorization,
//     Cookie) goes over plain http only to a loopback host, decided on the parsed URL
//     (platform/url.h); anything else is refused before a byte is sent.
//   - Every request has a connect timeout, a total time limit, a stall limit and a cap on the
//     reply's size, enforced while it arrives.
//   - Proxies come from the environment as libcurl reads them (https_proxy / HTTPS_PROXY,
//     http_proxy in lower case only, ALL_PROXY, NO_PROXY); a loopback URL never uses one, so a
//     key sent in clear to this machine cannot reach a proxy.
//   - HTTP/2 is offered over TLS (ALPN) when libcurl has it; HTTP/1.1 otherwise.
//   - An HttpClient keeps its connections open between requests (keep-alive), so the several
//     requests of a sync round or a download share one TCP and TLS handshake.
// Errors are Status::io_error naming the URL and what happened; last_failure() classifies them
// for callers that word them for their users (the sync client names the hub).
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "core/status.h"

namespace mcpmem {

// Retries are bounded by this whatever a request asks, and wait kRetryBackoffMs, then twice
// that, and so on: a server that is down or overloaded is not hammered.
inline constexpr int kMaxRetries = 3;
inline constexpr int kRetryBackoffMs = 200;

struct HttpRequest {
  std::string method = "GET";
  std::string url;
  std::vector<std::pair<std::string, std::string>> headers;  // "Content-Type", "application/json"
  std::string body;
  int connect_timeout_ms = 10'000;
  int timeout_ms = 60'000;                  // the whole exchange; 0: none (downloads)
  int64_t max_response_bytes = 64ll << 20;  // a longer reply is an error, read no further
  // A transfer slower than low_speed_bytes a second for low_speed_seconds fails: catches a
  // stalled server without a total limit. low_speed_bytes = 1 means "no byte for that long".
  int low_speed_seconds = 30;  // 0: no stall limit
  int64_t low_speed_bytes = 1024;
  std::string ca_file;  // PEM to trust instead of the system's CAs; empty: the system's
  // Redirects are followed to https:// only (never a downgrade). libcurl does not resend
  // Authorization to another host, but does resend other headers: a request whose key travels
  // in another header (X-API-Key) must not follow them.
  bool follow_redirects = true;
  // How many times to try again, at most kMaxRetries, only where repeating cannot do anything
  // twice: any method when the connection could not be made (nothing was sent), and GET or
  // HEAD answered 503 (the server is busy; its state did not change). Never after a timeout or
  // a connection broken mid-exchange, where the server may have acted on the request.
  int retries = 0;
};

struct HttpResponse {
  long status = 0;
  std::string body;                                          // empty when written to a sink
  std::vector<std::pair<std::string, std::string>> headers;  // names lower-cased, last reply
  // The header's value, or "".
  std::string header(const std::string& lower_name) const;
};

// Why a request failed, for callers that word the error for their users.
enum class HttpFailure {
  kNone,                  // the last request got a reply (whatever its status)
  kInsecure,              // a credential over plain http to another machine: refused, not sent
  kCannotConnect,         // refused, unreachable, or the name does not resolve
  kConnectTimeout,        // no connection (TCP or TLS) within connect_timeout_ms
  kTimeout,               // connected, then the total or stall limit passed
  kSendFailed,            // the connection broke while sending the request
  kConnectionBroken,      // the connection broke (or the reply was cut) while receiving
  kTlsHandshake,          // the TLS handshake failed (not a TLS server, no common protocol)
  kUntrustedCertificate,  // the server's certificate is not trusted or not for this name
  kBadCaFile,             // the CA file cannot be read or holds no certificate
  kTooLarge,              // the reply passed max_response_bytes
  kSinkRefused,           // the sink returned false
  kOther,
};

// Receives a reply body in pieces (a download), with the reply's status; false stops the
// transfer with an error. Each attempt's reply goes to it (a retried 503's body too).
using HttpSink = std::function<bool(long status, const char* data, size_t size)>;
// Bytes received so far and the total expected (0 when unknown).
using HttpProgress = std::function<void(int64_t received, int64_t total)>;

// One libcurl handle and its connection cache: requests sent through the same client reuse
// an open connection to the same server. Not thread-safe: use one client per thread (it is
// cheap; an idle one holds at most a few open sockets).
class HttpClient {
 public:
  HttpClient();
  ~HttpClient();
  HttpClient(const HttpClient&) = delete;
  HttpClient& operator=(const HttpClient&) = delete;

  // One exchange (with its retries). A non-2xx status is not an error here: the caller reads
  // `status`.
  Result<HttpResponse> send(const HttpRequest& request);
  // The same with the body handed to `sink` (not kept); max_response_bytes still applies.
  Result<HttpResponse> send(const HttpRequest& request, const HttpSink& sink,
                            const HttpProgress& progress = {});

  // Why the last send() failed; kNone when it got a reply.
  HttpFailure last_failure() const { return last_failure_; }
  // TCP connections opened so far (keep-alive keeps this at one per server).
  int64_t connections_opened() const { return connections_opened_; }

  class Impl;

 private:
  Result<HttpResponse> send_with_retries(const HttpRequest& request, const HttpSink* sink,
                                         const HttpProgress* progress);

  std::unique_ptr<Impl> impl_;
  HttpFailure last_failure_ = HttpFailure::kNone;
  int64_t connections_opened_ = 0;
};

// One exchange on a client of its own (no connection reuse): for a single request.
Result<HttpResponse> http_request(const HttpRequest& request);
Result<HttpResponse> http_request(const HttpRequest& request, const HttpSink& sink,
                                  const HttpProgress& progress = {});

}  // namespace mcpmem
