// quality_bench --fusion-study: ways to fuse the semantic and the keyword ranking into hybrid,
// scored on the labelled set. Each query's full semantic ranking (with cosines) and keyword
// ranking (BM25 relative to the best match) come from the service; the study keeps what
// MemoryService's hybrid sees (the top 2 x limit of each side, and the cosine of every
// candidate) and fuses them in each way, so alternatives are compared without rebuilding.
#pragma once

#include <cstdio>
#include <string>
#include <vector>

#include "bench/quality_scoring.h"

namespace mcpmem {

struct RankedId {
  std::string id;
  double score = 0;  // semantic: the cosine; keyword: BM25 / best BM25 of the query, in (0, 1]
};

// One query's two rankings over the whole corpus, best first.
struct QueryRankings {
  std::vector<RankedId> semantic;  // every memory
  std::vector<RankedId> keyword;   // the memories sharing a word with the query
};

// Prints one row per fusion: recall@1, recall@5, MRR overall and MRR per category.
void run_fusion_study(std::FILE* out, const QualitySet& set,
                      const std::vector<QueryRankings>& rankings, int limit);

}  // namespace mcpmem
