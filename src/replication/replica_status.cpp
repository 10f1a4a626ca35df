// Replica status from a directory replica's files, or from Litestream's own listings: a table
// with a header line and one row per snapshot or WAL segment, columns separated by blanks,
// times RFC 3339 in whole seconds.
#include "replication/replica_status.h"

#include <algorithm>
#include <charconv>
#include <chrono>
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
    // A replica it cannot reach is logged at ERROR while it exits 0 with an empty table.
    if (line.starts_with("time=") && line.find("level=ERROR") != std::string::npos) {
      return Status::io_error("litestream " + what + ": " + failure_of(line));
    }
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

// When the database last changed: its WAL's mtime (every commit writes it), else the file's.
double db_changed_at(const std::string& db_path) {
  return std::max(modified_unix_seconds(db_path), modified_unix_seconds(db_path + "-wal"));
}

std::string where_of(const LitestreamReplica& r) { return r.url.empty() ? r.path : r.url; }

// A listed count or size; 0 for what is not a number (a listing we do not understand is
// reported as empty, never as an exception).
int64_t number(const std::string& text) {
  int64_t v = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
  return ec == std::errc() && end == text.data() + text.size() ? v : 0;
}

// One file of a replica: a snapshot or a WAL segment of a generation.
struct ReplicaFile {
  std::string generation;
  bool snapshot = false;
  int64_t index = 0, offset = 0;
  int64_t size = 0;
  double created = 0;  // Unix seconds
};

// A directory replica's files, read from the directory itself: exact times, and unambiguous
// when two replicas share a name (the guide's two unnamed `type: file` replicas are both
// "file" to Litestream). generations/<16 hex>/snapshots/<index>.snapshot.lz4 and
// generations/<gen>/wal/<index>_<offset>.wal.lz4, both numbers in hex.
Result<std::vector<ReplicaFile>> files_in_directory(const std::string& dir) {
  std::vector<ReplicaFile> out;
  std::error_code ec;
  const fs::path root = fs::path(dir) / "generations";
  if (!fs::exists(root, ec)) return out;
  auto hex = [](std::string_view text, int64_t& v) {
    auto [end, e] = std::from_chars(text.data(), text.data() + text.size(), v, 16);
    return e == std::errc() && end == text.data() + text.size();
  };
  for (const auto& gen : fs::directory_iterator(root, ec)) {
    const std::string generation = gen.path().filename().string();
    for (const char* kind : {"snapshots", "wal"}) {
      std::error_code inner;
      for (const auto& f : fs::directory_iterator(gen.path() / kind, inner)) {
        const std::string name = f.path().filename().string();
        ReplicaFile file{generation, std::string_view(kind) == "snapshots"};
        const std::string_view suffix = file.snapshot ? ".snapshot.lz4" : ".wal.lz4";
        if (!name.ends_with(suffix)) continue;
        const std::string_view stem(name.data(), name.size() - suffix.size());
        const auto underscore = stem.find('_');
        const bool parsed = file.snapshot ? hex(stem, file.index)
                                          : underscore != std::string_view::npos &&
                                                hex(stem.substr(0, underscore), file.index) &&
                                                hex(stem.substr(underscore + 1), file.offset);
        if (!parsed) continue;
        file.size = static_cast<int64_t>(f.file_size(inner));
        file.created = modified_unix_seconds(f.path());
        out.push_back(std::move(file));
      }
    }
  }
  if (ec) return Status::io_error("cannot read " + root.string() + ": " + ec.message());
  return out;
}

// The files Litestream lists for the replica called `name` (`snapshots`: replica generation
// index size created; `wal`: replica generation index offset size created; numbers decimal).
std::vector<ReplicaFile> listed_files(const std::string& name,
                                      const std::vector<std::vector<std::string>>& snapshots,
                                      const std::vector<std::vector<std::string>>& wal) {
  std::vector<ReplicaFile> out;
  for (const auto& row : snapshots) {
    if (row[0] != name) continue;
    out.push_back(
        {row[1], true, number(row[2]), 0, number(row[3]), listed_time(row[4]).value_or(0)});
  }
  for (const auto& row : wal) {
    if (row[0] != name) continue;
    out.push_back({row[1], false, number(row[2]), number(row[3]), number(row[4]),
                   listed_time(row[5]).value_or(0)});
  }
  return out;
}

// `exact`: the times are the files' own (a directory), not Litestream's whole seconds.
void fill(ReplicaStatus& s, const std::vector<ReplicaFile>& files, bool exact, double changed_at,
          double now) {
  // The newest generation is the one written last (what `litestream restore` picks).
  std::map<std::string, double> generations;
  for (const ReplicaFile& f : files) {
    double& last = generations[f.generation];
    last = std::max(last, f.created);
    s.size_bytes += f.size;
    ++(f.snapshot ? s.snapshots : s.wal_segments);
  }
  s.generations = static_cast<int>(generations.size());
  double newest_time = -1;
  for (const auto& [g, last] : generations) {
    if (last >= newest_time) {
      newest_time = last;
      s.generation = g;
    }
  }
  if (s.generation.empty()) return;
  const ReplicaFile* newest_wal = nullptr;
  for (const ReplicaFile& f : files) {
    if (f.generation != s.generation || f.snapshot) continue;
    if (!newest_wal ||
        std::pair(f.index, f.offset) > std::pair(newest_wal->index, newest_wal->offset)) {
      newest_wal = &f;
    }
  }
  if (newest_wal) {
    char pos[64];
    std::snprintf(pos, sizeof pos, "/%08llx:%lld",
                  static_cast<unsigned long long>(newest_wal->index),
                  static_cast<long long>(newest_wal->offset));
    s.position = s.generation + pos;
  }
  s.last_replicated_at = newest_time;
  // Listed times are whole seconds: a change within that second counts as shipped.
  const double slack = exact ? 0.0 : 1.0;
  s.lag_seconds = changed_at <= newest_time + slack ? 0.0 : std::max(0.0, now - newest_time);
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
    // Litestream's listings only for replicas that are not directories.
    const bool needs_listing = std::any_of(db.replicas.begin(), db.replicas.end(),
                                           [](auto& r) { return replica_directory(r).empty(); });
    Result<std::vector<std::vector<std::string>>> snapshots =
        std::vector<std::vector<std::string>>();
    Result<std::vector<std::vector<std::string>>> wal = std::vector<std::vector<std::string>>();
    if (needs_listing) {
      snapshots = listing(binary, "snapshots", config_path, db.path, 5);
      wal = listing(binary, "wal", config_path, db.path, 6);
    }
    const double changed_at = db_changed_at(db.path);
    for (const LitestreamReplica& replica : db.replicas) {
      ReplicaStatus s;
      s.db_path = db.path;
      s.name = replica_name(replica);
      s.where = where_of(replica);
      if (const std::string dir = replica_directory(replica); !dir.empty()) {
        auto files = files_in_directory(dir);
        if (files.is_ok()) {
          fill(s, *files, /*exact=*/true, changed_at, now);
        } else {
          s.last_error = files.status().message();
        }
      } else if (!snapshots.is_ok() || !wal.is_ok()) {
        s.last_error = (!snapshots.is_ok() ? snapshots : wal).status().message();
      } else {
        fill(s, listed_files(s.name, *snapshots, *wal), /*exact=*/false, changed_at, now);
      }
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
