// The REST API under /api with the Python MCP Memory Service's paths and JSON shapes, so its
// users' scripts, curl lines and the sync guide's monitoring keep working. Errors are
// {"detail": message}: 400 malformed JSON, 422 invalid fields, 404 unknown memory, 503 database
// busy, 500 otherwise. Handlers only translate; MemoryService decides.
// Each route is one named handler below, a plain function of the Request that returns the
// Response, errors included (it throws nothing), so tests call it without a socket. mount()
// registers them; the server has already checked the key and the limits when one runs.
// Thread-safety: handlers are safe from many threads (MemoryService is).
#pragma once

#include <chrono>
#include <functional>
#include <string>

#include "http/http_server.h"
#include "replication/replica_status.h"
#include "service/backups.h"
#include "service/memory_service.h"

namespace mcpmem {

// What a handler tells the live-event stream (GET /api/events): a type and its JSON payload.
// (Stores and deletes reach the stream through the change log; handlers publish searches.)
using EventSink = std::function<void(const std::string& type, const Json& data)>;

class RestApi {
 public:
  // `events` may be empty (no live events); `backups` may be null (no /api/backup routes);
  // `replication` may be null (no Litestream configured: its status says so).
  RestApi(MemoryService& service, std::string version, EventSink events = {},
          Backups* backups = nullptr, const ReplicationMonitor* replication = nullptr);
  void mount(HttpServer& server);

  // Health and statistics (rest_health.cpp).
  // GET /api/health, open: {status, memory_count, last_modified}.
  Response health(const Request& req) const;
  // GET /api/health/detailed: status, version, uptime, storage, statistics, data digest.
  Response health_detailed(const Request& req) const;
  // GET /api/stats[?by_source=true]
  Response stats(const Request& req) const;
  // GET /api/replication/status: Litestream's replicas (replication/replica_status.h).
  Response replication_status(const Request& req) const;

  // Memories (rest_memories.cpp); {hash} is Request::matches[1].
  Response store_memory(const Request& req) const;   // POST /api/memories
  Response list_memories(const Request& req) const;  // GET /api/memories?page&page_size&tag...
  Response get_memory(const Request& req) const;     // GET /api/memories/{hash}
  Response update_memory(const Request& req) const;  // PUT /api/memories/{hash}
  Response delete_memory(const Request& req) const;  // DELETE /api/memories/{hash}
  Response list_tags(const Request& req) const;      // GET /api/tags

  // Searches (rest_search.cpp); each answered one publishes search_completed.
  Response search(const Request& req) const;          // POST /api/search
  Response search_by_tag(const Request& req) const;   // POST /api/search/by-tag
  Response search_by_time(const Request& req) const;  // POST /api/search/by-time
  Response search_similar(const Request& req) const;  // GET /api/search/similar/{hash}

  // Backups (rest_backups.cpp), mounted only with a Backups; 404 without one.
  Response backup_status(const Request& req) const;  // GET /api/backup/status
  Response backup_now(const Request& req) const;     // POST /api/backup/now
  Response backup_list(const Request& req) const;    // GET /api/backup/list
  // GET /api/backup/download/{filename}: the file as it is (encrypted ones stay encrypted).
  Response backup_download(const Request& req) const;
  // POST /api/backup/restore {"filename"}: into a new file beside the backups, never over the
  // live database; {success, path, memories, newest_memory_at}.
  Response backup_restore(const Request& req) const;

 private:
  // Publishes search_completed for `r` and answers it.
  Response searched(const SearchResponse& r) const;

  MemoryService& service_;
  std::string version_;
  EventSink events_;
  Backups* backups_;
  const ReplicationMonitor* replication_;
  std::chrono::steady_clock::time_point started_;
};

}  // namespace mcpmem
