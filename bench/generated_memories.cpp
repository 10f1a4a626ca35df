// The generated memories of the benchmarks (generated_memories.h). Databases are written under
// a temporary name and renamed once the generating child exited cleanly, so an interrupted run
// never leaves a half-filled database that a later run would take for a finished one.
#include "bench/generated_memories.h"

#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <filesystem>

#include "bench/bench_report.h"
#include "platform/console.h"

namespace mcpmem::bench {

namespace fs = std::filesystem;

constexpr size_t kStoreBatch = 10000;
constexpr size_t kProgressEvery = 100000;

TextGen::TextGen(unsigned seed) : rng_(seed) {
  const char* syllables[] = {"ka", "lo",  "mi",  "ne",  "ru",  "sa",  "ti",  "vo",  "ze",
                             "po", "qua", "ber", "don", "fel", "gur", "hin", "jor", "lex"};
  for (int i = 0; i < 600; ++i) {
    std::string w;
    int n = 2 + static_cast<int>(rng_() % 3);
    for (int j = 0; j < n; ++j) w += syllables[rng_() % 18];
    words_.push_back(w);
  }
}

std::string TextGen::sentence() {
  std::string s;
  int n = 10 + static_cast<int>(rng_() % 31);
  for (int i = 0; i < n; ++i) {
    // Zipf-ish: square a uniform draw so early words are common.
    double u = std::uniform_real_distribution<double>(0, 1)(rng_);
    if (!s.empty()) s += ' ';
    s += words_[static_cast<size_t>(u * u * static_cast<double>(words_.size()))];
  }
  return s + " #" + std::to_string(counter_++);
}

std::vector<std::string> TextGen::tags() { return {"tag" + std::to_string(rng_() % 50)}; }

double TextGen::created(double now) { return now - static_cast<double>(rng_() % (365 * 86400)); }

Config bench_config(const std::string& db, bool dedup) {
  Config c = config_from_env(process_environment());
  c.db_path = db;
  c.semantic_dedup_enabled = dedup;
  return c;
}

std::vector<StoreRequest> requests(TextGen& gen, size_t n) {
  std::vector<StoreRequest> out(n);
  double now = static_cast<double>(time(nullptr));
  for (auto& r : out) {
    r.content = gen.sentence();
    r.tags = gen.tags();
    r.created_at = gen.created(now);
  }
  return out;
}

double bulk_store(const std::string& db, size_t n, unsigned seed, bool progress) {
  for (const char* s : {"", "-wal", "-shm"}) fs::remove(db + s);
  auto service = MemoryService::open(bench_config(db, false));
  if (!service.is_ok()) {
    std::fprintf(stderr, "bench: %s\n", service.status().message().c_str());
    std::exit(1);
  }
  TextGen gen(seed);
  auto reqs = requests(gen, n);
  auto t = Clock::now();
  for (size_t i = 0; i < reqs.size(); i += kStoreBatch) {
    std::vector<StoreRequest> chunk(
        reqs.begin() + static_cast<std::ptrdiff_t>(i),
        reqs.begin() + static_cast<std::ptrdiff_t>(std::min(i + kStoreBatch, n)));
    if (auto stored = (*service)->store_batch(chunk); !stored.is_ok()) {
      std::fprintf(stderr, "bench: %s\n", stored.status().message().c_str());
      std::exit(1);
    }
    const size_t done = std::min(i + kStoreBatch, n);
    if (progress && (done % kProgressEvery == 0 || done == n)) {
      std::fprintf(stderr, "bench: %zu of %zu memories stored (%.0f s)\n", done, n,
                   ms_since(t) / 1000.0);
    }
  }
  return static_cast<double>(n) / (ms_since(t) / 1000.0);
}

bool ensure_generated_db(const std::string& db, size_t n, unsigned seed) {
  if (fs::exists(db)) return true;
  std::fprintf(stderr, "bench: generating %zu memories into %s\n", n, db.c_str());
  const std::string partial = db + ".partial";
  std::fflush(nullptr);  // what this process printed must not be printed again by the child
  pid_t pid = fork();
  if (pid == 0) {
    bulk_store(partial, n, seed, n >= kProgressEvery);
    _exit(0);
  }
  int status = 0;
  waitpid(pid, &status, 0);
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
    std::fprintf(stderr, "bench: generating %s failed\n", db.c_str());
    return false;
  }
  // The WAL (when the last close left one) travels with its database.
  for (const char* s : {"-wal", "-shm", ""}) {
    std::error_code ec;
    if (fs::exists(partial + s)) fs::rename(partial + s, db + s, ec);
    if (ec) return false;
  }
  return true;
}

}  // namespace mcpmem::bench
