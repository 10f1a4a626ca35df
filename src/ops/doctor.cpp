// The checks of doctor.h, one function each. The database is read through storage's file
// inspection (a read-only connection of its own: a running server and Litestream are not
// disturbed), never opened as a MemoryService, which would migrate and repair on open and so
// hide what doctor is asked to find.
#include "ops/doctor.h"

#include <filesystem>
#include <fstream>
#include <sstream>

#include "platform/file_modes.h"
#include "replication/litestream.h"
#include "replication/litestream_config.h"
#include "service/index_follower.h"
#include "storage/database.h"

namespace mcpmem {
namespace {

namespace fs = std::filesystem;

std::string mib(double bytes) {
  std::ostringstream s;
  s.precision(bytes >= 10 * 1048576.0 ? 0 : 1);
  s << std::fixed << bytes / 1048576.0 << " MiB";
  return s.str();
}

DoctorCheck ok(std::string name, std::string detail) {
  return {std::move(name), CheckOutcome::kOk, std::move(detail), false};
}
DoctorCheck warn(std::string name, std::string detail) {
  return {std::move(name), CheckOutcome::kWarn, std::move(detail), false};
}
DoctorCheck fail(std::string name, std::string detail) {
  return {std::move(name), CheckOutcome::kFail, std::move(detail), false};
}

DoctorCheck check_wal_mode(const Config& config, const DatabaseHealth& health, bool fix) {
  if (health.journal_mode == "wal") return ok("wal_mode", "journal_mode is WAL");
  const std::string found = "journal_mode is " + health.journal_mode + ", not WAL";
  if (!fix) {
    return fail("wal_mode", found +
                                ": readers and the writer block each other and Litestream "
                                "cannot replicate it (doctor --fix switches it)");
  }
  Status st = Database::enable_wal(config.db_path);
  if (!st.is_ok()) return fail("wal_mode", found + "; switching failed: " + st.message());
  DoctorCheck c = ok("wal_mode", found + ": switched to WAL");
  c.fixed = true;
  return c;
}

DoctorCheck check_integrity(const DatabaseHealth& health) {
  std::string tables;
  for (const std::string& t : health.litestream_tables) tables += (tables.empty() ? "" : ", ") + t;
  const std::string litestream =
      tables.empty() ? "" : " (Litestream's " + tables + " present, as expected)";
  if (!health.integrity) {
    return warn("integrity",
                "not checked: a table needs a module mcp-memory does not load (the Python "
                "service's sqlite-vec table)" +
                    litestream);
  }
  if (*health.integrity == "ok") return ok("integrity", "integrity_check: ok" + litestream);
  std::string first = health.integrity->substr(0, health.integrity->find('\n'));
  return fail("integrity", "integrity_check reports damage: " + first.substr(0, 300) +
                               " (restore from a backup or replica: mcp-memory restore)");
}

DoctorCheck check_wal_backlog(const Config& config, bool fix) {
  std::error_code ec;
  const auto size = fs::file_size(config.db_path + "-wal", ec);
  if (ec || size == 0) return ok("wal_backlog", "nothing in the WAL waiting to be checkpointed");
  std::string found = "WAL is " + mib(static_cast<double>(size));
  DoctorCheck c = static_cast<int64_t>(size) > kWalBacklogWarnBytes
                      ? warn("wal_backlog", found +
                                                ": checkpoints are not keeping up (a "
                                                "long-lived reader holds them back?)")
                      : ok("wal_backlog", found);
  if (!fix) return c;
  auto done = Database::checkpoint_passive(config.db_path);
  if (!done.is_ok()) {
    c.detail += "; checkpoint failed: " + done.status().message();
    return c;
  }
  c.detail += "; passive checkpoint: " + std::to_string(done->checkpointed) + " of " +
              std::to_string(done->wal_frames) + " frames in the database file";
  c.fixed = done->checkpointed > 0;
  if (done->checkpointed == done->wal_frames) c.outcome = CheckOutcome::kOk;
  return c;
}

DoctorCheck check_disk_space(const Config& config) {
  std::error_code ec;
  const fs::path dir = fs::path(config.db_path).parent_path();
  const auto space = fs::space(dir.empty() ? "." : dir, ec);
  if (ec)
    return warn("disk_space", "cannot read free space of " + dir.string() + ": " + ec.message());
  const auto db_size = fs::file_size(config.db_path, ec);
  const int64_t needed =
      std::max<int64_t>(kMinFreeDiskBytes, ec ? 0 : static_cast<int64_t>(db_size));
  const std::string found = mib(static_cast<double>(space.available)) + " free of " +
                            mib(static_cast<double>(space.capacity)) + " on " + dir.string();
  if (static_cast<int64_t>(space.available) < needed) {
    return fail("disk_space", found + ": less than " + mib(static_cast<double>(needed)) +
                                  " (a checkpoint, backup or VACUUM needs room): free some space");
  }
  if (space.capacity > 0 && static_cast<double>(space.available) <
                                kWarnFreeDiskFraction * static_cast<double>(space.capacity)) {
    return warn("disk_space", found + ": under 5 % left");
  }
  return ok("disk_space", found);
}

DoctorCheck check_file_modes(const Config& config, bool fix) {
  std::vector<std::pair<std::string, bool>> paths = {
      // path, is a directory
      {config.base_dir, true},
      {fs::path(config.db_path).parent_path().string(), true},
      {config.backups_path, true},
      {config.db_path, false},
      {config.db_path + "-wal", false},
      {config.db_path + "-shm", false},
      {config.base_dir + "/api_key", false},
      {join_path(config.base_dir, "monitor-history.json"), false}};
  std::vector<std::string> open, fixed;
  for (const auto& [path, is_dir] : paths) {
    std::error_code ec;
    const auto st = fs::status(path, ec);
    if (ec || !fs::exists(st) || fs::is_directory(st) != is_dir) continue;
    const auto others = fs::perms::group_all | fs::perms::others_all;
    if ((st.permissions() & others) == fs::perms::none) continue;
    if (fix) {
      if (auto changed = tighten_to_owner(path)) {
        fixed.push_back(*changed);
        continue;
      }
    }
    char mode[8];
    std::snprintf(mode, sizeof mode, "%04o", static_cast<unsigned>(st.permissions()) & 07777);
    open.push_back(path + " is " + mode + " (want " + (is_dir ? "0700" : "0600") + ")");
  }
  auto join = [](const std::vector<std::string>& v) {
    std::string s;
    for (const std::string& x : v) s += (s.empty() ? "" : "; ") + x;
    return s;
  };
  if (!open.empty()) {
    return fail("file_modes", join(open) + ": other users can read memories (doctor --fix)");
  }
  if (!fixed.empty()) {
    DoctorCheck c = ok("file_modes", join(fixed));
    c.fixed = true;
    return c;
  }
  return ok("file_modes", "data files 0600, directories 0700");
}

// Litestream 0.3 keeps a file replica as <dir>/generations/<id>/{snapshots,wal}.
bool has_generation(const std::string& dir) {
  std::error_code ec;
  for (const auto& e : fs::directory_iterator(fs::path(dir) / "generations", ec)) {
    if (e.is_directory(ec)) return true;
  }
  return false;
}

DoctorCheck check_replication(const Config& config, const DoctorOptions& options) {
  std::string path = options.litestream_config;
  std::error_code ec;
  if (path.empty()) {
    path = generated_litestream_config_path(config);
    if (!fs::exists(path, ec)) {
      return ok("replication", "no Litestream configuration (" + path + "): not replicated");
    }
  }
  std::ifstream in(path, std::ios::binary);
  if (!in) return fail("replication", "cannot read " + path);
  std::ostringstream text;
  text << in.rdbuf();
  auto parsed = parse_litestream_config(text.str(), path);
  if (!parsed.is_ok()) return fail("replication", parsed.status().message());
  auto binary = find_litestream(config);
  if (!binary.is_ok()) return fail("replication", binary.status().message());
  const fs::path ours = fs::weakly_canonical(config.db_path, ec);
  std::vector<std::string> missing, found, other;
  bool replicates_ours = false;
  for (const LitestreamDb& db : parsed->dbs) {
    if (fs::weakly_canonical(db.path, ec) != ours) continue;
    replicates_ours = true;
    for (const LitestreamReplica& r : db.replicas) {
      std::string dir = r.path;
      if (dir.empty() && r.url.starts_with("file://")) dir = r.url.substr(7);
      if (dir.empty()) {
        other.push_back(r.url.empty() ? r.type : r.url);
      } else if (has_generation(dir)) {
        found.push_back(dir);
      } else {
        missing.push_back(dir);
      }
    }
  }
  if (!replicates_ours) {
    return warn("replication", path + " does not replicate " + config.db_path);
  }
  std::string detail = "Litestream " + *binary;
  for (const std::string& d : found) detail += "; " + d + " has a generation";
  for (const std::string& o : other) detail += "; " + o + " not checked (remote)";
  if (!missing.empty()) {
    std::string list;
    for (const std::string& d : missing) list += (list.empty() ? "" : ", ") + d;
    return warn("replication", detail + "; no generation yet in " + list +
                                   " (is `mcp-memory replicate` or `serve --replicate` running?)");
  }
  return ok("replication", detail);
}

DoctorCheck check_index(const DatabaseHealth& health) {
  if (!health.vectors) {
    return warn("index",
                "no vectors of mcp-memory's yet (a Python service database?): the "
                "server makes them when it first opens it");
  }
  std::string found = std::to_string(health.memories) + " memories, " +
                      std::to_string(*health.vectors) + " with a vector";
  if (health.orphan_vectors > 0) {
    found += ", " + std::to_string(health.orphan_vectors) + " vectors without a memory";
  }
  if (*health.vectors < health.memories) {
    return warn("index", found +
                             ": the rest are missing from semantic search until the server "
                             "embeds them (it does at start; or run mcp-memory reindex)");
  }
  if (health.orphan_vectors > 0) {
    return warn("index", found + ": harmless, dropped by the next reindex");
  }
  return ok("index", found);
}

// The persisted index (`<db>.index`): would the next process map it, or rebuild it? Opening
// it checks every checksum but the float rows' (a read of a fifth of the file).
DoctorCheck check_index_file(const Config& config, bool fix) {
  const std::string path = config.db_path + ".index";
  std::error_code ec;
  if (!config.index_file) return ok("index_file", "off (MCP_MEMORY_INDEX_FILE=0)");
  if (!std::filesystem::exists(path, ec)) {
    return ok("index_file", "none yet: the first search writes " + path);
  }
  Status usable = [&]() -> Status {
    OpenOptions o;
    o.read_only = true;
    MCP_ASSIGN_OR_RETURN(auto db, Database::open(config.db_path, o));
    MCP_ASSIGN_OR_RETURN(auto model, db->get_meta(Database::kModelKey));
    MCP_ASSIGN_OR_RETURN(auto dim, db->get_meta(Database::kDimensionKey));
    const size_t dimension = dim.has_value() ? std::strtoul(dim->c_str(), nullptr, 10) : 0;
    MCP_ASSIGN_OR_RETURN(auto file, IndexFileView::open(path, dimension));
    return index_stamp_matches(*db, model.value_or(""), file->info().stamp, path);
  }();
  if (usable.is_ok()) {
    auto info = IndexFileView::read_info(path);
    return ok("index_file", path + ": " + std::to_string(info->rows) + " rows, change-log " +
                                "position " + std::to_string(info->stamp.seq) +
                                " (later changes are applied at start)");
  }
  if (fix && std::filesystem::remove(path, ec)) {
    return ok("index_file", usable.message() + ": removed; the next search writes a new one");
  }
  return warn("index_file", usable.message() + ": the next search rebuilds it (--fix removes it)");
}

}  // namespace

const char* check_outcome_name(CheckOutcome outcome) {
  switch (outcome) {
    case CheckOutcome::kOk:
      return "ok";
    case CheckOutcome::kWarn:
      return "warn";
    case CheckOutcome::kFail:
      return "fail";
  }
  return "fail";
}

std::vector<DoctorCheck> run_doctor(const Config& config, const DoctorOptions& options) {
  std::vector<DoctorCheck> checks;
  auto health = Database::inspect_health(config.db_path);
  if (!health.is_ok()) {
    checks.push_back(fail("database", health.status().message()));
  } else {
    checks.push_back(
        ok("database", config.db_path + ": " + std::to_string(health->memories) + " memories"));
    checks.push_back(check_wal_mode(config, *health, options.fix));
    checks.push_back(check_integrity(*health));
    checks.push_back(check_wal_backlog(config, options.fix));
  }
  checks.push_back(check_disk_space(config));
  checks.push_back(check_file_modes(config, options.fix));
  checks.push_back(check_replication(config, options));
  if (health.is_ok()) {
    checks.push_back(check_index(*health));
    checks.push_back(check_index_file(config, options.fix));
  }
  return checks;
}

}  // namespace mcpmem
