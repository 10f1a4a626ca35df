// Sync state: see sync_state.h.
#include "sync/sync_state.h"

#include "core/json_parse.h"
#include "core/time_format.h"
#include "service/wire_json.h"

namespace mcpmem {
namespace {

Json parse_object(const std::optional<std::string>& text) {
  if (!text) return Json::object();
  auto j = parse_json(*text, "the sync state");
  return j.is_ok() && j->is_object() ? std::move(*j) : Json::object();
}

double num(const Json& j, const char* k) { return j.value(k, 0.0); }
int64_t i64(const Json& j, const char* k) { return j.value(k, int64_t{0}); }

// A time of the state as ISO text; 0 (never) as null.
OJson when(double t) { return t > 0 ? OJson(iso_utc(t)) : OJson(); }

OJson peer_json(const PeerState& p, int64_t head) {
  return {{"node", p.node},
          {"last_push_at", when(p.last_push_at)},
          {"last_pull_at", when(p.last_pull_at)},
          {"acknowledged_seq", p.acked_seq},
          {"behind", std::max<int64_t>(0, head - p.acked_seq)},
          {"pushed_total", p.pushed_total}};
}

PeerState peer_from(const std::string& node, const Json& j) {
  PeerState p;
  p.node = node;
  p.last_push_at = num(j, "last_push_at");
  p.last_pull_at = num(j, "last_pull_at");
  p.acked_seq = i64(j, "acked_seq");
  p.pushed_total = i64(j, "pushed_total");
  return p;
}

}  // namespace

Result<HubCursor> load_hub_cursor(MemoryService& service) {
  MCP_ASSIGN_OR_RETURN(auto text, service.sync_state(kHubCursorKey));
  Json j = parse_object(text);
  HubCursor c;
  c.url = j.value("url", "");
  c.hub_node = j.value("hub_node", "");
  c.hub_model = j.value("hub_model", "");
  c.push_seq = i64(j, "push_seq");
  c.pull_seq = i64(j, "pull_seq");
  c.last_push_at = num(j, "last_push_at");
  c.last_pull_at = num(j, "last_pull_at");
  c.last_success_at = num(j, "last_success_at");
  c.pushed_total = i64(j, "pushed_total");
  c.pulled_total = i64(j, "pulled_total");
  c.last_error = j.value("last_error", "");
  c.last_error_at = num(j, "last_error_at");
  c.resync_pending = j.value("resync_pending", false);
  c.last_resync_at = num(j, "last_resync_at");
  return c;
}

Status save_hub_cursor(MemoryService& service, const HubCursor& c) {
  Json j = {{"url", c.url},
            {"hub_node", c.hub_node},
            {"hub_model", c.hub_model},
            {"push_seq", c.push_seq},
            {"pull_seq", c.pull_seq},
            {"last_push_at", c.last_push_at},
            {"last_pull_at", c.last_pull_at},
            {"last_success_at", c.last_success_at},
            {"pushed_total", c.pushed_total},
            {"pulled_total", c.pulled_total},
            {"last_error", c.last_error},
            {"last_error_at", c.last_error_at},
            {"resync_pending", c.resync_pending},
            {"last_resync_at", c.last_resync_at}};
  return service.set_sync_state(kHubCursorKey, j.dump());
}

Result<PeerState> load_peer(MemoryService& service, const std::string& node) {
  MCP_ASSIGN_OR_RETURN(auto text, service.sync_state(kPeerPrefix + node));
  return peer_from(node, parse_object(text));
}

Status save_peer(MemoryService& service, const PeerState& p) {
  Json j = {{"last_push_at", p.last_push_at},
            {"last_pull_at", p.last_pull_at},
            {"acked_seq", p.acked_seq},
            {"pushed_total", p.pushed_total}};
  return service.set_sync_state(kPeerPrefix + p.node, j.dump());
}

Result<bool> forget_hub(MemoryService& service) {
  MCP_ASSIGN_OR_RETURN(auto cursor, load_hub_cursor(service));
  if (cursor.url.empty()) return false;
  MCP_ASSIGN_OR_RETURN(auto erased, service.erase_sync_states(kHubCursorKey));
  return erased > 0;
}

Result<int64_t> forget_peers(MemoryService& service) {
  return service.erase_sync_states(kPeerPrefix);
}

Result<OJson> sync_status_json(MemoryService& service) {
  MCP_ASSIGN_OR_RETURN(auto head, service.last_change_seq());
  MCP_ASSIGN_OR_RETURN(auto conflicts, service.count_conflicts(/*unresolved_only=*/true));
  MCP_ASSIGN_OR_RETURN(auto stats, service.stats());
  OJson out = {{"node", service.node_name()},
               {"head_seq", head},
               {"memory_count", stats.storage.total_memories},
               {"tombstones", stats.storage.deleted_memories},
               {"conflicts_unresolved", conflicts}};
  MCP_ASSIGN_OR_RETURN(auto cursor, load_hub_cursor(service));
  if (cursor.url.empty()) {
    out["hub"] = nullptr;
  } else {
    MCP_ASSIGN_OR_RETURN(auto pending, service.count_changes_after(cursor.push_seq));
    const double now = unix_now();
    out["hub"] = {
        {"url", cursor.url},
        {"hub_node", cursor.hub_node},
        {"last_push_at", when(cursor.last_push_at)},
        {"last_pull_at", when(cursor.last_pull_at)},
        {"last_success_at", when(cursor.last_success_at)},
        {"lag_seconds",
         cursor.last_success_at > 0 ? OJson(std::max(0.0, now - cursor.last_success_at)) : OJson()},
        {"pending_changes", pending},
        {"push_seq", cursor.push_seq},
        {"pull_seq", cursor.pull_seq},
        {"pushed_total", cursor.pushed_total},
        {"pulled_total", cursor.pulled_total},
        {"last_error", cursor.last_error.empty() ? OJson() : OJson(cursor.last_error)},
        {"last_error_at", when(cursor.last_error_at)},
        {"resync_pending", cursor.resync_pending},
        {"last_resync_at", when(cursor.last_resync_at)}};
  }
  MCP_ASSIGN_OR_RETURN(auto peers, service.sync_states(kPeerPrefix));
  OJson list = OJson::array();
  for (const auto& [key, value] : peers) {
    list.push_back(peer_json(
        peer_from(key.substr(std::string(kPeerPrefix).size()), parse_object(value)), head));
  }
  out["peers"] = list;
  return out;
}

}  // namespace mcpmem
