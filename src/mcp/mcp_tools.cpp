// The MCP tools' table: names, descriptions, input and output schemas and annotations, with
// the Python MCP Memory Service's names, arguments and defaults (so agents prompted for it keep
// working); every input property says what it does, its default and its range. The handlers
// live in store_tools.cpp and recall_tools.cpp (tool_handlers.h). Arguments are validated
// there; bad ones give an isError result that says which argument and why. The Python
// service's old tool names are accepted, not listed.
#include <functional>

#include "mcp/mcp_server.h"
#include "mcp/tool_handlers.h"

namespace mcpmem {
namespace {

using namespace mcp_detail;

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

// Input properties: every one says what it does, its default and its range.
Json text_input(const char* description) {
  return {{"type", "string"}, {"description", description}};
}
Json flag_input(const char* description) {
  return {{"type", "boolean"}, {"description", description}};
}
Json count_input(const char* description, int64_t minimum, std::optional<int64_t> maximum = {}) {
  Json j = {{"type", "integer"}, {"minimum", minimum}, {"description", description}};
  if (maximum) j["maximum"] = *maximum;
  return j;
}
Json choice_input(const char* description, std::vector<std::string> values) {
  return {{"type", "string"}, {"enum", std::move(values)}, {"description", description}};
}
Json tags_input(const char* description) {
  return {{"description", description},
          {"anyOf", Json::array({{{"type", "array"}, {"items", {{"type", "string"}}}},
                                 {{"type", "string"}}})}};
}
Json data_input(const char* description) {
  return {{"type", "object"}, {"description", description}};
}

const char* kTagMatch =
    "With several tags: any (default) matches a memory with any of them, "
    "all only one with every one of them";
const char* kHashOfOne =
    "The memory's content_hash (64 hex characters), from a store, search or "
    "list reply";

std::string limit_text(const char* what, int default_value) {
  return std::string(what) + ", 1-" + std::to_string(kMaxClientResults) + " (default " +
         std::to_string(default_value) + ")";
}

Json search_input_schema() {
  static const std::string kLimit = limit_text("Results to return", 10);
  return object_schema(
      {{"query",
        text_input("What to look for, in words. A time it names ('yesterday', 'last week') "
                   "filters by that window unless time_from_query is false. May be empty when "
                   "tags, memory_type or a time window are given: those memories, newest first")},
       {"mode", choice_input("semantic (default): by meaning; exact: memories containing the query "
                             "text; keyword: by words (BM25); hybrid: meaning and words",
                             {"semantic", "exact", "keyword", "hybrid"})},
       {"limit", count_input(kLimit.c_str(), 1, kMaxClientResults)},
       {"tags", tags_input("Only memories with these tags: a list or a comma-separated string")},
       {"tag_match", choice_input(kTagMatch, {"any", "all"})},
       {"memory_type", text_input("Only memories of this type, e.g. decision")},
       {"time_expr",
        text_input("Time window in words: 'yesterday', 'last week', '3 days ago', 'between "
                   "2025-01-01 and 2025-02-01'; wins over a time in the query and over "
                   "after/before")},
       {"after", text_input("Only memories created on or after this day, YYYY-MM-DD (local)")},
       {"before",
        text_input("Only memories created on or before this day, YYYY-MM-DD (local, the whole "
                   "day included)")},
       {"time_from_query",
        flag_input("Read a time named in the query as the window (default true); false "
                   "searches the query as written")},
       {"max_response_chars",
        count_input("Longest reply text in characters; results that do not fit are left out, "
                    "and the reply says how many were found (default 0: no limit)",
                    0)}});
}

Json search_output_schema() {
  return object_schema(
      {{"results", {{"type", "array"}, {"items", {{"type", "object"}}}}},
       {"total_found", {{"type", "integer"}}},
       {"truncated", {{"type", "boolean"}}},
       {"query", {{"type", "string"}}},
       {"search_type", {{"type", "string"}}},
       {"time_window", object_schema({{"expression", {{"type", "string"}}},
                                      {"start", {{"type", "number"}}},
                                      {"end", {{"type", "number"}}},
                                      {"start_iso", {{"type", "string"}}},
                                      {"end_iso", {{"type", "string"}}},
                                      {"from_query", {{"type", "boolean"}}}},
                                     {"expression", "start", "end", "from_query"})}},
      {"results", "total_found", "truncated", "query", "search_type"});
}

Json list_input_schema() {
  static const std::string kPageSize = limit_text("Memories per page", kListPageSize);
  return object_schema(
      {{"page", count_input("Page number, from 1 (default 1)", 1)},
       {"page_size", count_input(kPageSize.c_str(), 1, kMaxClientResults)},
       {"tags", tags_input("Only memories with these tags: a list or a comma-separated string")},
       {"tag_match", choice_input(kTagMatch, {"any", "all"})},
       {"memory_type", text_input("Only memories of this type, e.g. decision")}});
}

const std::vector<Tool>& tools() {
  static const std::vector<Tool> kTools = {
      {"memory_store",
       "Store a new memory (a fact, decision or piece of context). The same text stored again "
       "is reported as already stored; a near-duplicate of a recent memory (the same words and "
       "facts up to case, punctuation or typos) is refused with that memory's hash, unless "
       "allow_duplicate is true.",
       object_schema(
           {{"content",
             text_input("The text to remember: one fact, decision or piece of context. Its "
                        "hash, made from the trimmed lowercased text, identifies the memory")},
            {"tags", tags_input("Tags to file it under: a list or a comma-separated string "
                                "(default: untagged)")},
            {"memory_type",
             text_input("Kind of memory, e.g. note, decision, reference, fact (default note)")},
            {"metadata",
             data_input("Extra JSON data kept with the memory; may hold tags and type, as the "
                        "Python service takes them")},
            {"conversation_id",
             text_input("The conversation this comes from: saves from one conversation skip "
                        "the near-duplicate check; kept as metadata.conversation_id")},
            {"allow_duplicate",
             flag_input("Store even when a near-duplicate of a recent memory exists (default "
                        "false). The same text is never stored twice")}},
           {"content"}),
       object_schema({{"success", {{"type", "boolean"}}},
                      {"content_hash", {{"type", "string"}}},
                      {"message", {{"type", "string"}}},
                      {"duplicate",
                       {{"type", "string"},
                        {"enum", {"exact", "near"}},
                        {"description",
                         "Set when nothing was stored: content_hash is the stored memory's"}}}},
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
              {"description", "The conversation, in order: [{role, content}]"},
              {"items", object_schema({{"role", text_input("Who spoke: user, assistant, ...")},
                                       {"content", text_input("What was said")}},
                                      {"role", "content"})}}},
            {"session_id",
             text_input("Stable id of the session (default: a new UUID); the memory is tagged "
                        "session:<id>")},
            {"tags", tags_input("Tags besides session:<id>: a list or a comma-separated string")},
            {"metadata", data_input("Extra JSON data kept with each memory of the session")}},
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
       "time_from_query=false (or exact mode) searches the query as written. Each result shows "
       "its hash, type, tags, creation time and score.",
       search_input_schema(),
       search_output_schema(),
       {{"readOnlyHint", true}},
       [](MemoryService& s, const Json& a) {
         return memory_search(s, a, SearchMode::kSemantic, 10);
       }},
      {"memory_list",
       "List memories, newest first, page by page, optionally by tags or type.",
       list_input_schema(),
       object_schema({{"memories", {{"type", "array"}, {"items", {{"type", "object"}}}}},
                      {"page", {{"type", "integer"}}},
                      {"page_size", {{"type", "integer"}}},
                      {"total", {{"type", "integer"}}},
                      {"total_pages", {{"type", "integer"}}},
                      {"has_more", {{"type", "boolean"}}}},
                     {"memories", "page", "page_size", "total", "has_more"}),
       {{"readOnlyHint", true}},
       [](MemoryService& s, const Json& a) { return memory_list(s, a, kListPageSize); }},
      {"memory_delete",
       "Delete memories by content hash, tags or date window (refuses without a filter; dry_run "
       "shows what would go). Deletes are kept as tombstones so they reach other machines.",
       object_schema(
           {{"content_hash", text_input(kHashOfOne)},
            {"tags", tags_input("Delete memories with these tags: a list or a comma-separated "
                                "string")},
            {"tag_match", choice_input(kTagMatch, {"any", "all"})},
            {"before",
             text_input("Delete memories created before this day, YYYY-MM-DD (local; that day "
                        "is kept)")},
            {"after", text_input("Delete memories created on or after this day, YYYY-MM-DD "
                                 "(local)")},
            {"dry_run", flag_input("Only report what would be deleted (default false)")}}),
       object_schema({{"success", {{"type", "boolean"}}},
                      {"dry_run", {{"type", "boolean"}}},
                      {"deleted", {{"type", "integer"}}},
                      {"content_hashes", {{"type", "array"}, {"items", {{"type", "string"}}}}}},
                     {"success", "dry_run", "deleted", "content_hashes"}),
       {{"readOnlyHint", false}, {"destructiveHint", true}},
       [](MemoryService& s, const Json& a) { return memory_delete(s, a); }},
      {"memory_update",
       "Change a memory's tags, type or metadata (merged); its content and creation time stay. "
       "To correct the text, store the new text and delete the old memory.",
       object_schema(
           {{"content_hash", text_input(kHashOfOne)},
            {"updates",
             {{"type", "object"},
              {"description",
               "What to change. Other keys than these go into metadata; content, content_hash, "
               "created_at and updated_at cannot be changed"},
              {"properties",
               {{"tags", tags_input("New tags, replacing the old: a list or a comma-separated "
                                    "string")},
                {"memory_type", text_input("New type, e.g. decision")},
                {"metadata", data_input("Keys to set in the metadata (merged; others stay)")}}}}}},
           {"content_hash", "updates"}),
       object_schema({{"success", {{"type", "boolean"}}},
                      {"content_hash", {{"type", "string"}}},
                      {"memory", {{"type", "object"}}},
                      {"updated_fields", {{"type", "array"}, {"items", {{"type", "string"}}}}}},
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
