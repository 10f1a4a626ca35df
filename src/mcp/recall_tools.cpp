// The MCP tools that read: memory_search (the Python service's first line, then each result in
// tool_text.h's compact form with its score; max_response_chars cuts whole results and says
// so), memory_list (a page line, the memories, the call for the next page), and the status
// tools as key: value lines.
#include "mcp/tool_handlers.h"
#include "mcp/tool_text.h"
#include "sync/sync_state.h"

namespace mcpmem::mcp_detail {
namespace {

// A value for a "key=value" hint: as it is when it is one plain word, else JSON-quoted.
std::string hint_value(const std::string& v) {
  const bool plain = !v.empty() && v.find_first_of(" \"'=") == std::string::npos;
  return plain ? v : Json(v).dump();
}

// Code points of UTF-8 text (what max_response_chars counts, as Python's len()).
int64_t char_count(const std::string& text) {
  int64_t n = 0;
  for (char c : text) n += (static_cast<unsigned char>(c) & 0xC0) != 0x80;
  return n;
}

// "Time window: yesterday (2026-12-05T00:00:00Z .. 2026-12-05T23:59:59.999999Z), read from
// the query": which window filtered a search, so an agent sees why other memories are missing.
std::string time_window_text(const TimeWindow& w) {
  return "Time window: " + w.expression + " (" + iso_utc(w.start) + " .. " + iso_utc(w.end) + ")" +
         (w.from_query ? ", read from the query" : "");
}

// "47 memories tagged ops or release, of type decision": a page's total and its filters.
std::string list_total_text(const ListRequest& r, int64_t total) {
  std::string text = std::to_string(total) + " memories";
  if (!r.tags.empty()) text += " tagged " + joined(r.tags, r.match_all_tags ? " and " : " or ");
  if (r.memory_type) text += std::string(r.tags.empty() ? "" : ",") + " of type " + *r.memory_type;
  return text;
}

// "memory_list page=2 tags=ops": the call for another page, with the filters of this one.
std::string list_call(const ListRequest& r, int64_t page) {
  std::string call = "memory_list page=" + std::to_string(page);
  if (r.page_size != kListPageSize) call += " page_size=" + std::to_string(r.page_size);
  if (!r.tags.empty()) call += " tags=" + hint_value(joined(r.tags, ","));
  if (r.match_all_tags) call += " tag_match=all";
  if (r.memory_type) call += " memory_type=" + hint_value(*r.memory_type);
  return call;
}

OJson service_stats(MemoryService& s) {
  return stats_json(unwrap(s.stats(false)), s.config().db_path, false);
}

// key_value_lines without the final newline.
std::string record_text(const OJson& j) {
  std::string text = key_value_lines(j);
  if (!text.empty() && text.back() == '\n') text.pop_back();
  return text;
}

}  // namespace

Json memory_search(MemoryService& s, const Json& a, SearchMode default_mode, int default_limit) {
  SearchRequest r;
  r.query = str_arg(a, "query");
  std::string mode = str_arg(a, "mode", to_string(default_mode));
  auto parsed = parse_search_mode(mode);
  if (!parsed) throw ToolError{"'mode' must be semantic, exact, keyword or hybrid"};
  r.mode = *parsed;
  r.limit = static_cast<int>(int_arg(a, "limit", default_limit, 1, s.config().max_client_results));
  r.tags = tags_arg(a, "tags");
  r.match_all_tags = tag_match_all(a);
  r.time_expr = str_arg(a, "time_expr");
  r.after = date_arg(a, "after", false);
  r.before = date_arg(a, "before", true);
  r.time_from_query = bool_arg(a, "time_from_query", true);
  std::string type = str_arg(a, "memory_type");
  if (!type.empty()) r.memory_type = type;
  const int64_t max_chars = int_arg(a, "max_response_chars", 0, 0, 1 << 24);
  SearchResponse out = unwrap(s.search(r));

  const size_t found = out.results.size();
  const std::string head = (found == 0 ? std::string("No memories found")
                                       : "Found " + std::to_string(found) + " memories") +
                           " (mode: " + out.search_type + ") for query: '" + r.query + "'";
  const std::string window = out.time_window ? "\n" + time_window_text(*out.time_window) : "";
  std::vector<std::string> blocks;
  for (const SearchHit& h : out.results) {
    blocks.push_back(memory_block(h.memory, blocks.size() + 1, h.similarity_score));
  }
  // The most results whose text stays within max_response_chars (all of them without a cap).
  auto text_for = [&](size_t shown) {
    std::string text = head;
    if (shown < found) {
      text += "; showing " + std::to_string(shown) + " to stay under " + std::to_string(max_chars) +
              " characters";
    }
    text += window;
    for (size_t i = 0; i < shown; ++i) text += "\n\n" + blocks[i];
    return text;
  };
  size_t shown = found;
  std::string text = text_for(shown);
  while (max_chars > 0 && shown > 0 && char_count(text) > max_chars) text = text_for(--shown);

  Json results = Json::array();
  for (size_t i = 0; i < shown; ++i) {
    Json m = tool_memory_json(out.results[i].memory);
    m["similarity_score"] = out.results[i].similarity_score;
    m["relevance_reason"] = out.results[i].relevance_reason;
    results.push_back(std::move(m));
  }
  Json structured = {{"results", results},
                     {"total_found", found},
                     {"truncated", shown < found},
                     {"query", r.query},
                     {"search_type", out.search_type}};
  if (out.time_window) structured["time_window"] = Json(time_window_json(*out.time_window));
  return text_result(text, std::move(structured));
}

Json memory_list(MemoryService& s, const Json& a, int64_t default_page_size) {
  ListRequest r;
  r.page = int_arg(a, "page", 1, 1, 1 << 30);
  r.page_size = int_arg(a, "page_size", default_page_size, 1, s.config().max_client_results);
  r.tags = tags_arg(a, "tags");
  if (r.tags.empty()) r.tags = tags_arg(a, "tag");
  r.match_all_tags = tag_match_all(a);
  std::string type = str_arg(a, "memory_type");
  if (!type.empty()) r.memory_type = type;
  ListResponse out = unwrap(s.list(r));
  const int64_t pages = (out.total + out.page_size - 1) / out.page_size;
  Json memories = Json::array();
  for (const Memory& m : out.memories) memories.push_back(tool_memory_json(m));
  Json j = {{"memories", memories}, {"page", out.page},     {"page_size", out.page_size},
            {"total", out.total},   {"total_pages", pages}, {"has_more", out.has_more}};

  std::string text;
  if (out.total == 0) {
    text = "No memories" + list_total_text(r, 0).substr(std::string("0 memories").size());
  } else {
    text = "Page " + std::to_string(out.page) + " of " + std::to_string(pages) + " (" +
           std::to_string(out.page_size) + " per page), " + list_total_text(r, out.total) +
           " (newest first)";
    if (out.memories.empty()) text += "; past the last page: " + list_call(r, pages);
  }
  const int64_t first = (out.page - 1) * out.page_size;
  for (size_t i = 0; i < out.memories.size(); ++i) {
    text += "\n\n" + memory_block(out.memories[i], static_cast<size_t>(first) + i + 1);
  }
  if (out.has_more) text += "\n\nMore: " + list_call(r, out.page + 1);
  return text_result(text, j);
}

Json memory_stats(MemoryService& s) {
  OJson stats = service_stats(s);
  return text_result(record_text(stats), Json(stats));
}

Json memory_health(MemoryService& s) {
  OJson j = OJson::object();
  j["validation"] = {{"status", "healthy"}, {"message", "Database is accessible"}};
  j["statistics"] = service_stats(s);
  return text_result("Database Health Check Results:\n" + record_text(j), Json(j));
}

Json memory_cleanup(MemoryService& s) {
  int64_t n = unwrap(s.cleanup_duplicates());
  return text_result("Removed " + std::to_string(n) + " duplicate memories",
                     {{"success", true}, {"removed", n}});
}

Json memory_sync_status(MemoryService& s) {
  auto status = sync_status_json(s);
  if (!status.is_ok()) return error_result(status.status().message());
  OJson shown = *status;
  if (shown["hub"].is_null()) shown["hub"] = "none configured (mcp-memory sync --hub URL)";
  return text_result(record_text(shown), Json(*status));
}

}  // namespace mcpmem::mcp_detail
