// A small synchronous HTTP(S) client for the http tests, on libcurl, with the call shapes the
// tests were written in (cpp-httplib's: c.Get(path, headers), c.Post(path, headers, body,
// content_type), a result that is false when no reply came and reads r->status, r->body,
// r->get_header_value(name)), so a test reads as the requests a user sends.
// It sends exactly what a test asks for: the path as written (no dot-segment removal, no
// re-encoding), a Host header given replaces curl's own (an empty value sends "Host:"), and
// no "Expect: 100-continue". One client keeps its connection alive between requests.
// Thread-safety: one thread per client.
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace mcpmem {

using TestHeaders = std::multimap<std::string, std::string>;

struct TestResponse {
  int status = 0;
  std::string body;
  std::vector<std::pair<std::string, std::string>> headers;  // as received
  // The first value of `name` (any case), or "".
  std::string get_header_value(const std::string& name) const;
  bool has_header(const std::string& name) const;
};

// A reply, or why there was none (connection refused, TLS verification failed, timed out,
// stopped by a receiver).
class TestResult {
 public:
  explicit TestResult(TestResponse response) : response_(std::move(response)) {}
  static TestResult failed(std::string why) {
    TestResult r;
    r.error_ = std::move(why);
    return r;
  }
  explicit operator bool() const { return response_.has_value(); }
  const TestResponse* operator->() const { return &response_.value(); }
  const TestResponse& operator*() const { return response_.value(); }
  const std::string& error() const { return error_; }

 private:
  TestResult() = default;
  std::optional<TestResponse> response_;
  std::string error_;
};

// Receives the body as it arrives; false stops the transfer (the result is then false).
using TestReceiver = std::function<bool(const char* data, size_t size)>;

class TestClient {
 public:
  // http://127.0.0.1:port, or https:// with `tls`, trusting `ca_file` (PEM) and checking the
  // certificate's name.
  explicit TestClient(int port, bool tls = false, std::string ca_file = "");
  ~TestClient();
  TestClient(TestClient&&) noexcept;
  TestClient& operator=(TestClient&&) noexcept;

  // The name in the URL and the one the certificate must carry; it still connects to
  // 127.0.0.1 ("localhost" for a certificate issued to localhost).
  void set_host_name(std::string name) { host_ = std::move(name); }
  // false: any certificate is accepted (as `curl -k`). Only for tests that did so before.
  void enable_server_certificate_verification(bool verify) { verify_ = verify; }
  // A reply that sends nothing for this long fails (default 10 s).
  void set_read_timeout(int seconds) { read_timeout_s_ = seconds; }

  TestResult Get(const std::string& path, const TestHeaders& headers = {});
  TestResult Get(const std::string& path, const TestHeaders& headers, const TestReceiver& receiver);
  TestResult Get(const std::string& path, const TestReceiver& receiver);
  TestResult Post(const std::string& path, const TestHeaders& headers, const std::string& body,
                  const std::string& content_type);
  TestResult Put(const std::string& path, const TestHeaders& headers, const std::string& body,
                 const std::string& content_type);
  TestResult Delete(const std::string& path, const TestHeaders& headers = {});
  // Any method, with a body when `body` is not empty (even on GET).
  TestResult send(const std::string& method, const std::string& path, const TestHeaders& headers,
                  const std::string& body, const TestReceiver& receiver = {});

 private:
  struct Curl;
  std::unique_ptr<Curl> curl_;
  int port_;
  bool tls_;
  std::string ca_file_;
  std::string host_ = "127.0.0.1";
  bool verify_ = true;
  int read_timeout_s_ = 10;
};

}  // namespace mcpmem
