// Recall@k and MRR arithmetic and the per-category table of quality_bench.
#include "bench/quality_scoring.h"

#include <algorithm>

namespace mcpmem {

int rank_of(const std::vector<std::string>& ids, const std::string& target) {
  auto it = std::find(ids.begin(), ids.end(), target);
  return it == ids.end() ? 0 : static_cast<int>(it - ids.begin()) + 1;
}

void RecallSums::add(int rank) {
  ++queries;
  if (rank == 1) ++at1;
  if (rank >= 1 && rank <= 5) ++at5;
  if (rank >= 1 && rank <= 10) reciprocal += 1.0 / rank;
}

void QualityScores::add(const std::string& category, int rank) {
  overall_.add(rank);
  by_category_[category].add(rank);
}

void print_category_table(std::FILE* out,
                          const std::vector<std::pair<std::string, QualityScores>>& methods) {
  if (methods.empty()) return;
  std::fprintf(out, "%-14s %4s", "category", "n");
  for (const auto& [name, scores] : methods) std::fprintf(out, " | %-19.19s", name.c_str());
  std::fprintf(out, "\n%-14s %4s", "", "");
  for (size_t i = 0; i < methods.size(); ++i) std::fprintf(out, " |  R@1   R@5   MRR  ");
  std::fprintf(out, "\n");
  auto row = [&](const std::string& label, auto&& sums_of) {
    const RecallSums& first = sums_of(methods.begin()->second);
    std::fprintf(out, "%-14s %4d", label.c_str(), first.queries);
    for (const auto& [name, scores] : methods) {
      const RecallSums& s = sums_of(scores);
      std::fprintf(out, " | %.3f %.3f %.3f", s.recall1(), s.recall5(), s.mrr());
    }
    std::fprintf(out, "\n");
  };
  for (const auto& [category, unused] : methods.begin()->second.by_category()) {
    row(category,
        [&](const QualityScores& s) -> const RecallSums& { return s.by_category().at(category); });
  }
  row("all", [](const QualityScores& s) -> const RecallSums& { return s.overall(); });
}

}  // namespace mcpmem
