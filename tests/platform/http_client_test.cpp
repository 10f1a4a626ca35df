// The HTTP client against a scripted server on loopback (a raw socket that answers each request
// with the next canned reply): consecutive requests share one connection; a 503 is retried for
// a GET and never for a POST; a refused connection is retried, a timeout is not; a key never
// goes in clear to another machine and a loopback request never goes through a proxy; a reply
// past its cap, a cut reply and a stalled server are errors that say so.
#include "platform/http_client.h"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdlib>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace mcpmem {
namespace {

using Clock = std::chrono::steady_clock;

// "HTTP/1.1 <status>" with a Content-Length body.
std::string reply(int status, const std::string& body, const std::string& extra_headers = "") {
  return "HTTP/1.1 " + std::to_string(status) +
         " X\r\nContent-Length: " + std::to_string(body.size()) + "\r\n" + extra_headers + "\r\n" +
         body;
}

// Serves one connection at a time, answering the n-th request with replies[n] (the last one
// again when they run out). Declare it before the clients that talk to it: a client closes its
// connection when destroyed, which is what ends the server's read.
class ScriptedServer {
 public:
  struct Reply {
    std::string raw;
    bool then_close = false;  // close the connection after sending `raw`
    bool hang = false;        // read the request, never answer
  };

  explicit ScriptedServer(std::vector<Reply> replies) : replies_(std::move(replies)) {
    listen_fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof a;
    if (::bind(listen_fd_, reinterpret_cast<sockaddr*>(&a), len) != 0 ||
        ::listen(listen_fd_, 16) != 0 ||
        ::getsockname(listen_fd_, reinterpret_cast<sockaddr*>(&a), &len) != 0) {
      ADD_FAILURE() << "cannot listen on loopback";
    }
    port_ = ntohs(a.sin_port);
    thread_ = std::thread([this] { accept_loop(); });
  }
  ~ScriptedServer() {
    stopping_ = true;
    ::shutdown(listen_fd_, SHUT_RDWR);  // wakes accept()
    if (const int fd = connection_fd_.load(); fd >= 0) ::shutdown(fd, SHUT_RDWR);
    thread_.join();
    ::close(listen_fd_);
  }

  std::string url(const std::string& path = "/") const {
    return "http://127.0.0.1:" + std::to_string(port_) + path;
  }
  int port() const { return port_; }
  int connections() const { return connections_; }
  int requests() const { return static_cast<int>(requests_); }
  std::vector<std::string> heads() const {
    std::lock_guard lock(mutex_);
    return heads_;
  }

 private:
  void accept_loop() {
    while (!stopping_) {
      const int fd = ::accept(listen_fd_, nullptr, nullptr);
      if (fd < 0) continue;
      ++connections_;
      connection_fd_ = fd;
      serve(fd);
      connection_fd_ = -1;
      ::close(fd);
    }
  }

  void serve(int fd) {
    std::string buffer;
    while (read_request(fd, buffer)) {
      const Reply& r = replies_[std::min(requests_++, replies_.size() - 1)];
      if (r.hang) {
        while (fill(fd, buffer)) {
        }
        return;
      }
      for (size_t sent = 0; sent < r.raw.size();) {
        const ssize_t n = ::send(fd, r.raw.data() + sent, r.raw.size() - sent, MSG_NOSIGNAL);
        if (n <= 0) return;
        sent += static_cast<size_t>(n);
      }
      if (r.then_close) return;
    }
  }

  static bool fill(int fd, std::string& buffer) {
    char chunk[16384];
    const ssize_t n = ::recv(fd, chunk, sizeof chunk, 0);
    if (n <= 0) return false;
    buffer.append(chunk, static_cast<size_t>(n));
    return true;
  }

  // Reads one request (head and Content-Length body) off `buffer`; false when the peer closed.
  bool read_request(int fd, std::string& buffer) {
    size_t end;
    while ((end = buffer.find("\r\n\r\n")) == std::string::npos) {
      if (!fill(fd, buffer)) return false;
    }
    std::string head = buffer.substr(0, end + 4);
    std::transform(head.begin(), head.end(), head.begin(),
                   [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    size_t length = 0;
    if (const size_t at = head.find("\r\ncontent-length:"); at != std::string::npos) {
      length = std::stoul(head.substr(at + 17));
    }
    while (buffer.size() < end + 4 + length) {
      if (!fill(fd, buffer)) return false;
    }
    buffer.erase(0, end + 4 + length);
    std::lock_guard lock(mutex_);
    heads_.push_back(std::move(head));
    return true;
  }

  std::vector<Reply> replies_;
  int listen_fd_ = -1;
  int port_ = 0;
  std::atomic<bool> stopping_{false};
  std::atomic<int> connection_fd_{-1};
  std::atomic<int> connections_{0};
  std::atomic<size_t> requests_{0};
  mutable std::mutex mutex_;
  std::vector<std::string> heads_;  // lower-cased
  std::thread thread_;
};

HttpRequest get(const std::string& url) {
  HttpRequest r;
  r.url = url;
  r.connect_timeout_ms = 2000;
  r.timeout_ms = 5000;
  return r;
}

TEST(HttpClient, ConsecutiveRequestsShareOneConnection) {
  ScriptedServer server({{reply(200, "one")}, {reply(200, "two")}, {reply(404, "three")}});
  {
    HttpClient client;
    for (const char* expected : {"one", "two", "three"}) {
      auto r = client.send(get(server.url("/x?a=1")));
      ASSERT_TRUE(r.is_ok()) << r.status().message();
      EXPECT_EQ(r->body, expected);
      EXPECT_EQ(client.last_failure(), HttpFailure::kNone);
    }
    EXPECT_EQ(server.connections(), 1);
    EXPECT_EQ(client.connections_opened(), 1);
  }  // closes its connection (the server serves one at a time)
  // A one-shot request opens its own.
  ASSERT_TRUE(http_request(get(server.url())).is_ok());
  EXPECT_EQ(server.connections(), 2);
}

TEST(HttpClient, A503IsRetriedForAGetButNeverForAPost) {
  ScriptedServer server({{reply(503, "busy")}, {reply(503, "busy")}, {reply(200, "done")}});
  HttpClient client;
  HttpRequest r = get(server.url());
  r.retries = 2;
  auto got = client.send(r);
  ASSERT_TRUE(got.is_ok()) << got.status().message();
  EXPECT_EQ(got->status, 200);
  EXPECT_EQ(server.requests(), 3);

  ScriptedServer busy({{reply(503, "busy")}});
  r.url = busy.url();
  r.method = "POST";
  r.body = "{}";
  auto posted = client.send(r);
  ASSERT_TRUE(posted.is_ok());
  EXPECT_EQ(posted->status, 503);
  EXPECT_EQ(busy.requests(), 1);  // the server may have acted on it: not sent again

  // Never more than kMaxRetries, whatever is asked.
  r.method = "GET";
  r.retries = 100;
  ASSERT_TRUE(client.send(r).is_ok());
  EXPECT_EQ(busy.requests(), 1 + 1 + kMaxRetries);
}

TEST(HttpClient, ARefusedConnectionIsNamedAndRetriedWithBackoff) {
  int port = 0;
  {
    ScriptedServer gone({{reply(200, "")}});
    port = gone.port();
  }  // closed: nothing listens there now
  HttpClient client;
  HttpRequest r = get("http://127.0.0.1:" + std::to_string(port) + "/");
  r.method = "POST";  // nothing was sent, so even a POST may go again
  r.retries = 2;
  const auto started = Clock::now();
  auto got = client.send(r);
  ASSERT_FALSE(got.is_ok());
  EXPECT_EQ(client.last_failure(), HttpFailure::kCannotConnect);
  EXPECT_NE(got.status().message().find("127.0.0.1:" + std::to_string(port)), std::string::npos);
  EXPECT_GE(Clock::now() - started, std::chrono::milliseconds(kRetryBackoffMs * 3));
}

TEST(HttpClient, AKeyGoesInClearOnlyToThisMachine) {
  HttpClient client;
  for (const char* header : {"X-API-Key", "authorization", "Cookie"}) {
    HttpRequest r = get("http://192.0.2.1:8000/api/sync/pull");  // TEST-NET: never reached
    r.headers = {{header, "secret"}};
    const auto started = Clock::now();
    auto got = client.send(r);
    ASSERT_FALSE(got.is_ok()) << header;
    EXPECT_EQ(got.status().code(), StatusCode::kInvalidArgument);
    EXPECT_EQ(client.last_failure(), HttpFailure::kInsecure);
    EXPECT_NE(got.status().message().find("use https://"), std::string::npos);
    EXPECT_LT(Clock::now() - started, std::chrono::milliseconds(100));  // refused, not tried
  }
  // The rule is on the parsed host: a name that starts like a loopback address is another one.
  HttpRequest lookalike = get("http://127.0.0.1.evil.example/");
  lookalike.headers = {{"X-API-Key", "secret"}};
  EXPECT_EQ(client.send(lookalike).status().code(), StatusCode::kInvalidArgument);

  ScriptedServer server({{reply(200, "ok")}});
  HttpRequest local = get(server.url());
  local.headers = {{"X-API-Key", "secret"}};
  ASSERT_TRUE(client.send(local).is_ok());
  EXPECT_NE(server.heads().at(0).find("x-api-key: secret"), std::string::npos);
}

TEST(HttpClient, ALoopbackRequestNeverGoesThroughAProxy) {
  ScriptedServer server({{reply(200, "direct")}});
  ::setenv("http_proxy", "http://127.0.0.1:1", 1);  // nothing there: using it would fail
  ::setenv("ALL_PROXY", "http://127.0.0.1:1", 1);
  auto got = HttpClient().send(get(server.url()));
  ::unsetenv("http_proxy");
  ::unsetenv("ALL_PROXY");
  ASSERT_TRUE(got.is_ok()) << got.status().message();
  EXPECT_EQ(got->body, "direct");
}

TEST(HttpClient, ALargeBodyGoesWithoutWaitingFor100Continue) {
  ScriptedServer server({{reply(200, "ok")}});
  HttpRequest r = get(server.url());
  r.method = "POST";
  r.body = std::string(2 << 20, 'x');
  r.headers = {{"Content-Type", "application/json"}};
  const auto started = Clock::now();
  ASSERT_TRUE(HttpClient().send(r).is_ok());
  EXPECT_LT(Clock::now() - started, std::chrono::milliseconds(900));
  const std::string head = server.heads().at(0);
  EXPECT_EQ(head.find("expect:"), std::string::npos) << head;
  EXPECT_NE(head.find("content-length: 2097152"), std::string::npos) << head;
}

TEST(HttpClient, OversizedCutAndStalledRepliesAreErrorsThatSaySo) {
  {
    ScriptedServer server({{reply(200, std::string(1000, 'x'))}});
    HttpClient client;
    HttpRequest r = get(server.url());
    r.max_response_bytes = 999;
    auto got = client.send(r);
    ASSERT_FALSE(got.is_ok());
    EXPECT_EQ(client.last_failure(), HttpFailure::kTooLarge);
    EXPECT_NE(got.status().message().find("larger than 999 bytes"), std::string::npos);
  }
  {
    // A chunked body cut before its last chunk: what arrived reached the sink, and the
    // transfer is an error (a download resumes from there).
    ScriptedServer server({{"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n",
                            /*then_close=*/true}});
    HttpClient client;
    std::string sunk;
    auto got = client.send(get(server.url()), [&](long status, const char* data, size_t n) {
      EXPECT_EQ(status, 200);
      sunk.append(data, n);
      return true;
    });
    ASSERT_FALSE(got.is_ok());
    EXPECT_EQ(client.last_failure(), HttpFailure::kConnectionBroken);
    EXPECT_EQ(sunk, "hello");
  }
  {
    ScriptedServer server({{"", false, /*hang=*/true}});
    HttpClient client;
    HttpRequest r = get(server.url());
    r.timeout_ms = 0;
    r.low_speed_bytes = 1;
    r.low_speed_seconds = 1;
    r.retries = 3;  // a timeout is never retried: the server may be acting on the request
    auto got = client.send(r);
    ASSERT_FALSE(got.is_ok());
    EXPECT_EQ(client.last_failure(), HttpFailure::kTimeout);
    EXPECT_NE(got.status().message().find("timed out"), std::string::npos);
    EXPECT_EQ(server.requests(), 1);
  }
}

TEST(HttpClient, AnUnreadableCaFileIsNamed) {
  ScriptedServer server({{reply(200, "")}});
  HttpClient client;
  HttpRequest r = get("https://127.0.0.1:" + std::to_string(server.port()) + "/");
  r.ca_file = "/nonexistent/cert.pem";
  ASSERT_FALSE(client.send(r).is_ok());
  EXPECT_EQ(client.last_failure(), HttpFailure::kBadCaFile);
}

}  // namespace
}  // namespace mcpmem
