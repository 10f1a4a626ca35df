// Renderers for service/wire_json.h.
#include "service/wire_json.h"

#include <cmath>

#include "core/time_format.h"

namespace mcpmem {

OJson memory_json(const Memory& m) {
  OJson j = OJson::object();
  j["content"] = m.content;
  j["content_hash"] = m.content_hash;
  j["tags"] = m.tags;
  j["memory_type"] = m.memory_type.empty() ? Json(nullptr) : Json(m.memory_type);
  j["metadata"] = OJson(m.metadata);  // converted in place, no text round trip
  j["created_at"] = m.created_at;
  j["created_at_iso"] = iso_utc(m.created_at);
  j["updated_at"] = m.updated_at;
  j["updated_at_iso"] = iso_utc(m.updated_at);
  return j;
}

OJson search_json(const SearchResponse& r) {
  OJson results = OJson::array();
  for (const SearchHit& h : r.results) {
    OJson hit = OJson::object();
    hit["memory"] = memory_json(h.memory);
    hit["similarity_score"] = h.similarity_score;
    hit["relevance_reason"] = h.relevance_reason;
    results.push_back(std::move(hit));
  }
  OJson j = OJson::object();
  j["results"] = std::move(results);
  j["total_found"] = r.results.size();
  j["query"] = r.query;
  j["search_type"] = r.search_type;
  j["processing_time_ms"] = r.processing_time_ms;
  if (r.time_window) j["time_window"] = time_window_json(*r.time_window);
  return j;
}

OJson time_window_json(const TimeWindow& w) {
  OJson j = OJson::object();
  j["expression"] = w.expression;
  j["start"] = w.start;
  j["end"] = w.end;
  j["start_iso"] = iso_utc(w.start);
  j["end_iso"] = iso_utc(w.end);
  j["from_query"] = w.from_query;
  return j;
}

OJson list_json(const ListResponse& r) {
  OJson memories = OJson::array();
  for (const Memory& m : r.memories) memories.push_back(memory_json(m));
  OJson j = OJson::object();
  j["memories"] = std::move(memories);
  j["total"] = r.total;
  j["page"] = r.page;
  j["page_size"] = r.page_size;
  j["has_more"] = r.has_more;
  return j;
}

OJson stats_json(const ServiceStats& s, const std::string& db_path, bool by_source) {
  OJson j = OJson::object();
  j["backend"] = "sqlite-vec";
  j["total_memories"] = s.storage.total_memories;
  j["unique_tags"] = s.storage.unique_tags;
  j["memories_this_week"] = s.storage.memories_this_week;
  j["database_size_bytes"] = s.storage.database_size_bytes;
  j["database_size_mb"] =
      std::round(static_cast<double>(s.storage.database_size_bytes) / 1048576.0 * 100) / 100;
  j["embedding_model"] = s.embedding_model;
  j["embedding_dimension"] = s.embedding_dimension;
  j["deleted_memories"] = s.storage.deleted_memories;
  j["last_modified"] = s.storage.last_modified;
  j["last_applied"] = s.storage.last_applied;
  j["index_ready"] = s.index_ready;
  j["database_path"] = db_path;
  if (by_source) {
    OJson sources = OJson::object();
    for (const TagCount& t : s.sources) sources[t.tag] = t.count;
    j["sources"] = std::move(sources);
  }
  return j;
}

}  // namespace mcpmem
