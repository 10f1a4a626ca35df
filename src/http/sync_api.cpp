// Hub routes: see sync_api.h.
#include "http/sync_api.h"

#include <spdlog/spdlog.h>

#include <charconv>

#include "core/hlc.h"
#include "core/json_parse.h"
#include "core/time_format.h"
#include "service/version_json.h"
#include "sync/sync_state.h"

namespace mcpmem {
namespace {

constexpr int64_t kDefaultBatch = 1000, kMaxBatch = 5000;
constexpr int64_t kDefaultConflicts = 100, kMaxConflicts = 1000;

void send(httplib::Response& res, const OJson& body) {
  res.status = 200;
  res.set_content(body.dump(-1, ' ', false, OJson::error_handler_t::replace), "application/json");
}

void send_status(httplib::Response& res, const Status& s) {
  set_json_error(res, http_status(s), s.message());
}

std::optional<int64_t> int_param(const httplib::Request& req, const char* name, int64_t fallback) {
  if (!req.has_param(name)) return fallback;
  const std::string v = req.get_param_value(name);
  int64_t out = 0;
  auto [p, ec] = std::from_chars(v.data(), v.data() + v.size(), out);
  if (ec != std::errc() || p != v.data() + v.size() || out < 0) return std::nullopt;
  return out;
}

// A yes/no query parameter: 1/true/yes or 0/false/no; anything else is nullopt.
std::optional<bool> flag_param(const httplib::Request& req, const char* name) {
  if (!req.has_param(name)) return false;
  const std::string v = req.get_param_value(name);
  if (v == "1" || v == "true" || v == "yes") return true;
  if (v == "0" || v == "false" || v == "no" || v.empty()) return false;
  return std::nullopt;
}

std::string node_param(const std::string& raw) {
  return sanitize_node_name(raw.empty() ? "unknown" : raw);
}

void handle_list_conflicts(MemoryService& service, const httplib::Request& req,
                           httplib::Response& res) {
  auto all = flag_param(req, "all");
  auto limit = int_param(req, "limit", kDefaultConflicts);
  if (!all || !limit || *limit < 1) {
    set_json_error(res, 422, "'all' must be 1 or 0 and 'limit' a whole number >= 1");
    return;
  }
  auto list = service.conflicts(*all, std::min(*limit, kMaxConflicts));
  if (!list.is_ok()) return send_status(res, list.status());
  auto unresolved = service.count_conflicts(/*unresolved_only=*/true);
  if (!unresolved.is_ok()) return send_status(res, unresolved.status());
  OJson out = OJson::array();
  for (const ConflictRecord& c : *list) out.push_back(conflict_record_json(c));
  send(res, {{"conflicts", std::move(out)}, {"unresolved", *unresolved}});
}

void handle_resolve_conflict(MemoryService& service, const httplib::Request& req,
                             httplib::Response& res) {
  const std::string id_text = req.matches[1];
  int64_t id = 0;
  auto [end, ec] = std::from_chars(id_text.data(), id_text.data() + id_text.size(), id);
  if (ec != std::errc() || end != id_text.data() + id_text.size()) {
    set_json_error(res, 404, "no sync conflict with id " + id_text);
    return;
  }
  auto parsed = parse_json(req.body, "the request body");
  if (is_json_too_deep(parsed.status())) {
    set_json_error(res, 400, parsed.status().message());
    return;
  }
  // Other malformed bodies get the 422 below, which shows the body to send.
  Json body = parsed.is_ok() ? std::move(*parsed) : Json();
  const Json* keep = body.is_object() && body.contains("keep") ? &body["keep"] : nullptr;
  if (!keep || !keep->is_string() || (*keep != "winner" && *keep != "loser")) {
    set_json_error(res, 422,
                   R"(the body must be {"keep": "winner"} (leave the current version) or )"
                   R"({"keep": "loser"} (make the replaced version current))");
    return;
  }
  // NotFound -> 404, already resolved (FailedPrecondition) -> 409.
  if (Status st = service.resolve_conflict(id, keep->get<std::string>()); !st.is_ok()) {
    return send_status(res, st);
  }
  auto settled = service.conflict(id);
  if (!settled.is_ok()) return send_status(res, settled.status());
  if (!settled->has_value()) return send_status(res, Status::not_found("no conflict " + id_text));
  auto current = service.get((*settled)->content_hash);
  if (!current.is_ok()) return send_status(res, current.status());
  send(res, {{"success", true},
             {"conflict", conflict_record_json(**settled)},
             {"memory", current->has_value() ? version_json(**current) : OJson()}});
}

}  // namespace

void mount_sync_api(HttpServer& server, MemoryService& service) {
  server.get("/api/sync/pull", [&service](const httplib::Request& req, httplib::Response& res) {
    auto since = int_param(req, "since", 0);
    auto limit = int_param(req, "limit", kDefaultBatch);
    if (!since || !limit || *limit < 1) {
      set_json_error(res, 422, "'since' and 'limit' must be whole numbers (limit >= 1)");
      return;
    }
    // Old tombstones go now and then (rate-limited); a failure must not fail the pull.
    if (auto purged = service.purge_expired_tombstones(); !purged.is_ok()) {
      spdlog::warn("purging old tombstones failed: {}", purged.status().message());
    }
    // Vectors go along to a spoke whose model is ours: it need not embed them again.
    const std::string& model = service.embedder().model_id();
    const bool with_vectors = service.embedder().worth_shipping() && req.has_param("vectors") &&
                              req.get_param_value("vectors") == model;
    auto changed = service.changed_since(*since, std::min(*limit, kMaxBatch), with_vectors);
    if (!changed.is_ok()) return send_status(res, changed.status());
    auto head = service.last_change_seq();
    if (!head.is_ok()) return send_status(res, head.status());
    // Read after the versions: a purge in between can only make the spoke resync needlessly.
    auto purged_seq = service.purged_seq();
    if (!purged_seq.is_ok()) return send_status(res, purged_seq.status());
    if (req.has_param("node")) {
      // Bookkeeping only: a failure here must not fail the pull.
      const std::string node = node_param(req.get_param_value("node"));
      if (auto peer = load_peer(service, node); peer.is_ok()) {
        peer->last_pull_at = unix_now();
        peer->acked_seq = std::max(peer->acked_seq, *since);
        (void)save_peer(service, *peer);
      }
    }
    OJson versions = OJson::array();
    for (size_t i = 0; i < changed->versions.size(); ++i) {
      const Memory& m = changed->versions[i];
      OJson v = version_json(m);
      if (m.is_deleted()) v.erase("content");  // deletes travel without what was deleted
      if (with_vectors && !changed->vectors[i].empty()) add_vector(v, changed->vectors[i]);
      versions.push_back(std::move(v));
    }
    OJson conflicts = OJson::array();
    for (const ConflictRecord& c : changed->conflicts) conflicts.push_back(conflict_record_json(c));
    send(res, {{"hub_node", service.node_name()},
               {"versions", std::move(versions)},
               {"conflicts", std::move(conflicts)},
               {"next", changed->next_seq},
               {"more", changed->more},
               {"head", *head},
               {"purged_seq", *purged_seq},
               {"embedding_model", model}});
  });

  server.post("/api/sync/push", [&service](const httplib::Request& req, httplib::Response& res) {
    auto parsed = parse_json(req.body, "the request body");
    if (!parsed.is_ok()) {
      set_json_error(res, 400, parsed.status().message());
      return;
    }
    Json body = std::move(*parsed);
    if (!body.is_object()) {
      set_json_error(res, 400, "the request body must be a JSON object");
      return;
    }
    if (!body.contains("versions") || !body["versions"].is_array()) {
      set_json_error(res, 422, "'versions' must be a list");
      return;
    }
    if (body.contains("node") && !body["node"].is_string()) {
      set_json_error(res, 422, "'node' must be a string");
      return;
    }
    const std::string node = node_param(body.value("node", ""));
    std::vector<IncomingVersion> versions;
    versions.reserve(body["versions"].size());
    VersionParseOptions po;
    po.default_origin = node;
    if (body.value("embedding_model", Json()) == service.embedder().model_id()) {
      po.embedding_dimension = service.embedder().dimension();
    }
    size_t i = 0;
    for (const Json& v : body["versions"]) {
      auto parsed = parse_version(v, po);
      if (!parsed.is_ok()) {
        set_json_error(res, 422,
                       "versions[" + std::to_string(i) + "]: " + parsed.status().message() +
                           " (nothing was applied)");
        return;
      }
      versions.push_back(std::move(parsed).value());
      ++i;
    }
    if (body.contains("conflicts") && !body["conflicts"].is_array()) {
      set_json_error(res, 422, "'conflicts' must be a list");
      return;
    }
    std::vector<ConflictRecord> conflicts;
    for (const Json& c : body.value("conflicts", Json::array())) {
      auto parsed = parse_conflict(c);
      if (!parsed.is_ok()) {
        set_json_error(res, 422,
                       "conflicts[" + std::to_string(conflicts.size()) +
                           "]: " + parsed.status().message() + " (nothing was applied)");
        return;
      }
      conflicts.push_back(std::move(parsed).value());
    }
    ApplyOptions ao;
    ao.source = "sync:" + node;
    ApplyCounts counts;
    Status st = service.write_transaction([&]() -> Status {
      MCP_ASSIGN_OR_RETURN(counts, service.apply_versions(versions, ao));
      MCP_RETURN_IF_ERROR(service.apply_conflicts(conflicts).status());
      MCP_ASSIGN_OR_RETURN(auto peer, load_peer(service, node));
      peer.last_push_at = unix_now();
      peer.pushed_total += static_cast<int64_t>(versions.size());
      return save_peer(service, peer);
    });
    if (!st.is_ok()) return send_status(res, st);
    auto head = service.last_change_seq();
    if (!head.is_ok()) return send_status(res, head.status());
    send(res, {{"hub_node", service.node_name()},
               {"applied", apply_counts_json(counts)},
               {"head", *head}});
  });

  server.get("/api/sync/conflicts",
             [&service](const httplib::Request& req, httplib::Response& res) {
               handle_list_conflicts(service, req, res);
             });
  server.post(R"(/api/sync/conflicts/([^/]+)/resolve)",
              [&service](const httplib::Request& req, httplib::Response& res) {
                handle_resolve_conflict(service, req, res);
              });
  server.get("/api/sync/status", [&service](const httplib::Request&, httplib::Response& res) {
    auto status = sync_status_json(service);
    if (!status.is_ok()) return send_status(res, status.status());
    send(res, *status);
  });
}

}  // namespace mcpmem
