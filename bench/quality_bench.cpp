// quality_bench: how well recall finds what an agent meant, as `BENCH <name> <value> ratio`
// lines, for each embedding model and each search mode (semantic, keyword, hybrid).
//
// The labelled set is bench/quality/: corpus.jsonl (agent memories, each with a stable id) and
// queries.jsonl (each query names the memory it is looking for and a category: paraphrase,
// synonym, other_wording, question, keyword, non_english). For each model the corpus is stored
// through MemoryService into a fresh temporary database (semantic dedup off, so near memories
// all stay), and every query is searched in each mode, limit 10, as a user's search would be:
//   quality_<model>_<mode>_recall1   share of queries whose memory comes first
//   quality_<model>_<mode>_recall5   ... among the first five
//   quality_<model>_<mode>_mrr       mean of 1/rank over the first ten (0 when not there)
// A table per category goes to stderr. --model NAME (repeatable) takes any name the embedder
// registry accepts (hash-384, all-MiniLM-L6-v2, OWNER/REPO, bert:<dir>, ...); without one it
// runs hash-384 and every complete model installed under $MCP_MEMORY_BASE_DIR/models.
// --fusion-study also scores alternative ways to fuse the semantic and keyword rankings
// (docs/perf.md, "Recall quality", says what was tried and why hybrid fuses as it does).
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>
#include <unordered_map>
#include <vector>

#include "bench/quality_fusion_study.h"
#include "bench/quality_scoring.h"
#include "core/config.h"
#include "core/memory.h"
#include "embed/model_store.h"
#include "platform/console.h"
#include "service/memory_service.h"

namespace {

using namespace mcpmem;
namespace fs = std::filesystem;

constexpr int kSearchLimit = 10;  // what an agent's memory_search asks for by default

// Reads one JSON object per line; blank lines are skipped.
Result<std::vector<Json>> read_jsonl(const fs::path& path) {
  std::ifstream in(path);
  if (!in) return Status::not_found("cannot open " + path.string());
  std::vector<Json> rows;
  std::string line;
  for (int n = 1; std::getline(in, line); ++n) {
    if (line.find_first_not_of(" \t\r") == std::string::npos) continue;
    Json row = Json::parse(line, nullptr, /*allow_exceptions=*/false);
    if (row.is_discarded() || !row.is_object()) {
      return Status::invalid_argument(path.string() + ":" + std::to_string(n) +
                                      ": not a JSON object");
    }
    rows.push_back(std::move(row));
  }
  return rows;
}

Result<QualitySet> load_set(const fs::path& dir) {
  QualitySet set;
  auto corpus = read_jsonl(dir / "corpus.jsonl");
  if (!corpus.is_ok()) return corpus.status();
  for (const Json& row : *corpus) {
    std::string id = row.value("id", ""), content = row.value("content", "");
    if (id.empty() || content.empty()) return Status::invalid_argument("corpus row without id");
    set.memories.push_back({id, content});
  }
  auto queries = read_jsonl(dir / "queries.jsonl");
  if (!queries.is_ok()) return queries.status();
  for (const Json& row : *queries) {
    LabelledQuery q{row.value("query", ""), row.value("target", ""), row.value("category", "")};
    bool known = false;
    for (const auto& m : set.memories) known = known || m.id == q.target;
    if (q.text.empty() || !known) {
      return Status::invalid_argument("query '" + q.text + "' names no memory of the corpus");
    }
    set.queries.push_back(std::move(q));
  }
  return set;
}

// "all-MiniLM-L6-v2" -> all_minilm_l6_v2, "BAAI/bge-small-en-v1.5" -> bge_small_en_v1_5,
// "bert:/models/e5/" -> e5: the last part of the name, in [a-z0-9_].
std::string bench_label(std::string model) {
  while (model.size() > 1 && model.back() == '/') model.pop_back();
  size_t cut = model.find_last_of("/:#");
  if (cut != std::string::npos && cut + 1 < model.size()) model = model.substr(cut + 1);
  std::string out;
  for (char c : model) {
    char l = (c >= 'A' && c <= 'Z') ? static_cast<char>(c + 32) : c;
    bool keep = (l >= 'a' && l <= 'z') || (l >= '0' && l <= '9');
    if (keep) {
      out.push_back(l);
    } else if (!out.empty() && out.back() != '_') {
      out.push_back('_');
    }
  }
  while (!out.empty() && out.back() == '_') out.pop_back();
  return out;
}

// A service on a fresh database in `dir` whose models come from the user's models directory.
Result<std::unique_ptr<MemoryService>> open_service(const std::string& model,
                                                    const std::string& dir) {
  Config config =
      config_from_env(process_environment());  // models_dir: $MCP_MEMORY_BASE_DIR/models
  config.base_dir = dir;
  config.db_path = dir + "/quality.db";
  config.backups_path = dir + "/backups";
  config.embedding_model = model;
  config.semantic_dedup_enabled = false;
  config.synchronous_full = false;
  return MemoryService::open(config);
}

// Stores the corpus; returns each memory's content hash, by corpus id.
Result<std::unordered_map<std::string, std::string>> store_corpus(MemoryService& service,
                                                                  const QualitySet& set) {
  std::unordered_map<std::string, std::string> hash_to_id;
  for (const auto& m : set.memories) {
    StoreRequest r;
    r.content = m.content;
    r.allow_duplicate = true;
    auto stored = service.store(r);
    if (!stored.is_ok()) return stored.status();
    if (!stored->success) return Status::internal(m.id + " not stored: " + stored->message);
    hash_to_id[stored->content_hash] = m.id;
  }
  if (Status s = service.wait_for_index(); !s.is_ok()) return s;
  return hash_to_id;
}

// The corpus ids a search returns, best first.
Result<std::vector<std::string>> search_ids(
    MemoryService& service, const std::string& query, SearchMode mode, int limit,
    const std::unordered_map<std::string, std::string>& hash_to_id,
    std::vector<double>* scores = nullptr) {
  SearchRequest r;
  r.query = query;
  r.mode = mode;
  r.limit = limit;
  auto found = service.search(r);
  if (!found.is_ok()) return found.status();
  std::vector<std::string> ids;
  for (const SearchHit& h : found->results) {
    ids.push_back(hash_to_id.at(h.memory.content_hash));
    if (scores) scores->push_back(h.similarity_score);
  }
  return ids;
}

// Every candidate's full semantic and keyword standing, for the fusion study.
Result<std::vector<QueryRankings>> full_rankings(
    MemoryService& service, const QualitySet& set,
    const std::unordered_map<std::string, std::string>& hash_to_id) {
  const int all = static_cast<int>(set.memories.size());
  std::vector<QueryRankings> out;
  for (const auto& q : set.queries) {
    QueryRankings r;
    std::vector<double> sem_scores, kw_scores;
    auto sem = search_ids(service, q.text, SearchMode::kSemantic, all, hash_to_id, &sem_scores);
    if (!sem.is_ok()) return sem.status();
    auto kw = search_ids(service, q.text, SearchMode::kKeyword, all, hash_to_id, &kw_scores);
    if (!kw.is_ok()) return kw.status();
    for (size_t i = 0; i < sem->size(); ++i) {
      r.semantic.push_back({(*sem)[i], 2 * sem_scores[i] - 1});  // back to the cosine
    }
    for (size_t i = 0; i < kw->size(); ++i) r.keyword.push_back({(*kw)[i], kw_scores[i]});
    out.push_back(std::move(r));
  }
  return out;
}

Status run_model(const std::string& model, const QualitySet& set, bool fusion_study) {
  char tmpl[] = "/tmp/mcpmem-quality-XXXXXX";
  if (mkdtemp(tmpl) == nullptr) return Status::internal("cannot make a temporary directory");
  const std::string dir = tmpl;
  struct Cleanup {
    std::string dir;
    ~Cleanup() {
      std::error_code ec;
      fs::remove_all(dir, ec);
    }
  } cleanup{dir};

  auto service = open_service(model, dir);
  if (!service.is_ok()) return service.status();
  auto hash_to_id = store_corpus(**service, set);
  if (!hash_to_id.is_ok()) return hash_to_id.status();

  const std::string label = bench_label(model);
  std::vector<std::pair<std::string, QualityScores>> by_mode;
  for (SearchMode mode : {SearchMode::kSemantic, SearchMode::kKeyword, SearchMode::kHybrid}) {
    QualityScores scores;
    for (const auto& q : set.queries) {
      auto ids = search_ids(**service, q.text, mode, kSearchLimit, *hash_to_id);
      if (!ids.is_ok()) return ids.status();
      scores.add(q.category, rank_of(*ids, q.target));
    }
    const std::string name = std::string("quality_") + label + "_" + to_string(mode);
    std::printf("BENCH %s_recall1 %.3f ratio\n", name.c_str(), scores.overall().recall1());
    std::printf("BENCH %s_recall5 %.3f ratio\n", name.c_str(), scores.overall().recall5());
    std::printf("BENCH %s_mrr %.3f ratio\n", name.c_str(), scores.overall().mrr());
    std::fflush(stdout);
    by_mode.emplace_back(to_string(mode), std::move(scores));
  }
  std::fprintf(stderr, "\nquality %s (%s): %zu memories, %zu queries, limit %d\n", label.c_str(),
               model.c_str(), set.memories.size(), set.queries.size(), kSearchLimit);
  print_category_table(stderr, by_mode);

  if (fusion_study) {
    auto rankings = full_rankings(**service, set, *hash_to_id);
    if (!rankings.is_ok()) return rankings.status();
    run_fusion_study(stderr, set, *rankings, kSearchLimit);
  }
  return Status::ok();
}

int usage() {
  std::fprintf(stderr,
               "usage: quality_bench [--model NAME]... [--data DIR] [--fusion-study]\n"
               "  NAME: hash-384, all-MiniLM-L6-v2, OWNER/REPO, bert:<dir>, ... (default:\n"
               "  hash-384 and every model installed under $MCP_MEMORY_BASE_DIR/models)\n");
  return 2;
}

}  // namespace

int main(int argc, char** argv) {
  std::vector<std::string> models;
  fs::path data_dir = MCP_QUALITY_DATA_DIR;
  bool fusion_study = false;
  for (int i = 1; i < argc; ++i) {
    std::string arg = argv[i];
    if (arg == "--model" && i + 1 < argc) {
      models.push_back(argv[++i]);
    } else if (arg == "--data" && i + 1 < argc) {
      data_dir = argv[++i];
    } else if (arg == "--fusion-study") {
      fusion_study = true;
    } else {
      return usage();
    }
  }
  if (models.empty()) {
    models.push_back("hash-384");
    for (const InstalledModel& m :
         installed_models(config_from_env(process_environment()).models_dir)) {
      if (m.complete) models.push_back(m.repo);
    }
  }
  auto set = load_set(data_dir);
  if (!set.is_ok()) {
    std::fprintf(stderr, "quality_bench: %s\n", set.status().message().c_str());
    return 1;
  }
  int failed = 0;
  for (const std::string& model : models) {
    if (Status s = run_model(model, *set, fusion_study); !s.is_ok()) {
      std::fprintf(stderr, "quality_bench: %s: %s\n", model.c_str(), s.message().c_str());
      ++failed;
    }
  }
  return failed == 0 ? 0 : 1;
}
