// What the MCP tool handlers share (internal to src/mcp): the error a handler throws for a bad
// argument (mcp_call_tool turns it into an isError result), the argument readers (core/
// json_fields.h's, their error a ToolError), results, and the handlers, by file:
// store_tools.cpp (memory_store, memory_store_session, memory_update, memory_delete) and
// recall_tools.cpp (memory_search, memory_list and the status tools). mcp_tools.cpp holds the
// table of names, schemas and descriptions, and the Python service's old names.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "core/json_fields.h"
#include "core/time_format.h"
#include "service/memory_service.h"
#include "service/wire_json.h"

namespace mcpmem::mcp_detail {

// A bad argument or a refused call: "Error: <message>" as an isError result.
struct ToolError {
  std::string message;
};

inline Json text_result(const std::string& text, Json structured = nullptr) {
  Json r = {{"content", Json::array({{{"type", "text"}, {"text", text}}})}};
  if (!structured.is_null()) r["structuredContent"] = std::move(structured);
  return r;
}

inline Json error_result(const std::string& text) {
  return {{"content", Json::array({{{"type", "text"}, {"text", text}}})}, {"isError", true}};
}

template <typename T>
T unwrap(Result<T> r) {
  if (!r.is_ok()) throw ToolError{r.status().message()};
  return std::move(r).value();
}

inline std::string str_arg(const Json& a, const char* name, const std::string& fallback = "") {
  return unwrap(string_field(a, name, fallback));
}

inline int64_t int_arg(const Json& a, const char* name, int64_t fallback, int64_t lo, int64_t hi) {
  return unwrap(int_field(a, name, fallback, lo, hi));
}

inline bool bool_arg(const Json& a, const char* name, bool fallback) {
  return unwrap(bool_field(a, name, fallback));
}

// Tags as a list, a comma-separated string, or a JSON-array string (as the Python service).
inline std::vector<std::string> tags_arg(const Json& a, const char* name) {
  return unwrap(tags_field(a, name));
}

inline bool tag_match_all(const Json& a) {
  std::string m = str_arg(a, "tag_match", "any");
  if (m != "any" && m != "all") throw ToolError{"'tag_match' must be \"any\" or \"all\""};
  return m == "all";
}

// A YYYY-MM-DD (or ISO) date in local time; `end_of_day` makes a bare day its last moment.
inline std::optional<double> date_arg(const Json& a, const char* name, bool end_of_day) {
  std::string s = str_arg(a, name);
  if (s.empty()) return std::nullopt;
  auto t = parse_iso_time(s, /*naive_is_local=*/true);
  if (!t) throw ToolError{std::string("'") + name + "' must be a date like 2025-01-31"};
  return end_of_day && s.size() == 10 ? *t + 86399.999999 : *t;
}

// A memory as the tools return it: the one shape of REST, the CLI and the resources.
inline Json tool_memory_json(const Memory& m) { return Json(memory_json(m)); }

inline std::string joined(const std::vector<std::string>& items, const char* separator = ", ") {
  std::string out;
  for (size_t i = 0; i < items.size(); ++i) out += (i ? separator : "") + items[i];
  return out;
}

// memory_list's default page size.
inline constexpr int64_t kListPageSize = 20;

// store_tools.cpp
Json memory_store(MemoryService& s, const Json& a);
Json memory_store_session(MemoryService& s, const Json& a);
Json memory_update(MemoryService& s, const Json& a);
Json memory_delete(MemoryService& s, const Json& a);

// recall_tools.cpp
Json memory_search(MemoryService& s, const Json& a, SearchMode default_mode, int default_limit);
Json memory_list(MemoryService& s, const Json& a, int64_t default_page_size);
Json memory_stats(MemoryService& s);
Json memory_health(MemoryService& s);
Json memory_cleanup(MemoryService& s);
Json memory_sync_status(MemoryService& s);

}  // namespace mcpmem::mcp_detail
