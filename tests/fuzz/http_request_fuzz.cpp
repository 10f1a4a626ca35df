// Fuzzes the HTTP server's request handling (STYLE §15) under ASan + UBSan: a real HttpServer
// on loopback is sent generated requests over real sockets: bytes, broken and conflicting
// framing (Content-Length and chunked in every malformed shape), percent escapes, oversized and
// repeated headers, Expect, encodings, pipelining, truncation, and clients that vanish
// mid-request. After every batch the server must still answer a normal request; the sanitizers
// abort on any memory error. url_decode and parse_query get raw bytes too.
// Usage: http_request_fuzz [--seconds N] [--seed S]
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstring>
#include <random>
#include <string>
#include <thread>

#include "http/http_server.h"
#include "platform/url.h"

namespace mcpmem {
namespace {

using Rng = std::mt19937_64;

std::string pick(Rng& rng, std::initializer_list<const char*> options) {
  auto it = options.begin();
  std::advance(it, rng() % options.size());
  return *it;
}

std::string random_bytes(Rng& rng, size_t max) {
  std::string s(rng() % (max + 1), '\0');
  for (char& c : s) c = static_cast<char>(rng() % 256);
  return s;
}

std::string target(Rng& rng) {
  std::string t = pick(rng, {"/api/health", "/echo", "/m/", "/sse", "/", "*", "", "//x",
                             "http://127.0.0.1/echo", "/m/%", "/m/%zz", "/m/%00%0a"});
  const int extra = static_cast<int>(rng() % 4);
  for (int i = 0; i < extra; ++i) {
    t += pick(rng, {"a", "%41", "%", "?", "&", "=", "+", "?api_key=k", "/..", "%2F", "\x7f"});
  }
  if (rng() % 16 == 0) t += std::string(rng() % 20000, 'a');
  if (rng() % 16 == 0) t += random_bytes(rng, 40);
  return t;
}

std::string chunked_body(Rng& rng) {
  std::string b;
  const int chunks = static_cast<int>(rng() % 5);
  for (int i = 0; i < chunks; ++i) {
    const std::string data = random_bytes(rng, 64);
    char size[32];
    std::snprintf(size, sizeof size, "%zx", data.size());
    b += pick(rng, {"", "", "", "0x", "-", " "}) + std::string(size) +
         pick(rng, {"", "", ";ext=1", ";", "\n"}) + "\r\n" + data + "\r\n";
  }
  if (rng() % 4 != 0) b += "0\r\n" + pick(rng, {"", "X-Trailer: 1\r\n", "bad"}) + "\r\n";
  return b;
}

std::string request(Rng& rng) {
  std::string r = pick(rng, {"GET", "POST", "PUT", "DELETE", "HEAD", "OPTIONS", "PATCH", "get", "",
                             "G\x01T", "CONNECT"});
  r += pick(rng, {" ", " ", "  ", "\t"}) + target(rng) + " " +
       pick(rng, {"HTTP/1.1", "HTTP/1.1", "HTTP/1.0", "HTTP/2", "HTTP/1.1x", ""}) + "\r\n";
  if (rng() % 8 != 0)
    r += "Host: " + pick(rng, {"127.0.0.1", "localhost:1", "evil.com", ""}) + "\r\n";
  if (rng() % 2 == 0) r += "X-API-Key: " + pick(rng, {"k", "wrong", ""}) + "\r\n";
  const int headers = static_cast<int>(rng() % 6);
  for (int i = 0; i < headers; ++i) {
    r += pick(rng, {"Origin: http://evil.com", "Origin: null", "Expect: 100-continue",
                    "Content-Encoding: gzip", "Content-Encoding: identity", "Connection: close",
                    "Connection: keep-alive", "Range: bytes=0-1,2-3", "Last-Event-ID: 99999",
                    "Transfer-Encoding: gzip, chunked", "Content-Length: -1",
                    "Content-Length: 99999999999999999999", "Content-Length: 5, 6", "X: \x01",
                    ": no-name", "NoColon"}) +
         "\r\n";
  }
  if (rng() % 64 == 0) {
    for (int i = 0; i < 150; ++i) r += "X-Many-" + std::to_string(i) + ": 1\r\n";
  }
  if (rng() % 64 == 0) r += "X-Big: " + std::string(20000, 'b') + "\r\n";
  std::string body;
  switch (rng() % 4) {
    case 0:
      break;
    case 1:
      body = random_bytes(rng, 200);
      r += "Content-Length: " + std::to_string(body.size() + rng() % 3) + "\r\n";
      break;
    case 2:
      r += "Transfer-Encoding: chunked\r\n";
      body = chunked_body(rng);
      break;
    default:
      body = random_bytes(rng, 50);  // a body with no framing
  }
  r += "\r\n" + body;
  if (rng() % 8 == 0) r = r.substr(0, rng() % (r.size() + 1));  // cut anywhere
  if (rng() % 32 == 0) r = random_bytes(rng, 300);
  return r;
}

int connect_to(int port) {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in at{};
  at.sin_family = AF_INET;
  at.sin_port = htons(static_cast<uint16_t>(port));
  at.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (connect(fd, reinterpret_cast<sockaddr*>(&at), sizeof at) != 0) {
    close(fd);
    return -1;
  }
  return fd;
}

// Sends `text`, then reads what comes back for up to `wait_ms` (or until the server closes).
std::string exchange(int port, const std::string& text, int wait_ms) {
  int fd = connect_to(port);
  if (fd < 0) return "";
  (void)send(fd, text.data(), text.size(), MSG_NOSIGNAL);
  std::string reply;
  char buf[4096];
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(wait_ms);
  while (std::chrono::steady_clock::now() < deadline) {
    pollfd p{fd, POLLIN, 0};
    if (poll(&p, 1, 10) <= 0) continue;
    ssize_t n = recv(fd, buf, sizeof buf, 0);
    if (n <= 0) break;
    reply.append(buf, static_cast<size_t>(n));
  }
  close(fd);
  return reply;
}

int run(int seconds, uint64_t seed) {
  HttpOptions options;
  options.port = 0;
  options.api_key = "k";
  auto created = HttpServer::create(options);
  if (!created.is_ok()) {
    std::fprintf(stderr, "cannot start the server: %s\n", created.status().message().c_str());
    return 1;
  }
  HttpServer& server = **created;
  server.open_path("/api/health");
  server.get("/api/health", [](const Request&) {
    Response r;
    r.set_content("{\"status\":\"ok\"}", "application/json");
    return r;
  });
  server.post("/echo", [](const Request& q) {
    Response r;
    r.set_content(q.body + q.param("x"), "application/octet-stream");
    return r;
  });
  server.get(R"(/m/([^/]*))", [](const Request& q) {
    Response r;
    r.set_content(q.matches.at(1), "text/plain");
    return r;
  });
  server.get("/sse", [](const Request&) {
    Response r;
    r.set_header("Content-Type", "text/event-stream");
    r.stream = [](std::shared_ptr<ResponseStream> s) {
      s->write("data: 1\n\n");
      s->close();
    };
    return r;
  });
  std::thread loop([&] { (void)server.run(); });
  while (!server.running()) std::this_thread::sleep_for(std::chrono::milliseconds(1));

  Rng rng(seed);
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(seconds);
  int64_t sent = 0;
  while (std::chrono::steady_clock::now() < deadline) {
    for (int i = 0; i < 20; ++i, ++sent) {
      std::string text = request(rng);
      if (rng() % 4 == 0) text += request(rng);  // pipelined
      (void)exchange(server.port(), text, rng() % 8 == 0 ? 0 : 30);
      const std::string raw = random_bytes(rng, 64);
      (void)url_decode(raw, rng() % 2 == 0);
      (void)parse_query(raw);
    }
    const std::string health =
        exchange(server.port(),
                 "GET /api/health HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n", 2000);
    if (health.rfind("HTTP/1.1 200", 0) != 0) {
      std::fprintf(stderr, "after %lld requests the server no longer answers: %s\n",
                   static_cast<long long>(sent), health.c_str());
      server.stop();
      loop.join();
      return 1;
    }
  }
  server.stop();
  loop.join();
  std::printf("http_request_fuzz: %lld requests, server healthy\n", static_cast<long long>(sent));
  return 0;
}

}  // namespace
}  // namespace mcpmem

int main(int argc, char** argv) {
  int seconds = 10;
  uint64_t seed = 1;
  for (int i = 1; i + 1 < argc; i += 2) {
    if (std::strcmp(argv[i], "--seconds") == 0) seconds = std::atoi(argv[i + 1]);
    if (std::strcmp(argv[i], "--seed") == 0) seed = std::strtoull(argv[i + 1], nullptr, 10);
  }
  return mcpmem::run(seconds, seed);
}
