// The rounds of `replica follow` and its state file (see replica_follow.h). A round decides
// "changed" from the replica's files alone (their names and sizes: Litestream only ever adds
// and removes files), so an idle hub costs one listing per round and no restore.
#include "replication/replica_follow.h"

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <utility>
#include <vector>

#include "core/json_parse.h"
#include "core/time_format.h"
#include "platform/child_process.h"
#include "platform/durable_file.h"
#include "platform/secret_file.h"
#include "storage/database.h"

namespace mcpmem {
namespace {

namespace fs = std::filesystem;

double now_seconds() {
  return std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
}

struct ReplicaFiles {
  std::string fingerprint;  // "rel size\n" of every file, sorted
  std::string newest;       // relative path of the newest file
  std::optional<double> newest_at;
};

// The snapshot and WAL files of a replica directory (DIR/generations/<g>/{snapshots,wal}/*).
ReplicaFiles scan_replica(const std::string& dir) {
  ReplicaFiles out;
  std::vector<std::string> lines;
  std::error_code ec;
  const fs::path root = fs::path(dir) / "generations";
  for (fs::recursive_directory_iterator it(root, ec), end; !ec && it != end; it.increment(ec)) {
    std::error_code entry_ec;
    if (!it->is_regular_file(entry_ec)) continue;
    const std::string name = it->path().filename().string();
    if (name.find(".partial-") != std::string::npos) continue;  // a download in progress
    const std::string rel = fs::relative(it->path(), dir, entry_ec).generic_string();
    const auto size = it->file_size(entry_ec);
    if (entry_ec) continue;
    lines.push_back(rel + " " + std::to_string(size));
    const auto t = it->last_write_time(entry_ec);
    if (entry_ec) continue;
    const double at =
        std::chrono::duration<double>(std::chrono::file_clock::to_sys(t).time_since_epoch())
            .count();
    if (!out.newest_at || at > *out.newest_at) {
      out.newest_at = at;
      out.newest = rel;
    }
  }
  std::sort(lines.begin(), lines.end());
  for (const auto& l : lines) out.fingerprint += l + "\n";
  return out;
}

void remove_candidate(const std::string& candidate) {
  std::error_code ec;
  for (const char* suffix : {"", ".tmp", "-wal", "-shm", "-journal", ".tmp-wal", ".tmp-shm"}) {
    fs::remove(candidate + suffix, ec);
  }
}

// Litestream's last line that says what went wrong ("no matching backups found"), for errors.
std::string last_error_line(const std::string& output) {
  std::istringstream in(output);
  std::string line, last;
  while (std::getline(in, line)) {
    if (!line.empty()) last = line;
  }
  return last.size() > 300 ? last.substr(0, 300) + "..." : last;
}

}  // namespace

ReplicaFollower::ReplicaFollower(FollowOptions options) : options_(std::move(options)) {
  if (options_.cache_dir.empty()) options_.cache_dir = options_.db_path + ".mirror";
}

Result<FollowRound> ReplicaFollower::run_round() {
  FollowRound round;
  std::string replica_dir;
  if (is_remote_replica(options_.from)) {
    MCP_ASSIGN_OR_RETURN(auto mirrored,
                         mirror_replica(options_.from, options_.cache_dir, options_.mirror));
    replica_dir = mirrored.local_dir;
    round.files_fetched = mirrored.files_fetched;
    round.bytes_fetched = mirrored.bytes_fetched;
    round.files_removed = mirrored.files_removed;
  } else {
    std::error_code ec;
    replica_dir = fs::absolute(options_.from, ec).lexically_normal().string();
    if (!fs::is_directory(replica_dir, ec)) {
      return Status::not_found("the replica directory " + options_.from + " does not exist");
    }
  }
  ReplicaFiles files = scan_replica(replica_dir);
  round.newest_replica_file = files.newest;
  round.newest_replica_file_at = files.newest_at;
  if (files.newest_at) round.lag_seconds = std::max(0.0, now_seconds() - *files.newest_at);
  if (files.fingerprint.empty()) {
    return Status::failed_precondition("the replica " + options_.from +
                                       " holds no backup yet (has Litestream synced?)");
  }
  std::error_code ec;
  if (files.fingerprint == last_fingerprint_ && fs::exists(options_.db_path, ec)) {
    auto summary = Database::inspect_file(options_.db_path, /*check_integrity=*/false);
    if (summary.is_ok()) {
      round.memories = summary->memories;
      round.newest_memory_at = summary->newest_created_at;
      return round;  // nothing new: the copy stays as it is
    }
  }
  MCP_ASSIGN_OR_RETURN(round, restore_and_swap(replica_dir, std::move(round)));
  last_fingerprint_ = files.fingerprint;
  return round;
}

Result<FollowRound> ReplicaFollower::restore_and_swap(const std::string& replica_dir,
                                                      FollowRound round) {
  const std::string& db = options_.db_path;
  const std::string candidate = temporary_path_beside(db);
  auto restored =
      run_child({options_.litestream, "restore", "-o", candidate, "file://" + replica_dir},
                kFollowRestoreTimeout);
  auto fail = [&](Status st) {
    remove_candidate(candidate);
    return st;
  };
  if (!restored.is_ok()) return fail(restored.status().with_context("litestream restore"));
  if (restored->exit_code != 0) {
    const std::string why = last_error_line(restored->output);
    if (why.find("no matching backups") != std::string::npos) {
      return fail(Status::failed_precondition("the replica " + options_.from +
                                              " holds no backup yet: " + why));
    }
    return fail(Status::io_error("litestream restore from " + replica_dir + " failed (exit " +
                                 std::to_string(restored->exit_code) + "): " + why));
  }
  // Standalone first (the WAL folded in, nothing beside it), then checked as readers will see it.
  if (Status st = Database::make_standalone_file(candidate); !st.is_ok()) return fail(st);
  auto summary = Database::inspect_file(candidate, /*check_integrity=*/true);
  if (!summary.is_ok()) return fail(summary.status().with_context("checking the restored copy"));
  if (summary->integrity && *summary->integrity != "ok") {
    return fail(Status::corruption("the copy restored from " + options_.from +
                                   " failed SQLite's integrity check: " + *summary->integrity));
  }
  auto in_use = Database::file_in_use(db);
  if (in_use.is_ok() && *in_use) {
    return fail(Status::failed_precondition(
        db +
        " is open by a process that writes it (it has a -wal beside it); a followed copy "
        "is read-only: stop that process, or follow onto another path"));
  }
  std::error_code ec;
  if (fs::exists(db, ec) && !Database::is_followed_copy(db)) {
    return fail(Status::failed_precondition(
        db +
        " is not a copy replica follow made (a database of its own?): it is never "
        "replaced; follow onto a new path, or move it away first"));
  }
  if (Status st = replace_file(candidate, db); !st.is_ok()) return fail(st);
  remove_candidate(candidate);  // the -wal/-shm Litestream left beside its "<candidate>.tmp"
  round.changed = true;
  round.memories = summary->memories;
  round.newest_memory_at = summary->newest_created_at;
  return round;
}

std::string follow_state_path(const std::string& db_path) {
  return Database::follow_marker_path(db_path);
}

Status write_follow_state(const std::string& db_path, const FollowState& state) {
  const std::string path = follow_state_path(db_path);
  auto existing = read_follow_state(db_path);
  bool replace = false;
  if (existing.is_ok() && existing->has_value()) {
    const FollowState& other = **existing;
    if (other.pid != state.pid && process_exists(other.pid)) {
      return Status::failed_precondition("process " + std::to_string(other.pid) +
                                         " already follows " + other.from + " onto " + db_path +
                                         " (" + path + ")");
    }
    replace = true;  // left by a follower that died
  } else {
    std::error_code ec;
    replace = fs::exists(path, ec);  // unreadable: ours to replace
  }
  nlohmann::json j{{"from", state.from},
                   {"pid", state.pid},
                   {"started_at", state.started_at},
                   {"cache", state.cache}};
  const std::string temporary = temporary_path_beside(path);
  MCP_RETURN_IF_ERROR(create_secret_file(temporary, j.dump() + "\n"));  // mode 0600
  Status st = replace ? replace_file(temporary, path) : publish_new_file(temporary, path);
  if (!st.is_ok()) {
    std::error_code ec;
    fs::remove(temporary, ec);
    if (st.code() == StatusCode::kAlreadyExists) {
      return Status::failed_precondition("another follower started on " + db_path +
                                         " at the same moment (" + path + ")");
    }
  }
  return st;
}

Result<std::optional<FollowState>> read_follow_state(const std::string& db_path) {
  const std::string path = follow_state_path(db_path);
  std::ifstream in(path);
  if (!in) return std::optional<FollowState>();
  std::string text;
  text.resize(64 << 10);  // the file is about 200 bytes; a larger one is not ours
  in.read(text.data(), static_cast<std::streamsize>(text.size()));
  text.resize(static_cast<size_t>(in.gcount()));
  MCP_ASSIGN_OR_RETURN(auto j, parse_json(text, path));
  if (!j.is_object() || !j.contains("from") || !j["from"].is_string() || !j.contains("pid") ||
      !j["pid"].is_number_integer()) {
    return Status::invalid_argument(path + " is not a follower's state file");
  }
  FollowState s;
  s.from = j["from"].get<std::string>();
  s.pid = j["pid"].get<int>();
  if (j.contains("started_at") && j["started_at"].is_string()) {
    s.started_at = j["started_at"].get<std::string>();
  }
  if (j.contains("cache") && j["cache"].is_string()) s.cache = j["cache"].get<std::string>();
  return std::optional<FollowState>(std::move(s));
}

void remove_follow_state(const std::string& db_path) {
  std::error_code ec;
  fs::remove(follow_state_path(db_path), ec);
}

}  // namespace mcpmem
