// bert_bench: the BERT encoder's figures, as `BENCH <name> <value> <unit>` lines.
// A random-weight model of all-MiniLM-L6-v2's exact shape (6 layers, hidden 384, 90 MB) is
// generated into a temporary directory by tests/fixtures/bert/make_bert_fixture.py, which also
// times PyTorch (float32, one thread, over OpenBLAS) on the same 30-token sentence. Needs a
// python3 with torch and numpy (Debian: python3-torch); without one it says so and skips.
//   bert_load_ms         load (map, check, bind weights) until the first embedding is made
//   bert_ms_30tok        one 30-token sentence, 1 thread, median of 300 runs
//   bert_per_s_batch     256 sequences of 12-50 tokens (10-40-word memories), 2 threads
//   bert_rss_mb          peak resident memory of this process through all of the above
//   torch_ms_30tok       PyTorch on the same sentence and shape, 1 thread, median
//   bert_speedup_vs_torch
// --compare adds the alternatives the design chose between (OpenBLAS for the dense layers, and
// OpenBLAS's own threads instead of splitting the batch).
#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <random>
#include <string>
#include <vector>

#include "embed/bert_model.h"

extern "C" void openblas_set_num_threads(int threads);  // --compare only

namespace {

using namespace mcpmem;
namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;
using Batch = std::vector<std::vector<int32_t>>;

double ms_since(Clock::time_point t) {
  return std::chrono::duration<double, std::milli>(Clock::now() - t).count();
}

void report(const char* name, double value, const char* unit) {
  std::printf("BENCH %s %.3f %s\n", name, value, unit);
  std::fflush(stdout);
}

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}

double peak_rss_mb() {
  struct rusage usage {};
  getrusage(RUSAGE_SELF, &usage);
  return static_cast<double>(usage.ru_maxrss) / 1024.0;  // KB on Linux
}

// The first of these that imports torch and numpy (Debian's torch is under /usr/bin/python3,
// which a pyenv or venv python3 earlier on PATH hides).
std::string find_python() {
  for (const char* python : {"python3", "/usr/bin/python3"}) {
    const std::string probe = std::string(python) + " -c 'import torch, numpy' >/dev/null 2>&1";
    if (std::system(probe.c_str()) == 0) return python;
  }
  return "";
}

// Runs the generator; returns torch_ms_30tok (NaN when it printed none).
double generate_model(const std::string& python, const std::string& script,
                      const std::string& dir) {
  const std::string command = python + " '" + script + "' minilm '" + dir + "' --torch-bench";
  FILE* out = popen(command.c_str(), "r");
  if (out == nullptr) return NAN;
  double torch_ms = NAN;
  char line[256];
  while (std::fgets(line, sizeof line, out) != nullptr) {
    std::sscanf(line, "torch_ms_30tok %lf", &torch_ms);
  }
  if (pclose(out) != 0) return NAN;
  return torch_ms;
}

double time_one_sentence(const BertModel& model, const std::vector<int32_t>& sentence, int runs) {
  Batch batch{sentence};
  std::vector<float> out(model.hidden_size());
  std::vector<double> times;
  for (int i = 0; i < runs + 20; ++i) {
    const auto start = Clock::now();
    Status s = model.embed(batch, Pooling::kMean, true, out);
    if (!s.is_ok()) std::fprintf(stderr, "bert_bench: %s\n", s.message().c_str());
    if (i >= 20) times.push_back(ms_since(start));
  }
  return median(times);
}

double batch_per_second(const BertModel& model, const Batch& batch) {
  std::vector<float> out(batch.size() * model.hidden_size());
  std::vector<double> times;
  for (int i = 0; i < 4; ++i) {
    const auto start = Clock::now();
    Status s = model.embed(batch, Pooling::kMean, true, out);
    if (!s.is_ok()) std::fprintf(stderr, "bert_bench: %s\n", s.message().c_str());
    if (i > 0) times.push_back(ms_since(start));
  }
  return static_cast<double>(batch.size()) * 1000.0 / median(times);
}

// The largest difference from PyTorch's hidden states for the reference sequences.
double max_error_vs_torch(const BertModel& model, const std::string& dir) {
  std::ifstream in(dir + "/reference.json");
  const auto reference = nlohmann::json::parse(in, nullptr, false);
  if (reference.is_discarded()) return NAN;
  const auto sequences = reference.at("sequences").get<Batch>();
  const auto expected = reference.at("hidden_states").get<std::vector<std::vector<float>>>();
  auto states = model.forward(sequences);
  if (!states.is_ok()) return NAN;
  double worst = 0;
  for (size_t i = 0; i < sequences.size(); ++i) {
    auto got = states->sequence(i);
    for (size_t j = 0; j < got.size(); ++j) {
      worst = std::max(worst, std::fabs(double{got[j]} - expected[i][j]));
    }
  }
  return worst;
}

Batch memories(size_t count) {
  std::mt19937 rng(256);
  Batch batch;
  for (size_t i = 0; i < count; ++i) {
    std::vector<int32_t> ids{101};
    const size_t length = 12 + rng() % 39;  // 12..50 tokens
    while (ids.size() + 1 < length) ids.push_back(static_cast<int32_t>(1000 + rng() % 29000));
    ids.push_back(102);
    batch.push_back(std::move(ids));
  }
  return batch;
}

void compare_alternatives(const std::string& dir, const std::vector<int32_t>& sentence,
                          const Batch& batch) {
  auto blas = BertModel::load(dir, {.threads = 1, .force_openblas = true});
  auto blas_split = BertModel::load(dir, {.threads = 2, .force_openblas = true});
  auto best_one = BertModel::load(dir, {.threads = 1});
  if (!blas.is_ok() || !blas_split.is_ok() || !best_one.is_ok()) return;
  report("openblas_ms_30tok", time_one_sentence(*blas, sentence, 100), "ms");
  report("bert_per_s_batch_1thread", batch_per_second(*best_one, batch), "per_s");
  report("openblas_per_s_batch_1thread", batch_per_second(*blas, batch), "per_s");
  report("openblas_per_s_batch_split_2threads", batch_per_second(*blas_split, batch), "per_s");
  openblas_set_num_threads(2);  // the alternative: one range, OpenBLAS parallelises each GEMM
  report("openblas_per_s_batch_blas_2threads", batch_per_second(*blas, batch), "per_s");
  report("openblas_ms_30tok_blas_2threads", time_one_sentence(*blas, sentence, 100), "ms");
  openblas_set_num_threads(1);
}

}  // namespace

int main(int argc, char** argv) {
  std::string script = MCP_BERT_FIXTURE_SCRIPT;
  bool compare = false;
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    if (arg == "--script" && i + 1 < argc) {
      script = argv[++i];
    } else if (arg == "--compare") {
      compare = true;
    } else {
      std::fprintf(stderr, "usage: bert_bench [--script make_bert_fixture.py] [--compare]\n");
      return 2;
    }
  }
  const std::string python = find_python();
  if (python.empty()) {
    std::fprintf(stderr,
                 "bert_bench: skipped: no python3 with torch and numpy to make the model "
                 "(Debian: apt install python3-torch)\n");
    return 0;
  }
  char tmpl[] = "/tmp/bert_bench_XXXXXX";
  const std::string dir = mkdtemp(tmpl);
  const double torch_ms = generate_model(python, script, dir);
  if (!fs::exists(dir + "/model.safetensors")) {
    std::fprintf(stderr, "bert_bench: %s could not make the model\n", script.c_str());
    fs::remove_all(dir);
    return 1;
  }
  std::ifstream in(dir + "/reference.json");
  const auto sentence = nlohmann::json::parse(in).at("sequences")[0].get<std::vector<int32_t>>();
  const Batch batch = memories(256);

  {
    const auto start = Clock::now();
    auto model = BertModel::load(dir, {.threads = 1});
    if (!model.is_ok()) {
      std::fprintf(stderr, "bert_bench: %s\n", model.status().message().c_str());
      return 1;
    }
    std::vector<float> first(model->hidden_size());
    if (!model->embed(Batch{sentence}, Pooling::kMean, true, first).is_ok()) return 1;
    report("bert_load_ms", ms_since(start), "ms");
    const double bert_ms = time_one_sentence(*model, sentence, 300);
    report("bert_ms_30tok", bert_ms, "ms");
    std::fprintf(stderr, "bert_bench: %zu-token sentence on %s; max |error| vs torch %.2g\n",
                 sentence.size(), model->gemm_name(), max_error_vs_torch(*model, dir));
    if (!std::isnan(torch_ms)) {
      report("torch_ms_30tok", torch_ms, "ms");
      report("bert_speedup_vs_torch", torch_ms / bert_ms, "x");
    }
  }
  {
    auto model = BertModel::load(dir, {.threads = 2});
    if (!model.is_ok()) return 1;
    report("bert_per_s_batch", batch_per_second(*model, batch), "per_s");
  }
  report("bert_rss_mb", peak_rss_mb(), "MB");
  if (compare) compare_alternatives(dir, sentence, batch);
  fs::remove_all(dir);
  return 0;
}
