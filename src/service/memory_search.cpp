// MemoryService::search: semantic, exact, keyword and hybrid recall, with tag, type and time
// filters applied before the top-k (the Python service's #214 under-filling cannot happen:
// when `limit` rows pass the filters, `limit` rows come back).
//
// Scores are in [0, 1]: semantic (1 + cos) / 2 as the Python service; exact 1.0; keyword is
// BM25 relative to the best match of the query (x / x_max with x = -bm25, so the best keyword
// match scores 1.0: raw BM25 is near zero in small collections and means nothing absolute);
// hybrid fuses 0.7 semantic + 0.3 keyword as the Python service's weighted average (kept after
// measuring weights, min-max normalised cosines and reciprocal-rank fusion on bench/quality:
// absolute cosines weigh a model's semantic side by how well it separates the candidates, the
// scale-free fusions do not; docs/perf.md, "Recall quality"); a recall by filters alone
// (search_type "tags", "time", "type" or a "+" of them) scores 0.5 as it does. A time window comes
// from time_expr or, when the front end asks, from a time named in the query
// (core/time_in_query.h); either way the response names it.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <unordered_map>

#include "core/time_grammar.h"
#include "core/time_in_query.h"
#include "service/memory_service.h"

namespace mcpmem {
namespace {

constexpr double kHybridSemanticWeight = 0.7;
constexpr double kHybridKeywordWeight = 0.3;
constexpr int kHybridOverfetch = 2;  // each side fetches 2 x limit before fusing

// A search query's vector (empty when the text is not valid UTF-8): embed_query, so models that
// embed queries with their own prompt (e5's "query: ", bge's instruction) get it.
std::vector<float> query_vector(const Embedder& embedder, std::string_view text) {
  std::vector<float> v(embedder.dimension());
  if (!embedder.embed_query(text, v).is_ok()) v.clear();
  return v;
}

double semantic_score(float cosine) { return std::clamp((1.0 + cosine) / 2.0, 0.0, 1.0); }

// Keyword scores of a result list, best = 1.0 (all 1.0 when BM25 cannot tell them apart).
std::vector<double> keyword_scores(const std::vector<ScoredId>& found) {
  double best = 0;
  for (const ScoredId& s : found) best = std::max(best, -s.score);
  std::vector<double> out;
  out.reserve(found.size());
  for (const ScoredId& s : found) {
    out.push_back(best > 1e-9 ? std::clamp(-s.score / best, 0.0, 1.0) : 1.0);
  }
  return out;
}

std::string format_score(const char* label, double v) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%s %.3f", label, v);
  return buf;
}

// A request's query once its time is read: what is ranked, and the window that filters.
struct TimedQuery {
  std::string query;
  std::optional<TimeWindow> window;
};

// time_expr when given (an error when the grammar does not understand it); else, when the
// request asks for it, a time named in the query, whose words then leave the query.
Result<TimedQuery> read_time(const SearchRequest& r, double now) {
  TimedQuery out{r.query, std::nullopt};
  if (!r.time_expr.empty()) {
    auto range = parse_time_expression(r.time_expr, now);
    if (!range) {
      return Status::invalid_argument(
          "could not understand the time expression '" + r.time_expr +
          "' (try 'yesterday', 'last week', '3 days ago', 'between 2025-01-01 and 2025-02-01')");
    }
    out.window = TimeWindow{r.time_expr, range->start, range->end, /*from_query=*/false};
  } else if (r.time_from_query && r.mode != SearchMode::kExact && !r.after && !r.before) {
    if (auto found = find_time_in_query(r.query, now)) {
      out.window =
          TimeWindow{found->expression, found->range.start, found->range.end, /*from_query=*/true};
      out.query = std::move(found->rest);
    }
  }
  return out;
}

// "tags", "time", "type" joined by "+": what a recall by filters alone filtered by.
std::string filter_label(const MemoryFilter& filter) {
  std::string label;
  auto add = [&](const char* part) { label += (label.empty() ? "" : "+") + std::string(part); };
  if (!filter.tags.empty()) add("tags");
  if (filter.created_after || filter.created_before) add("time");
  if (filter.memory_type) add("type");
  return label;
}

}  // namespace

const char* to_string(SearchMode mode) {
  switch (mode) {
    case SearchMode::kSemantic:
      return "semantic";
    case SearchMode::kExact:
      return "exact";
    case SearchMode::kKeyword:
      return "keyword";
    case SearchMode::kHybrid:
      return "hybrid";
  }
  return "semantic";
}

std::optional<SearchMode> parse_search_mode(std::string_view text) {
  if (text == "semantic") return SearchMode::kSemantic;
  if (text == "exact") return SearchMode::kExact;
  if (text == "keyword") return SearchMode::kKeyword;
  if (text == "hybrid") return SearchMode::kHybrid;
  return std::nullopt;
}

Result<std::vector<SearchHit>> MemoryService::hits_for(const std::vector<ScoredHit>& scored) {
  std::vector<int64_t> ids;
  ids.reserve(scored.size());
  for (const ScoredHit& s : scored) ids.push_back(s.id);
  MCP_ASSIGN_OR_RETURN(auto rows, db_->get_by_ids(ids));
  std::unordered_map<int64_t, Memory*> by_id;
  for (Memory& m : rows) by_id.emplace(m.id, &m);
  std::vector<SearchHit> hits;
  hits.reserve(scored.size());
  for (const ScoredHit& s : scored) {
    auto it = by_id.find(s.id);
    // A row deleted by another process between the index read and this one is dropped.
    if (it == by_id.end() || it->second->is_deleted()) continue;
    hits.push_back({std::move(*it->second), s.score, s.reason});
  }
  return hits;
}

Result<std::vector<Neighbor>> MemoryService::nearest(std::span<const float> query, size_t k,
                                                     const MemoryFilter& filter) {
  if (filter.empty()) return follower_.search(query, k);
  // Filters apply before the top-k: the rows that pass are scanned exactly.
  MCP_ASSIGN_OR_RETURN(auto ids, db_->ids_matching(filter));
  return follower_.search(query, k, &ids);
}

Result<SearchResponse> MemoryService::search(const SearchRequest& r) {
  auto started = std::chrono::steady_clock::now();
  if (r.limit < 1 || r.limit > config_.max_search_limit) {
    return Status::invalid_argument("limit must be between 1 and " +
                                    std::to_string(config_.max_search_limit));
  }
  MCP_ASSIGN_OR_RETURN(auto timed, read_time(r, now()));
  std::optional<double> after = r.after, before = r.before;
  if (timed.window) {
    after = timed.window->start;
    before = timed.window->end;
  }
  MCP_ASSIGN_OR_RETURN(auto filter,
                       make_filter(r.tags, r.match_all_tags, r.memory_type, after, before));

  SearchResponse out;
  out.query = r.query;
  out.search_type = to_string(r.mode);
  out.time_window = timed.window;
  bool blank_query = timed.query.find_first_not_of(" \t\r\n") == std::string::npos;
  if (blank_query) {
    if (filter.empty()) {
      return Status::invalid_argument("the query is empty: give a query, tags or a time window");
    }
    // Recall by filters alone: newest first, labelled with what filtered.
    out.search_type = filter_label(filter);
    MCP_ASSIGN_OR_RETURN(auto rows, db_->list(filter, ListOrder::kCreatedDesc, 0, r.limit));
    for (Memory& m : rows) {
      out.results.push_back({std::move(m), 0.5, "matched filters"});
    }
  } else {
    SearchRequest ranked = r;
    ranked.query = std::move(timed.query);
    MCP_ASSIGN_OR_RETURN(auto found, rank(ranked, filter));
    // The hits are ranked by this score, so dropping the ones under the bar here equals
    // applying it before the top-k.
    if (r.min_score)
      std::erase_if(found, [&](const ScoredHit& h) { return h.score < *r.min_score; });
    MCP_ASSIGN_OR_RETURN(out.results, hits_for(found));
  }
  out.processing_time_ms =
      std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - started).count();
  return out;
}

Result<SearchResponse> MemoryService::search_similar(const std::string& content_hash, int limit) {
  auto started = std::chrono::steady_clock::now();
  MCP_ASSIGN_OR_RETURN(auto source, get(content_hash));
  if (!source.has_value()) return Status::not_found("Memory not found");
  if (limit < 1 || limit >= config_.max_search_limit) {
    return Status::invalid_argument("limit must be between 1 and " +
                                    std::to_string(config_.max_search_limit - 1));
  }
  SearchRequest r;
  r.query = source->content;
  r.limit = limit + 1;  // the memory itself comes back first
  MCP_ASSIGN_OR_RETURN(auto found, search(r));
  SearchResponse out;
  out.query = content_hash;
  out.search_type = "similar";
  for (SearchHit& h : found.results) {
    if (h.memory.content_hash == content_hash || out.results.size() == static_cast<size_t>(limit)) {
      continue;
    }
    out.results.push_back(std::move(h));
  }
  out.processing_time_ms =
      std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - started).count();
  return out;
}

Result<std::vector<MemoryService::ScoredHit>> MemoryService::rank(const SearchRequest& r,
                                                                  const MemoryFilter& filter) {
  std::vector<ScoredHit> scored;
  switch (r.mode) {
    case SearchMode::kExact: {
      MCP_ASSIGN_OR_RETURN(auto ids, db_->substring_search(r.query, filter, r.limit));
      for (int64_t id : ids) scored.push_back({id, 1.0, "exact match"});
      return scored;
    }
    case SearchMode::kKeyword: {
      MCP_ASSIGN_OR_RETURN(auto found, db_->keyword_search(r.query, filter, r.limit));
      std::vector<double> scores = keyword_scores(found);
      for (size_t i = 0; i < found.size(); ++i) {
        scored.push_back({found[i].id, scores[i], format_score("keyword match", scores[i])});
      }
      return scored;
    }
    case SearchMode::kSemantic: {
      auto query = query_vector(*embedder_, r.query);
      if (query.empty()) return Status::invalid_argument("the query is not valid UTF-8");
      MCP_ASSIGN_OR_RETURN(auto near, nearest(query, r.limit, filter));
      for (const Neighbor& n : near) {
        double score = semantic_score(n.cosine);
        scored.push_back({n.id, score, format_score("semantic similarity", score)});
      }
      return scored;
    }
    case SearchMode::kHybrid:
      return rank_hybrid(r, filter);
  }
  return scored;
}

Result<std::vector<MemoryService::ScoredHit>> MemoryService::rank_hybrid(
    const SearchRequest& r, const MemoryFilter& filter) {
  auto query = query_vector(*embedder_, r.query);
  if (query.empty()) return Status::invalid_argument("the query is not valid UTF-8");
  const size_t fetch = static_cast<size_t>(r.limit) * kHybridOverfetch;
  MCP_ASSIGN_OR_RETURN(auto near, nearest(query, fetch, filter));
  MCP_ASSIGN_OR_RETURN(auto keyword,
                       db_->keyword_search(r.query, filter, static_cast<int64_t>(fetch)));

  struct Parts {
    double semantic = 0;
    double keyword = 0;
  };
  std::unordered_map<int64_t, Parts> parts;
  for (const Neighbor& n : near) parts[n.id].semantic = semantic_score(n.cosine);
  std::vector<int64_t> keyword_only;
  std::vector<double> scores = keyword_scores(keyword);
  for (size_t i = 0; i < keyword.size(); ++i) {
    auto [it, inserted] = parts.try_emplace(keyword[i].id);
    it->second.keyword = scores[i];
    if (inserted) keyword_only.push_back(keyword[i].id);
  }
  // Rows found only by keyword still get their true semantic part.
  if (!keyword_only.empty()) {
    MCP_ASSIGN_OR_RETURN(auto semantic,
                         follower_.search(query, keyword_only.size(), &keyword_only));
    for (const Neighbor& n : semantic) {
      parts[n.id].semantic = semantic_score(n.cosine);
    }
  }
  std::vector<ScoredHit> scored;
  scored.reserve(parts.size());
  for (const auto& [id, p] : parts) {
    double fused = kHybridSemanticWeight * p.semantic + kHybridKeywordWeight * p.keyword;
    char reason[96];
    std::snprintf(reason, sizeof reason, "hybrid %.3f (semantic %.3f, keyword %.3f)", fused,
                  p.semantic, p.keyword);
    scored.push_back({id, fused, reason});
  }
  std::sort(scored.begin(), scored.end(), [](const ScoredHit& a, const ScoredHit& b) {
    return a.score != b.score ? a.score > b.score : a.id < b.id;
  });
  if (scored.size() > static_cast<size_t>(r.limit)) scored.resize(r.limit);
  return scored;
}

}  // namespace mcpmem
