// The Python service's JSON shapes of memories, search results, pages and stats, with its key
// order, shared by the CLI (--json) and the REST API so that scripts written for the Python
// service read ours unchanged. Timestamps and scores are floats where it prints floats. The
// MCP tools and resources give the same memory and stats shapes.
#pragma once

#include <string>

#include "service/memory_service.h"

namespace mcpmem {

// Output JSON keeps keys in the order the Python service prints them.
using OJson = nlohmann::ordered_json;

// {content, content_hash, tags, memory_type, metadata, created_at, created_at_iso, updated_at,
// updated_at_iso}: the Python service's MemoryResponse.
OJson memory_json(const Memory& m);
// {results:[{memory, similarity_score, relevance_reason}], total_found, query, search_type,
// processing_time_ms}, and ours: time_window when a time expression filtered the search.
OJson search_json(const SearchResponse& r);
// {expression, start, end, start_iso, end_iso, from_query}: the window a search used (the MCP
// tool memory_search gives the same).
OJson time_window_json(const TimeWindow& w);
// {memories, total, page, page_size, has_more}
OJson list_json(const ListResponse& r);
// {backend, total_memories, unique_tags, memories_this_week, database_size_bytes, ...}
OJson stats_json(const ServiceStats& s, const std::string& db_path, bool by_source);

}  // namespace mcpmem
