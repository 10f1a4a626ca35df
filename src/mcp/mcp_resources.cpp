// MCP resources and prompts. Resources are read-only JSON views of the memory store:
// memory://stats, memory://tags, memory://recent/{n}, memory://tag/{tag},
// memory://search/{query}; prompts are the Python service's five, which frame a task for the
// model and point it at the tools.
#include <cstdlib>

#include "mcp/mcp_server.h"
#include "platform/url.h"
#include "service/wire_json.h"

namespace mcpmem {
namespace {

Json contents(const std::string& uri, const Json& body) {
  return {{"contents",
           Json::array({{{"uri", uri},
                         {"mimeType", "application/json"},
                         {"text", body.dump(2, ' ', false, Json::error_handler_t::replace)}}})}};
}

Json memories_body(std::vector<Memory> memories) {
  Json list = Json::array();
  for (const Memory& m : memories) list.push_back(Json(memory_json(m)));
  return {{"memories", list}, {"count", list.size()}};
}

struct Prompt {
  const char* name;
  const char* description;
  std::vector<std::pair<const char*, bool>> arguments;  // name, required
  const char* text;                                     // {arg} placeholders are replaced
};

const std::vector<Prompt>& prompts() {
  static const std::vector<Prompt> kPrompts = {
      {"memory_review",
       "Review what was stored in a time period",
       {{"time_period", true}, {"focus_area", false}},
       "Review the memories stored {time_period}. Use memory_search with time_expr "
       "\"{time_period}\" (and the query \"{focus_area}\" if given). Summarize the key facts, "
       "decisions and open questions, and point out memories that look outdated."},
      {"memory_analysis",
       "Analyze patterns in memories with given tags",
       {{"tags", false}, {"time_range", false}},
       "Analyze the memories tagged \"{tags}\" from {time_range}. Use memory_list and "
       "memory_search to gather them, then describe recurring themes, how they changed over "
       "time, and gaps worth filling."},
      {"knowledge_export",
       "Export memories in a chosen format",
       {{"format", false}, {"filter", false}},
       "Collect the memories matching \"{filter}\" with memory_search and memory_list and "
       "present them as {format}, with their tags and creation dates."},
      {"memory_cleanup",
       "Find outdated or duplicate memories",
       {{"older_than", false}, {"similarity_threshold", false}},
       "Find memories older than {older_than} and near-duplicates (similarity above "
       "{similarity_threshold}). List candidates with their hashes and why; delete only after "
       "confirmation, with memory_delete (try dry_run first)."},
      {"learning_session",
       "Record what was learned in a session",
       {{"topic", true}, {"key_points", true}, {"questions", false}},
       "Store what was learned about {topic} with memory_store (tags: learning, {topic}). Key "
       "points: {key_points}. Open questions: {questions}."},
  };
  return kPrompts;
}

}  // namespace

Json mcp_resource_list() {
  return Json::array(
      {{{"uri", "memory://stats"}, {"name", "Memory statistics"}, {"mimeType", "application/json"}},
       {{"uri", "memory://tags"},
        {"name", "All tags with counts"},
        {"mimeType", "application/json"}}});
}

Json mcp_resource_templates() {
  return Json::array({{{"uriTemplate", "memory://recent/{n}"},
                       {"name", "The n most recent memories"},
                       {"mimeType", "application/json"}},
                      {{"uriTemplate", "memory://tag/{tag}"},
                       {"name", "Memories with a tag"},
                       {"mimeType", "application/json"}},
                      {{"uriTemplate", "memory://search/{query}"},
                       {"name", "The 10 memories closest to a query"},
                       {"mimeType", "application/json"}}});
}

Result<Json> mcp_read_resource(MemoryService& service, const std::string& uri) {
  const std::string prefix = "memory://";
  if (uri.rfind(prefix, 0) != 0) return Status::invalid_argument("unknown resource: " + uri);
  const std::string path = uri.substr(prefix.size());
  if (path == "stats") {
    MCP_ASSIGN_OR_RETURN(auto st, service.stats(false));
    return contents(uri, Json(stats_json(st, service.config().db_path, false)));
  }
  if (path == "tags") {
    MCP_ASSIGN_OR_RETURN(auto tags, service.tags());
    Json list = Json::array();
    for (const TagCount& t : tags) list.push_back({{"tag", t.tag}, {"count", t.count}});
    return contents(uri, {{"tags", list}, {"count", list.size()}});
  }
  if (path.rfind("recent/", 0) == 0) {
    char* end = nullptr;
    long n = std::strtol(path.c_str() + 7, &end, 10);
    const int most = service.config().max_client_results;
    if (end == path.c_str() + 7 || *end != '\0' || n < 1 || n > most) {
      return Status::invalid_argument("memory://recent/{n} needs n between 1 and " +
                                      std::to_string(most));
    }
    ListRequest r;
    r.page_size = n;
    MCP_ASSIGN_OR_RETURN(auto list, service.list(r));
    return contents(uri, memories_body(std::move(list.memories)));
  }
  if (path.rfind("tag/", 0) == 0) {
    ListRequest r;
    r.tags = {url_decode(path.substr(4), true)};
    r.page_size = service.config().max_client_results;
    MCP_ASSIGN_OR_RETURN(auto list, service.list(r));
    return contents(uri, memories_body(std::move(list.memories)));
  }
  if (path.rfind("search/", 0) == 0) {
    SearchRequest r;
    r.query = url_decode(path.substr(7), true);
    MCP_ASSIGN_OR_RETURN(auto found, service.search(r));
    std::vector<Memory> memories;
    for (SearchHit& h : found.results) memories.push_back(std::move(h.memory));
    return contents(uri, memories_body(std::move(memories)));
  }
  return Status::invalid_argument("unknown resource: " + uri);
}

Json mcp_prompt_list() {
  Json list = Json::array();
  for (const Prompt& p : prompts()) {
    Json args = Json::array();
    for (const auto& [name, required] : p.arguments) {
      args.push_back({{"name", name}, {"required", required}});
    }
    list.push_back({{"name", p.name}, {"description", p.description}, {"arguments", args}});
  }
  return list;
}

Result<Json> mcp_get_prompt(const std::string& name, const Json& arguments) {
  for (const Prompt& p : prompts()) {
    if (name != p.name) continue;
    std::string text = p.text;
    for (const auto& [arg, required] : p.arguments) {
      std::string value;
      if (arguments.contains(arg) && arguments[arg].is_string()) value = arguments[arg];
      if (required && value.empty()) {
        return Status::invalid_argument(std::string("prompt ") + p.name + " needs argument '" +
                                        arg + "'");
      }
      if (value.empty()) value = "(any)";
      const std::string placeholder = std::string("{") + arg + "}";
      for (size_t at; (at = text.find(placeholder)) != std::string::npos;) {
        text.replace(at, placeholder.size(), value);
      }
    }
    return Json{
        {"description", p.description},
        {"messages",
         Json::array({{{"role", "user"}, {"content", {{"type", "text"}, {"text", text}}}}})}};
  }
  return Status::invalid_argument("unknown prompt: " + name);
}

}  // namespace mcpmem
