// HTTP search throughput: the real server process (self-signed certificate, API key), clients
// in this process on the same 2 cores, each on one keep-alive TLS connection with
// certificate verification (one HttpClient per thread: libcurl, as every client of ours),
// queries drawn from the 10k database's own vocabulary. Then the same searches while 10,000
// other TLS connections sit idle after one request each (a hub's spokes, or an attacker's
// sockets), and the server's RSS with them open.
#include "bench/http_bench.h"

#include <fcntl.h>
#include <netinet/in.h>
#include <openssl/ssl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <functional>
#include <random>
#include <regex>
#include <thread>
#include <vector>

#include "platform/http_client.h"
#include "platform/open_file_limit.h"

extern char** environ;

namespace mcpmem::bench {
namespace {

using Clock = std::chrono::steady_clock;

std::string slurp(const std::string& path) {
  std::ifstream in(path);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

constexpr int kIdleConnections = 10'000;

// TLS connections that each made one request (GET /api/health) and then stay open, idle.
class IdleConnections {
 public:
  ~IdleConnections() {
    for (auto [fd, ssl] : open_) {
      SSL_free(ssl);
      close(fd);
    }
    if (ctx_ != nullptr) SSL_CTX_free(ctx_);
  }
  // False (with a message) when a connection could not be made.
  bool open(int port, const std::string& ca_file, int count) {
    ctx_ = SSL_CTX_new(TLS_client_method());
    SSL_CTX_load_verify_locations(ctx_, ca_file.c_str(), nullptr);
    SSL_CTX_set_verify(ctx_, SSL_VERIFY_PEER, nullptr);
    const std::string request = "GET /api/health HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n";
    for (int i = 0; i < count; ++i) {
      int fd = socket(AF_INET, SOCK_STREAM, 0);
      sockaddr_in at{};
      at.sin_family = AF_INET;
      at.sin_port = htons(static_cast<uint16_t>(port));
      at.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
      if (fd < 0 || connect(fd, reinterpret_cast<sockaddr*>(&at), sizeof at) != 0) {
        std::fprintf(stderr, "bench: idle connection %d: cannot connect\n", i);
        if (fd >= 0) close(fd);
        return false;
      }
      SSL* ssl = SSL_new(ctx_);
      SSL_set_fd(ssl, fd);
      open_.emplace_back(fd, ssl);
      char reply[4096];
      if (SSL_connect(ssl) != 1 ||
          SSL_write(ssl, request.data(), static_cast<int>(request.size())) <= 0 ||
          SSL_read(ssl, reply, sizeof reply) <= 0 || std::strncmp(reply, "HTTP/1.1 200", 12) != 0) {
        std::fprintf(stderr, "bench: idle connection %d: the request failed\n", i);
        return false;
      }
    }
    return true;
  }

 private:
  SSL_CTX* ctx_ = nullptr;
  std::vector<std::pair<int, SSL*>> open_;
};

double rss_mb(pid_t pid) {
  std::ifstream status("/proc/" + std::to_string(pid) + "/status");
  std::string line;
  while (std::getline(status, line)) {
    if (line.rfind("VmRSS:", 0) == 0) return std::atof(line.c_str() + 6) / 1024.0;
  }
  return 0;
}

double p99(const std::vector<double>& sorted) {
  return sorted.empty()
             ? 0
             : sorted[static_cast<size_t>(0.99 * static_cast<double>(sorted.size() - 1))];
}

}  // namespace

bool bench_http_search(const std::string& binary, const std::string& db,
                       const std::string& work_dir, int clients, int seconds) {
  namespace fs = std::filesystem;
  const std::string base = work_dir + "/http-bench";
  fs::remove_all(base);
  fs::create_directories(base);
  const std::string log = base + "/server.log", key = "bench-key";
  std::vector<std::string> env_strings = {
      "MCP_MEMORY_BASE_DIR=" + base, "MCP_MEMORY_SQLITE_PATH=" + db, "MCP_API_KEY=" + key,
      "MCP_BACKUP_ENABLED=false", "PATH=/usr/bin:/bin",
      // the idle ones and the measuring clients
      "MCP_HTTP_MAX_CONNECTIONS=" + std::to_string(kIdleConnections + 64)};
  raise_open_file_limit(kIdleConnections + 1024);
  std::vector<char*> envp;
  for (auto& e : env_strings) envp.push_back(e.data());
  envp.push_back(nullptr);
  std::vector<std::string> args = {binary, "serve", "--https", "--port", "0"};
  std::vector<char*> argv;
  for (auto& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, 2, log.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
  posix_spawn_file_actions_addopen(&actions, 1, "/dev/null", O_WRONLY, 0);
  pid_t pid = 0;
  if (posix_spawn(&pid, binary.c_str(), &actions, nullptr, argv.data(), envp.data()) != 0) {
    return false;
  }
  posix_spawn_file_actions_destroy(&actions);
  int port = 0;
  for (int i = 0; i < 200 && port == 0; ++i) {
    std::smatch m;
    std::string text = slurp(log);
    if (std::regex_search(text, m, std::regex(R"(serving https://127\.0\.0\.1:(\d+))"))) {
      port = std::stoi(m[1]);
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(25));
  }
  bool ok = port != 0;
  const std::string cert = base + "/tls/cert.pem";
  const std::string url = "https://127.0.0.1:" + std::to_string(port);
  // A request to the server: its key, its certificate as the only trust.
  auto request = [&](std::string method, const std::string& path, std::string body = "") {
    HttpRequest r;
    r.method = std::move(method);
    r.url = url + path;
    r.headers = {{"X-API-Key", key}};
    if (!body.empty()) r.headers.emplace_back("Content-Type", "application/json");
    r.body = std::move(body);
    r.ca_file = cert;
    return r;
  };
  const char* words[] = {"memory", "deploy", "release", "cache", "server", "backup", "sync",
                         "note",   "agent",  "search",  "index", "vector", "python", "tag"};
  // Warm-up: the first search waits for the index to load.
  if (ok) {
    HttpRequest warm = request("POST", "/api/search", R"({"query":"warm up"})");
    warm.timeout_ms = 60'000;
    auto r = http_request(warm);
    ok = r.is_ok() && r->status == 200;
  }
  // `clients` threads, each on one keep-alive TLS connection, calling `request` until the
  // deadline; returns requests per second and fills `latencies` (ms).
  using MakeRequest = std::function<HttpRequest(std::mt19937&)>;
  auto drive = [&](int seconds_to_run, const MakeRequest& make, std::vector<double>& all,
                   int64_t& failures) {
    std::atomic<int64_t> done{0}, failed{0};
    std::vector<std::vector<double>> latencies(static_cast<size_t>(clients));
    const auto deadline = Clock::now() + std::chrono::seconds(seconds_to_run);
    std::vector<std::thread> threads;
    for (int c = 0; c < clients; ++c) {
      threads.emplace_back([&, c] {
        HttpClient client;  // its connection stays open between requests
        std::mt19937 rng(static_cast<unsigned>(c + 1));
        while (Clock::now() < deadline) {
          const HttpRequest next = make(rng);
          auto t = Clock::now();
          auto r = client.send(next);
          latencies[static_cast<size_t>(c)].push_back(
              std::chrono::duration<double, std::milli>(Clock::now() - t).count());
          ++done;
          if (!r.is_ok() || r->status != 200) ++failed;
        }
      });
    }
    for (auto& t : threads) t.join();
    for (auto& l : latencies) all.insert(all.end(), l.begin(), l.end());
    std::sort(all.begin(), all.end());
    failures = failed.load();
    return static_cast<double>(done.load()) / seconds_to_run;
  };
  std::vector<double> search_ms, health_ms, idle_search_ms;
  int64_t search_failed = 0, health_failed = 0, idle_failed = 0;
  double search_rps = 0, health_rps = 0, idle_rss_mb = 0, busy_rss_mb = 0;
  if (ok) {
    search_rps = drive(
        seconds,
        [&](std::mt19937& rng) {
          std::string q =
              std::string(words[rng() % 14]) + " " + words[rng() % 14] + " " + words[rng() % 14];
          return request("POST", "/api/search", R"({"query":")" + q + R"(","n_results":10})");
        },
        search_ms, search_failed);
    health_rps = drive(
        std::max(1, seconds / 2),
        [&](std::mt19937&) { return request("GET", "/api/health/detailed"); }, health_ms,
        health_failed);

    busy_rss_mb = rss_mb(pid);
    IdleConnections idle;
    ok = idle.open(port, cert, kIdleConnections);
    if (ok) {
      drive(
          std::max(1, seconds / 2),
          [&](std::mt19937& rng) {
            std::string q =
                std::string(words[rng() % 14]) + " " + words[rng() % 14] + " " + words[rng() % 14];
            return request("POST", "/api/search", R"({"query":")" + q + R"(","n_results":10})");
          },
          idle_search_ms, idle_failed);
      idle_rss_mb = rss_mb(pid);
    }
  }
  kill(pid, SIGTERM);
  int status = 0;
  waitpid(pid, &status, 0);
  if (!ok || search_failed > 0 || health_failed > 0 || idle_failed > 0 || search_ms.empty() ||
      health_ms.empty() || idle_search_ms.empty()) {
    std::fprintf(stderr,
                 "bench: HTTP requests failed (%lld searches, %lld health checks, %lld with idle "
                 "connections open)\n%s",
                 static_cast<long long>(search_failed), static_cast<long long>(health_failed),
                 static_cast<long long>(idle_failed), slurp(log).c_str());
    return false;
  }
  std::printf("BENCH http_search_rps_10k %.1f 1/s\n", search_rps);
  std::printf("BENCH http_search_p99_ms_10k %.2f ms\n", p99(search_ms));
  std::printf("BENCH http_health_rps %.1f 1/s\n", health_rps);
  std::printf("BENCH http_idle_conns_10k_p99_ms %.2f ms\n", p99(idle_search_ms));
  std::printf("BENCH http_rss_mb_after_load %.1f MB\n", busy_rss_mb);
  std::printf("BENCH http_rss_mb_10k_idle %.1f MB\n", idle_rss_mb);
  std::fflush(stdout);
  return true;
}

}  // namespace mcpmem::bench
