// The MCP tools, with the Python MCP Memory Service's names, arguments, defaults and text
// output (so agents prompted for it keep working), plus structuredContent matching each
// tool's outputSchema. Arguments are validated here; bad ones give an isError result that says
// which argument and why. The Python service's old tool names are accepted, not listed.
#include <cstdio>
#include <functional>
#include <random>
#include <sstream>

#include "core/content_hash.h"
#include "core/json_fields.h"
#include "core/tags.h"
#include "core/time_format.h"
#include "mcp/mcp_server.h"
#include "service/wire_json.h"
#include "sync/sync_state.h"

namespace mcpmem {
namespace {

struct ToolError {
  std::string message;
};

Json text_result(const std::string& text, Json structured = nullptr) {
  Json r = {{"content", Json::array({{{"type", "text"}, {"text", text}}})}};
  if (!structured.is_null()) r["structuredContent"] = std::move(structured);
  return r;
}

Json error_result(const std::string& text) {
  return {{"content", Json::array({{{"type", "text"}, {"text", text}}})}, {"isError", true}};
}

template <typename T>
T unwrap(Result<T> r) {
  if (!r.is_ok()) throw ToolError{r.status().message()};
  return std::move(r).value();
}

// ---- argument access: core/json_fields.h's readers, their error an isError result ----

std::string str_arg(const Json& a, const char* name, const std::string& fallback = "") {
  return unwrap(string_field(a, name, fallback));
}

int64_t int_arg(const Json& a, const char* name, int64_t fallback, int64_t lo, int64_t hi) {
  return unwrap(int_field(a, name, fallback, lo, hi));
}

bool bool_arg(const Json& a, const char* name, bool fallback) {
  return unwrap(bool_field(a, name, fallback));
}

// Tags as a list, a comma-separated string, or a JSON-array string (as the Python service).
std::vector<std::string> tags_arg(const Json& a, const char* name) {
  return unwrap(tags_field(a, name));
}

bool tag_match_all(const Json& a) {
  std::string m = str_arg(a, "tag_match", "any");
  if (m != "any" && m != "all") throw ToolError{"'tag_match' must be \"any\" or \"all\""};
  return m == "all";
}

std::optional<double> date_arg(const Json& a, const char* name, bool end_of_day) {
  std::string s = str_arg(a, name);
  if (s.empty()) return std::nullopt;
  auto t = parse_iso_time(s, /*naive_is_local=*/true);
  if (!t) throw ToolError{std::string("'") + name + "' must be a date like 2025-01-31"};
  return end_of_day && s.size() == 10 ? *t + 86399.999999 : *t;
}

// A memory as the tools return it: the one shape of REST, the CLI and the resources.
Json tool_memory_json(const Memory& m) { return Json(memory_json(m)); }

// ---- the tools ----

Json memory_store(MemoryService& s, const Json& a) {
  StoreRequest r;
  r.content = str_arg(a, "content");
  if (r.content.empty()) throw ToolError{"'content' is required"};
  Json meta = a.value("metadata", Json::object());
  if (!meta.is_object()) throw ToolError{"'metadata' must be an object"};
  // The Python tool takes tags and type inside metadata; top-level ones are accepted too.
  r.tags = tags_arg(a, "tags");
  for (const auto& t : tags_arg(meta, "tags")) r.tags.push_back(t);
  r.memory_type = str_arg(a, "memory_type", str_arg(meta, "type", "note"));
  meta.erase("tags");
  meta.erase("type");
  r.metadata = meta;
  r.conversation_id = str_arg(a, "conversation_id");
  StoreResult out = unwrap(s.store(r));
  std::string text =
      out.success ? "Memory stored successfully (hash: " + out.content_hash + ")" : out.message;
  return text_result(
      text,
      {{"success", out.success}, {"content_hash", out.content_hash}, {"message", out.message}});
}

// A conversation as memories: MemoryService::store_session decides the chunks.
Json memory_store_session(MemoryService& s, const Json& a) {
  if (!a.contains("turns") || !a["turns"].is_array() || a["turns"].empty()) {
    throw ToolError{"'turns' is required and must be a non-empty list of {role, content}"};
  }
  SessionRequest r;
  for (const Json& turn : a["turns"]) {
    if (!turn.is_object()) throw ToolError{"each of 'turns' must be an object {role, content}"};
    r.turns.push_back({str_arg(turn, "role", "unknown"), str_arg(turn, "content")});
  }
  r.session_id = str_arg(a, "session_id");
  r.metadata = unwrap(object_field(a, "metadata"));
  r.tags = tags_arg(a, "tags");
  SessionStored out = unwrap(s.store_session(r));
  const std::string turns = std::to_string(out.turns);
  const std::string chunks = std::to_string(out.content_hashes.size());
  std::string text = out.content_hashes.size() == 1
                         ? "Session stored successfully (session_id: " + out.session_id +
                               ", hash: " + out.content_hashes[0] + ", turns: " + turns + ")"
                         : "Session stored successfully (session_id: " + out.session_id +
                               ", chunks: " + chunks + "/" + chunks + ", turns: " + turns + ")";
  return text_result(text, {{"success", true},
                            {"session_id", out.session_id},
                            {"content_hashes", out.content_hashes},
                            {"turns", out.turns}});
}

// "Time window: yesterday (2026-12-05T00:00:00Z .. 2026-12-05T23:59:59.999999Z), read from
// the query": which window filtered a search, so an agent sees why other memories are missing.
std::string time_window_text(const TimeWindow& w) {
  return "Time window: " + w.expression + " (" + iso_utc(w.start) + " .. " + iso_utc(w.end) + ")" +
         (w.from_query ? ", read from the query" : "");
}

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

  std::ostringstream text;
  Json results = Json::array();
  if (out.results.empty()) {
    text << "No memories found (mode: " << out.search_type << ") for query: '" << r.query << "'";
  } else {
    text << "Found " << out.results.size() << " memories (mode: " << out.search_type
         << ") for query: '" << r.query << "'";
  }
  if (out.time_window) text << "\n" << time_window_text(*out.time_window);
  if (!out.results.empty()) text << "\n";
  int i = 0;
  for (const SearchHit& h : out.results) {
    std::ostringstream block;
    block << "\n"
          << ++i << ". " << h.memory.content << "\n   Hash: " << h.memory.content_hash
          << "\n   Created: " << iso_utc(h.memory.created_at);
    if (!h.memory.tags.empty()) block << " [" << join_tags_csv(h.memory.tags) << "]";
    block << "\n";
    if (max_chars > 0 && static_cast<int64_t>(text.tellp() + block.tellp()) > max_chars) {
      text << "\n(" << (out.results.size() - results.size()) << " more results cut to stay under "
           << max_chars << " characters)";
      break;
    }
    text << block.str();
    Json m = tool_memory_json(h.memory);
    m["similarity_score"] = h.similarity_score;
    m["relevance_reason"] = h.relevance_reason;
    results.push_back(std::move(m));
  }
  Json structured = {{"results", results},
                     {"total_found", results.size()},
                     {"query", r.query},
                     {"search_type", out.search_type}};
  if (out.time_window) structured["time_window"] = Json(time_window_json(*out.time_window));
  return text_result(text.str(), std::move(structured));
}

Json memory_list(MemoryService& s, const Json& a, int default_page_size) {
  ListRequest r;
  r.page = int_arg(a, "page", 1, 1, 1 << 30);
  r.page_size = int_arg(a, "page_size", default_page_size, 1, s.config().max_client_results);
  r.tags = tags_arg(a, "tags");
  if (r.tags.empty()) r.tags = tags_arg(a, "tag");
  r.match_all_tags = tag_match_all(a);
  std::string type = str_arg(a, "memory_type");
  if (!type.empty()) r.memory_type = type;
  ListResponse out = unwrap(s.list(r));
  Json memories = Json::array();
  for (const Memory& m : out.memories) memories.push_back(tool_memory_json(m));
  Json j = {{"memories", memories},
            {"page", out.page},
            {"page_size", out.page_size},
            {"total", out.total},
            {"total_pages", (out.total + out.page_size - 1) / out.page_size},
            {"has_more", out.has_more}};
  return text_result(j.dump(2, ' ', false, Json::error_handler_t::replace), j);
}

Json memory_delete(MemoryService& s, const Json& a) {
  DeleteRequest r;
  std::string hash = str_arg(a, "content_hash");
  if (!hash.empty()) r.content_hash = hash;
  r.tags = tags_arg(a, "tags");
  if (r.tags.empty()) r.tags = tags_arg(a, "tag");
  r.match_all_tags = tag_match_all(a);
  r.after = date_arg(a, "after", false);
  r.before = date_arg(a, "before", false);
  r.dry_run = bool_arg(a, "dry_run", false);
  DeleteResult out = unwrap(s.remove(r));
  std::ostringstream text;
  if (out.dry_run) {
    text << "Would delete " << out.content_hashes.size() << " memories";
    if (!out.content_hashes.empty()) {
      text << "\nHashes: ";
      for (size_t i = 0; i < out.content_hashes.size() && i < 5; ++i) {
        text << (i ? "," : "") << out.content_hashes[i];
      }
      if (out.content_hashes.size() > 5)
        text << " ... and " << out.content_hashes.size() - 5 << " more";
    }
  } else {
    text << "Deleted " << out.count << " memories";
  }
  return text_result(text.str(), {{"success", true},
                                  {"dry_run", out.dry_run},
                                  {"deleted", out.dry_run ? 0 : out.count},
                                  {"content_hashes", out.content_hashes}});
}

Json memory_update(MemoryService& s, const Json& a) {
  UpdateRequest r;
  r.content_hash = str_arg(a, "content_hash");
  if (r.content_hash.empty()) throw ToolError{"'content_hash' is required"};
  Json updates = a.value("updates", Json::object());
  if (!updates.is_object() || updates.empty()) {
    throw ToolError{"'updates' must be an object with tags, memory_type or metadata"};
  }
  Json meta = Json::object();
  std::vector<std::string> fields;
  for (const auto& [key, value] : updates.items()) {
    if (key == "tags") {
      r.tags = tags_arg(updates, "tags");
    } else if (key == "memory_type" || key == "type") {
      r.memory_type = str_arg(updates, key.c_str());
    } else if (key == "metadata") {
      if (!value.is_object()) throw ToolError{"'updates.metadata' must be an object"};
      for (const auto& [k, v] : value.items()) meta[k] = v;
    } else {
      meta[key] = value;  // as the Python service: other keys go into metadata
    }
    fields.push_back(key);
  }
  if (!meta.empty()) r.metadata = meta;
  Memory m = unwrap(s.update(r));
  std::string text = "Memory updated successfully. Updated fields: ";
  for (size_t i = 0; i < fields.size(); ++i) text += (i ? ", " : "") + fields[i];
  return text_result(
      text, {{"success", true}, {"content_hash", m.content_hash}, {"memory", tool_memory_json(m)}});
}

Json stats_json(MemoryService& s) {
  return Json(stats_json(unwrap(s.stats(false)), s.config().db_path, false));
}

Json memory_stats(MemoryService& s) {
  Json j = stats_json(s);
  return text_result(j.dump(2), j);
}

Json memory_health(MemoryService& s) {
  Json stats = stats_json(s);
  Json j = {{"validation", {{"status", "healthy"}, {"message", "Database is accessible"}}},
            {"statistics", stats}};
  return text_result("Database Health Check Results:\n" + j.dump(2), j);
}

Json memory_cleanup(MemoryService& s) {
  int64_t n = unwrap(s.cleanup_duplicates());
  return text_result("Removed " + std::to_string(n) + " duplicate memories",
                     {{"success", true}, {"removed", n}});
}

Json memory_sync_status(MemoryService& s) {
  auto status = sync_status_json(s);
  if (!status.is_ok()) return error_result(status.status().message());
  Json j = Json::parse(status->dump());
  std::string text = "Sync: node " + j["node"].get<std::string>() + ", " +
                     std::to_string(j["memory_count"].get<int64_t>()) + " memories, " +
                     std::to_string(j["conflicts_unresolved"].get<int64_t>()) +
                     " unresolved conflicts";
  if (j["hub"].is_null()) {
    text += "; no hub configured (mcp-memory sync --hub URL)";
  } else {
    text += "; hub " + j["hub"]["url"].get<std::string>() + ", " +
            std::to_string(j["hub"]["pending_changes"].get<int64_t>()) + " changes not pushed yet";
    if (!j["hub"]["last_error"].is_null()) {
      text += ", last error: " + j["hub"]["last_error"].get<std::string>();
    }
  }
  if (!j["peers"].empty()) text += "; " + std::to_string(j["peers"].size()) + " nodes sync here";
  return text_result(text, j);
}

// ---- the table ----

using Handler = std::function<Json(MemoryService&, const Json&)>;

struct Tool {
  const char* name;
  const char* description;
  Json input_schema;
  Json output_schema;  // null: none
  Json annotations;
  Handler handler;
};

Json object_schema(Json properties, std::vector<std::string> required = {}) {
  Json j = {{"type", "object"}, {"properties", std::move(properties)}};
  if (!required.empty()) j["required"] = required;
  return j;
}

const Json kTagsSchema = {
    {"description", "Tags: a list, or a comma-separated string"},
    {"anyOf",
     Json::array({{{"type", "array"}, {"items", {{"type", "string"}}}}, {{"type", "string"}}})}};

const std::vector<Tool>& tools() {
  static const std::vector<Tool> kTools = {
      {"memory_store",
       "Store a new memory (a fact, decision or piece of context).",
       object_schema(
           {{"content", {{"type", "string"}, {"description", "What to remember"}}},
            {"tags", kTagsSchema},
            {"memory_type", {{"type", "string"}, {"description", "note, decision, ..."}}},
            {"metadata",
             {{"type", "object"}, {"description", "Extra data; may hold tags and type"}}},
            {"conversation_id",
             {{"type", "string"}, {"description", "Skips semantic dedup within a conversation"}}}},
           {"content"}),
       object_schema({{"success", {{"type", "boolean"}}},
                      {"content_hash", {{"type", "string"}}},
                      {"message", {{"type", "string"}}}},
                     {"success", "content_hash", "message"}),
       {{"readOnlyHint", false}, {"destructiveHint", false}, {"idempotentHint", true}},
       [](MemoryService& s, const Json& a) { return memory_store(s, a); }},
      {"memory_store_session",
       "Store a whole conversation (ordered turns) as one memory, so it is recalled as a "
       "unit; long sessions are split at turn boundaries. Tagged session:<session_id>.",
       object_schema(
           {{"turns",
             {{"type", "array"},
              {"minItems", 1},
              {"items",
               object_schema({{"role", {{"type", "string"}}}, {"content", {{"type", "string"}}}},
                             {"role", "content"})}}},
            {"session_id",
             {{"type", "string"}, {"description", "Stable id; a UUID is made when omitted"}}},
            {"tags", kTagsSchema},
            {"metadata", {{"type", "object"}}}},
           {"turns"}),
       object_schema({{"success", {{"type", "boolean"}}},
                      {"session_id", {{"type", "string"}}},
                      {"content_hashes", {{"type", "array"}, {"items", {{"type", "string"}}}}},
                      {"turns", {{"type", "integer"}}}},
                     {"success", "session_id", "content_hashes", "turns"}),
       {{"readOnlyHint", false}, {"destructiveHint", false}, {"idempotentHint", true}},
       [](MemoryService& s, const Json& a) { return memory_store_session(s, a); }},
      {"memory_search",
       "Search memories by meaning (semantic), exact text, keywords or both (hybrid), optionally "
       "filtered by tags, type and time. A time named in the query ('what did I store "
       "yesterday', 'deploy notes from last week', '3 days ago', 'between 2025-01-01 and "
       "2025-02-01') filters by that window and is not searched for; a query that is only a "
       "time lists that window, newest first. The reply names the window used (time_window). "
       "time_expr, after or before, when given, win over the query's words; "
       "time_from_query=false (or exact mode) searches the query as written.",
       object_schema(
           {{"query", {{"type", "string"}}},
            {"mode", {{"type", "string"}, {"enum", {"semantic", "exact", "keyword", "hybrid"}}}},
            {"limit", {{"type", "integer"}, {"minimum", 1}, {"maximum", kMaxClientResults}}},
            {"tags", kTagsSchema},
            {"tag_match", {{"type", "string"}, {"enum", {"any", "all"}}}},
            {"memory_type", {{"type", "string"}}},
            {"time_expr",
             {{"type", "string"},
              {"description", "Natural-language time window; wins over a time in the query"}}},
            {"after", {{"type", "string"}, {"description", "YYYY-MM-DD"}}},
            {"before", {{"type", "string"}, {"description", "YYYY-MM-DD"}}},
            {"time_from_query",
             {{"type", "boolean"},
              {"description", "Read a time named in the query as the window (default true)"}}},
            {"max_response_chars", {{"type", "integer"}, {"minimum", 0}}}}),
       object_schema({{"results", {{"type", "array"}, {"items", {{"type", "object"}}}}},
                      {"total_found", {{"type", "integer"}}},
                      {"query", {{"type", "string"}}},
                      {"search_type", {{"type", "string"}}},
                      {"time_window", object_schema({{"expression", {{"type", "string"}}},
                                                     {"start", {{"type", "number"}}},
                                                     {"end", {{"type", "number"}}},
                                                     {"start_iso", {{"type", "string"}}},
                                                     {"end_iso", {{"type", "string"}}},
                                                     {"from_query", {{"type", "boolean"}}}},
                                                    {"expression", "start", "end", "from_query"})}},
                     {"results", "total_found", "query", "search_type"}),
       {{"readOnlyHint", true}},
       [](MemoryService& s, const Json& a) {
         return memory_search(s, a, SearchMode::kSemantic, 10);
       }},
      {"memory_list",
       "List memories, newest first, page by page, optionally by tags or type.",
       object_schema(
           {{"page", {{"type", "integer"}, {"minimum", 1}}},
            {"page_size", {{"type", "integer"}, {"minimum", 1}, {"maximum", kMaxClientResults}}},
            {"tags", kTagsSchema},
            {"tag_match", {{"type", "string"}, {"enum", {"any", "all"}}}},
            {"memory_type", {{"type", "string"}}}}),
       object_schema({{"memories", {{"type", "array"}, {"items", {{"type", "object"}}}}},
                      {"page", {{"type", "integer"}}},
                      {"page_size", {{"type", "integer"}}},
                      {"total", {{"type", "integer"}}},
                      {"total_pages", {{"type", "integer"}}},
                      {"has_more", {{"type", "boolean"}}}},
                     {"memories", "page", "page_size", "total", "has_more"}),
       {{"readOnlyHint", true}},
       [](MemoryService& s, const Json& a) { return memory_list(s, a, 20); }},
      {"memory_delete",
       "Delete memories by content hash, tags or date window (refuses without a filter; dry_run "
       "shows what would go). Deletes are kept as tombstones so they reach other machines.",
       object_schema({{"content_hash", {{"type", "string"}}},
                      {"tags", kTagsSchema},
                      {"tag_match", {{"type", "string"}, {"enum", {"any", "all"}}}},
                      {"before", {{"type", "string"}, {"description", "YYYY-MM-DD"}}},
                      {"after", {{"type", "string"}, {"description", "YYYY-MM-DD"}}},
                      {"dry_run", {{"type", "boolean"}}}}),
       object_schema({{"success", {{"type", "boolean"}}},
                      {"dry_run", {{"type", "boolean"}}},
                      {"deleted", {{"type", "integer"}}},
                      {"content_hashes", {{"type", "array"}, {"items", {{"type", "string"}}}}}},
                     {"success", "dry_run", "deleted", "content_hashes"}),
       {{"readOnlyHint", false}, {"destructiveHint", true}},
       [](MemoryService& s, const Json& a) { return memory_delete(s, a); }},
      {"memory_update",
       "Change a memory's tags, type or metadata (merged); its content and creation time stay.",
       object_schema(
           {{"content_hash", {{"type", "string"}}},
            {"updates", {{"type", "object"}, {"description", "tags, memory_type, metadata"}}}},
           {"content_hash", "updates"}),
       object_schema({{"success", {{"type", "boolean"}}},
                      {"content_hash", {{"type", "string"}}},
                      {"memory", {{"type", "object"}}}},
                     {"success", "content_hash", "memory"}),
       {{"readOnlyHint", false}, {"destructiveHint", false}, {"idempotentHint", true}},
       [](MemoryService& s, const Json& a) { return memory_update(s, a); }},
      {"memory_health",
       "Check that the memory database is reachable and report its statistics.",
       object_schema(Json::object()),
       nullptr,
       {{"readOnlyHint", true}},
       [](MemoryService& s, const Json&) { return memory_health(s); }},
      {"memory_stats",
       "Memory database statistics.",
       object_schema(Json::object()),
       nullptr,
       {{"readOnlyHint", true}},
       [](MemoryService& s, const Json&) { return memory_stats(s); }},
      {"memory_cleanup",
       "Remove duplicate memories (same content under another hash).",
       object_schema(Json::object()),
       nullptr,
       {{"readOnlyHint", false}, {"destructiveHint", true}},
       [](MemoryService& s, const Json&) { return memory_cleanup(s); }},
      {"memory_sync_status",
       "State of sync with other machines.",
       object_schema(Json::object()),
       nullptr,
       {{"readOnlyHint", true}},
       [](MemoryService& s, const Json&) { return memory_sync_status(s); }},
  };
  return kTools;
}

// The Python service's old names (still callable, not listed), mapped onto the tools above.
std::optional<Json> call_alias(MemoryService& s, const std::string& name, const Json& a) {
  if (name == "store_memory") return memory_store(s, a);
  if (name == "retrieve_memory") {  // the Python service's: the query as written
    Json b = a;
    if (a.contains("n_results")) b["limit"] = a["n_results"];
    b["time_from_query"] = false;
    return memory_search(s, b, SearchMode::kSemantic, 5);
  }
  if (name == "recall_memory") {
    Json b = a;
    if (a.contains("n_results")) b["limit"] = a["n_results"];
    b["time_expr"] = str_arg(a, "query");
    return memory_search(s, b, SearchMode::kSemantic, 5);
  }
  if (name == "exact_match_retrieve") {
    Json b = {{"query", str_arg(a, "content")}, {"mode", "exact"}};
    return memory_search(s, b, SearchMode::kExact, 10);
  }
  if (name == "search_by_tag" || name == "list_memories") return memory_list(s, a, 10);
  if (name == "delete_memory" || name == "delete_by_tag" || name == "delete_by_tags") {
    return memory_delete(s, a);
  }
  if (name == "delete_by_all_tags") {
    Json b = a;
    b["tag_match"] = "all";
    return memory_delete(s, b);
  }
  if (name == "check_database_health") return memory_health(s);
  if (name == "cleanup_duplicates") return memory_cleanup(s);
  if (name == "update_memory_metadata") return memory_update(s, a);
  return std::nullopt;
}

}  // namespace

Json mcp_tool_list() {
  Json list = Json::array();
  for (const Tool& t : tools()) {
    Json j = {{"name", t.name}, {"description", t.description}, {"inputSchema", t.input_schema}};
    if (!t.output_schema.is_null()) j["outputSchema"] = t.output_schema;
    j["annotations"] = t.annotations;
    list.push_back(std::move(j));
  }
  return list;
}

std::optional<Json> mcp_call_tool(MemoryService& service, const std::string& name,
                                  const Json& arguments) {
  try {
    for (const Tool& t : tools()) {
      if (name == t.name) return t.handler(service, arguments);
    }
    return call_alias(service, name, arguments);
  } catch (const ToolError& e) {
    return error_result("Error: " + e.message);
  }
}

}  // namespace mcpmem
