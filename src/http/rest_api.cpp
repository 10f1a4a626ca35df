// REST handlers. Each parses its input strictly (a field of the wrong type is a 422 naming the
// field, never a silent default), builds a typed request, calls MemoryService, and renders the
// Python service's shape with service/wire_json.h.
//
// GET /api/health is open. The Python service answers it with {"status":"healthy"} only; the
// sync guide's monitoring script reads `memory_count` and `last_modified` from that same open
// route, so both are added: a count and a time, nothing that names or reveals a memory.
#include "http/rest_api.h"

#include <cmath>
#include <filesystem>

#include "core/json_parse.h"
#include "core/tags.h"
#include "core/time_format.h"
#include "core/time_grammar.h"
#include "service/wire_json.h"

namespace mcpmem {
namespace {

constexpr int kMaxResults = 100;  // n_results and page_size, as the Python service

struct BadRequest {  // thrown inside handlers, answered by run()
  int status;
  std::string detail;
};

void send(httplib::Response& res, const OJson& body, int status = 200) {
  res.status = status;
  res.set_content(body.dump(-1, ' ', false, OJson::error_handler_t::replace), "application/json");
}

[[noreturn]] void fail(const Status& s) { throw BadRequest{http_status(s), s.message()}; }

template <typename T>
T value_or_fail(Result<T> r) {
  if (!r.is_ok()) fail(r.status());
  return std::move(r).value();
}

// Runs a handler, turning BadRequest into {"detail": ...}.
httplib::Server::Handler run(std::function<void(const httplib::Request&, httplib::Response&)> f) {
  return [f = std::move(f)](const httplib::Request& req, httplib::Response& res) {
    try {
      f(req, res);
    } catch (const BadRequest& e) {
      set_json_error(res, e.status, e.detail);
    }
  };
}

Json body_object(const httplib::Request& req) {
  auto parsed = parse_json(req.body, "the request body");
  if (!parsed.is_ok()) throw BadRequest{400, parsed.status().message()};
  Json j = std::move(*parsed);
  if (!j.is_object()) throw BadRequest{400, "the request body must be a JSON object"};
  return j;
}

// Typed field access: absent or null -> fallback; wrong type -> 422 naming the field.
std::string text_field(const Json& j, const char* name, const std::string& fallback = "") {
  if (!j.contains(name) || j[name].is_null()) return fallback;
  if (!j[name].is_string()) throw BadRequest{422, std::string("'") + name + "' must be a string"};
  return j[name];
}

std::optional<std::string> optional_text(const Json& j, const char* name) {
  if (!j.contains(name) || j[name].is_null()) return std::nullopt;
  return text_field(j, name);
}

int64_t int_field(const Json& j, const char* name, int64_t fallback, int64_t lo, int64_t hi) {
  if (!j.contains(name) || j[name].is_null()) return fallback;
  if (!j[name].is_number_integer() || j[name] < lo || j[name] > hi) {
    throw BadRequest{422, std::string("'") + name + "' must be an integer from " +
                              std::to_string(lo) + " to " + std::to_string(hi)};
  }
  return j[name];
}

bool bool_field(const Json& j, const char* name, bool fallback) {
  if (!j.contains(name) || j[name].is_null()) return fallback;
  if (!j[name].is_boolean()) throw BadRequest{422, std::string("'") + name + "' must be a boolean"};
  return j[name];
}

std::vector<std::string> tags_field(const Json& j, const char* name) {
  if (!j.contains(name) || j[name].is_null()) return {};
  const Json& t = j[name];
  if (t.is_string()) return split_tag_list(t.get<std::string>());
  std::vector<std::string> out;
  if (t.is_array()) {
    for (const Json& x : t) {
      if (!x.is_string()) break;
      out.push_back(x);
    }
    if (out.size() == t.size()) return out;
  }
  throw BadRequest{422, std::string("'") + name + "' must be a list of strings"};
}

int64_t query_int(const httplib::Request& req, const char* name, int64_t fallback, int64_t lo,
                  int64_t hi) {
  if (!req.has_param(name)) return fallback;
  const std::string v = req.get_param_value(name);
  char* end = nullptr;
  long long n = std::strtoll(v.c_str(), &end, 10);
  if (v.empty() || *end != '\0' || n < lo || n > hi) {
    throw BadRequest{422, std::string("'") + name + "' must be an integer from " +
                              std::to_string(lo) + " to " + std::to_string(hi)};
  }
  return n;
}

bool tag_match_all(const std::string& mode) {
  if (mode != "any" && mode != "all") throw BadRequest{422, "'tag_match' must be any or all"};
  return mode == "all";
}

std::string uptime_text(double seconds) {
  auto s = static_cast<int64_t>(seconds);
  char buf[64];
  std::snprintf(buf, sizeof buf, "%lldd %02lldh %02lldm %02llds", static_cast<long long>(s / 86400),
                static_cast<long long>(s / 3600 % 24), static_cast<long long>(s / 60 % 60),
                static_cast<long long>(s % 60));
  return buf;
}

OJson optional_number(const std::optional<double>& v) { return v ? OJson(*v) : OJson(nullptr); }

// The Python service's backup routes (its BackupScheduler's shapes).
void mount_backups(HttpServer& server, Backups& backups) {
  server.get(
      "/api/backup/status", run([&backups](const httplib::Request&, httplib::Response& res) {
        BackupStatus s = backups.status();
        const double now =
            std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch())
                .count();
        OJson j = OJson::object();
        j["enabled"] = s.enabled;
        j["interval"] = s.interval;
        j["retention_days"] = s.retention_days;
        j["max_count"] = s.max_count;
        j["backup_count"] = s.backup_count;
        j["total_size_bytes"] = s.total_size_bytes;
        j["last_backup_time"] = optional_number(s.last_backup_time);
        j["time_since_last_seconds"] =
            s.last_backup_time ? OJson(now - *s.last_backup_time) : OJson(nullptr);
        j["next_backup_at"] = s.next_backup_at ? OJson(iso_utc(*s.next_backup_at)) : OJson(nullptr);
        j["scheduler_running"] = s.scheduler_running;
        j["backup_directory"] = s.backup_directory;
        send(res, j);
      }));
  server.post("/api/backup/now", run([&backups](const httplib::Request&, httplib::Response& res) {
                BackupInfo b = value_or_fail(backups.create());
                OJson j = OJson::object();
                j["success"] = true;
                j["filename"] = b.filename;
                j["size_bytes"] = b.size_bytes;
                j["created_at"] = iso_utc(b.created_at);
                j["duration_seconds"] = b.duration_seconds;
                send(res, j);
              }));
  server.get("/api/backup/list", run([&backups](const httplib::Request&, httplib::Response& res) {
               const double now = std::chrono::duration<double>(
                                      std::chrono::system_clock::now().time_since_epoch())
                                      .count();
               OJson list = OJson::array();
               int64_t total = 0;
               for (const BackupInfo& b : backups.list()) {
                 OJson one = OJson::object();
                 one["filename"] = b.filename;
                 one["size_bytes"] = b.size_bytes;
                 one["created_at"] = iso_utc(b.created_at);
                 one["age_days"] = static_cast<int64_t>((now - b.created_at) / 86400);
                 list.push_back(std::move(one));
                 total += b.size_bytes;
               }
               OJson j = OJson::object();
               j["total_count"] = list.size();
               j["backups"] = std::move(list);
               j["total_size_bytes"] = total;
               send(res, j);
             }));
}

}  // namespace

RestApi::RestApi(MemoryService& service, std::string version, EventSink events, Backups* backups)
    : service_(service),
      version_(std::move(version)),
      events_(std::move(events)),
      backups_(backups),
      started_(std::chrono::steady_clock::now()) {}

void RestApi::mount(HttpServer& server) {
  MemoryService& svc = service_;
  auto emit = [this](const std::string& type, const OJson& data) {
    if (events_) events_(type, Json(data));
  };

  server.open_path("/api/health");
  server.get("/api/health", run([&svc](const httplib::Request&, httplib::Response& res) {
               auto stats = value_or_fail(svc.stats());
               OJson j = OJson::object();
               j["status"] = "healthy";
               j["memory_count"] = stats.storage.total_memories;
               j["last_modified"] = stats.storage.last_modified > 0
                                        ? OJson(iso_utc(stats.storage.last_modified))
                                        : OJson(nullptr);
               send(res, j);
             }));

  server.get(
      "/api/health/detailed", run([this, &svc](const httplib::Request&, httplib::Response& res) {
        auto stats = value_or_fail(svc.stats());
        const double uptime =
            std::chrono::duration<double>(std::chrono::steady_clock::now() - started_).count();
        const double size_mb =
            std::round(static_cast<double>(stats.storage.database_size_bytes) / 1048576.0 * 100) /
            100;
        OJson storage = OJson::object();
        storage["backend"] = "sqlite-vec";
        storage["status"] = "connected";
        storage["accessible"] = true;
        storage["embedding_model"] = stats.embedding_model;
        storage["embedding_dimension"] = stats.embedding_dimension;
        storage["total_memories"] = stats.storage.total_memories;
        storage["index_ready"] = stats.index_ready;
        OJson statistics = OJson::object();
        statistics["total_memories"] = stats.storage.total_memories;
        statistics["unique_tags"] = stats.storage.unique_tags;
        statistics["memories_this_week"] = stats.storage.memories_this_week;
        statistics["database_size_mb"] = size_mb;
        statistics["backend"] = "sqlite-vec";
        OJson performance = OJson::object();
        performance["uptime_seconds"] = uptime;
        performance["uptime_formatted"] = uptime_text(uptime);
        OJson system = OJson::object();
        std::error_code ec;
        auto space =
            std::filesystem::space(std::filesystem::path(svc.config().db_path).parent_path(), ec);
        system["disk_percent"] =
            ec || space.capacity == 0
                ? OJson(nullptr)
                : OJson(std::round(100.0 * static_cast<double>(space.capacity - space.available) /
                                   static_cast<double>(space.capacity) * 10) /
                        10);
        OJson j = OJson::object();
        j["status"] = "healthy";
        j["version"] = version_;
        j["timestamp"] = iso_utc(
            std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch())
                .count());
        j["uptime_seconds"] = uptime;
        j["storage"] = std::move(storage);
        j["system"] = std::move(system);
        j["performance"] = std::move(performance);
        j["statistics"] = std::move(statistics);
        j["memory_count"] = stats.storage.total_memories;
        j["last_modified"] = stats.storage.last_modified > 0
                                 ? OJson(iso_utc(stats.storage.last_modified))
                                 : OJson(nullptr);
        j["last_applied"] = stats.storage.last_applied > 0
                                ? OJson(iso_utc(stats.storage.last_applied))
                                : OJson(nullptr);
        auto digest = value_or_fail(svc.data_digest());
        j["data_digest"] = {
            {"alive", digest.alive}, {"tombstones", digest.tombstones}, {"hash", digest.hash}};
        send(res, j);
      }));

  server.post("/api/memories", run([&svc](const httplib::Request& req, httplib::Response& res) {
                Json body = body_object(req);
                StoreRequest r;
                r.content = text_field(body, "content");
                if (r.content.empty()) throw BadRequest{422, "'content' is required"};
                r.tags = tags_field(body, "tags");
                const std::string agent = req.get_header_value("X-Agent-ID");
                if (!agent.empty()) r.tags.push_back("agent:" + agent);
                r.memory_type = text_field(body, "memory_type");
                if (body.contains("metadata") && !body["metadata"].is_null()) {
                  if (!body["metadata"].is_object()) {
                    throw BadRequest{422, "'metadata' must be an object"};
                  }
                  r.metadata = body["metadata"];
                }
                r.conversation_id = text_field(body, "conversation_id");
                StoreResult out = value_or_fail(svc.store(r));
                OJson j = OJson::object();
                j["success"] = out.success;
                j["message"] = out.message;
                j["content_hash"] = out.content_hash;
                j["memory"] = out.memory ? memory_json(*out.memory) : OJson(nullptr);
                send(res, j);
              }));

  server.get("/api/memories", run([&svc](const httplib::Request& req, httplib::Response& res) {
               ListRequest r;
               r.page = query_int(req, "page", 1, 1, 1'000'000'000);
               r.page_size = query_int(req, "page_size", 10, 1, kMaxResults);
               if (req.has_param("tag")) r.tags = split_tag_list(req.get_param_value("tag"));
               if (req.has_param("tags")) r.tags = split_tag_list(req.get_param_value("tags"));
               if (req.has_param("memory_type") && !req.get_param_value("memory_type").empty()) {
                 r.memory_type = req.get_param_value("memory_type");
               }
               if (req.has_param("tag_match")) {
                 r.match_all_tags = tag_match_all(req.get_param_value("tag_match"));
               }
               send(res, list_json(value_or_fail(svc.list(r))));
             }));

  const std::string by_hash = R"(/api/memories/([^/]+))";
  server.get(by_hash, run([&svc](const httplib::Request& req, httplib::Response& res) {
               auto m = value_or_fail(svc.get(req.matches[1]));
               if (!m) throw BadRequest{404, "Memory not found"};
               send(res, memory_json(*m));
             }));

  server.put(by_hash, run([&svc](const httplib::Request& req, httplib::Response& res) {
               Json body = body_object(req);
               const std::string hash = req.matches[1];
               auto existing = value_or_fail(svc.get(hash));
               if (!existing) throw BadRequest{404, "Memory with hash " + hash + " not found"};
               UpdateRequest u;
               u.content_hash = hash;
               if (body.contains("tags") && !body["tags"].is_null())
                 u.tags = tags_field(body, "tags");
               u.memory_type = optional_text(body, "memory_type");
               if (body.contains("metadata") && !body["metadata"].is_null()) {
                 if (!body["metadata"].is_object()) {
                   throw BadRequest{422, "'metadata' must be an object"};
                 }
                 u.metadata = body["metadata"];
               }
               OJson j = OJson::object();
               j["success"] = true;
               if (!u.tags && !u.memory_type && !u.metadata) {
                 j["message"] = "No updates provided - memory unchanged";
                 j["content_hash"] = hash;
                 j["memory"] = memory_json(*existing);
               } else {
                 Memory updated = value_or_fail(svc.update(u));
                 j["message"] = "Memory updated successfully";
                 j["content_hash"] = hash;
                 j["memory"] = memory_json(updated);
               }
               send(res, j);
             }));

  server.del(by_hash, run([&svc](const httplib::Request& req, httplib::Response& res) {
               DeleteRequest d;
               d.content_hash = req.matches[1];
               auto removed = svc.remove(d);
               if (!removed.is_ok() && removed.status().code() != StatusCode::kNotFound) {
                 fail(removed.status());
               }
               DeleteResult out = removed.is_ok() ? *removed : DeleteResult{};
               OJson j = OJson::object();
               j["success"] = out.count > 0;
               j["message"] = out.count > 0 ? "Memory deleted successfully"
                                            : "Memory with hash " + *d.content_hash + " not found";
               j["content_hash"] = *d.content_hash;
               send(res, j);
             }));

  auto searched = [emit](httplib::Response& res, const SearchResponse& r) {
    OJson e = OJson::object();
    e["query"] = r.query;
    e["search_type"] = r.search_type;
    e["results_count"] = r.results.size();
    e["processing_time_ms"] = r.processing_time_ms;
    emit("search_completed", e);
    send(res, search_json(r));
  };

  server.post(
      "/api/search", run([&svc, searched](const httplib::Request& req, httplib::Response& res) {
        Json body = body_object(req);
        SearchRequest r;
        r.query = text_field(body, "query");
        if (r.query.empty()) throw BadRequest{422, "'query' is required"};
        r.limit = static_cast<int>(int_field(body, "n_results", 10, 1, kMaxResults));
        auto mode = parse_search_mode(text_field(body, "mode", "semantic"));
        if (!mode) throw BadRequest{422, "'mode' must be semantic, exact, keyword or hybrid"};
        r.mode = *mode;
        r.tags = tags_field(body, "tags");
        r.match_all_tags = tag_match_all(text_field(body, "tag_match", "any"));
        r.memory_type = optional_text(body, "memory_type");
        r.time_expr = text_field(body, "time_expr");
        r.time_from_query = true;  // as the MCP tool: "notes from yesterday" is yesterday's
        if (body.contains("similarity_threshold") && !body["similarity_threshold"].is_null()) {
          const Json& t = body["similarity_threshold"];
          if (!t.is_number() || t < 0 || t > 1) {
            throw BadRequest{422, "'similarity_threshold' must be a number from 0 to 1"};
          }
          r.min_score = t.get<double>();
        }
        searched(res, value_or_fail(svc.search(r)));
      }));

  server.post("/api/search/by-tag",
              run([&svc, searched](const httplib::Request& req, httplib::Response& res) {
                Json body = body_object(req);
                SearchRequest r;
                r.tags = tags_field(body, "tags");
                if (r.tags.empty()) throw BadRequest{400, "At least one tag must be specified"};
                r.match_all_tags = bool_field(body, "match_all", false);
                r.time_expr = text_field(body, "time_filter");
                r.limit = svc.config().max_search_limit;
                SearchResponse out = value_or_fail(svc.search(r));
                std::string joined;
                for (const auto& t : r.tags) joined += (joined.empty() ? "" : ", ") + t;
                out.query = "tags: " + joined;
                out.search_type = "tag";
                searched(res, out);
              }));

  server.post("/api/search/by-time",
              run([&svc, searched](const httplib::Request& req, httplib::Response& res) {
                Json body = body_object(req);
                SearchRequest r;
                r.time_expr = text_field(body, "query");
                if (r.time_expr.empty()) throw BadRequest{422, "'query' is required"};
                const double now = std::chrono::duration<double>(
                                       std::chrono::system_clock::now().time_since_epoch())
                                       .count();
                if (!parse_time_expression(r.time_expr, now)) {
                  throw BadRequest{400, "Could not parse time query: '" + r.time_expr +
                                            "'. Try 'yesterday', 'last week', 'this month', etc."};
                }
                r.limit = static_cast<int>(int_field(body, "n_results", 10, 1, kMaxResults));
                r.query = text_field(body, "semantic_query");
                SearchResponse out = value_or_fail(svc.search(r));
                out.query = r.time_expr;
                out.search_type = "time";
                searched(res, out);
              }));

  server.get(R"(/api/search/similar/([^/]+))",
             run([&svc, searched](const httplib::Request& req, httplib::Response& res) {
               const int limit = static_cast<int>(query_int(req, "n_results", 10, 1, kMaxResults));
               searched(res, value_or_fail(svc.search_similar(req.matches[1], limit)));
             }));

  server.get("/api/tags", run([&svc](const httplib::Request&, httplib::Response& res) {
               OJson tags = OJson::array();
               for (const TagCount& t : value_or_fail(svc.tags())) {
                 OJson one = OJson::object();
                 one["tag"] = t.tag;
                 one["count"] = t.count;
                 tags.push_back(std::move(one));
               }
               OJson j = OJson::object();
               j["tags"] = std::move(tags);
               send(res, j);
             }));

  if (backups_) mount_backups(server, *backups_);

  server.get(
      "/api/stats", run([&svc](const httplib::Request& req, httplib::Response& res) {
        const bool by_source = req.get_param_value("by_source") == "true";
        send(res, stats_json(value_or_fail(svc.stats(by_source)), svc.config().db_path, by_source));
      }));
}

}  // namespace mcpmem
