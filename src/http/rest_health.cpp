// REST health and statistics: GET /api/health, /api/health/detailed and /api/stats.
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
    return json_response(j);
  });
}

Response RestApi::stats(const Request& req) const {
  return respond([&] {
    const bool by_source = req.param("by_source") == "true";
    return json_response(
        stats_json(value_or_fail(service_.stats(by_source)), service_.config().db_path, by_source));
  });
}

}  // namespace mcpmem
