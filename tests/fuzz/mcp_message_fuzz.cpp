// Fuzzes the MCP message handler and the stdio framing, built with ASan + UBSan, for a bounded
// time from a fixed seed (reproducible: same seed, same inputs). Inputs are valid messages for
// every method and tool, mutated two ways: byte edits (broken JSON, bad UTF-8, truncation) and
// structural edits (any value replaced by a value of another type, huge, negative, deeply
// nested). The server must answer every input with well-formed JSON-RPC, or not at all for a
// notification, and never crash, leak, hit undefined behaviour or throw.
// Usage: mcp_message_fuzz [--seconds N] [--seed S] [--target mcp|model]
// (--target model runs model_files_fuzz.cpp instead, compiled into the same sanitized binary.)
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <limits>
#include <random>
#include <string>
#include <vector>

#include "../temp_dir.h"
#include "mcp/mcp_server.h"
#include "mcp/stdio_transport.h"
#include "model_files_fuzz.h"

namespace mcpmem {
namespace {

const std::vector<std::string> kSeeds = {
    R"({"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-06-18","capabilities":{},"clientInfo":{"name":"f","version":"1"}}})",
    R"({"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"memory_search","arguments":{"query":"x","limit":3,"tags":["a"],"time_expr":"last week","mode":"hybrid","tag_match":"all"}}})",
    R"({"jsonrpc":"2.0","id":2,"method":"tools/call","params":{"name":"memory_search","arguments":{"query":"","after":"2024-01-01","before":"yesterday","max_response_chars":50}}})",
    R"({"jsonrpc":"2.0","id":"s","method":"tools/call","params":{"name":"memory_store","arguments":{"content":"fuzz","tags":"a,b","memory_type":"note","metadata":{"k":[1,2]}}}})",
    R"({"jsonrpc":"2.0","id":3,"method":"tools/call","params":{"name":"memory_store_session","arguments":{"turns":[{"role":"user","content":"hi"},{"role":"assistant","content":" yo "}],"session_id":"x","tags":"a"}}})",
    R"({"jsonrpc":"2.0","id":4,"method":"tools/call","params":{"name":"memory_list","arguments":{"page":2,"page_size":5,"tag":"a","memory_type":"note"}}})",
    R"({"jsonrpc":"2.0","id":5,"method":"tools/call","params":{"name":"memory_delete","arguments":{"tags":["a"],"dry_run":true,"before":"2030-01-01"}}})",
    R"({"jsonrpc":"2.0","id":6,"method":"tools/call","params":{"name":"memory_update","arguments":{"content_hash":"00","updates":{"tags":["x"],"metadata":{"a":1}}}}})",
    R"({"jsonrpc":"2.0","id":7,"method":"tools/call","params":{"name":"memory_cleanup","arguments":{}}})",
    R"({"jsonrpc":"2.0","id":8,"method":"tools/call","params":{"name":"retrieve_memory","arguments":{"query":"q","n_results":2}}})",
    R"({"jsonrpc":"2.0","id":9,"method":"resources/read","params":{"uri":"memory://recent/3"}})",
    R"({"jsonrpc":"2.0","id":10,"method":"resources/read","params":{"uri":"memory://search/hello%20world"}})",
    R"({"jsonrpc":"2.0","id":11,"method":"prompts/get","params":{"name":"memory_review","arguments":{"time_period":"last month"}}})",
    R"({"jsonrpc":"2.0","id":12,"method":"tools/list","params":{"cursor":"x"}})",
    R"([{"jsonrpc":"2.0","id":13,"method":"ping"},{"jsonrpc":"2.0","method":"notifications/cancelled","params":{"requestId":1}}])",
    R"({"jsonrpc":"2.0","id":14,"method":"logging/setLevel","params":{"level":"debug"}})",
};

const std::string kAlphabet =
    std::string("{}[]\":,0123456789abcdefghijklmnopqrstuvwxyz-_. \\\xff\xc3\xa9") + '\0';

class Fuzzer {
 public:
  explicit Fuzzer(uint32_t seed) : rng_(seed) {}

  std::string next() {
    std::string m = kSeeds[rng_() % kSeeds.size()];
    if (rng_() % 2) m = mutate_structure(m);
    if (rng_() % 50 == 0) nest_deep(m);
    int edits = static_cast<int>(rng_() % 4);
    for (int e = 0; e < edits && !m.empty(); ++e) mutate_bytes(m);
    return m;
  }

  uint32_t below(uint32_t n) { return rng_() % n; }

 private:
  void mutate_bytes(std::string& m) {
    size_t at = rng_() % m.size();
    switch (rng_() % 4) {
      case 0:
        m[at] = kAlphabet[rng_() % kAlphabet.size()];
        break;
      case 1:
        m.erase(at, 1 + rng_() % 8);
        break;
      case 2:
        m.insert(at, 1, kAlphabet[rng_() % kAlphabet.size()]);
        break;
      default:
        m.resize(at);  // truncated mid-message
    }
  }

  Json random_value(int depth = 0) {
    switch (rng_() % 12) {
      case 0:
        return nullptr;
      case 1:
        return rng_() % 2 == 0;
      case 2:
        return static_cast<int64_t>(rng_()) - (1ll << 31);
      case 3:
        return std::numeric_limits<int64_t>::max();
      case 4:
        return -1e308 * (rng_() % 3);
      case 5:
        return 0.5;
      case 6:
        return std::string(rng_() % 3 == 0 ? 70000 : rng_() % 40, 'a' + rng_() % 26);
      case 7:
        return "\u0130stanbul \u3000 last 3 days ago";
      case 8: {
        Json a = Json::array();
        if (depth < 40) a.push_back(random_value(depth + 1));
        return a;
      }
      case 9: {
        Json o = Json::object();
        if (depth < 40) o["k"] = random_value(depth + 1);
        return o;
      }
      case 10:
        return "memory://tag/" + std::to_string(rng_());
      default:
        return -1;
    }
  }

  // Splices a value nested far past the parser's limit (issue 15) in place of a value.
  void nest_deep(std::string& m) {
    const size_t at = m.find(rng_() % 2 ? "\"id\":" : "\"params\":");
    if (at == std::string::npos) return;
    const size_t n = 1000 + rng_() % 100'000;
    const bool arrays = rng_() % 2;
    std::string deep;
    for (size_t i = 0; i < n; ++i) deep += arrays ? "[" : "{\"a\":";
    deep += "0" + std::string(n, arrays ? ']' : '}');
    m.insert(m.find(':', at) + 1, deep + ",\"x\":");
  }

  // Replaces one node of the message tree (chosen by a random walk) by a random value.
  std::string mutate_structure(const std::string& text) {
    Json j = Json::parse(text);
    Json* node = &j;
    for (int depth = 0; depth < 6; ++depth) {
      if (!(node->is_object() || node->is_array()) || node->empty() || rng_() % 3 == 0) break;
      auto it = node->begin();
      std::advance(it, rng_() % node->size());
      node = &*it;
    }
    *node = random_value();
    return j.dump();
  }

  std::mt19937 rng_;
};

bool well_formed(const std::string& reply) {
  Json r = Json::parse(reply, nullptr, false);
  if (r.is_discarded()) return false;
  auto one = [](const Json& m) {
    return m.is_object() && m.value("jsonrpc", "") == "2.0" && m.contains("id") &&
           (m.contains("result") != m.contains("error"));
  };
  if (r.is_array()) {
    for (const Json& m : r) {
      if (!one(m)) return false;
    }
    return !r.empty();
  }
  return one(r);
}

int run(int seconds, uint32_t seed) {
  const TempDir dir("fuzz");
  Config config = config_from_env({{"HOME", dir.path()}});
  config.db_path = dir / "fuzz.db";
  config.synchronous_full = false;
  auto service = MemoryService::open(config);
  if (!service.is_ok()) {
    std::fprintf(stderr, "fuzz: %s\n", service.status().message().c_str());
    return 1;
  }
  Fuzzer fuzz(seed);
  McpServer server(**service);
  (void)server.handle(kSeeds[0]);
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(seconds);
  size_t messages = 0, streams = 0, failures = 0;
  while (std::chrono::steady_clock::now() < deadline) {
    for (int i = 0; i < 50; ++i, ++messages) {
      std::string m = fuzz.next();
      std::optional<std::string> reply;
      try {
        reply = server.handle(m);
      } catch (const std::exception& e) {
        std::fprintf(stderr, "fuzz: handle threw %s on: %s\n", e.what(), m.c_str());
        return 1;
      }
      if (reply && !well_formed(*reply)) {
        std::fprintf(stderr, "fuzz: malformed reply %s\n  to: %s\n", reply->c_str(), m.c_str());
        if (++failures > 5) return 1;
      }
    }
    // The stdio framing: several mutated lines, blank lines, \r\n, a line past the size limit.
    std::string stream;
    for (int k = 0; k < 8; ++k) {
      stream += fuzz.next();
      stream += fuzz.below(4) == 0 ? "\r\n" : "\n";
      if (fuzz.below(10) == 0) stream += "\n";
    }
    if (fuzz.below(20) == 0) stream += std::string(kMaxMessageBytes + 10, 'x') + "\n";
    if (fuzz.below(3) == 0) stream += "{\"jsonrpc\":\"2.0\",\"id\":99,";  // EOF mid-message
    std::FILE* in = fmemopen(stream.data(), stream.size(), "r");
    char* out_buf = nullptr;
    size_t out_len = 0;
    std::FILE* out = open_memstream(&out_buf, &out_len);
    McpServer stdio_server(**service);
    int rc = serve_stdio(stdio_server, in, out);
    std::fclose(in);
    std::fclose(out);
    std::string written(out_buf, out_len);
    std::free(out_buf);
    ++streams;
    size_t start = 0;
    while (start < written.size()) {
      size_t nl = written.find('\n', start);
      if (rc != 0 || nl == std::string::npos || !well_formed(written.substr(start, nl - start))) {
        std::fprintf(stderr, "fuzz: bad stdio output (rc %d): %s\n", rc, written.c_str());
        return 1;
      }
      start = nl + 1;
    }
  }
  auto stats = (*service)->stats();
  service->reset();
  if (!stats.is_ok()) {
    std::fprintf(stderr, "fuzz: stats after the run: %s\n", stats.status().message().c_str());
    return 1;
  }
  std::printf("fuzz: %zu messages and %zu stdio streams in %d s (seed %u), %zu malformed\n",
              messages, streams, seconds, seed, failures);
  return failures == 0 ? 0 : 1;
}

}  // namespace
}  // namespace mcpmem

int main(int argc, char** argv) {
  int seconds = 20;
  uint32_t seed = 1;
  std::string target = "mcp";  // or "model": the files a BERT model is read from
  for (int i = 1; i + 1 < argc; i += 2) {
    if (std::strcmp(argv[i], "--seconds") == 0) seconds = std::atoi(argv[i + 1]);
    if (std::strcmp(argv[i], "--seed") == 0) seed = static_cast<uint32_t>(std::atoll(argv[i + 1]));
    if (std::strcmp(argv[i], "--target") == 0) target = argv[i + 1];
  }
  return target == "model" ? mcpmem::run_model_files_fuzz(seconds, seed)
                           : mcpmem::run(seconds, seed);
}
