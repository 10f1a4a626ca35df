// HTTP search throughput: the real server process (self-signed certificate, API key), clients
// in this process on the same 2 cores, each on one keep-alive TLS connection with
// certificate verification (one HttpClient per thread: libcurl, as every client of ours),
// queries drawn from the 10k database's own vocabulary.
#include "bench/http_bench.h"

#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <functional>
#include <random>
#include <regex>
#include <thread>
#include <vector>

#include "platform/http_client.h"

extern char** environ;

namespace mcpmem::bench {
namespace {

using Clock = std::chrono::steady_clock;

std::string slurp(const std::string& path) {
  std::ifstream in(path);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

}  // namespace

bool bench_http_search(const std::string& binary, const std::string& db,
                       const std::string& work_dir, int clients, int seconds) {
  namespace fs = std::filesystem;
  const std::string base = work_dir + "/http-bench";
  fs::remove_all(base);
  fs::create_directories(base);
  const std::string log = base + "/server.log", key = "bench-key";
  std::vector<std::string> env_strings = {"MCP_MEMORY_BASE_DIR=" + base,
                                          "MCP_MEMORY_SQLITE_PATH=" + db, "MCP_API_KEY=" + key,
                                          "MCP_BACKUP_ENABLED=false", "PATH=/usr/bin:/bin"};
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
  std::vector<double> search_ms, health_ms;
  int64_t search_failed = 0, health_failed = 0;
  double search_rps = 0, health_rps = 0;
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
  }
  kill(pid, SIGTERM);
  int status = 0;
  waitpid(pid, &status, 0);
  if (!ok || search_failed > 0 || health_failed > 0 || search_ms.empty() || health_ms.empty()) {
    std::fprintf(stderr, "bench: HTTP requests failed (%lld searches, %lld health checks)\n%s",
                 static_cast<long long>(search_failed), static_cast<long long>(health_failed),
                 slurp(log).c_str());
    return false;
  }
  std::printf("BENCH http_search_rps_10k %.1f 1/s\n", search_rps);
  std::printf("BENCH http_search_p99_ms_10k %.2f ms\n",
              search_ms[static_cast<size_t>(0.99 * static_cast<double>(search_ms.size() - 1))]);
  std::printf("BENCH http_health_rps %.1f 1/s\n", health_rps);
  std::fflush(stdout);
  return true;
}

}  // namespace mcpmem::bench
