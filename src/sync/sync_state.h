// Durable sync state, kept in the database's meta table so it survives crashes and moves with
// the file: a spoke's cursors into its hub ("sync.hub"), and a hub's view of each spoke
// ("sync.peer.<node>"). A cursor is only advanced in the transaction that applied what it
// covers (pull) or after the hub acknowledged it (push), so a crash at any point repeats work
// (applying a version twice changes nothing) and never skips any.
#pragma once

#include <cstdint>
#include <string>

#include "service/memory_service.h"

namespace mcpmem {

struct HubCursor {
  std::string url;
  std::string hub_node;
  std::string hub_model;  // the hub's embedding model: our vectors go along when it is ours
  int64_t push_seq = 0;   // our change-log seq the hub has acknowledged
  int64_t pull_seq = 0;   // the hub's change-log seq we have applied
  double last_push_at = 0, last_pull_at = 0, last_success_at = 0;
  int64_t pushed_total = 0, pulled_total = 0;
  std::string last_error;
  double last_error_at = 0;
  // The hub purged tombstones we may not have seen: pull everything from seq 0, then drop
  // what the hub no longer has. Durable, so a crash mid-way starts the resync over.
  bool resync_pending = false;
  double last_resync_at = 0;
};

struct PeerState {  // what a hub knows of one spoke
  std::string node;
  double last_push_at = 0, last_pull_at = 0;
  int64_t acked_seq = 0;  // the hub seq the spoke asked to continue from: it has everything before
  int64_t pushed_total = 0;
};

inline constexpr const char* kHubCursorKey = "sync.hub";
inline constexpr const char* kPeerPrefix = "sync.peer.";

Result<HubCursor> load_hub_cursor(MemoryService& service);
Status save_hub_cursor(MemoryService& service, const HubCursor& cursor);
Result<PeerState> load_peer(MemoryService& service, const std::string& node);
Status save_peer(MemoryService& service, const PeerState& peer);
// Failover: a node that becomes the hub forgets its hub (cursors, status, last error); a hub
// that becomes a spoke forgets the nodes that synced with it. The data and the change log stay:
// whatever was pending goes to the next hub in full (the merge makes repeats harmless).
Result<bool> forget_hub(MemoryService& service);  // false: there was none
Result<int64_t> forget_peers(MemoryService& service);

// {node, head_seq, memories, conflicts_unresolved, hub: {...} | null, peers: [...]}: for
// `sync status`, GET /api/sync/status and the memory_sync_status tool.
Result<nlohmann::ordered_json> sync_status_json(MemoryService& service);

}  // namespace mcpmem
