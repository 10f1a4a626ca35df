// A spoke's side of live sync (DESIGN §5.2): push our changes since the hub's last
// acknowledgement, then pull the hub's changes since our cursor, both in batches, over HTTPS
// with the hub's API key. Idempotent and resumable: see sync_state.h for the cursors.
// TLS is always verified: a self-signed hub is trusted by giving its certificate (ca_file),
// which pins it, never by turning verification off.
#pragma once

#include <cstdint>
#include <string>

#include "service/memory_service.h"

namespace mcpmem {

struct SyncClientOptions {
  std::string hub_url;  // "https://hub:8443" (http:// only to loopback addresses)
  std::string api_key;
  std::string ca_file;   // PEM: the hub's (self-signed) certificate or its CA; empty: system CAs
  int64_t batch = 1000;  // versions per request (fewer when they are large)
  int timeout_seconds = 30;
};

struct SyncRound {
  int64_t pushed = 0;       // versions sent
  int64_t pulled = 0;       // versions received
  ApplyCounts applied;      // what the pulled versions did here
  ApplyCounts hub_applied;  // what ours did on the hub
  bool resynced = false;    // a full resync ran (the hub had purged deletes we had not seen)
  int64_t dropped = 0;      // memories the resync removed here (the hub had purged them)
};

// InvalidArgument when the options cannot work (not https to another machine, no API key).
Status check_options(const SyncClientOptions& options);

// One round: push everything pending, then pull everything new. Errors are recorded in the
// durable status (sync status shows them) and returned; cursors keep what was done.
Result<SyncRound> sync_once(MemoryService& service, const SyncClientOptions& options);

// "pushed 3 (hub: 2 new, 1 changed), pulled 5 (here: 5 new, 0 changed, 0 conflicts)".
std::string describe(const SyncRound& round);

}  // namespace mcpmem
