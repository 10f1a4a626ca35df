// Fuzzes the /litestream/ route's path handling (http/replica_files.h), built with ASan +
// UBSan, for a bounded time from a fixed seed, on a real directory tree holding a file, a
// symlink that stays inside, symlinks that lead out (to a file and to a directory) and a FIFO.
// Paths are made of traversal pieces ("..", ".", "/", "\\", NUL, "%2e", long runs) spliced
// into real names. Every input must be answered with a status (never a throw or crash); a
// 200 must never carry the secret kept outside the root, and every listing must be JSON.
// Usage: replica_path_fuzz [--seconds N] [--seed S]
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <random>
#include <string>
#include <vector>

#include "http/replica_files.h"

namespace mcpmem {
namespace {

namespace fs = std::filesystem;
constexpr const char* kSecret = "SECRET-OUTSIDE-THE-ROOT";

const std::vector<std::string> kPieces = {"..",          ".",
                                          "/",           "//",
                                          "\\",          std::string(1, '\0'),
                                          "%2e%2e",      "mcp-memory",
                                          "generations", "0123456789abcdef",
                                          "wal",         "00000000_00000000.wal.lz4",
                                          "inside",      "escape",
                                          "escape-dir",  "secret.txt",
                                          "pipe",        "snapshots",
                                          "~",           " ",
                                          "\xff\xfe",    std::string(300, 'a')};

int run(int seconds, unsigned seed) {
  char tmpl[] = "/tmp/mcpmem-replica-fuzz-XXXXXX";
  const std::string base = mkdtemp(tmpl);
  const std::string root = fs::canonical(base).string() + "/served";
  const std::string gen = root + "/mcp-memory/generations/0123456789abcdef";
  fs::create_directories(gen + "/wal");
  std::ofstream(gen + "/wal/00000000_00000000.wal.lz4") << "wal";
  std::ofstream(base + "/secret.txt") << kSecret;
  fs::create_symlink(base + "/secret.txt", root + "/mcp-memory/escape");
  fs::create_symlink(base, root + "/mcp-memory/escape-dir");
  fs::create_symlink(root + "/mcp-memory/generations", root + "/mcp-memory/inside");
  mkfifo((root + "/mcp-memory/pipe").c_str(), 0600);

  std::mt19937 rng(seed);
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(seconds);
  long inputs = 0;
  int failures = 0;
  while (std::chrono::steady_clock::now() < deadline && failures == 0) {
    std::string path;
    const int n = static_cast<int>(rng() % 12);
    for (int i = 0; i < n; ++i) {
      path += kPieces[rng() % kPieces.size()];
      if (rng() % 2) path += '/';
    }
    if (rng() % 8 == 0) path += std::string(rng() % 1100, "a/."[rng() % 3]);
    Response r = replica_file_response(root, path);
    ++inputs;
    if (r.status == 200 && r.body.find(kSecret) != std::string::npos) {
      std::fprintf(stderr, "FAIL: the secret outside the root was served for %zu-byte path\n",
                   path.size());
      ++failures;
    }
    if (r.status == 200 && r.header("Content-Type") == "application/json" &&
        !nlohmann::json::accept(r.body)) {
      std::fprintf(stderr, "FAIL: a listing that is not JSON\n");
      ++failures;
    }
    if (r.status != 200 && r.status != 400 && r.status != 403 && r.status != 404) {
      std::fprintf(stderr, "FAIL: status %d\n", r.status);
      ++failures;
    }
  }
  fs::remove_all(base);
  std::printf("replica_path_fuzz: %ld inputs, %d failures\n", inputs, failures);
  return failures == 0 ? 0 : 1;
}

}  // namespace
}  // namespace mcpmem

int main(int argc, char** argv) {
  int seconds = 10;
  unsigned seed = 1;
  for (int i = 1; i + 1 < argc; i += 2) {
    if (std::strcmp(argv[i], "--seconds") == 0) seconds = std::atoi(argv[i + 1]);
    if (std::strcmp(argv[i], "--seed") == 0) seed = static_cast<unsigned>(std::atoi(argv[i + 1]));
  }
  return mcpmem::run(seconds, seed);
}
