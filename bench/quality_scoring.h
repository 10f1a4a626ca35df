// The labelled recall set of bench/quality and how a ranking is scored against it: recall@1,
// recall@5 and MRR over the first ten results, overall and per query category. Plain data and
// arithmetic, no service: quality_bench.cpp runs the searches, quality_fusion_study.cpp scores
// rankings it fuses itself.
#pragma once

#include <cstdio>
#include <map>
#include <string>
#include <utility>
#include <vector>

namespace mcpmem {

struct LabelledMemory {
  std::string id;  // stable name used by queries ("inc-pg-pool")
  std::string content;
};

struct LabelledQuery {
  std::string text;
  std::string target;    // the id of the memory it looks for
  std::string category;  // paraphrase, synonym, other_wording, question, keyword, non_english
};

struct QualitySet {
  std::vector<LabelledMemory> memories;
  std::vector<LabelledQuery> queries;
};

// 1-based position of `target` in `ids`, 0 when absent.
int rank_of(const std::vector<std::string>& ids, const std::string& target);

// Sums over queries of one group.
struct RecallSums {
  int queries = 0;
  int at1 = 0;
  int at5 = 0;
  double reciprocal = 0;  // sum of 1/rank for ranks 1..10

  void add(int rank);
  double recall1() const { return queries ? static_cast<double>(at1) / queries : 0; }
  double recall5() const { return queries ? static_cast<double>(at5) / queries : 0; }
  double mrr() const { return queries ? reciprocal / queries : 0; }
};

// One ranking method over the whole set: every query, and each category on its own.
class QualityScores {
 public:
  void add(const std::string& category, int rank);
  const RecallSums& overall() const { return overall_; }
  const std::map<std::string, RecallSums>& by_category() const { return by_category_; }

 private:
  RecallSums overall_;
  std::map<std::string, RecallSums> by_category_;
};

// A table, one row per category plus "all", one column group (R@1 R@5 MRR) per method, in
// the order given.
void print_category_table(std::FILE* out,
                          const std::vector<std::pair<std::string, QualityScores>>& methods);

}  // namespace mcpmem
