// Restores. The candidate is checked read-only first (so a damaged file is never migrated),
// then opened as ours once (schema check and migration; closing it folds its WAL back so it is
// one file again), fsynced and renamed over the target. With force, the database it replaces
// first gets a second name (a hard link: no copy, no window without a database at the target),
// so a restore of the wrong backup can be undone.
#include "service/backup_restore.h"

#include <ctime>
#include <filesystem>
#include <fstream>
#include <vector>

#include "core/encrypted_stream.h"
#include "core/time_format.h"
#include "platform/durable_file.h"
#include "platform/file_modes.h"
#include "platform/secret_file.h"
#include "storage/database.h"

namespace mcpmem {
namespace {

namespace fs = std::filesystem;
constexpr size_t kFileBufferBytes = 1 << 20;
constexpr int kKeepNameAttempts = 100;

void remove_candidate(const std::string& candidate) {
  std::error_code ec;
  for (const char* suffix : {"", "-wal", "-shm", "-journal"}) fs::remove(candidate + suffix, ec);
}

std::string utc_stamp() {
  std::time_t now = std::time(nullptr);
  const std::tm tm = utc_calendar(now);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y%m%d_%H%M%S", &tm);
  return buf;
}

// Gives the database at `path` a second name "<path>.before-restore-<UTC time>[_n]".
Result<std::string> keep_previous(const std::string& path) {
  const std::string base = path + ".before-restore-" + utc_stamp();
  for (int n = 1; n <= kKeepNameAttempts; ++n) {
    const std::string kept = n == 1 ? base : base + "_" + std::to_string(n);
    Status linked = link_file(path, kept);
    if (linked.is_ok()) return kept;
    if (linked.code() == StatusCode::kAlreadyExists) continue;
    // A file system without hard links (FAT, some network shares): a copy instead.
    std::error_code ec;
    if (fs::copy_file(path, kept, ec)) return kept;
    return Status::io_error("keeping the database it replaces as " + kept + ": " +
                            linked.message());
  }
  return Status::already_exists("too many earlier restores beside " + path);
}

// Copies or decrypts `backup` into the new file `candidate`.
Status write_candidate(const std::string& backup, const std::string& candidate,
                       const std::optional<std::string>& passphrase) {
  MCP_RETURN_IF_ERROR(create_secret_file(candidate, ""));
  std::ifstream in(backup, std::ios::binary);
  if (!in) return Status::io_error("cannot read " + backup);
  std::vector<char> buffer(kFileBufferBytes);
  std::ofstream out;
  out.rdbuf()->pubsetbuf(buffer.data(), static_cast<std::streamsize>(buffer.size()));
  out.open(candidate, std::ios::binary | std::ios::trunc);
  if (!out) return Status::io_error("cannot write " + candidate);
  if (passphrase) {
    MCP_RETURN_IF_ERROR(decrypt_stream(in, out, *passphrase).status());
  } else {
    out << in.rdbuf();
    if (in.bad()) return Status::io_error("reading " + backup + " failed");
  }
  out.close();
  if (!out) return Status::io_error("writing " + candidate + " failed (disk full?)");
  return Status::ok();
}

// The checks and the rename of install_restored_database; the caller removes the candidate.
Result<RestoreReport> install(const std::string& candidate, const RestoreTarget& target) {
  auto summary = Database::inspect_file(candidate, /*check_integrity=*/true);
  if (!summary.is_ok()) {
    return Status(summary.status().code(), "the restored file is not a usable memory database: " +
                                               summary.status().message());
  }
  if (summary->integrity && *summary->integrity != "ok") {
    const std::string report = *summary->integrity;
    return Status::corruption("the restored database fails SQLite's integrity check: " +
                              report.substr(0, report.find('\n')));
  }
  {
    // Our schema: an older one is migrated here, a newer one refused.
    auto db = Database::open(candidate, OpenOptions{});
    if (!db.is_ok()) return db.status().with_context("opening the restored database");
  }
  std::error_code ec;
  if (fs::exists(candidate + "-wal", ec)) {
    return Status::internal("the restored database kept a WAL after closing: " + candidate);
  }
  MCP_RETURN_IF_ERROR(check_restore_target(target));  // again: time has passed
  RestoreReport report;
  report.path = target.path;
  report.memories = summary->memories;
  report.newest_memory_at = summary->newest_created_at;
  report.integrity_checked = summary->integrity.has_value();
  if (fs::exists(target.path, ec)) {
    MCP_ASSIGN_OR_RETURN(report.previous_kept_as, keep_previous(target.path));
  }
  MCP_RETURN_IF_ERROR(replace_file(candidate, target.path));
  return report;
}

}  // namespace

Status check_restore_target(const RestoreTarget& target) {
  if (target.path.empty()) return Status::invalid_argument("no path to restore to");
  std::error_code ec;
  const bool exists = fs::exists(target.path, ec);
  if (exists && !target.force) {
    return Status::already_exists(target.path +
                                  " already exists: restore to a new path, or pass --force to "
                                  "replace it (stop the server using it first)");
  }
  if (exists && fs::is_directory(target.path, ec)) {
    return Status::invalid_argument(target.path + " is a directory; give the database file's path");
  }
  if (!exists) return Status::ok();
  MCP_ASSIGN_OR_RETURN(bool in_use, Database::file_in_use(target.path));
  if (in_use) {
    return Status::failed_precondition(
        target.path +
        " is open in another process (its -wal file stays): stop the server (and Litestream, "
        "or any mcp-memory command) using it, then restore again");
  }
  return Status::ok();
}

std::string restore_candidate_path(const RestoreTarget& target) {
  return temporary_path_beside(target.path);
}

Result<RestoreReport> install_restored_database(const std::string& candidate,
                                                const RestoreTarget& target) {
  auto report = install(candidate, target);
  remove_candidate(candidate);
  return report;
}

Result<RestoreReport> restore_from_backup(const std::string& backup_file,
                                          const RestoreTarget& target,
                                          const std::optional<std::string>& passphrase) {
  std::error_code ec;
  if (!fs::is_regular_file(backup_file, ec)) {
    return Status::not_found("no backup file " + backup_file);
  }
  MCP_RETURN_IF_ERROR(check_restore_target(target));
  char first[8] = {};
  {
    std::ifstream in(backup_file, std::ios::binary);
    if (!in) return Status::io_error("cannot read " + backup_file);
    in.read(first, sizeof first);
  }
  const bool encrypted = has_encrypted_magic(std::string_view(first, sizeof first));
  if (!encrypted && backup_file.ends_with(".enc")) {
    return Status::corruption("damaged file: " + backup_file +
                              " is named as an encrypted backup but does not begin as one does");
  }
  if (encrypted && !passphrase) {
    return Status::failed_precondition(
        backup_file +
        " is encrypted and no passphrase is set: set MCP_BACKUP_PASSPHRASE_FILE (a file holding "
        "it) or MCP_BACKUP_PASSPHRASE");
  }
  const std::string parent = fs::path(target.path).parent_path().string();
  if (!parent.empty()) MCP_RETURN_IF_ERROR(create_private_directories(parent));
  const std::string candidate = restore_candidate_path(target);
  Status written = write_candidate(backup_file, candidate,
                                   encrypted ? passphrase : std::optional<std::string>());
  if (!written.is_ok()) {
    remove_candidate(candidate);
    return written.with_context("restoring " + backup_file);
  }
  MCP_ASSIGN_OR_RETURN(RestoreReport report, install_restored_database(candidate, target));
  report.decrypted = encrypted;
  return report;
}

}  // namespace mcpmem
