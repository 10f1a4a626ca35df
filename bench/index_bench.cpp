// index_bench: the figures of issue 18 (vector search at a million memories), as
// `BENCH <name> <value> <unit>`, on generated hash-384 databases of 100k and 1M memories made
// once under --data-dir (bench-100k-<ver>.db is the one mcp_bench uses; bench-1m-<ver>.db):
//   hnsw_build_s_1m          `mcp-memory --db-path <1M> index rebuild`, process start to exit
//   cold_search_ms_100k/_1m  median wall time of a whole `mcp-memory search` process (semantic,
//                            top 10), 15 different queries, page cache warm (2 untimed runs);
//                            the persisted index is rebuilt (untimed at 100k) first
//   index_load_ms_1m         MemoryService::open (as a server) + wait_for_index on 1M
//   hnsw_ready_ms_1m         ... until its HNSW graph is ready (loaded from <db>.index.hnsw)
//   search_p50_ms_1m         MemoryService::search, semantic top 10, warm, 200 queries
//   recall10_1m              mean overlap of those top 10s with an exact top 10 (VectorIndex
//                            loaded with every stored vector, query embedded the same way)
//   exact_search_p50_ms_1m   the same searches with MCP_MEMORY_HNSW_THRESHOLD=0 (exact scans)
//   rss_mb_1m, rss_anon_mb_1m  VmHWM, and RssAnon at the end, of `serve --http` that answered
//                            100 POST /api/search once its graph was ready
//   sqlitevec_p50_ms_1m      sqlite-vec `vec0` KNN k = 10 over the same 1M vectors, same queries
//   speedup_vs_sqlitevec_1m  sqlitevec_p50_ms_1m / search_p50_ms_1m
// `index rebuild` is new in issue 18: where the binary lacks it, the figures that need it are
// skipped with a line on stderr and the others are measured against the index of the day.
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sqlite3.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <functional>
#include <optional>
#include <set>
#include <span>
#include <string>
#include <thread>
#include <vector>

#include "bench/bench_report.h"
#include "bench/generated_memories.h"
#include "embed/embedder.h"
#include "index/vector_index.h"
#include "platform/http_client.h"
#include "service/memory_service.h"
#include "storage/database.h"
#include "tests/free_port.h"

extern char** environ;

namespace {

using namespace mcpmem;
using namespace mcpmem::bench;
namespace fs = std::filesystem;

constexpr double kHnswReadyTimeoutS = 900;  // a graph built from nothing at 1M takes minutes
constexpr size_t kDimension = 384;
constexpr size_t k100k = 100'000, k1M = 1'000'000;
constexpr size_t kTopK = 10;
constexpr int kColdRuns = 15, kColdWarmups = 2;
constexpr size_t kWarmQueries = 200;
constexpr int kServerSearches = 100;
constexpr size_t kVecInsertsPerTransaction = 100'000;
constexpr size_t kVecMinQueries = 20;
constexpr double kVecQueryBudgetS = 90;  // sqlite-vec runs the 200 queries or this long
constexpr int kServerReadyTimeoutS = 120;
constexpr int kFirstSearchTimeoutMs = 600'000;

struct Paths {
  std::string data_dir, binary, sqlite_vec;
  std::string work() const { return data_dir + "/index-bench"; }
};

double seconds_since(Clock::time_point t) { return ms_since(t) / 1000.0; }

void phase_done(const char* phase, Clock::time_point t) {
  std::fprintf(stderr, "index_bench: %s took %.1f s\n", phase, seconds_since(t));
}

std::string slurp(const std::string& path) {
  std::ifstream in(path);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

struct ProcessRun {
  int exit_code = -1;  // -1: did not start or was killed
  double wall_ms = 0;
  std::string out, err;
};

// Runs `args` to completion (environment inherited), stdout and stderr captured in files under
// `work_dir`; the wall time spans spawn to exit.
ProcessRun run_process(const std::vector<std::string>& args, const std::string& work_dir) {
  const std::string out = work_dir + "/child.out", err = work_dir + "/child.err";
  std::vector<std::string> copy = args;
  std::vector<char*> argv;
  for (auto& a : copy) argv.push_back(a.data());
  argv.push_back(nullptr);
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, 1, out.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
  posix_spawn_file_actions_addopen(&actions, 2, err.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
  ProcessRun run;
  auto t = Clock::now();
  pid_t pid = 0;
  const int spawned = posix_spawn(&pid, argv[0], &actions, nullptr, argv.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  if (spawned != 0) return run;
  int status = 0;
  waitpid(pid, &status, 0);
  run.wall_ms = ms_since(t);
  if (WIFEXITED(status)) run.exit_code = WEXITSTATUS(status);
  run.out = slurp(out);
  run.err = slurp(err);
  return run;
}

std::vector<std::string> query_texts(unsigned seed, size_t n) {
  TextGen gen(seed);
  std::vector<std::string> out;
  for (size_t i = 0; i < n; ++i) out.push_back(gen.sentence());
  return out;
}

// `mcp-memory index` exists once issue 18 lands; an older binary answers "unknown command".
bool has_index_command(const Paths& p) {
  return run_process({p.binary, "index", "--help"}, p.work()).exit_code == 0;
}

// `index rebuild` on `db`; its wall time in seconds, or nothing (said on stderr) when it failed.
std::optional<double> rebuild_index(const Paths& p, const std::string& db) {
  ProcessRun r = run_process({p.binary, "--db-path", db, "index", "rebuild"}, p.work());
  if (r.exit_code != 0) {
    std::fprintf(stderr,
                 "index_bench: `mcp-memory --db-path %s index rebuild` failed (exit %d): %s\n",
                 db.c_str(), r.exit_code, r.err.c_str());
    return std::nullopt;
  }
  return r.wall_ms / 1000.0;
}

std::vector<std::string> search_args(const Paths& p, const std::string& db,
                                     const std::string& query) {
  return {p.binary,  "--db-path",          db, "search", query, "--mode", "semantic",
          "--limit", std::to_string(kTopK)};
}

// Median wall time of whole `search` processes on `db`; nothing when one gives no top 10.
std::optional<double> cold_search_ms(const Paths& p, const std::string& db) {
  const auto queries = query_texts(4242, kColdRuns);
  const std::string expect = "Found " + std::to_string(kTopK) + " memories";
  for (int i = 0; i < kColdWarmups; ++i) {
    ProcessRun r = run_process(search_args(p, db, queries[0]), p.work());
    if (r.exit_code != 0 || r.out.find(expect) == std::string::npos) {
      std::fprintf(stderr, "index_bench: search on %s gave no top %zu (exit %d): %s%s\n",
                   db.c_str(), kTopK, r.exit_code, r.out.substr(0, 300).c_str(), r.err.c_str());
      return std::nullopt;
    }
  }
  std::vector<double> wall;
  for (const auto& q : queries) {
    ProcessRun r = run_process(search_args(p, db, q), p.work());
    if (r.exit_code != 0 || r.out.find(expect) == std::string::npos) return std::nullopt;
    wall.push_back(r.wall_ms);
  }
  return percentile(wall, 0.5);
}

// The rebuild (when the binary has it), then the cold searches, on one database.
bool cold_figures(const Paths& p, const std::string& db, const char* suffix, bool has_index) {
  auto t = Clock::now();
  const bool at_1m = std::string(suffix) == "_1m";
  if (!has_index) {
    std::fprintf(stderr,
                 "index_bench: %sno `index rebuild` before the cold searches on %s: this "
                 "mcp-memory has no `index` command (before issue 18), so each search loads the "
                 "index of the day\n",
                 at_1m ? "hnsw_build_s_1m skipped, " : "", db.c_str());
  } else if (auto built = rebuild_index(p, db)) {
    if (at_1m) report("hnsw_build_s_1m", *built, "s");
    std::fprintf(stderr, "index_bench: index rebuild%s took %.1f s\n", suffix, *built);
  } else if (at_1m) {
    std::fprintf(stderr, "index_bench: hnsw_build_s_1m skipped: the rebuild failed\n");
  }
  auto cold = cold_search_ms(p, db);
  if (!cold) return false;
  report(("cold_search_ms" + std::string(suffix)).c_str(), *cold, "ms");
  phase_done(("cold searches" + std::string(suffix)).c_str(), t);
  return true;
}

// Every stored vector of `db`, in row-id order, to `fn`; false when the scan failed.
bool scan_vectors(const std::string& db,
                  const std::function<void(int64_t, std::span<const float>)>& fn) {
  auto opened = Database::open(db, OpenOptions{});
  if (!opened.is_ok()) return false;
  auto scanned = (*opened)->scan_embeddings(kDimension, [&](int64_t id, std::span<const float> v) {
    fn(id, v);
    return true;
  });
  return scanned.is_ok();
}

struct WarmQueries {
  std::vector<std::string> texts;
  std::vector<std::vector<float>> vectors;        // embedded as the service embeds queries
  std::vector<std::vector<int64_t>> exact_top10;  // ids, best first
};

// The queries, embedded, and their exact top 10 over every vector of `db` (then freed).
std::optional<WarmQueries> exact_answers(const std::string& db) {
  auto embedder = make_embedder("hash-384");
  if (!embedder.is_ok()) return std::nullopt;
  WarmQueries w;
  w.texts = query_texts(12345, kWarmQueries);
  for (const auto& text : w.texts) {
    std::vector<float> v(kDimension);
    if (!(*embedder)->embed_query(text, v).is_ok()) return std::nullopt;
    w.vectors.push_back(std::move(v));
  }
  VectorIndex exact(kDimension);
  exact.reserve(k1M);
  if (!scan_vectors(db, [&](int64_t id, std::span<const float> v) { (void)exact.upsert(id, v); })) {
    return std::nullopt;
  }
  for (const auto& q : w.vectors) {
    std::vector<int64_t> ids;
    for (const Neighbor& n : exact.search(q, kTopK)) ids.push_back(n.id);
    w.exact_top10.push_back(std::move(ids));
  }
  return w;
}

// p50 of MemoryService::search over the queries, and recall@10 against the exact top 10s.
std::optional<std::pair<double, double>> time_searches(MemoryService& service,
                                                       const WarmQueries& w) {
  std::vector<double> times;
  double found = 0;
  for (size_t i = 0; i < w.texts.size(); ++i) {
    SearchRequest r;
    r.query = w.texts[i];
    r.mode = SearchMode::kSemantic;
    r.limit = static_cast<int>(kTopK);
    auto t = Clock::now();
    auto answer = service.search(r);
    times.push_back(ms_since(t));
    if (!answer.is_ok()) {
      std::fprintf(stderr, "index_bench: search: %s\n", answer.status().message().c_str());
      return std::nullopt;
    }
    const std::set<int64_t> exact(w.exact_top10[i].begin(), w.exact_top10[i].end());
    for (const SearchHit& hit : answer->results) found += exact.count(hit.memory.id);
  }
  return std::make_pair(percentile(times, 0.5),
                        found / static_cast<double>(w.texts.size() * kTopK));
}

// search_p50_ms_1m and recall10_1m, as a server searches (index loaded in the background, the
// HNSW graph once it is ready), and the exact scan's p50 for comparison; the p50, or nothing.
std::optional<double> warm_search_figures(const std::string& db, const WarmQueries& w) {
  auto t_open = Clock::now();
  ServiceOptions server;
  server.load_index_in_background = true;
  auto service = MemoryService::open(bench_config(db, false), server);
  if (!service.is_ok() || !(*service)->wait_for_index().is_ok()) return std::nullopt;
  report("index_load_ms_1m", ms_since(t_open), "ms");
  for (auto t = Clock::now(); seconds_since(t) < kHnswReadyTimeoutS;) {
    const std::string state = (*service)->index_state().hnsw_state;
    if (state == "ready" || state == "off" || state == "below threshold" || state == "refused") {
      std::fprintf(stderr, "index_bench: HNSW %s%s%s\n", state.c_str(),
                   (*service)->index_state().hnsw_verdict.empty() ? "" : ": ",
                   (*service)->index_state().hnsw_verdict.c_str());
      break;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  report("hnsw_ready_ms_1m", ms_since(t_open), "ms");
  auto through_graph = time_searches(**service, w);
  if (!through_graph) return std::nullopt;
  report("search_p50_ms_1m", through_graph->first, "ms");
  report("recall10_1m", through_graph->second, "ratio");
  service->reset();

  Config exact_only = bench_config(db, false);
  exact_only.hnsw_threshold = 0;
  auto exact = MemoryService::open(exact_only);
  if (!exact.is_ok() || !(*exact)->wait_for_index().is_ok()) return std::nullopt;
  auto scanned = time_searches(**exact, w);
  if (!scanned) return std::nullopt;
  report("exact_search_p50_ms_1m", scanned->first, "ms");
  report("exact_recall10_1m", scanned->second, "ratio");
  return through_graph->first;
}

// `serve --http` on `db` at `port` with API key `key`, stderr to `log`; its pid, or 0.
pid_t spawn_server(const Paths& p, const std::string& db, int port, const std::string& key,
                   const std::string& home, const std::string& log) {
  std::vector<std::string> env = {"MCP_MEMORY_BASE_DIR=" + home, "MCP_MEMORY_SQLITE_PATH=" + db,
                                  "MCP_API_KEY=" + key,          "MCP_BACKUP_ENABLED=false",
                                  "PATH=/usr/bin:/bin",          "HOME=" + home};
  std::vector<std::string> args = {p.binary, "serve", "--http", "--port", std::to_string(port)};
  std::vector<char*> envp, argv;
  for (auto& e : env) envp.push_back(e.data());
  for (auto& a : args) argv.push_back(a.data());
  envp.push_back(nullptr);
  argv.push_back(nullptr);
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, 2, log.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
  posix_spawn_file_actions_addopen(&actions, 1, "/dev/null", O_WRONLY, 0);
  pid_t pid = 0;
  const int spawned = posix_spawn(&pid, argv[0], &actions, nullptr, argv.data(), envp.data());
  posix_spawn_file_actions_destroy(&actions);
  return spawned == 0 ? pid : 0;
}

// A field of /proc/<pid>/status in kB (VmHWM: peak resident set; RssAnon: resident memory not
// backed by a file), in MB.
double proc_status_mb(pid_t pid, const std::string& field) {
  std::ifstream status("/proc/" + std::to_string(pid) + "/status");
  for (std::string line; std::getline(status, line);) {
    if (line.rfind(field + ":", 0) == 0) return std::atof(line.c_str() + field.size() + 1) / 1024.0;
  }
  return 0;
}

// Peak memory of `serve --http` on `db` after kServerSearches REST searches; false on failure.
bool server_rss_figure(const Paths& p, const std::string& db, const std::vector<std::string>& qs) {
  const std::string home = p.work() + "/serve", log = home + "/server.log", key = "bench-key";
  fs::create_directories(home);
  const int port = free_port();
  const pid_t pid = spawn_server(p, db, port, key, home, log);
  if (pid == 0) return false;
  const std::string url = "http://127.0.0.1:" + std::to_string(port);
  HttpClient client;
  bool ok = false;
  for (auto t = Clock::now(); !ok && seconds_since(t) < kServerReadyTimeoutS;) {
    HttpRequest health;
    health.url = url + "/api/health";
    auto r = client.send(health);
    ok = r.is_ok() && r->status == 200;
    if (!ok) std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  // The steady state: a server searches through its HNSW graph once it has loaded it (before,
  // searches scan the mapped file exactly, which maps its whole sketch).
  for (auto t = Clock::now(); ok && seconds_since(t) < kServerReadyTimeoutS;) {
    HttpRequest detailed;
    detailed.url = url + "/api/health/detailed";
    detailed.headers = {{"X-API-Key", key}};
    auto r = client.send(detailed);
    if (r.is_ok() && (r->body.find("\"hnsw\":\"ready\"") != std::string::npos ||
                      r->body.find("\"hnsw\":\"refused\"") != std::string::npos ||
                      r->body.find("\"hnsw\":\"off\"") != std::string::npos)) {
      break;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  for (int i = 0; ok && i < kServerSearches; ++i) {
    HttpRequest search;
    search.method = "POST";
    search.url = url + "/api/search";
    search.headers = {{"X-API-Key", key}, {"Content-Type", "application/json"}};
    search.body = R"({"query":")" + qs[static_cast<size_t>(i) % qs.size()] +
                  R"(","n_results":10,"mode":"semantic"})";
    search.timeout_ms = kFirstSearchTimeoutMs;  // the first waits for the index to load
    auto r = client.send(search);
    ok = r.is_ok() && r->status == 200 && r->body.find("\"results\"") != std::string::npos;
  }
  const double hwm_mb = proc_status_mb(pid, "VmHWM");
  const double anon_mb = proc_status_mb(pid, "RssAnon");
  kill(pid, SIGTERM);
  waitpid(pid, nullptr, 0);
  if (!ok) {
    std::fprintf(stderr, "index_bench: serve --http failed:\n%s", slurp(log).c_str());
    return false;
  }
  report("rss_mb_1m", hwm_mb, "MB");
  report("rss_anon_mb_1m", anon_mb, "MB");
  return true;
}

sqlite3* open_with_vec(const std::string& file, int flags, const std::string& extension) {
  sqlite3* db = nullptr;
  if (sqlite3_open_v2(file.c_str(), &db, flags, nullptr) != SQLITE_OK) {
    sqlite3_close(db);
    return nullptr;
  }
  sqlite3_enable_load_extension(db, 1);
  char* err = nullptr;
  if (sqlite3_load_extension(db, extension.c_str(), nullptr, &err) != SQLITE_OK) {
    std::fprintf(stderr, "index_bench: cannot load sqlite-vec (%s): %s\n", extension.c_str(),
                 err ? err : "?");
    sqlite3_free(err);
    sqlite3_close(db);
    return nullptr;
  }
  return db;
}

std::string vec_version(const std::string& extension) {
  sqlite3* db = open_with_vec(":memory:", SQLITE_OPEN_READWRITE, extension);
  if (db == nullptr) return "";
  std::string v;
  sqlite3_stmt* q = nullptr;
  sqlite3_prepare_v2(db, "SELECT vec_version()", -1, &q, nullptr);
  if (sqlite3_step(q) == SQLITE_ROW) v = reinterpret_cast<const char*>(sqlite3_column_text(q, 0));
  sqlite3_finalize(q);
  sqlite3_close(db);
  return v;
}

// A vec0 table `v` holding every vector of `source`, written to `file` (under a temporary name
// until complete, in transactions of kVecInsertsPerTransaction rows).
bool build_vec0(const std::string& source, const std::string& file, const std::string& ext) {
  const std::string partial = file + ".partial";
  fs::remove(partial);
  sqlite3* db = open_with_vec(partial, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, ext);
  if (db == nullptr) return false;
  const std::string ddl = "CREATE VIRTUAL TABLE v USING vec0(embedding float[" +
                          std::to_string(kDimension) + "] distance_metric=cosine)";
  bool ok = sqlite3_exec(db, "PRAGMA journal_mode=OFF; PRAGMA synchronous=OFF", nullptr, nullptr,
                         nullptr) == SQLITE_OK &&
            sqlite3_exec(db, ddl.c_str(), nullptr, nullptr, nullptr) == SQLITE_OK &&
            sqlite3_exec(db, "BEGIN", nullptr, nullptr, nullptr) == SQLITE_OK;
  sqlite3_stmt* ins = nullptr;
  sqlite3_prepare_v2(db, "INSERT INTO v(rowid, embedding) VALUES (?, ?)", -1, &ins, nullptr);
  size_t rows = 0;
  ok = ok && scan_vectors(source, [&](int64_t id, std::span<const float> v) {
         sqlite3_bind_int64(ins, 1, id);
         sqlite3_bind_blob(ins, 2, v.data(), static_cast<int>(v.size_bytes()), SQLITE_STATIC);
         if (sqlite3_step(ins) != SQLITE_DONE) ok = false;
         sqlite3_reset(ins);
         if (++rows % kVecInsertsPerTransaction == 0) {
           sqlite3_exec(db, "COMMIT; BEGIN", nullptr, nullptr, nullptr);
           std::fprintf(stderr, "index_bench: %zu vectors in vec0\n", rows);
         }
       });
  sqlite3_finalize(ins);
  ok = ok && sqlite3_exec(db, "COMMIT", nullptr, nullptr, nullptr) == SQLITE_OK;
  sqlite3_close(db);
  if (ok) fs::rename(partial, file);
  return ok;
}

// p50 of vec0 KNN k = 10 over `vectors` (the 200 queries, or as many as kVecQueryBudgetS allows).
std::optional<double> sqlite_vec_p50(const std::string& file, const std::string& ext,
                                     const std::vector<std::vector<float>>& vectors) {
  sqlite3* db = open_with_vec(file, SQLITE_OPEN_READONLY, ext);
  if (db == nullptr) return std::nullopt;
  sqlite3_stmt* q = nullptr;
  sqlite3_prepare_v2(db, "SELECT rowid, distance FROM v WHERE embedding MATCH ? AND k = 10", -1, &q,
                     nullptr);
  std::vector<double> times;
  auto started = Clock::now();
  for (const auto& v : vectors) {
    if (times.size() >= kVecMinQueries && seconds_since(started) > kVecQueryBudgetS) break;
    auto t = Clock::now();
    sqlite3_bind_blob(q, 1, v.data(), static_cast<int>(kDimension * 4), SQLITE_STATIC);
    size_t n = 0;
    while (sqlite3_step(q) == SQLITE_ROW) ++n;
    sqlite3_reset(q);
    times.push_back(ms_since(t));
    if (n != kTopK) std::fprintf(stderr, "index_bench: sqlite-vec returned %zu rows\n", n);
  }
  sqlite3_finalize(q);
  sqlite3_close(db);
  std::fprintf(stderr, "index_bench: sqlite-vec ran %zu queries\n", times.size());
  return percentile(times, 0.5);
}

}  // namespace

int main(int argc, char** argv) {
  Paths p{"build/bench-data", "build/mcp-memory", "node_modules/sqlite-vec-linux-x64/vec0"};
  std::set<std::string> only;  // --only cold|search|rss|sqlitevec (repeatable); none: all
  const std::set<std::string> groups = {"cold", "search", "rss", "sqlitevec"};
  for (int i = 1; i < argc; i += 2) {
    const std::string flag = argv[i], value = i + 1 < argc ? argv[i + 1] : "";
    if (flag == "--data-dir" && !value.empty()) {
      p.data_dir = value;
    } else if (flag == "--binary" && !value.empty()) {
      p.binary = value;
    } else if (flag == "--sqlite-vec" && !value.empty()) {
      p.sqlite_vec = value;
    } else if (flag == "--only" && groups.count(value) > 0) {
      only.insert(value);
    } else {
      std::fprintf(stderr,
                   "usage: index_bench [--data-dir D] [--binary B] [--sqlite-vec EXT] "
                   "[--only cold|search|rss|sqlitevec]...\n");
      return 2;
    }
  }
  auto wanted = [&](const char* figure) { return only.empty() || only.count(figure) > 0; };
  fs::create_directories(p.work());
  const std::string db100k = p.data_dir + "/bench-100k-" + kDataVersion + ".db";
  const std::string db1m = p.data_dir + "/bench-1m-" + kDataVersion + ".db";
  auto t = Clock::now();
  if (!ensure_generated_db(db100k, k100k, 1) || !ensure_generated_db(db1m, k1M, 1)) return 1;
  phase_done("data (generated or found)", t);

  bool ok = true;
  if (wanted("cold")) {
    const bool has_index = has_index_command(p);
    ok = cold_figures(p, db100k, "_100k", has_index) && ok;
    ok = cold_figures(p, db1m, "_1m", has_index) && ok;
  }
  std::optional<double> our_p50;
  std::optional<WarmQueries> warm;
  if (wanted("search") || wanted("sqlitevec")) {
    t = Clock::now();
    warm = exact_answers(db1m);
    phase_done("exact top 10s over 1M", t);
    if (!warm) return 1;
  }
  if (wanted("search")) {
    t = Clock::now();
    our_p50 = warm_search_figures(db1m, *warm);
    ok = our_p50.has_value() && ok;
    phase_done("warm searches 1M", t);
  }
  if (wanted("rss")) {
    t = Clock::now();
    ok = server_rss_figure(p, db1m, query_texts(999, kServerSearches)) && ok;
    phase_done("serve --http 1M", t);
  }
  if (wanted("sqlitevec")) {
    const std::string version = vec_version(p.sqlite_vec);
    const std::string vec_db =
        p.data_dir + "/vec0-1m-" + kDataVersion + "-" + (version.empty() ? "x" : version) + ".db";
    t = Clock::now();
    if (!version.empty() && !fs::exists(vec_db)) {
      std::fprintf(stderr, "index_bench: building %s\n", vec_db.c_str());
      if (!build_vec0(db1m, vec_db, p.sqlite_vec)) return 1;
      phase_done("vec0 build", t);
      t = Clock::now();
    }
    auto vec_p50 =
        version.empty() ? std::nullopt : sqlite_vec_p50(vec_db, p.sqlite_vec, warm->vectors);
    if (vec_p50) {
      report("sqlitevec_p50_ms_1m", *vec_p50, "ms");
      if (our_p50) report("speedup_vs_sqlitevec_1m", *vec_p50 / *our_p50, "x");
    } else {
      ok = false;
    }
    phase_done("sqlite-vec queries 1M", t);
  }
  return ok ? 0 : 1;
}
