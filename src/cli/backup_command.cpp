// `mcp-memory backup` (a consistent online backup of the live database, encrypted when asked
// or when a passphrase is set, then the retention rules applied to its folder) and
// `backup list`. The same Backups the server's schedule uses (service/backups.h): one engine,
// one naming scheme, one retention rule. The passphrase comes from MCP_BACKUP_PASSPHRASE,
// MCP_BACKUP_PASSPHRASE_FILE or --passphrase-file, never from a flag value (ps shows those).
#include <cstdio>
#include <filesystem>
#include <iostream>

#include "cli/cli_context.h"
#include "core/time_format.h"
#include "service/backups.h"
#include "service/wire_json.h"

namespace mcpmem::cli {
namespace {

namespace fs = std::filesystem;

std::string megabytes(int64_t bytes) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.1f MB", static_cast<double>(bytes) / 1e6);
  return buf;
}

std::string memories_text(int64_t n) {
  return std::to_string(n) + (n == 1 ? " memory" : " memories");
}

// "2026-01-05 10:00:00 UTC"
std::string readable_utc(double t) {
  std::string iso = iso_utc(t);
  iso = iso.substr(0, 19);
  iso[10] = ' ';
  return iso + " UTC";
}

OJson optional_json(const std::optional<int64_t>& v) { return v ? OJson(*v) : OJson(nullptr); }
OJson optional_time(const std::optional<double>& t) {
  return t ? OJson(iso_utc(*t)) : OJson(nullptr);
}

OJson backup_json(const BackupInfo& b) {
  return OJson{{"filename", b.filename},
               {"path", b.path},
               {"size_bytes", b.size_bytes},
               {"created_at", iso_utc(b.created_at)},
               {"encrypted", b.encrypted},
               {"memory_count", optional_json(b.memory_count)},
               {"newest_memory_at", optional_time(b.newest_memory_at)}};
}

struct BackupFlags {
  std::string to;
  std::string passphrase_file;
  bool encrypt = false;
  std::string list_dir;
};

int backup_now(CliContext& ctx, const BackupFlags& flags) {
  Config config = ctx.config;
  if (!flags.to.empty()) config.backups_path = flags.to;
  if (!flags.passphrase_file.empty()) {
    config.backup_passphrase.clear();
    config.backup_passphrase_file = flags.passphrase_file;
  }
  // A passphrase given on the command line means "encrypt", whatever MCP_BACKUP_ENCRYPT says.
  if (flags.encrypt || !flags.passphrase_file.empty()) config.backup_encrypt = true;
  std::error_code ec;
  if (!fs::exists(config.db_path, ec)) {
    return report_error(Status::not_found("no database at " + config.db_path +
                                          " (set --db-path or MCP_MEMORY_SQLITE_PATH)"));
  }
  // Opened with the configuration as it was: the service tightens the modes of the backups
  // folder it is given, and a --to folder (a shared drive, /tmp) is not ours to change.
  auto service = ctx.open_service();
  if (!service.is_ok()) return report_error(service.status());
  Backups backups(**service, config);
  if (Status ok = backups.check_settings(); !ok.is_ok()) {
    if (ok.code() == StatusCode::kFailedPrecondition) {
      ok = Status(ok.code(), ok.message() + ", or pass --passphrase-file FILE");
    }
    return report_error(ok);
  }
  auto made = backups.create();
  if (!made.is_ok()) return report_error(made.status().with_context("backing up"));
  if (ctx.json) {
    OJson j = backup_json(*made);
    j["duration_seconds"] = made->duration_seconds;
    j["backup_directory"] = config.backups_path;
    j["retention_days"] = config.backup_retention_days;
    j["max_count"] = config.backup_max_count;
    OJson out = {{"success", true}};
    out.update(j);
    std::cout << out.dump(2) << "\n";
    return kExitOk;
  }
  char seconds[32];
  std::snprintf(seconds, sizeof seconds, "%.1f s", made->duration_seconds);
  std::cout << "Backed up " << memories_text(made->memory_count.value_or(0)) << " to " << made->path
            << " (" << megabytes(made->size_bytes) << (made->encrypted ? ", encrypted" : "") << ", "
            << seconds << ")\n";
  return kExitOk;
}

int backup_list(CliContext& ctx, const BackupFlags& flags) {
  const std::string dir = flags.list_dir.empty() ? ctx.config.backups_path : flags.list_dir;
  std::vector<BackupInfo> all = list_backups(dir);
  int64_t total = 0;
  std::vector<std::string> unreadable(all.size());
  for (size_t i = 0; i < all.size(); ++i) {
    total += all[i].size_bytes;
    if (Status read = describe_backup(all[i]); !read.is_ok()) unreadable[i] = read.message();
  }
  if (ctx.json) {
    OJson list = OJson::array();
    for (size_t i = 0; i < all.size(); ++i) {
      OJson one = backup_json(all[i]);
      if (!unreadable[i].empty()) one["error"] = unreadable[i];
      list.push_back(std::move(one));
    }
    std::cout << OJson{{"backup_directory", dir},
                       {"total_count", all.size()},
                       {"total_size_bytes", total},
                       {"backups", std::move(list)}}
                     .dump(2)
              << "\n";
    return kExitOk;
  }
  if (all.empty()) {
    std::cout << "No backups in " << dir << "\n";
    return kExitOk;
  }
  std::cout << all.size() << (all.size() == 1 ? " backup" : " backups") << " in " << dir << " ("
            << megabytes(total) << "), newest first:\n";
  for (size_t i = 0; i < all.size(); ++i) {
    const BackupInfo& b = all[i];
    std::string what = b.encrypted              ? "encrypted"
                       : !unreadable[i].empty() ? "unreadable: " + unreadable[i]
                                                : memories_text(*b.memory_count);
    char line[512];
    std::snprintf(line, sizeof line, "  %s  %-42s %9s  %s\n", readable_utc(b.created_at).c_str(),
                  b.filename.c_str(), megabytes(b.size_bytes).c_str(), what.c_str());
    std::cout << line;
  }
  return kExitOk;
}

}  // namespace

void add_backup_command(CLI::App& app, CliContext& ctx, std::vector<Command>& out) {
  auto flags = std::make_shared<BackupFlags>();
  CLI::App* cmd = app.add_subcommand(
      "backup",
      "Back up the database now: a consistent copy taken while other processes write, "
      "encrypted with a passphrase if asked; old backups are removed by age and count "
      "(MCP_BACKUP_RETENTION days, MCP_BACKUP_MAX_COUNT)");
  cmd->add_option("--to", flags->to,
                  "Folder for the backup (default MCP_MEMORY_BACKUPS_PATH, "
                  "$MCP_MEMORY_BASE_DIR/backups); the retention rules apply to it")
      ->type_name("DIR");
  cmd->add_flag("--encrypt", flags->encrypt,
                "Encrypt it (AES-256-GCM, key from the passphrase by scrypt): the default when "
                "a passphrase is set, unless MCP_BACKUP_ENCRYPT=false");
  cmd->add_option("--passphrase-file", flags->passphrase_file,
                  "File holding the passphrase (else MCP_BACKUP_PASSPHRASE_FILE or "
                  "MCP_BACKUP_PASSPHRASE); implies --encrypt")
      ->type_name("FILE");
  CLI::App* list = cmd->add_subcommand(
      "list", "The backups in the folder, newest first: time, size, encrypted or not, memories");
  list->add_option("--dir,--to", flags->list_dir,
                   "Folder to list (default MCP_MEMORY_BACKUPS_PATH)")
      ->type_name("DIR");
  cmd->require_subcommand(0, 1);
  out.push_back({cmd, [&ctx, flags, list]() -> int {
                   if (list->parsed()) return backup_list(ctx, *flags);
                   return backup_now(ctx, *flags);
                 }});
}

}  // namespace mcpmem::cli
