// replication_bench: the Litestream figures of `make bench` (issue 17), as
// `BENCH <name> <value> <unit>`, with the Litestream we ship replicating to a file replica at
// sync-interval 1s (what `replicate --replica DIR` configures):
//   write_overhead_pct     MemoryService::store throughput (one memory per call, as the REST API
//                          stores them) with Litestream replicating vs not, in the same run:
//                          (time on / time off - 1) * 100, medians of 3 alternating runs
//   litestream_lag_p95_s   how far the replica is behind under a steady load of 20 stores/s for
//                          30 s: every 0.25-0.75 s (at random, so the captures cannot lock onto
//                          Litestream's 1 s ticks) the replica directory is captured as it is
//                          (hard links; Litestream writes each file under a temporary name and
//                          renames it, so a link is a whole file), each capture is later restored,
//                          and its lag is the capture time minus the acknowledgement time of the
//                          newest memory it holds (95th percentile over the captures)
//   restore_s_100k         `mcp-memory restore --from DIR --to NEW` of a 100k-memory replica,
//                          litestream restore, integrity check, schema check and rename included
//                          (median of 3)
// The 100k database (generated memories of 10-40 words, hash-384 vectors) is made once under
// --data-dir (default ./bench-data) and reused; each run replicates a copy of it.
#include <spdlog/sinks/stdout_sinks.h>
#include <spdlog/spdlog.h>
#include <sqlite3.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "platform/child_process.h"
#include "platform/console.h"
#include "replication/litestream.h"
#include "replication/litestream_config.h"
#include "replication/replica_restore.h"
#include "service/memory_service.h"

namespace {

using namespace mcpmem;
namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

constexpr size_t kRestoreMemories = 100000;
constexpr size_t kGenerateBatch = 10000;
constexpr int kOverheadStores = 1000;
constexpr int kOverheadRuns = 3;
constexpr double kLagStoresPerSecond = 20;
constexpr auto kLagLoad = std::chrono::seconds(30);
constexpr auto kLagWarmup = std::chrono::seconds(3);           // the first snapshot comes ~1 s in
constexpr int kLagCaptureMinMs = 250, kLagCaptureMaxMs = 750;  // uniform: 0.5 s on average
constexpr int kRestoreRuns = 3;

double seconds_since(Clock::time_point t) {
  return std::chrono::duration<double>(Clock::now() - t).count();
}

void report(const char* name, double value, const char* unit) {
  std::printf("BENCH %s %.3f %s\n", name, value, unit);
  std::fflush(stdout);
}

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}

double percentile(std::vector<double> v, double p) {
  std::sort(v.begin(), v.end());
  return v[std::min(v.size() - 1, static_cast<size_t>(p * static_cast<double>(v.size())))];
}

[[noreturn]] void die(const Status& st) {
  std::fprintf(stderr, "replication_bench: %s\n", st.message().c_str());
  std::exit(1);
}

Config bench_config(const std::string& db) {
  Config c = config_from_env(process_environment());
  c.db_path = db;
  c.semantic_dedup_enabled = false;
  return c;
}

// Litestream replicating `db` to the directory `replica` every second, logging warnings only.
std::unique_ptr<LitestreamSupervisor> start_litestream(const std::string& litestream,
                                                       const std::string& db,
                                                       const std::string& replica) {
  auto config = litestream_config_for(db, {replica}, "1s");
  if (!config.is_ok()) die(config.status());
  config->logging["level"] = "warn";
  const std::string path = fs::path(replica).parent_path() / "litestream.yml";
  {
    std::FILE* f = std::fopen(path.c_str(), "w");
    if (f == nullptr) die(Status::io_error("cannot write " + path));
    const std::string yaml = litestream_config_yaml(*config);
    std::fwrite(yaml.data(), 1, yaml.size(), f);
    std::fclose(f);
  }
  auto supervisor = std::make_unique<LitestreamSupervisor>(litestream, path);
  if (auto started = supervisor->start(); !started.is_ok()) die(started);
  return supervisor;
}

std::string memory_text(std::mt19937& rng, const std::vector<std::string>& words, size_t n) {
  std::string s;
  for (int w = 10 + static_cast<int>(rng() % 31); w > 0; --w)
    s += words[rng() % words.size()] + " ";
  return s + "#" + std::to_string(n);
}

std::vector<std::string> vocabulary() {
  std::vector<std::string> words;
  for (int i = 0; i < 600; ++i) words.push_back("w" + std::to_string(i * 7919 % 100003));
  return words;
}

// Seconds to store kOverheadStores memories one by one into a new database in `dir`, with
// Litestream replicating it or not.
double timed_stores(const std::string& litestream, const std::string& dir, bool replicate) {
  fs::remove_all(dir);
  fs::create_directories(dir);
  const std::string db = dir + "/overhead.db";
  std::unique_ptr<LitestreamSupervisor> supervisor;
  if (replicate) supervisor = start_litestream(litestream, db, dir + "/replica");
  double seconds = 0;
  {
    auto service = MemoryService::open(bench_config(db));
    if (!service.is_ok()) die(service.status());
    std::mt19937 rng(5);
    const auto words = vocabulary();
    const auto t = Clock::now();
    for (int i = 0; i < kOverheadStores; ++i) {
      StoreRequest r;
      r.content = memory_text(rng, words, i);
      r.tags = {"tag" + std::to_string(i % 20)};
      if (auto stored = (*service)->store(r); !stored.is_ok()) die(stored.status());
    }
    seconds = seconds_since(t);
  }
  if (supervisor) supervisor->stop();
  fs::remove_all(dir);
  return seconds;
}

void write_overhead(const std::string& litestream, const std::string& work) {
  std::vector<double> off, on;
  for (int run = 0; run < kOverheadRuns; ++run) {  // alternating, so drift hits both alike
    off.push_back(timed_stores(litestream, work + "/off", false));
    on.push_back(timed_stores(litestream, work + "/on", true));
  }
  std::fprintf(stderr, "replication_bench: %d stores, median %.3f s without, %.3f s with\n",
               kOverheadStores, median(off), median(on));
  report("write_overhead_pct", (median(on) / median(off) - 1) * 100, "%");
}

// The "#n" suffix of the last memory stored in `db` (-1 when it holds none).
long newest_probe(const std::string& db) {
  sqlite3* conn = nullptr;
  long newest = -1;
  if (sqlite3_open_v2(db.c_str(), &conn, SQLITE_OPEN_READONLY, nullptr) == SQLITE_OK) {
    sqlite3_stmt* st = nullptr;
    sqlite3_prepare_v2(conn, "SELECT content FROM memories ORDER BY id DESC LIMIT 1", -1, &st,
                       nullptr);
    if (st != nullptr && sqlite3_step(st) == SQLITE_ROW) {
      const std::string content = reinterpret_cast<const char*>(sqlite3_column_text(st, 0));
      newest = std::stol(content.substr(content.rfind('#') + 1));
    }
    sqlite3_finalize(st);
  }
  sqlite3_close(conn);
  return newest;
}

void replication_lag(const std::string& litestream, const std::string& work) {
  const std::string dir = work + "/lag", replica = dir + "/replica";
  fs::remove_all(dir);
  fs::create_directories(dir + "/captures");
  const std::string db = dir + "/lag.db";
  auto supervisor = start_litestream(litestream, db, replica);
  auto opened = MemoryService::open(bench_config(db));
  if (!opened.is_ok()) die(opened.status());
  std::unique_ptr<MemoryService> service = std::move(opened).value();

  std::vector<Clock::time_point> acked;  // by memory number; read once the writer is done
  const auto start = Clock::now();
  std::thread writer([&] {
    std::mt19937 rng(9);
    const auto words = vocabulary();
    const auto spacing = std::chrono::duration_cast<Clock::duration>(
        std::chrono::duration<double>(1.0 / kLagStoresPerSecond));
    for (size_t n = 0; Clock::now() - start < kLagLoad; ++n) {
      std::this_thread::sleep_until(start + spacing * static_cast<long>(n));
      StoreRequest r;
      r.content = memory_text(rng, words, n);
      if (auto stored = service->store(r); !stored.is_ok()) die(stored.status());
      acked.push_back(Clock::now());
    }
  });
  std::vector<std::pair<std::string, Clock::time_point>> captures;
  std::mt19937 jitter(3);
  std::uniform_int_distribution<int> capture_gap_ms(kLagCaptureMinMs, kLagCaptureMaxMs);
  auto next_capture = start + kLagWarmup;
  for (int k = 0;; ++k) {
    std::this_thread::sleep_until(next_capture);
    next_capture += std::chrono::milliseconds(capture_gap_ms(jitter));
    if (Clock::now() - start >= kLagLoad) break;
    const std::string capture = dir + "/captures/" + std::to_string(k);
    const auto at = Clock::now();
    std::error_code ec;
    fs::copy(replica, capture, fs::copy_options::recursive | fs::copy_options::create_hard_links,
             ec);
    if (ec) {  // a file renamed under us: this capture is skipped
      fs::remove_all(capture, ec);
      continue;
    }
    captures.emplace_back(capture, at);
  }
  writer.join();
  service.reset();  // closed before Litestream stops, as `serve --replicate` does
  supervisor->stop();

  std::vector<double> lags;
  for (const auto& [capture, at] : captures) {
    const std::string restored = capture + ".db";
    auto r = restore_from_replica(litestream, {capture, ""}, {restored, false});
    if (!r.is_ok()) die(r.status().with_context("restoring the capture " + capture));
    const long newest = newest_probe(restored);
    if (newest < 0) continue;
    lags.push_back(std::chrono::duration<double>(at - acked[static_cast<size_t>(newest)]).count());
  }
  if (lags.empty()) die(Status::internal("no capture held a memory"));
  std::fprintf(stderr,
               "replication_bench: %zu stores, %zu captures restored; lag median %.3f s, max "
               "%.3f s\n",
               acked.size(), lags.size(), median(lags), percentile(lags, 1.0));
  report("litestream_lag_p95_s", percentile(lags, 0.95), "s");
  fs::remove_all(dir);
}

void make_database(const std::string& db) {
  if (fs::exists(db)) return;
  std::fprintf(stderr, "replication_bench: generating %zu memories into %s (once)\n",
               kRestoreMemories, db.c_str());
  const std::string partial = db + ".partial";
  for (const char* s : {"", "-wal", "-shm"}) fs::remove(partial + s);
  {
    auto service = MemoryService::open(bench_config(partial));
    if (!service.is_ok()) die(service.status());
    std::mt19937 rng(17);
    const auto words = vocabulary();
    for (size_t from = 0; from < kRestoreMemories; from += kGenerateBatch) {
      std::vector<StoreRequest> batch(kGenerateBatch);
      for (size_t i = 0; i < kGenerateBatch; ++i) {
        batch[i].content = memory_text(rng, words, from + i);
        batch[i].tags = {"tag" + std::to_string((from + i) % 50)};
      }
      if (auto stored = (*service)->store_batch(batch); !stored.is_ok()) die(stored.status());
    }
  }
  fs::rename(partial, db);
}

bool has_snapshot(const std::string& replica) {
  std::error_code ec;
  for (auto it = fs::recursive_directory_iterator(replica, ec);
       !ec && it != fs::recursive_directory_iterator(); it.increment(ec)) {
    if (it->path().string().ends_with(".snapshot.lz4")) return true;
  }
  return false;
}

void restore_100k(const std::string& binary, const std::string& litestream,
                  const std::string& data_dir, const std::string& work) {
  const std::string cached = data_dir + "/replication-100k.db";
  make_database(cached);
  const std::string dir = work + "/restore", db = dir + "/primary.db", replica = dir + "/replica";
  fs::remove_all(dir);
  fs::create_directories(dir);
  fs::copy_file(cached, db);  // Litestream adds its tables: the cached file stays as made
  {
    auto supervisor = start_litestream(litestream, db, replica);
    const auto deadline = Clock::now() + std::chrono::minutes(5);
    while (!has_snapshot(replica)) {
      if (Clock::now() > deadline) die(Status::internal("no snapshot in " + replica));
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    supervisor->stop();  // one more sync, then it exits
  }
  std::vector<double> runs;
  for (int i = 0; i < kRestoreRuns; ++i) {
    const std::string target = dir + "/restored-" + std::to_string(i) + ".db";
    const auto t = Clock::now();
    auto out =
        run_child({binary, "restore", "--from", replica, "--to", target}, std::chrono::minutes(10));
    runs.push_back(seconds_since(t));
    if (!out.is_ok()) die(out.status());
    const std::string expected = "Restored " + std::to_string(kRestoreMemories) + " memories";
    if (out->exit_code != 0 || out->output.find(expected) == std::string::npos) {
      die(Status::internal("restore --from failed: " + out->output));
    }
    fs::remove(target);
  }
  std::fprintf(stderr, "replication_bench: database %.1f MB\n",
               static_cast<double>(fs::file_size(cached)) / 1e6);
  report("restore_s_100k", median(runs), "s");
  fs::remove_all(dir);
}

}  // namespace

int main(int argc, char** argv) {
  std::string data_dir = "bench-data", binary = "mcp-memory", litestream = "litestream";
  for (int i = 1; i + 1 < argc; ++i) {
    const std::string flag = argv[i];
    if (flag == "--data-dir") data_dir = argv[i + 1];
    if (flag == "--binary") binary = argv[i + 1];
    if (flag == "--litestream") litestream = argv[i + 1];
  }
  // Litestream's lines (warnings and errors only) on stderr: stdout holds the BENCH lines.
  spdlog::set_default_logger(spdlog::stderr_logger_mt("replication_bench"));
  spdlog::set_level(spdlog::level::warn);
  data_dir = fs::absolute(data_dir).string();
  fs::create_directories(data_dir);
  const std::string work = data_dir + "/replication-bench-work";
  fs::remove_all(work);
  fs::create_directories(work);
  write_overhead(litestream, work);
  replication_lag(litestream, work);
  restore_100k(binary, litestream, data_dir, work);
  fs::remove_all(work);
  return 0;
}
