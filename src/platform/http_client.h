// The project's HTTP(S) client, on libcurl: remote embedders, `model pull`, and (issue 15) sync.
// Every request has a connect timeout, a total time limit and a cap on the reply's size,
// enforced while it arrives; TLS is always verified (a CA file may be given; libcurl's default
// bundle otherwise). Proxies come from the environment as libcurl reads them (HTTPS_PROXY,
// https_proxy, NO_PROXY). Errors are Status::io_error naming the URL and what happened.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <utility>
#include <vector>

#include "core/status.h"

namespace mcpmem {

struct HttpRequest {
  std::string method = "GET";
  std::string url;
  std::vector<std::pair<std::string, std::string>> headers;  // "Content-Type", "application/json"
  std::string body;
  int connect_timeout_ms = 10'000;
  int timeout_ms = 60'000;                  // the whole exchange; 0: none (downloads)
  int64_t max_response_bytes = 64ll << 20;  // a longer reply is an error, read no further
  int low_speed_seconds = 30;               // a download slower than 1 KB/s this long fails
  std::string ca_file;                      // PEM to trust; empty: the system's CAs
};

struct HttpResponse {
  long status = 0;
  std::string body;                                          // empty when written to a sink
  std::vector<std::pair<std::string, std::string>> headers;  // names lower-cased, last reply
  // The header's value, or "".
  std::string header(const std::string& lower_name) const;
};

// Receives a reply body in pieces (a download), with the reply's status; false stops the
// transfer with an error.
using HttpSink = std::function<bool(long status, const char* data, size_t size)>;
// Bytes received so far and the total expected (0 when unknown).
using HttpProgress = std::function<void(int64_t received, int64_t total)>;

// One exchange. A non-2xx status is not an error here: the caller reads `status`.
Result<HttpResponse> http_request(const HttpRequest& request);
// The same with the body handed to `sink` (not kept); max_response_bytes still applies.
Result<HttpResponse> http_request(const HttpRequest& request, const HttpSink& sink,
                                  const HttpProgress& progress = {});

}  // namespace mcpmem
