// The REST routes: which handler answers which method and path, grouped by resource as in
// rest_api.h. The handlers live in rest_health.cpp, rest_memories.cpp, rest_search.cpp and
// rest_backups.cpp; the strict input reading they share in rest_input.h. Only GET /api/health
// is open (see rest_health.cpp for what it may show).
#include "http/rest_api.h"

namespace mcpmem {

RestApi::RestApi(MemoryService& service, std::string version, EventSink events, Backups* backups,
                 const ReplicationMonitor* replication)
    : service_(service),
      version_(std::move(version)),
      events_(std::move(events)),
      backups_(backups),
      replication_(replication),
      started_(std::chrono::steady_clock::now()) {}

void RestApi::mount(HttpServer& server) {
  using Method = Response (RestApi::*)(const Request&) const;
  auto route = [this](Method handler) -> Handler {
    return [this, handler](const Request& req) { return (this->*handler)(req); };
  };

  server.open_path("/api/health");
  server.get("/api/health", route(&RestApi::health));
  server.get("/api/health/detailed", route(&RestApi::health_detailed));
  server.get("/api/stats", route(&RestApi::stats));
  server.get("/api/replication/status", route(&RestApi::replication_status));

  const std::string by_hash = R"(/api/memories/([^/]+))";
  server.post("/api/memories", route(&RestApi::store_memory));
  server.get("/api/memories", route(&RestApi::list_memories));
  server.get(by_hash, route(&RestApi::get_memory));
  server.put(by_hash, route(&RestApi::update_memory));
  server.del(by_hash, route(&RestApi::delete_memory));
  server.get("/api/tags", route(&RestApi::list_tags));

  server.post("/api/search", route(&RestApi::search));
  server.post("/api/search/by-tag", route(&RestApi::search_by_tag));
  server.post("/api/search/by-time", route(&RestApi::search_by_time));
  server.get(R"(/api/search/similar/([^/]+))", route(&RestApi::search_similar));

  if (backups_ != nullptr) {
    server.get("/api/backup/status", route(&RestApi::backup_status));
    server.post("/api/backup/now", route(&RestApi::backup_now));
    server.get("/api/backup/list", route(&RestApi::backup_list));
    server.get(R"(/api/backup/download/([^/]+))", route(&RestApi::backup_download));
    server.post("/api/backup/restore", route(&RestApi::backup_restore));
  }
}

}  // namespace mcpmem
