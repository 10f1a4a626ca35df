// MCP resources and prompts. Resources are read-only JSON views of the memory store:
// memory://stats, memory://tags, memory://recent/{n}, memory://tag/{tag},
// memory://search/{query}; prompts are the Python service's five, which frame a task for the
// model and point it at the tools. A prompt's text is made of sentences that appear only when
// their argument is given: an unfilled argument leaves no trace ("(any)", empty quotes).
#include <cstdlib>
#include <functional>
#include <map>

#include "core/content_hash.h"
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

// A prompt's given arguments: name -> value, only those given and not empty.
using PromptArgs = std::map<std::string, std::string>;

struct PromptArgument {
  const char* name;
  const char* description;
  bool required;
};

struct Prompt {
  const char* name;
  const char* description;
  std::vector<PromptArgument> arguments;
  // The text, made of sentences that each appear only when their argument is given.
  std::function<std::string(const PromptArgs&)> text;
};

// `before` + the argument's value + `after` when it is given, else "".
std::string given(const PromptArgs& args, const char* name, const std::string& before,
                  const std::string& after = "") {
  auto it = args.find(name);
  return it == args.end() ? "" : before + it->second + after;
}

// The argument's value as a sentence: a full stop added unless it ends in one already.
std::string as_sentence(const std::string& value) {
  return value.find_last_of(".!?") == value.size() - 1 ? value : value + ".";
}

const std::vector<Prompt>& prompts() {
  static const std::vector<Prompt> kPrompts = {
      {"memory_review",
       "Review what was stored in a time period",
       {{"time_period",
         "When the memories were stored, in words: 'last week', 'yesterday', "
         "'March 2025'",
         true},
        {"focus_area", "A topic to narrow the review to, e.g. 'deploys' (default: everything)",
         false}},
       [](const PromptArgs& a) {
         const std::string period = a.at("time_period");
         return "Review the memories stored " + period + ". Use memory_search with time_expr \"" +
                period + "\"" +
                given(a, "focus_area", " and the query \"", "\" to find those about it") +
                (a.count("focus_area") ? "" : " and an empty query to list them") +
                ". Summarize the key facts, decisions and open questions, and point out "
                "memories that look outdated.";
       }},
      {"memory_analysis",
       "Analyze patterns in memories with given tags",
       {{"tags", "Tags of the memories to analyze, comma-separated (default: all memories)", false},
        {"time_range", "When they were stored, in words: 'last month' (default: any time)", false}},
       [](const PromptArgs& a) {
         return "Analyze the memories" + given(a, "tags", " tagged \"", "\"") +
                given(a, "time_range", " stored ") + ". Use memory_list" +
                given(a, "tags", " with tags \"", "\"") + " and memory_search" +
                given(a, "time_range", " with time_expr \"", "\"") +
                " to gather them, then describe recurring themes, how they changed over time, "
                "and gaps worth filling.";
       }},
      {"knowledge_export",
       "Export memories in a chosen format",
       {{"format", "How to present them: 'Markdown', 'JSON', 'CSV' (default: a readable list)",
         false},
        {"filter", "A query or tag the memories must match (default: all memories)", false}},
       [](const PromptArgs& a) {
         return "Collect the memories" + given(a, "filter", " matching \"", "\"") +
                " with memory_search and memory_list and present them" +
                given(a, "format", " as ") + ", with their tags and creation dates.";
       }},
      {"memory_cleanup",
       "Find outdated or duplicate memories",
       {{"older_than",
         "Age past which a memory may be outdated, e.g. '90 days' (default: any "
         "age)",
         false},
        {"similarity_threshold",
         "How alike two memories must be to count as near-duplicates, e.g. '0.9' (default: "
         "your judgement)",
         false}},
       [](const PromptArgs& a) {
         return "Find memories that look outdated" + given(a, "older_than", " (older than ", ")") +
                " and near-duplicates" +
                given(a, "similarity_threshold", " (similarity above ", ")") +
                ". List candidates with their hashes and why; delete only after confirmation, "
                "with memory_delete (try dry_run first).";
       }},
      {"learning_session",
       "Record what was learned in a session",
       {{"topic", "What was learned about, e.g. 'Postgres replication'", true},
        {"key_points", "The points learned, as sentences or a list", true},
        {"questions", "Questions still open (default: none)", false}},
       [](const PromptArgs& a) {
         const std::string topic = a.at("topic");
         return "Store what was learned about " + topic + " with memory_store (tags: learning, " +
                topic + "). Key points: " + as_sentence(a.at("key_points")) +
                (a.count("questions") ? " Open questions: " + as_sentence(a.at("questions")) : "");
       }},
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
    for (const PromptArgument& arg : p.arguments) {
      args.push_back(
          {{"name", arg.name}, {"description", arg.description}, {"required", arg.required}});
    }
    list.push_back({{"name", p.name}, {"description", p.description}, {"arguments", args}});
  }
  return list;
}

Result<Json> mcp_get_prompt(const std::string& name, const Json& arguments) {
  for (const Prompt& p : prompts()) {
    if (name != p.name) continue;
    PromptArgs given;
    for (const PromptArgument& arg : p.arguments) {
      std::string value;
      if (arguments.contains(arg.name) && arguments[arg.name].is_string()) {
        value = python_strip(arguments[arg.name].get<std::string>());
      }
      if (arg.required && value.empty()) {
        return Status::invalid_argument(std::string("prompt ") + p.name + " needs argument '" +
                                        arg.name + "'");
      }
      if (!value.empty()) given.emplace(arg.name, std::move(value));
    }
    return Json{
        {"description", p.description},
        {"messages", Json::array({{{"role", "user"},
                                   {"content", {{"type", "text"}, {"text", p.text(given)}}}}})}};
  }
  return Status::invalid_argument("unknown prompt: " + name);
}

}  // namespace mcpmem
