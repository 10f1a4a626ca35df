// backup_bench: the backup figures of `make bench` (issue 17), as `BENCH <name> <value> <unit>`:
//   backup_s_10k            Backups::create of a 10k-memory database, plain (median of 5)
//   backup_encrypted_s_10k  the same, encrypted (scrypt at the default cost included)
//   restore_encrypted_s_10k restore_from_backup of that file to a new path: decrypt, integrity
//                           check, schema check, rename (median of 3)
//   scrypt_default_ms       one key derivation at the default cost (N=2^16, r=8, p=1)
//   encrypt_mb_s            encrypt_stream / decrypt_stream throughput, file to file (the
//   decrypt_mb_s            10k database, page cache, no fsync), with a cheap key derivation
//                           so only the streaming AES-256-GCM is timed (median of 5)
// The database (10k generated memories of 10-40 words, hash-384 vectors) is made once under
// --data-dir (default ./bench-data) and reused.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <random>
#include <sstream>
#include <string>
#include <vector>

#include "core/encrypted_stream.h"
#include "platform/console.h"
#include "service/backup_restore.h"
#include "service/backups.h"
#include "service/memory_service.h"

namespace {

using namespace mcpmem;
namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

constexpr size_t kMemories = 10000;
constexpr const char* kPassphrase = "bench passphrase";

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

[[noreturn]] void die(const Status& st) {
  std::fprintf(stderr, "backup_bench: %s\n", st.message().c_str());
  std::exit(1);
}

Config bench_config(const std::string& db, const std::string& backups) {
  Config c = config_from_env(process_environment());
  c.db_path = db;
  c.backups_path = backups;
  c.semantic_dedup_enabled = false;
  c.backup_max_count = 1000;
  c.backup_encrypt = false;
  c.backup_passphrase = kPassphrase;
  return c;
}

void make_database(const std::string& db) {
  if (fs::exists(db)) return;
  std::fprintf(stderr, "backup_bench: generating %zu memories into %s (once)\n", kMemories,
               db.c_str());
  const std::string partial = db + ".partial";
  for (const char* s : {"", "-wal", "-shm"}) fs::remove(partial + s);
  {
    auto service = MemoryService::open(bench_config(partial, "/nonexistent"));
    if (!service.is_ok()) die(service.status());
    std::mt19937 rng(11);
    std::vector<std::string> words;
    for (int i = 0; i < 600; ++i) words.push_back("w" + std::to_string(i * 7919 % 100003));
    std::vector<StoreRequest> batch(kMemories);
    for (size_t i = 0; i < kMemories; ++i) {
      std::string s;
      for (int w = 10 + static_cast<int>(rng() % 31); w > 0; --w) {
        s += words[rng() % words.size()] + " ";
      }
      batch[i].content = s + "#" + std::to_string(i);
      batch[i].tags = {"tag" + std::to_string(i % 50)};
    }
    if (auto stored = (*service)->store_batch(batch); !stored.is_ok()) die(stored.status());
  }
  fs::rename(partial, db);
}

}  // namespace

int main(int argc, char** argv) {
  std::string data_dir = "bench-data";
  for (int i = 1; i + 1 < argc; ++i) {
    if (std::string(argv[i]) == "--data-dir") data_dir = argv[i + 1];
  }
  fs::create_directories(data_dir);
  const std::string db = data_dir + "/backup-10k.db";
  make_database(db);
  const std::string work = data_dir + "/backup-bench-work";
  fs::remove_all(work);
  Config config = bench_config(db, work + "/backups");
  auto service = MemoryService::open(config);
  if (!service.is_ok()) die(service.status());

  std::vector<double> plain;
  for (int i = 0; i < 5; ++i) {
    Backups backups(**service, config);
    auto t = Clock::now();
    auto made = backups.create();
    if (!made.is_ok()) die(made.status());
    plain.push_back(seconds_since(t));
  }
  report("backup_s_10k", median(plain), "s");

  config.backup_encrypt = true;
  std::vector<double> sealed;
  std::string sealed_path;
  for (int i = 0; i < 3; ++i) {
    Backups backups(**service, config);
    auto t = Clock::now();
    auto made = backups.create();
    if (!made.is_ok()) die(made.status());
    sealed.push_back(seconds_since(t));
    sealed_path = made->path;
  }
  report("backup_encrypted_s_10k", median(sealed), "s");

  std::vector<double> restored;
  for (int i = 0; i < 3; ++i) {
    const std::string target = work + "/restored-" + std::to_string(i) + ".db";
    auto t = Clock::now();
    auto restore = restore_from_backup(sealed_path, {target}, std::string(kPassphrase));
    if (!restore.is_ok()) die(restore.status());
    restored.push_back(seconds_since(t));
  }
  report("restore_encrypted_s_10k", median(restored), "s");

  {
    std::istringstream empty;
    std::ostringstream out;
    auto t = Clock::now();
    if (auto r = encrypt_stream(empty, out, kPassphrase); !r.is_ok()) die(r.status());
    report("scrypt_default_ms", seconds_since(t) * 1000, "ms");
  }

  // File to file, as a backup and a restore run them (page cache, no fsync), with a cheap key
  // derivation so only the streaming AES-256-GCM is timed.
  const std::string plain_file = work + "/restored-0.db";
  const std::string sealed_file = work + "/throughput.enc", opened_file = work + "/throughput.db";
  const double megabytes = static_cast<double>(fs::file_size(plain_file)) / 1e6;
  EncryptOptions cheap;
  cheap.kdf.log2_n = kMinScryptLog2N;
  std::vector<char> in_buffer(1 << 20), out_buffer(1 << 20);
  auto timed = [&](const std::string& from, const std::string& to, bool encrypt) {
    std::ifstream in(from, std::ios::binary);
    std::ofstream out;
    out.rdbuf()->pubsetbuf(out_buffer.data(), static_cast<std::streamsize>(out_buffer.size()));
    out.open(to, std::ios::binary | std::ios::trunc);
    auto t = Clock::now();
    auto r = encrypt ? encrypt_stream(in, out, kPassphrase, cheap)
                     : decrypt_stream(in, out, kPassphrase);
    out.close();
    if (!r.is_ok()) die(r.status());
    return megabytes / seconds_since(t);
  };
  std::vector<double> enc, dec;
  for (int i = 0; i < 5; ++i) {
    enc.push_back(timed(plain_file, sealed_file, true));
    dec.push_back(timed(sealed_file, opened_file, false));
  }
  report("encrypt_mb_s", median(enc), "MB/s");
  report("decrypt_mb_s", median(dec), "MB/s");
  std::fprintf(stderr, "backup_bench: database %.1f MB, encrypted backup %.1f MB\n",
               static_cast<double>(fs::file_size(db)) / 1e6,
               static_cast<double>(fs::file_size(sealed_path)) / 1e6);
  fs::remove_all(work);
  return 0;
}
