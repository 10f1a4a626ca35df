// The wire layer's own request and response, free of any HTTP engine's types: route handlers
// are plain functions `Response handle(const Request&)`, unit-tested without a socket, and the
// engine (http_server.cpp, Boost.Beast) is the only code that knows how bytes become these.
// A Request reaches a handler whole: headers screened (host, origin, key, limits) and the body
// read within kMaxRequestBodyBytes. A Response is a status, headers and a body, or a stream
// (Server-Sent Events) that the handler's side feeds from any thread after the headers are sent.
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace mcpmem {

// Header names compare case-insensitively (RFC 9110 §5.1).
struct CaseInsensitiveLess {
  bool operator()(std::string_view a, std::string_view b) const;
};
using HttpHeaders = std::multimap<std::string, std::string, CaseInsensitiveLess>;

struct Request {
  std::string method;                              // "GET", "POST", ...
  std::string path;                                // percent-decoded, without the query
  std::multimap<std::string, std::string> params;  // the query, decoded
  HttpHeaders headers;
  std::string body;
  std::vector<std::string> matches;  // [0] the path, [1..] the route pattern's groups
  std::string remote_address;        // the peer's IP address

  // The first value, or "".
  std::string header(std::string_view name) const;
  bool has_header(const std::string& name) const { return headers.count(name) > 0; }
  bool has_param(const std::string& name) const { return params.count(name) > 0; }
  std::string param(const std::string& name) const;  // the first value, or ""
};

// The open end of a streamed response body. write() queues a chunk and returns at once (false
// when the client is gone or reads too slowly: the stream is then closed); close() ends the
// body. abort() closes the connection once the chunks already queued are written, without the
// body's end (no final chunk), so the client sees a cut transfer, not a complete one: for a
// body that cannot be finished (and for tests of clients that resume). Safe from many
// threads; the engine writes chunks in order.
class ResponseStream {
 public:
  virtual ~ResponseStream() = default;
  virtual bool write(std::string chunk) = 0;
  virtual void close() = 0;
  virtual void abort() = 0;
  virtual bool is_open() const = 0;
};

struct Response {
  int status = 200;
  HttpHeaders headers;
  std::string body;
  // Set: the body is streamed (chunked) instead of `body`; called once, on an engine thread,
  // after the headers went out. It must not block: it hands the stream to whoever feeds it.
  std::function<void(std::shared_ptr<ResponseStream>)> stream;

  void set_header(const std::string& name, std::string value);
  void set_content(std::string content, const std::string& content_type);
  std::string header(std::string_view name) const;  // the first value, or ""
};

using Handler = std::function<Response(const Request&)>;

// A JSON error body {"detail": message}, as the Python service's REST API answers.
Response json_error(int status, const std::string& detail);

// "a=1&b=x%20y" -> {{"a","1"},{"b","x y"}}.
std::multimap<std::string, std::string> parse_query(std::string_view query);

}  // namespace mcpmem
