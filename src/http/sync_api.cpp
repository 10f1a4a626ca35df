// Hub routes: see sync_api.h. A push is read whole and checked before anything is applied, so
// a bad version refuses the request and changes nothing; the pull's bookkeeping (tombstone
// purge, the peer's last pull) never fails a pull.
#include "http/sync_api.h"

#include <spdlog/spdlog.h>

#include <charconv>
#include <variant>

#include "core/hlc.h"
#include "core/json_parse.h"
#include "core/time_format.h"
#include "service/version_json.h"
#include "sync/sync_state.h"

namespace mcpmem {
namespace {

constexpr int64_t kDefaultBatch = 1000, kMaxBatch = 5000;
constexpr int64_t kDefaultConflicts = 100, kMaxConflicts = 1000;

Response send(const OJson& body) {
  Response res;
  res.set_content(body.dump(-1, ' ', false, OJson::error_handler_t::replace), "application/json");
  return res;
}

Response send_status(const Status& s) { return json_error(http_status(s), s.message()); }

std::optional<int64_t> int_param(const Request& req, const char* name, int64_t fallback) {
  if (!req.has_param(name)) return fallback;
  const std::string v = req.param(name);
  int64_t out = 0;
  auto [p, ec] = std::from_chars(v.data(), v.data() + v.size(), out);
  if (ec != std::errc() || p != v.data() + v.size() || out < 0) return std::nullopt;
  return out;
}

// A yes/no query parameter: 1/true/yes or 0/false/no; anything else is nullopt.
std::optional<bool> flag_param(const Request& req, const char* name) {
  if (!req.has_param(name)) return false;
  const std::string v = req.param(name);
  if (v == "1" || v == "true" || v == "yes") return true;
  if (v == "0" || v == "false" || v == "no" || v.empty()) return false;
  return std::nullopt;
}

std::string node_param(const std::string& raw) {
  return sanitize_node_name(raw.empty() ? "unknown" : raw);
}

// Bookkeeping of a pull from `node`: asking from `since` acknowledges everything before it.
void note_pull(MemoryService& service, const std::string& node, int64_t since) {
  if (auto peer = load_peer(service, node); peer.is_ok()) {
    peer->last_pull_at = unix_now();
    peer->acked_seq = std::max(peer->acked_seq, since);
    (void)save_peer(service, *peer);
  }
}

OJson pulled_versions_json(const ChangedVersions& changed, bool with_vectors) {
  OJson versions = OJson::array();
  for (size_t i = 0; i < changed.versions.size(); ++i) {
    const Memory& m = changed.versions[i];
    OJson v = version_json(m);
    if (m.is_deleted()) v.erase("content");  // deletes travel without what was deleted
    if (with_vectors && !changed.vectors[i].empty()) add_vector(v, changed.vectors[i]);
    versions.push_back(std::move(v));
  }
  return versions;
}

// A push body read into typed values, all checked before any is applied.
struct PushBatch {
  std::string node;
  std::vector<IncomingVersion> versions;
  std::vector<ConflictRecord> conflicts;
};

// The push body as a PushBatch, or the refusal to answer (400 not a JSON object, 422 a field
// or a version that is wrong, named).
std::variant<PushBatch, Response> read_push(MemoryService& service, const std::string& text) {
  auto parsed = parse_json(text, "the request body");
  if (!parsed.is_ok()) return json_error(400, parsed.status().message());
  Json body = std::move(*parsed);
  if (!body.is_object()) return json_error(400, "the request body must be a JSON object");
  if (!body.contains("versions") || !body["versions"].is_array()) {
    return json_error(422, "'versions' must be a list");
  }
  if (body.contains("node") && !body["node"].is_string()) {
    return json_error(422, "'node' must be a string");
  }
  PushBatch batch;
  batch.node = node_param(body.value("node", ""));
  batch.versions.reserve(body["versions"].size());
  VersionParseOptions po;
  po.default_origin = batch.node;
  if (body.value("embedding_model", Json()) == service.embedder().model_id()) {
    po.embedding_dimension = service.embedder().dimension();
  }
  for (const Json& v : body["versions"]) {
    auto version = parse_version(v, po);
    if (!version.is_ok()) {
      return json_error(422, "versions[" + std::to_string(batch.versions.size()) +
                                 "]: " + version.status().message() + " (nothing was applied)");
    }
    batch.versions.push_back(std::move(version).value());
  }
  if (body.contains("conflicts") && !body["conflicts"].is_array()) {
    return json_error(422, "'conflicts' must be a list");
  }
  for (const Json& c : body.value("conflicts", Json::array())) {
    auto conflict = parse_conflict(c);
    if (!conflict.is_ok()) {
      return json_error(422, "conflicts[" + std::to_string(batch.conflicts.size()) +
                                 "]: " + conflict.status().message() + " (nothing was applied)");
    }
    batch.conflicts.push_back(std::move(conflict).value());
  }
  return batch;
}

}  // namespace

Response handle_sync_pull(MemoryService& service, const Request& req) {
  auto since = int_param(req, "since", 0);
  auto limit = int_param(req, "limit", kDefaultBatch);
  if (!since || !limit || *limit < 1) {
    return json_error(422, "'since' and 'limit' must be whole numbers (limit >= 1)");
  }
  // Old tombstones go now and then (rate-limited); a failure must not fail the pull.
  if (auto purged = service.purge_expired_tombstones(); !purged.is_ok()) {
    spdlog::warn("purging old tombstones failed: {}", purged.status().message());
  }
  // Vectors go along to a spoke whose model is ours: it need not embed them again.
  const std::string& model = service.embedder().model_id();
  const bool with_vectors = service.embedder().worth_shipping() && req.has_param("vectors") &&
                            req.param("vectors") == model;
  auto changed = service.changed_since(*since, std::min(*limit, kMaxBatch), with_vectors);
  if (!changed.is_ok()) return send_status(changed.status());
  auto head = service.last_change_seq();
  if (!head.is_ok()) return send_status(head.status());
  // Read after the versions: a purge in between can only make the spoke resync needlessly.
  auto purged_seq = service.purged_seq();
  if (!purged_seq.is_ok()) return send_status(purged_seq.status());
  if (req.has_param("node")) note_pull(service, node_param(req.param("node")), *since);
  OJson conflicts = OJson::array();
  for (const ConflictRecord& c : changed->conflicts) conflicts.push_back(conflict_record_json(c));
  return send({{"hub_node", service.node_name()},
               {"versions", pulled_versions_json(*changed, with_vectors)},
               {"conflicts", std::move(conflicts)},
               {"next", changed->next_seq},
               {"more", changed->more},
               {"head", *head},
               {"purged_seq", *purged_seq},
               {"embedding_model", model}});
}

Response handle_sync_push(MemoryService& service, const Request& req) {
  auto read = read_push(service, req.body);
  if (auto* refusal = std::get_if<Response>(&read)) return std::move(*refusal);
  PushBatch& batch = std::get<PushBatch>(read);
  ApplyOptions ao;
  ao.source = "sync:" + batch.node;
  ApplyCounts counts;
  Status st = service.write_transaction([&]() -> Status {
    MCP_ASSIGN_OR_RETURN(counts, service.apply_versions(batch.versions, ao));
    MCP_RETURN_IF_ERROR(service.apply_conflicts(batch.conflicts).status());
    MCP_ASSIGN_OR_RETURN(auto peer, load_peer(service, batch.node));
    peer.last_push_at = unix_now();
    peer.pushed_total += static_cast<int64_t>(batch.versions.size());
    return save_peer(service, peer);
  });
  if (!st.is_ok()) return send_status(st);
  auto head = service.last_change_seq();
  if (!head.is_ok()) return send_status(head.status());
  return send(
      {{"hub_node", service.node_name()}, {"applied", apply_counts_json(counts)}, {"head", *head}});
}

Response handle_sync_status(MemoryService& service, const Request&) {
  auto status = sync_status_json(service);
  if (!status.is_ok()) return send_status(status.status());
  return send(*status);
}

Response handle_list_conflicts(MemoryService& service, const Request& req) {
  auto all = flag_param(req, "all");
  auto limit = int_param(req, "limit", kDefaultConflicts);
  if (!all || !limit || *limit < 1) {
    return json_error(422, "'all' must be 1 or 0 and 'limit' a whole number >= 1");
  }
  auto list = service.conflicts(*all, std::min(*limit, kMaxConflicts));
  if (!list.is_ok()) return send_status(list.status());
  auto unresolved = service.count_conflicts(/*unresolved_only=*/true);
  if (!unresolved.is_ok()) return send_status(unresolved.status());
  OJson out = OJson::array();
  for (const ConflictRecord& c : *list) out.push_back(conflict_record_json(c));
  return send({{"conflicts", std::move(out)}, {"unresolved", *unresolved}});
}

Response handle_resolve_conflict(MemoryService& service, const Request& req) {
  const std::string id_text = req.matches.at(1);
  int64_t id = 0;
  auto [end, ec] = std::from_chars(id_text.data(), id_text.data() + id_text.size(), id);
  if (ec != std::errc() || end != id_text.data() + id_text.size()) {
    return json_error(404, "no sync conflict with id " + id_text);
  }
  auto parsed = parse_json(req.body, "the request body");
  if (is_json_too_deep(parsed.status())) return json_error(400, parsed.status().message());
  // Other malformed bodies get the 422 below, which shows the body to send.
  Json body = parsed.is_ok() ? std::move(*parsed) : Json();
  const Json* keep = body.is_object() && body.contains("keep") ? &body["keep"] : nullptr;
  if (!keep || !keep->is_string() || (*keep != "winner" && *keep != "loser")) {
    return json_error(422, R"(the body must be {"keep": "winner"} (leave the current version) or )"
                           R"({"keep": "loser"} (make the replaced version current))");
  }
  // NotFound -> 404, already resolved (FailedPrecondition) -> 409.
  if (Status st = service.resolve_conflict(id, keep->get<std::string>()); !st.is_ok()) {
    return send_status(st);
  }
  auto settled = service.conflict(id);
  if (!settled.is_ok()) return send_status(settled.status());
  if (!settled->has_value()) return send_status(Status::not_found("no conflict " + id_text));
  auto current = service.get((*settled)->content_hash);
  if (!current.is_ok()) return send_status(current.status());
  return send({{"success", true},
               {"conflict", conflict_record_json(**settled)},
               {"memory", current->has_value() ? version_json(**current) : OJson()}});
}

void mount_sync_api(HttpServer& server, MemoryService& service) {
  using SyncHandler = Response (*)(MemoryService&, const Request&);
  auto route = [&service](SyncHandler handler) -> Handler {
    return [&service, handler](const Request& req) { return handler(service, req); };
  };
  server.get("/api/sync/pull", route(&handle_sync_pull));
  server.post("/api/sync/push", route(&handle_sync_push));
  server.get("/api/sync/status", route(&handle_sync_status));
  server.get("/api/sync/conflicts", route(&handle_list_conflicts));
  server.post(R"(/api/sync/conflicts/([^/]+)/resolve)", route(&handle_resolve_conflict));
}

}  // namespace mcpmem
