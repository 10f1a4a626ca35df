// REST searches: by meaning (with the MCP tool's modes and filters), by tag, by time, and
// similar to a stored memory. All answer the Python service's search shape
// (service/wire_json.h search_json) and publish one search_completed event each; a refused
// search publishes nothing. /api/search reads a time named in its query ("notes from
// yesterday") as the MCP tool memory_search does; an explicit time_expr wins.
#include "core/time_format.h"
#include "core/time_grammar.h"
#include "http/rest_api.h"
#include "http/rest_input.h"

namespace mcpmem {

using namespace rest_detail;  // the readers and answers of rest_input.h

Response RestApi::searched(const SearchResponse& r) const {
  if (events_) {
    OJson e = OJson::object();
    e["query"] = r.query;
    e["search_type"] = r.search_type;
    e["results_count"] = r.results.size();
    e["processing_time_ms"] = r.processing_time_ms;
    events_("search_completed", Json(e));
  }
  return json_response(search_json(r));
}

Response RestApi::search(const Request& req) const {
  return respond([&] {
    Json body = body_object(req);
    SearchRequest r;
    r.query = text_field(body, "query");
    if (r.query.empty()) fail(422, "'query' is required");
    r.limit =
        static_cast<int>(int_field(body, "n_results", 10, 1, service_.config().max_client_results));
    auto mode = parse_search_mode(text_field(body, "mode", "semantic"));
    if (!mode) fail(422, "'mode' must be semantic, exact, keyword or hybrid");
    r.mode = *mode;
    r.tags = tags_field(body, "tags");
    r.match_all_tags = tag_match_all(text_field(body, "tag_match", "any"));
    r.memory_type = optional_text(body, "memory_type");
    r.time_expr = text_field(body, "time_expr");
    r.time_from_query = true;  // as the MCP tool: "notes from yesterday" is yesterday's
    if (body.contains("similarity_threshold") && !body["similarity_threshold"].is_null()) {
      const Json& t = body["similarity_threshold"];
      if (!t.is_number() || t < 0 || t > 1) {
        fail(422, "'similarity_threshold' must be a number from 0 to 1");
      }
      r.min_score = t.get<double>();
    }
    return searched(value_or_fail(service_.search(r)));
  });
}

Response RestApi::search_by_tag(const Request& req) const {
  return respond([&] {
    Json body = body_object(req);
    SearchRequest r;
    r.tags = tags_field(body, "tags");
    if (r.tags.empty()) fail(400, "At least one tag must be specified");
    r.match_all_tags = bool_field(body, "match_all", false);
    r.time_expr = text_field(body, "time_filter");
    r.limit = service_.config().max_search_limit;
    SearchResponse out = value_or_fail(service_.search(r));
    std::string joined;
    for (const auto& t : r.tags) joined += (joined.empty() ? "" : ", ") + t;
    out.query = "tags: " + joined;
    out.search_type = "tag";
    return searched(out);
  });
}

Response RestApi::search_by_time(const Request& req) const {
  return respond([&] {
    Json body = body_object(req);
    SearchRequest r;
    r.time_expr = text_field(body, "query");
    if (r.time_expr.empty()) fail(422, "'query' is required");
    if (!parse_time_expression(r.time_expr, unix_now())) {
      fail(400, "Could not parse time query: '" + r.time_expr +
                    "'. Try 'yesterday', 'last week', 'this month', etc.");
    }
    r.limit =
        static_cast<int>(int_field(body, "n_results", 10, 1, service_.config().max_client_results));
    r.query = text_field(body, "semantic_query");
    SearchResponse out = value_or_fail(service_.search(r));
    out.query = r.time_expr;
    out.search_type = "time";
    return searched(out);
  });
}

Response RestApi::search_similar(const Request& req) const {
  return respond([&] {
    const int limit =
        static_cast<int>(query_int(req, "n_results", 10, 1, service_.config().max_client_results));
    return searched(value_or_fail(service_.search_similar(req.matches.at(1), limit)));
  });
}

}  // namespace mcpmem
