// REST health and statistics: GET /api/health, /api/health/detailed, /api/stats and
// /api/replication/status.
//
// GET /api/health is open. The Python service answers it with {"status":"healthy"} only; the
// sync guide's monitoring script reads `memory_count` and `last_modified` from that same open
// route, so both are added: a count and a time, nothing that names or reveals a memory.
// The detailed health keeps the Python service's sections (storage, system, performance,
// statistics) and adds what a sync operator compares across nodes (last_applied, data_digest).
#include <cmath>
#include <cstdio>
#include <filesystem>

#include "core/time_format.h"
#include "http/rest_api.h"
#include "http/rest_input.h"

namespace mcpmem {

using namespace rest_detail;  // the readers and answers of rest_input.h

namespace {

std::string uptime_text(double seconds) {
  auto s = static_cast<int64_t>(seconds);
  char buf[64];
  std::snprintf(buf, sizeof buf, "%lldd %02lldh %02lldm %02llds", static_cast<long long>(s / 86400),
                static_cast<long long>(s / 3600 % 24), static_cast<long long>(s / 60 % 60),
                static_cast<long long>(s % 60));
  return buf;
}

OJson storage_json(const ServiceStats& stats) {
  OJson storage = OJson::object();
  storage["backend"] = "sqlite-vec";
  storage["status"] = "connected";
  storage["accessible"] = true;
  storage["embedding_model"] = stats.embedding_model;
  storage["embedding_dimension"] = stats.embedding_dimension;
  storage["total_memories"] = stats.storage.total_memories;
  storage["index_ready"] = stats.index_ready;
  const IndexState& index = stats.index;
  storage["vector_index"] = {{"rows", index.rows},
                             {"rows_changed_since_file", index.rows_in_memory},
                             {"file_mapped", index.file_mapped},
                             {"file_bytes", index.file_bytes},
                             {"hnsw", index.hnsw_state},
                             {"hnsw_rows", index.hnsw_rows},
                             {"hnsw_pending", index.hnsw_pending},
                             {"hnsw_verdict", index.hnsw_verdict},
                             {"memory_bytes", index.memory_bytes}};
  return storage;
}

OJson statistics_json(const ServiceStats& stats) {
  const double size_mb =
      std::round(static_cast<double>(stats.storage.database_size_bytes) / 1048576.0 * 100) / 100;
  OJson statistics = OJson::object();
  statistics["total_memories"] = stats.storage.total_memories;
  statistics["unique_tags"] = stats.storage.unique_tags;
  statistics["memories_this_week"] = stats.storage.memories_this_week;
  statistics["database_size_mb"] = size_mb;
  statistics["backend"] = "sqlite-vec";
  return statistics;
}

// How full the database's disk is, in percent with one decimal; null when unknown.
OJson system_json(const std::string& db_path) {
  OJson system = OJson::object();
  std::error_code ec;
  auto space = std::filesystem::space(std::filesystem::path(db_path).parent_path(), ec);
  system["disk_percent"] =
      ec || space.capacity == 0
          ? OJson(nullptr)
          : OJson(std::round(100.0 * static_cast<double>(space.capacity - space.available) /
                             static_cast<double>(space.capacity) * 10) /
                  10);
  return system;
}

// Litestream's replicas as /api/replication/status and the detailed health show them.
OJson replication_json(const ReplicationMonitor* monitor) {
  OJson j = OJson::object();
  j["enabled"] = monitor != nullptr;
  if (monitor == nullptr) return j;
  const ReplicationMonitor::Report r = monitor->report();
  j["config_path"] = r.config_path;
  j["supervised"] = r.supervised;
  j["running"] = r.running;
  j["restarts"] = r.restarts;
  j["last_error"] = r.supervisor_error.empty() ? OJson(nullptr) : OJson(r.supervisor_error);
  j["max_lag_seconds"] = r.max_lag_seconds;
  OJson replicas = OJson::array();
  for (const ReplicaStatus& s : r.replicas) {
    OJson x = OJson::object();
    x["db_path"] = s.db_path;
    x["name"] = s.name;
    x["where"] = s.where;
    x["generation"] = s.generation.empty() ? OJson(nullptr) : OJson(s.generation);
    x["position"] = s.position.empty() ? OJson(nullptr) : OJson(s.position);
    x["last_replicated_at"] =
        s.last_replicated_at ? OJson(iso_utc(*s.last_replicated_at)) : OJson(nullptr);
    x["lag_seconds"] = s.lag_seconds ? OJson(*s.lag_seconds) : OJson(nullptr);
    x["size_bytes"] = s.size_bytes;
    x["generations"] = s.generations;
    x["snapshots"] = s.snapshots;
    x["wal_segments"] = s.wal_segments;
    x["last_error"] = s.last_error.empty() ? OJson(nullptr) : OJson(s.last_error);
    replicas.push_back(std::move(x));
  }
  j["replicas"] = std::move(replicas);
  return j;
}

}  // namespace

Response RestApi::health(const Request&) const {
  return respond([&] {
    auto stats = value_or_fail(service_.stats());
    OJson j = OJson::object();
    j["status"] = "healthy";
    j["memory_count"] = stats.storage.total_memories;
    j["last_modified"] = iso_or_null(stats.storage.last_modified);
    return json_response(j);
  });
}

Response RestApi::health_detailed(const Request&) const {
  return respond([&] {
    auto stats = value_or_fail(service_.stats());
    auto digest = value_or_fail(service_.data_digest());
    const double uptime =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - started_).count();
    OJson performance = OJson::object();
    performance["uptime_seconds"] = uptime;
    performance["uptime_formatted"] = uptime_text(uptime);
    OJson j = OJson::object();
    j["status"] = "healthy";
    j["version"] = version_;
    j["timestamp"] = iso_utc(unix_now());
    j["uptime_seconds"] = uptime;
    j["storage"] = storage_json(stats);
    j["system"] = system_json(service_.config().db_path);
    j["performance"] = std::move(performance);
    j["statistics"] = statistics_json(stats);
    j["memory_count"] = stats.storage.total_memories;
    j["last_modified"] = iso_or_null(stats.storage.last_modified);
    j["last_applied"] = iso_or_null(stats.storage.last_applied);
    j["data_digest"] = {
        {"alive", digest.alive}, {"tombstones", digest.tombstones}, {"hash", digest.hash}};
    j["replication"] = replication_json(replication_);
    return json_response(j);
  });
}

Response RestApi::replication_status(const Request&) const {
  return respond([&] { return json_response(replication_json(replication_)); });
}

Response RestApi::stats(const Request& req) const {
  return respond([&] {
    const bool by_source = req.param("by_source") == "true";
    return json_response(
        stats_json(value_or_fail(service_.stats(by_source)), service_.config().db_path, by_source));
  });
}

}  // namespace mcpmem
