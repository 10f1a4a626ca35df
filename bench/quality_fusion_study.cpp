// The fusion study: hybrid's candidates (top 2 x limit of each side, as MemoryService fetches
// them) fused by weighted scores, min-max normalised scores and reciprocal-rank fusion.
#include "bench/quality_fusion_study.h"

#include <algorithm>
#include <functional>
#include <unordered_map>

namespace mcpmem {
namespace {

constexpr int kOverfetch = 2;  // MemoryService's kHybridOverfetch

// What hybrid knows of one candidate.
struct Candidate {
  std::string id;
  double cosine = 0;
  int semantic_rank = 0;       // 1-based among the semantic candidates; 0 when not fetched
  int cosine_rank = 0;         // 1-based among all candidates by cosine (keyword-only rows too)
  double keyword = 0;          // relative BM25; 0 when not fetched
  int keyword_rank = 0;        // 1-based; 0 when not fetched
  double semantic_minmax = 0;  // cosine min-max normalised over the candidates
  double keyword_minmax = 0;   // relative BM25 min-max normalised over the keyword candidates
};

using Fusion = std::function<double(const Candidate&)>;

double rrf(int rank, double k) { return rank > 0 ? 1.0 / (k + rank) : 0.0; }

std::vector<Candidate> candidates(const QueryRankings& r, size_t fetch) {
  std::unordered_map<std::string, double> cosine;
  for (const RankedId& s : r.semantic) cosine[s.id] = s.score;
  std::vector<Candidate> out;
  std::unordered_map<std::string, size_t> at;
  for (size_t i = 0; i < r.semantic.size() && i < fetch; ++i) {
    at[r.semantic[i].id] = out.size();
    out.push_back({r.semantic[i].id, r.semantic[i].score, static_cast<int>(i) + 1});
  }
  double kw_min = 1;
  for (size_t i = 0; i < r.keyword.size() && i < fetch; ++i) {
    auto [it, inserted] = at.try_emplace(r.keyword[i].id, out.size());
    if (inserted) out.push_back({r.keyword[i].id, cosine[r.keyword[i].id]});
    out[it->second].keyword = r.keyword[i].score;
    out[it->second].keyword_rank = static_cast<int>(i) + 1;
    kw_min = std::min(kw_min, r.keyword[i].score);
  }
  double lo = 1, hi = -1;
  for (const Candidate& c : out) lo = std::min(lo, c.cosine), hi = std::max(hi, c.cosine);
  std::vector<size_t> by_cosine(out.size());
  for (size_t i = 0; i < out.size(); ++i) by_cosine[i] = i;
  std::stable_sort(by_cosine.begin(), by_cosine.end(),
                   [&](size_t a, size_t b) { return out[a].cosine > out[b].cosine; });
  for (size_t i = 0; i < by_cosine.size(); ++i) {
    Candidate& c = out[by_cosine[i]];
    c.cosine_rank = static_cast<int>(i) + 1;
    c.semantic_minmax = hi - lo > 1e-9 ? (c.cosine - lo) / (hi - lo) : 1.0;
    if (c.keyword_rank > 0) {
      c.keyword_minmax = 1 - kw_min > 1e-9 ? (c.keyword - kw_min) / (1 - kw_min) : 1.0;
    }
  }
  return out;
}

std::vector<std::pair<std::string, Fusion>> fusions() {
  std::vector<std::pair<std::string, Fusion>> out;
  auto weighted = [](double w) {
    return [w](const Candidate& c) { return w * (1 + c.cosine) / 2 + (1 - w) * c.keyword; };
  };
  out.emplace_back("0.7 (1+cos)/2 + 0.3 kw (before)", weighted(0.7));
  for (double w : {0.5, 0.6, 0.8, 0.9}) {
    char name[64];
    std::snprintf(name, sizeof name, "%.1f (1+cos)/2 + %.1f kw", w, 1 - w);
    out.emplace_back(name, weighted(w));
  }
  for (double w : {0.5, 0.6, 0.7, 0.8}) {
    char name[64];
    std::snprintf(name, sizeof name, "%.1f minmax(cos) + %.1f kw", w, 1 - w);
    out.emplace_back(
        name, [w](const Candidate& c) { return w * c.semantic_minmax + (1 - w) * c.keyword; });
  }
  for (double w : {0.5, 0.6, 0.7}) {
    char name[64];
    std::snprintf(name, sizeof name, "%.1f minmax(cos) + %.1f minmax(kw)", w, 1 - w);
    out.emplace_back(name, [w](const Candidate& c) {
      return w * c.semantic_minmax + (1 - w) * c.keyword_minmax;
    });
  }
  for (double k : {10.0, 30.0, 60.0}) {
    char name[64];
    std::snprintf(name, sizeof name, "RRF k=%.0f", k);
    out.emplace_back(
        name, [k](const Candidate& c) { return rrf(c.semantic_rank, k) + rrf(c.keyword_rank, k); });
  }
  for (double k : {10.0, 30.0, 60.0}) {
    char name[64];
    std::snprintf(name, sizeof name, "RRF k=%.0f, cosine rank of all", k);
    out.emplace_back(
        name, [k](const Candidate& c) { return rrf(c.cosine_rank, k) + rrf(c.keyword_rank, k); });
  }
  for (double w : {0.6, 0.7}) {
    char name[64];
    std::snprintf(name, sizeof name, "RRF k=60, %.1f sem / %.1f kw", w, 1 - w);
    out.emplace_back(name, [w](const Candidate& c) {
      return w * rrf(c.cosine_rank, 60) + (1 - w) * rrf(c.keyword_rank, 60);
    });
  }
  return out;
}

}  // namespace

void run_fusion_study(std::FILE* out, const QualitySet& set,
                      const std::vector<QueryRankings>& rankings, int limit) {
  std::unordered_map<std::string, size_t> corpus_order;  // ties go to the older memory
  for (size_t i = 0; i < set.memories.size(); ++i) corpus_order[set.memories[i].id] = i;
  const size_t fetch = static_cast<size_t>(limit) * kOverfetch;

  std::fprintf(out, "\nfusion study (candidates: top %zu of each side)\n", fetch);
  std::fprintf(out, "%-36s  R@1   R@5   MRR  | MRR by category\n", "fusion");
  bool header = false;
  for (const auto& [name, fuse] : fusions()) {
    QualityScores scores;
    for (size_t q = 0; q < set.queries.size(); ++q) {
      std::vector<Candidate> cands = candidates(rankings[q], fetch);
      std::vector<std::pair<double, size_t>> scored;
      for (size_t i = 0; i < cands.size(); ++i) scored.emplace_back(fuse(cands[i]), i);
      std::sort(scored.begin(), scored.end(), [&](const auto& a, const auto& b) {
        if (a.first != b.first) return a.first > b.first;
        return corpus_order[cands[a.second].id] < corpus_order[cands[b.second].id];
      });
      std::vector<std::string> ids;
      for (size_t i = 0; i < scored.size() && i < static_cast<size_t>(limit); ++i) {
        ids.push_back(cands[scored[i].second].id);
      }
      scores.add(set.queries[q].category, rank_of(ids, set.queries[q].target));
    }
    if (!header) {
      std::fprintf(out, "%-36s                   |", "");
      for (const auto& [category, s] : scores.by_category()) {
        std::fprintf(out, " %-6.6s", category.c_str());
      }
      std::fprintf(out, "\n");
      header = true;
    }
    const RecallSums& all = scores.overall();
    std::fprintf(out, "%-36s %.3f %.3f %.3f |", name.c_str(), all.recall1(), all.recall5(),
                 all.mrr());
    for (const auto& [category, s] : scores.by_category()) std::fprintf(out, " %.3f", s.mrr());
    std::fprintf(out, "\n");
  }
}

}  // namespace mcpmem
