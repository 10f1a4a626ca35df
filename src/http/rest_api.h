// The REST API under /api with the Python MCP Memory Service's paths and JSON shapes, so its
// users' scripts, curl lines and the sync guide's monitoring keep working:
//   GET  /api/health                  open: {status, memory_count, last_modified} (see .cpp)
//   GET  /api/health/detailed         status, version, uptime, storage, statistics
//   POST /api/memories                store; GET /api/memories (paging, tag/type filters)
//   GET|PUT|DELETE /api/memories/{hash}
//   POST /api/search, /api/search/by-tag, /api/search/by-time; GET /api/search/similar/{hash}
//   GET  /api/tags, /api/stats
//   GET  /api/backup/status, /api/backup/list; POST /api/backup/now
// Errors are {"detail": message}: 400 malformed JSON, 422 invalid fields, 404 unknown memory,
// 503 database busy, 500 otherwise. Handlers only translate; MemoryService decides.
#pragma once

#include <chrono>
#include <functional>
#include <string>

#include "http/http_server.h"
#include "service/backups.h"
#include "service/memory_service.h"

namespace mcpmem {

// What a handler tells the live-event stream (GET /api/events): a type and its JSON payload.
// (Stores and deletes reach the stream through the change log; handlers publish searches.)
using EventSink = std::function<void(const std::string& type, const Json& data)>;

class RestApi {
 public:
  // `events` may be empty (no live events); `backups` may be null (no /api/backup routes).
  RestApi(MemoryService& service, std::string version, EventSink events = {},
          Backups* backups = nullptr);
  void mount(HttpServer& server);

 private:
  MemoryService& service_;
  std::string version_;
  EventSink events_;
  Backups* backups_;
  std::chrono::steady_clock::time_point started_;
};

}  // namespace mcpmem
