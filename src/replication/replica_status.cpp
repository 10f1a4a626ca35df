// Replica status from Litestream's own listings. Each listing is a table with a header line
// and one row per generation, snapshot or WAL segment, columns separated by blanks; times are
// RFC 3339 in whole seconds.
#include "replication/replica_status.h"

#include <sys/stat.h>

#include <algorithm>
#include <charconv>
#include <cstdio>
#include <filesystem>
#include <map>
#include <sstream>

#include "core/time_format.h"
#include "platform/child_process.h"
#include "replication/replica_fence.h"

namespace mcpmem {
namespace {

namespace fs = std::filesystem;

constexpr auto kListTimeout = std::chrono::seconds(30);

std::vector<std::string> words(const std::string& line) {
  std::istringstream in(line);
  std::vector<std::string> out;
  for (std::string w; in >> w;) out.push_back(w);
  return out;
}

// Litestream's "failed to run" line says why in error="..."; else its last line.
std::string failure_of(const std::string& output) {
  const auto at = output.rfind("error=\"");
  if (at != std::string::npos) {
    const auto start = at + 7;
    return output.substr(start, output.find('"', start) - start);
  }
  std::string last;
  std::istringstream in(output);
  for (std::string line; std::getline(in, line);) {
    if (!line.empty()) last = line;
  }
  return last;
}

// The rows of `litestream <what> -config <config> <db>` with `columns` columns, first column
// the replica's name; or why it could not be listed.
Result<std::vector<std::vector<std::string>>> listing(const std::string& binary,
                                                      const std::string& what,
                                                      const std::string& config_path,
                                                      const std::string& db_path, size_t columns) {
  MCP_ASSIGN_OR_RETURN(auto out,
                       run_child({binary, what, "-config", config_path, db_path}, kListTimeout));
  if (out.exit_code != 0) {
    return Status::io_error("litestream " + what + ": " + failure_of(out.output));
  }
  std::vector<std::vector<std::string>> rows;
  std::istringstream in(out.output);
  bool header = true;
  for (std::string line; std::getline(in, line);) {
    auto w = words(line);
    if (w.size() != columns || line.starts_with("time=")) continue;
    if (header) {  // the first row of the right width names the columns
      header = false;
      continue;
    }
    rows.push_back(std::move(w));
  }
  return rows;
}

std::optional<double> listed_time(const std::string& text) { return parse_iso_time(text); }

double mtime_of(const fs::path& path) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) return 0;
  return static_cast<double>(st.st_mtim.tv_sec) + static_cast<double>(st.st_mtim.tv_nsec) * 1e-9;
}

// When the database last changed: its WAL's mtime (every commit writes it), else the file's.
double db_changed_at(const std::string& db_path) {
  return std::max(mtime_of(db_path), mtime_of(db_path + "-wal"));
}

std::string where_of(const LitestreamReplica& r) { return r.url.empty() ? r.path : r.url; }

// A listed count or size; 0 for what is not a number (a listing we do not understand is
// reported as empty, never as an exception).
int64_t number(const std::string& text) {
  int64_t v = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
  return ec == std::errc() && end == text.data() + text.size() ? v : 0;
}

struct Segment {
  std::string generation;
  int64_t index = 0, offset = 0;  // listed in decimal; file names hold them in hex
  double created = 0;
};

void fill(ReplicaStatus& s, const LitestreamReplica& replica,
          const std::vector<std::vector<std::string>>& generations,
          const std::vector<std::vector<std::string>>& snapshots,
          const std::vector<std::vector<std::string>>& wal, double changed_at, double now) {
  // name generation lag start end
  double newest_end = -1;
  for (const auto& row : generations) {
    if (row[0] != s.name) continue;
    ++s.generations;
    const double end = listed_time(row[4]).value_or(0);
    if (end >= newest_end) {
      newest_end = end;
      s.generation = row[1];
    }
  }
  // replica generation index size created
  double newest_snapshot = 0;
  for (const auto& row : snapshots) {
    if (row[0] != s.name) continue;
    ++s.snapshots;
    s.size_bytes += number(row[3]);
    if (row[1] == s.generation) {
      newest_snapshot = std::max(newest_snapshot, listed_time(row[4]).value_or(0));
    }
  }
  // replica generation index offset size created
  std::optional<Segment> newest;
  for (const auto& row : wal) {
    if (row[0] != s.name) continue;
    ++s.wal_segments;
    s.size_bytes += number(row[4]);
    if (row[1] != s.generation) continue;
    Segment seg{row[1], number(row[2]), number(row[3]), listed_time(row[5]).value_or(0)};
    if (!newest || std::pair(seg.index, seg.offset) > std::pair(newest->index, newest->offset)) {
      newest = seg;
    }
  }
  if (s.generation.empty()) return;
  double shipped = newest_snapshot;
  if (newest) {
    char pos[64];
    std::snprintf(pos, sizeof pos, "/%08llx:%lld", static_cast<unsigned long long>(newest->index),
                  static_cast<long long>(newest->offset));
    s.position = newest->generation + pos;
    shipped = std::max(shipped, newest->created);
    if (const std::string dir = replica_directory(replica); !dir.empty()) {
      char name[64];
      std::snprintf(name, sizeof name, "%08llx_%08llx.wal.lz4",
                    static_cast<unsigned long long>(newest->index),
                    static_cast<unsigned long long>(newest->offset));
      const double exact =
          mtime_of(fs::path(dir) / "generations" / newest->generation / "wal" / name);
      if (exact > 0) shipped = exact;
    }
  }
  // Listed times are whole seconds: a change within that second counts as shipped.
  const bool whole_seconds = replica_directory(replica).empty() || !newest;
  s.last_replicated_at = shipped;
  const double slack = whole_seconds ? 1.0 : 0.0;
  s.lag_seconds = changed_at <= shipped + slack ? 0.0 : std::max(0.0, now - shipped);
}

}  // namespace

std::string replica_name(const LitestreamReplica& replica) {
  if (auto it = replica.settings.find("name"); it != replica.settings.end()) return it->second;
  if (!replica.type.empty()) return replica.type;
  const auto colon = replica.url.find("://");
  return colon == std::string::npos ? "file" : replica.url.substr(0, colon);
}

Result<std::vector<ReplicaStatus>> read_replica_status(const std::string& binary,
                                                       const std::string& config_path,
                                                       const LitestreamConfig& config, double now) {
  std::vector<ReplicaStatus> out;
  for (const LitestreamDb& db : config.dbs) {
    auto generations = listing(binary, "generations", config_path, db.path, 5);
    auto snapshots = listing(binary, "snapshots", config_path, db.path, 5);
    auto wal = listing(binary, "wal", config_path, db.path, 6);
    const double changed_at = db_changed_at(db.path);
    for (const LitestreamReplica& replica : db.replicas) {
      ReplicaStatus s;
      s.db_path = db.path;
      s.name = replica_name(replica);
      s.where = where_of(replica);
      for (const auto* listed : {&generations, &snapshots, &wal}) {
        if (!listed->is_ok() && s.last_error.empty()) s.last_error = listed->status().message();
      }
      if (s.last_error.empty()) fill(s, replica, *generations, *snapshots, *wal, changed_at, now);
      out.push_back(std::move(s));
    }
  }
  return out;
}

ReplicationMonitor::ReplicationMonitor(std::string litestream_binary, std::string config_path,
                                       LitestreamConfig config,
                                       const LitestreamSupervisor* supervisor)
    : binary_(std::move(litestream_binary)),
      config_path_(std::move(config_path)),
      config_(std::move(config)),
      supervisor_(supervisor) {}

ReplicationMonitor::Report ReplicationMonitor::report() const {
  MutexLock lock(mu_);
  const auto now = std::chrono::steady_clock::now();
  if (cached_ && now - cached_at_ < std::chrono::seconds(1)) return *cached_;
  Report r;
  r.config_path = config_path_;
  if (supervisor_ != nullptr) {
    const auto state = supervisor_->state();
    r.supervised = true;
    r.running = state.running;
    r.restarts = state.restarts;
    r.supervisor_error = state.last_error;
  }
  auto replicas = read_replica_status(binary_, config_path_, config_, unix_now());
  if (replicas.is_ok()) {
    r.replicas = std::move(*replicas);
  } else {
    r.supervisor_error = replicas.status().message();
  }
  for (const ReplicaStatus& s : r.replicas) {
    r.max_lag_seconds = std::max(r.max_lag_seconds, s.lag_seconds.value_or(0));
  }
  cached_ = r;
  cached_at_ = now;
  return r;
}

}  // namespace mcpmem
