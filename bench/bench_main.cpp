// mcp_bench: the figures of `make bench`, one line each as `BENCH <name> <value> <unit>`.
// Data: 100k generated memories (seeded Zipf-ish vocabulary, 10-40 words, 50 tags, a year of
// timestamps) stored through MemoryService into a database cached under --data-dir. Each
// figure's method is in docs/perf.md. Query embeddings are made before timing vector search.
#include <sqlite3.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <string>
#include <thread>
#include <vector>

#include "bench/bench_report.h"
#include "bench/generated_memories.h"
#include "bench/http_bench.h"
#include "embed/embedder.h"
#include "index/vector_index.h"
#include "service/memory_service.h"
#include "storage/database.h"

namespace {

using namespace mcpmem;
namespace fs = std::filesystem;
using bench::bulk_store;
using bench::Clock;
using bench::kDataVersion;
using bench::ms_since;
using bench::percentile;
using bench::report;
using bench::TextGen;

constexpr size_t kMemories = 100000;
constexpr size_t kQueries = 200;

double single_stores(const std::string& db, size_t n, bool dedup) {
  for (const char* s : {"", "-wal", "-shm"}) fs::remove(db + s);
  auto service = MemoryService::open(bench::bench_config(db, dedup));
  if (!service.is_ok()) std::exit(1);
  TextGen gen(17);
  auto reqs = bench::requests(gen, n);
  auto t = Clock::now();
  for (auto& r : reqs) {
    r.created_at.reset();
    if (!(*service)->store(r).is_ok()) std::exit(1);
  }
  return static_cast<double>(n) / (ms_since(t) / 1000.0);
}

struct ChildRun {
  double wall_ms;
  long max_rss_kb;
};

ChildRun run_child(const std::vector<std::string>& args) {
  std::vector<char*> argv;
  std::vector<std::string> copy = args;
  for (auto& a : copy) argv.push_back(a.data());
  argv.push_back(nullptr);
  auto t = Clock::now();
  pid_t pid = fork();
  if (pid == 0) {
    if (!freopen("/dev/null", "w", stdout)) _exit(127);
    execv(argv[0], argv.data());
    _exit(127);
  }
  int status = 0;
  struct rusage usage {};
  wait4(pid, &status, 0, &usage);
  return {ms_since(t), usage.ru_maxrss};
}

void sqlite_vec_figure(const std::string& extension,
                       const std::vector<std::pair<int64_t, std::vector<float>>>& rows,
                       const std::vector<std::vector<float>>& queries, double our_p50) {
  sqlite3* db = nullptr;
  sqlite3_open(":memory:", &db);
  sqlite3_enable_load_extension(db, 1);
  char* err = nullptr;
  if (sqlite3_load_extension(db, extension.c_str(), nullptr, &err) != SQLITE_OK) {
    std::fprintf(stderr, "bench: cannot load sqlite-vec (%s): %s\n", extension.c_str(),
                 err ? err : "?");
    sqlite3_free(err);
    sqlite3_close(db);
    return;
  }
  const size_t dim = queries[0].size();
  std::string ddl = "CREATE VIRTUAL TABLE v USING vec0(embedding float[" + std::to_string(dim) +
                    "] distance_metric=cosine)";
  sqlite3_exec(db, ddl.c_str(), nullptr, nullptr, nullptr);
  sqlite3_exec(db, "BEGIN", nullptr, nullptr, nullptr);
  sqlite3_stmt* ins = nullptr;
  sqlite3_prepare_v2(db, "INSERT INTO v(rowid, embedding) VALUES (?, ?)", -1, &ins, nullptr);
  for (const auto& [id, vec] : rows) {
    sqlite3_bind_int64(ins, 1, id);
    sqlite3_bind_blob(ins, 2, vec.data(), static_cast<int>(vec.size() * 4), SQLITE_STATIC);
    sqlite3_step(ins);
    sqlite3_reset(ins);
  }
  sqlite3_finalize(ins);
  sqlite3_exec(db, "COMMIT", nullptr, nullptr, nullptr);
  sqlite3_stmt* q = nullptr;
  sqlite3_prepare_v2(db, "SELECT rowid, distance FROM v WHERE embedding MATCH ? AND k = 10", -1, &q,
                     nullptr);
  std::vector<double> times;
  for (size_t i = 0; i < std::min<size_t>(queries.size(), 50); ++i) {
    auto t = Clock::now();
    sqlite3_bind_blob(q, 1, queries[i].data(), static_cast<int>(dim * 4), SQLITE_STATIC);
    int n = 0;
    while (sqlite3_step(q) == SQLITE_ROW) ++n;
    sqlite3_reset(q);
    times.push_back(ms_since(t));
    if (n != 10) std::fprintf(stderr, "bench: sqlite-vec returned %d rows\n", n);
  }
  sqlite3_finalize(q);
  sqlite3_close(db);
  double p50 = percentile(times, 0.5);
  report("sqlitevec_p50_ms_100k", p50, "ms");
  report("speedup_vs_sqlitevec", p50 / our_p50, "x");
}

// A child process speaking newline-delimited JSON-RPC on pipes (an MCP server on stdio).
class StdioChild {
 public:
  explicit StdioChild(std::vector<std::string> argv, const std::string& db_env) {
    int to_child[2], from_child[2];
    if (pipe(to_child) != 0 || pipe(from_child) != 0) std::exit(1);
    started_ = Clock::now();
    pid_ = fork();
    if (pid_ == 0) {
      dup2(to_child[0], 0);
      dup2(from_child[1], 1);
      close(to_child[1]);
      close(from_child[0]);
      if (!freopen("/dev/null", "w", stderr)) _exit(127);
      if (!db_env.empty()) setenv("MCP_MEMORY_SQLITE_PATH", db_env.c_str(), 1);
      setenv("MEMORY_FILE_PATH", "/tmp/mcp-memory-bench-peer.jsonl", 1);
      std::vector<char*> args;
      for (auto& a : argv) args.push_back(a.data());
      args.push_back(nullptr);
      execvp(args[0], args.data());
      _exit(127);
    }
    close(to_child[0]);
    close(from_child[1]);
    in_ = fdopen(to_child[1], "w");
    out_ = fdopen(from_child[0], "r");
  }
  ~StdioChild() {
    fclose(in_);
    char buf[4096];
    while (fgets(buf, sizeof buf, out_)) {
    }
    fclose(out_);
    int status = 0;
    waitpid(pid_, &status, 0);
  }
  std::string request(const std::string& line) {
    fputs((line + "\n").c_str(), in_);
    fflush(in_);
    std::string reply;
    char buf[65536];
    while (fgets(buf, sizeof buf, out_)) {
      reply += buf;
      if (!reply.empty() && reply.back() == '\n') break;
    }
    return reply;
  }
  double ms_since_start() const { return ms_since(started_); }
  long rss_kb() const {
    std::FILE* f = std::fopen(("/proc/" + std::to_string(pid_) + "/status").c_str(), "r");
    long kb = 0;
    char line[256];
    while (f && std::fgets(line, sizeof line, f)) {
      if (std::sscanf(line, "VmRSS: %ld kB", &kb) == 1) break;
    }
    if (f) std::fclose(f);
    return kb;
  }

 private:
  pid_t pid_ = 0;
  std::FILE* in_ = nullptr;
  std::FILE* out_ = nullptr;
  Clock::time_point started_;
};

const char* kInitialize =
    R"({"jsonrpc":"2.0","id":0,"method":"initialize","params":{"protocolVersion":"2025-11-25",)"
    R"("capabilities":{},"clientInfo":{"name":"bench","version":"1"}}})";

// Median time from spawning `argv` to its initialize reply.
double init_ms(const std::vector<std::string>& argv, const std::string& db, int runs) {
  std::vector<double> t;
  for (int i = 0; i < runs; ++i) {
    StdioChild child(argv, db);
    std::string reply = child.request(kInitialize);
    t.push_back(child.ms_since_start());
    if (reply.find("protocolVersion") == std::string::npos) {
      std::fprintf(stderr, "bench: no initialize reply from %s\n", argv[0].c_str());
      return -1;
    }
  }
  return percentile(t, 0.5);
}

}  // namespace

int main(int argc, char** argv) {
  std::string data_dir = "build/bench-data", binary = "build/mcp-memory",
              extension = "node_modules/sqlite-vec-linux-x64/vec0";
  bool bulk_only = false;  // --bulk-only: just bulk_store_per_s (for profiling the write path)
  bool http_only = false;  // --http-only: just the HTTPS search figures
  for (int i = 1; i < argc; ++i) {
    if (std::string(argv[i]) == "--bulk-only") bulk_only = true;
    if (std::string(argv[i]) == "--http-only") http_only = true;
  }
  for (int i = 1; i + 1 < argc; i += 2) {
    std::string flag = argv[i];
    if (flag == "--data-dir") data_dir = argv[i + 1];
    if (flag == "--binary") binary = argv[i + 1];
    if (flag == "--sqlite-vec") extension = argv[i + 1];
  }
  fs::create_directories(data_dir);
  if (bulk_only) {
    report("bulk_store_per_s", bulk_store(data_dir + "/scratch.db", 50000, 5), "1/s");
    return 0;
  }
  const std::string db10k = data_dir + "/bench-10k-" + kDataVersion + ".db";
  if (!bench::ensure_generated_db(db10k, 10000, 2)) return 1;
  if (http_only) return bench::bench_http_search(binary, db10k, data_dir, 16, 10) ? 0 : 1;
  const std::string db100k = data_dir + "/bench-100k-" + kDataVersion + ".db";
  const std::string scratch = data_dir + "/scratch.db";

  // The 100k database is made in a child process, so this process stays small: a child's peak
  // RSS (ru_maxrss) also counts the memory it was forked with.
  if (!bench::ensure_generated_db(db100k, kMemories, 1)) return 1;
  std::vector<std::string> probe_queries;
  {
    TextGen qgen(12345);
    probe_queries.push_back(qgen.sentence());
  }
  // Whole processes: first answer of `stats`, and peak memory of a search.
  std::vector<double> opens;
  for (int i = 0; i < 11; ++i) {
    opens.push_back(run_child({binary, "--db-path", db100k, "stats", "--json"}).wall_ms);
  }
  report("open_ms_100k", percentile(opens, 0.5), "ms");
  ChildRun s = run_child({binary, "--db-path", db100k, "search", probe_queries[0], "--json"});
  report("rss_mb_100k", static_cast<double>(s.max_rss_kb) / 1024.0, "MB");
  report("cli_search_ms_100k", s.wall_ms, "ms");

  // MCP over stdio: start-up to the initialize reply (ours vs the reference memory server),
  // idle memory, and a search round trip on 10k memories.
  {
    report("mcp_init_ms_100k", init_ms({binary, "serve"}, db100k, 11), "ms");
    const std::string peer = fs::path(extension).parent_path().parent_path().string() +
                             "/@modelcontextprotocol/server-memory/dist/index.js";
    if (fs::exists(peer)) report("peer_init_ms", init_ms({"node", peer}, "", 5), "ms");
    const std::string empty = data_dir + "/empty.db";
    for (const char* suffix : {"", "-wal", "-shm"}) fs::remove(empty + suffix);
    StdioChild idle({binary, "serve"}, empty);
    idle.request(kInitialize);
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
    report("mcp_rss_mb_idle", static_cast<double>(idle.rss_kb()) / 1024.0, "MB");
  }
  {
    StdioChild server({binary, "serve"}, db10k);
    server.request(kInitialize);
    TextGen qgen(777);
    std::vector<double> rt;
    for (int i = 0; i < 220; ++i) {
      std::string q = qgen.sentence();
      auto t = Clock::now();
      std::string reply = server.request(
          R"({"jsonrpc":"2.0","id":)" + std::to_string(i + 1) +
          R"(,"method":"tools/call","params":{"name":"memory_search","arguments":{"query":")" + q +
          R"(","limit":10}}})");
      if (i >= 20) rt.push_back(ms_since(t));  // the first ones wait for the index to load
      if (reply.find("Found") == std::string::npos) return 1;
    }
    report("mcp_search_p50_ms_10k", percentile(rt, 0.5), "ms");
    // REST search over HTTPS keep-alive: 16 clients, 10 s.
    if (!bench::bench_http_search(binary, db10k, data_dir, 16, 10)) return 1;
  }

  // Embedding throughput.
  {
    auto embedder = make_embedder("hash-384");
    TextGen gen(3);
    std::vector<std::string> texts;
    for (int i = 0; i < 20000; ++i) texts.push_back(gen.sentence());
    std::vector<float> out(384);
    auto t = Clock::now();
    for (const auto& s : texts) (void)(*embedder)->embed(s, out);
    report("embed_per_s", 20000.0 / (ms_since(t) / 1000.0), "1/s");
  }
  report("bulk_store_per_s", bulk_store(scratch, 50000, 5), "1/s");
  report("store_per_s", single_stores(scratch, 1000, true), "1/s");
  report("store_per_s_nodedup", single_stores(scratch, 1000, false), "1/s");

  // Index load, then vector search on the same vectors.
  auto t_open = Clock::now();
  auto service = MemoryService::open(bench::bench_config(db100k, false));
  if (!service.is_ok() || !(*service)->wait_for_index().is_ok()) return 1;
  report("index_load_ms_100k", ms_since(t_open), "ms");

  auto db = Database::open(db100k, OpenOptions{});
  if (!db.is_ok()) return 1;
  VectorIndex index(384);
  index.reserve(kMemories);
  std::vector<std::pair<int64_t, std::vector<float>>> rows;
  rows.reserve(kMemories);
  (void)(*db)->scan_embeddings(384, [&](int64_t id, std::span<const float> v) {
    (void)index.upsert(id, v);
    rows.emplace_back(id, std::vector<float>(v.begin(), v.end()));
    return true;
  });
  TextGen qgen(12345);
  std::vector<std::string> query_texts;
  std::vector<std::vector<float>> queries;
  for (size_t i = 0; i < kQueries; ++i) {
    query_texts.push_back(qgen.sentence());
    queries.push_back((*service)->embedder().embed(query_texts.back()));
  }
  std::vector<double> times;
  for (const auto& q : queries) {
    auto t = Clock::now();
    auto hits = index.search(q, 10);
    times.push_back(ms_since(t));
    if (hits.size() != 10) return 1;
  }
  const double p50 = percentile(times, 0.5);
  report("search_p50_ms_100k", p50, "ms");
  report("search_p99_ms_100k", percentile(times, 0.99), "ms");
  index.set_simd_level(SimdLevel::kScalar);
  times.clear();
  for (size_t i = 0; i < 50; ++i) {
    auto t = Clock::now();
    (void)index.search(queries[i], 10);
    times.push_back(ms_since(t));
  }
  report("search_scalar_p50_ms_100k", percentile(times, 0.5), "ms");

  times.clear();
  for (const auto& text : query_texts) {
    SearchRequest r;
    r.query = text;
    auto t = Clock::now();
    if (!(*service)->search(r).is_ok()) return 1;
    times.push_back(ms_since(t));
  }
  report("search_e2e_p50_ms_100k", percentile(times, 0.5), "ms");
  times.clear();
  for (size_t i = 0; i < 50; ++i) {
    SearchRequest r;
    r.query = query_texts[i];
    r.tags = {"tag" + std::to_string(i % 50)};
    auto t = Clock::now();
    if (!(*service)->search(r).is_ok()) return 1;
    times.push_back(ms_since(t));
  }
  report("search_filtered_p50_ms_100k", percentile(times, 0.5), "ms");

  sqlite_vec_figure(extension, rows, queries, p50);
  rows.clear();
  rows.shrink_to_fit();
  service->reset();

  fs::remove(scratch);
  return 0;
}
