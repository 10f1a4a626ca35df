// The hub's side of live sync (DESIGN §5.2), behind the API key like every route:
//   GET  /api/sync/pull?since=SEQ&limit=N&node=NAME  versions changed after SEQ:
//        {hub_node, versions:[...], next, more, head}; asking from SEQ acknowledges all before.
//   POST /api/sync/push {node, versions:[...]}        applies them by the sync rule in one
//        transaction: {hub_node, applied:{new, updated, ...}, head}; a bad version is a 422
//        naming it, and nothing of the request is applied.
//   GET  /api/sync/status                             this node's sync state (sync_state.h)
//   GET  /api/sync/conflicts?all=1&limit=N            versions that lost to concurrent edits,
//        newest first: {conflicts:[{id, content_hash, detected_at, source, winner, loser,
//        fields, resolved_at, resolution}], unresolved}; unresolved ones only unless all=1.
//   POST /api/sync/conflicts/{id}/resolve {keep: "winner"|"loser"}  settles one: "loser"
//        writes the loser's values of the lost fields as a new edit here: {success, conflict,
//        memory}. 422 for a
//        bad body, 404 for an unknown id, 409 when it was already resolved.
// Every node serves these, so any node can be the hub. Each route is a named handler below
// that returns its Response, errors included; mount_sync_api() registers them.
// Thread-safety: safe from many threads (MemoryService is).
#pragma once

#include "http/http_server.h"
#include "service/memory_service.h"

namespace mcpmem {

void mount_sync_api(HttpServer& server, MemoryService& service);

Response handle_sync_pull(MemoryService& service, const Request& req);
Response handle_sync_push(MemoryService& service, const Request& req);
Response handle_sync_status(MemoryService& service, const Request& req);
Response handle_list_conflicts(MemoryService& service, const Request& req);
// The conflict's id is req.matches[1].
Response handle_resolve_conflict(MemoryService& service, const Request& req);

}  // namespace mcpmem
