// `mcp-memory restore`: a database rebuilt at --to PATH from exactly one source, checked
// (integrity, our schema) and renamed into place atomically (service/backup_restore.h); a
// source that fails (a wrong passphrase, a damaged file) leaves nothing at PATH. Sources:
// --backup FILE, one of our backups, encrypted or not; --from REPLICA [--timestamp T], a
// Litestream replica (replication/replica_restore.h), a hub's over HTTPS mirrored first
// (replication/replica_mirror.h). Each source is an entry of
// restore_sources(): its flag, whether it was given, and how it restores; the command requires
// exactly one.
#include <filesystem>
#include <iostream>

#include "cli/cli_context.h"
#include "core/time_format.h"
#include "platform/durable_file.h"
#include "replication/litestream.h"
#include "replication/replica_mirror.h"
#include "replication/replica_restore.h"
#include "service/backup_restore.h"
#include "service/backups.h"
#include "service/wire_json.h"

namespace mcpmem::cli {
namespace {

struct RestoreFlags {
  std::string to;
  bool force = false;
  std::string passphrase_file;
  std::string backup_file;  // source: --backup
  std::string replica;      // source: --from (a directory or a replica URL)
  std::string timestamp;    // with --from: the point in time (RFC3339)
  std::string hub_ca;       // with --from https://: the hub's certificate
  std::string api_key_file;
};

struct RestoreSource {
  const char* flag;
  bool given;
  std::function<Result<RestoreReport>(const RestoreTarget&)> restore;
};

Result<RestoreReport> restore_backup_file(CliContext& ctx, const RestoreFlags& flags,
                                          const RestoreTarget& target) {
  Config config = ctx.config;
  if (!flags.passphrase_file.empty()) {
    config.backup_passphrase.clear();
    config.backup_passphrase_file = flags.passphrase_file;
  }
  MCP_ASSIGN_OR_RETURN(auto passphrase, backup_passphrase(config));
  return restore_from_backup(flags.backup_file, target, passphrase);
}

// A hub's replica over HTTPS (`serve --replica-dir`) is mirrored into a temporary directory
// beside the target first (replication/replica_mirror.h), restored from there, and removed.
Result<RestoreReport> restore_replica(CliContext& ctx, const RestoreFlags& flags,
                                      const RestoreTarget& target) {
  ReplicaSource source{flags.replica, flags.timestamp};
  std::string mirror_dir;
  if (is_remote_replica(flags.replica)) {
    MCP_RETURN_IF_ERROR(check_restore_target(target));  // before fetching anything
    MCP_ASSIGN_OR_RETURN(
        auto hub,
        hub_client_options({flags.replica, flags.hub_ca, flags.api_key_file}, ctx.config));
    MirrorOptions options;
    options.ca_file = hub.ca_file;
    options.api_key = hub.api_key;
    mirror_dir = temporary_path_beside(target.path + ".mirror");
    auto mirrored = mirror_replica(flags.replica, mirror_dir, options);
    if (!mirrored.is_ok()) {
      std::error_code ec;
      std::filesystem::remove_all(mirror_dir, ec);
      return mirrored.status();
    }
    source.url = mirrored->local_dir;
  }
  auto restored = [&]() -> Result<RestoreReport> {
    MCP_RETURN_IF_ERROR(local_replica_url(source).status());  // before looking for Litestream
    MCP_ASSIGN_OR_RETURN(auto litestream, find_litestream(ctx.config));
    return restore_from_replica(litestream, source, target);
  }();
  if (!mirror_dir.empty()) {
    std::error_code ec;
    std::filesystem::remove_all(mirror_dir, ec);
  }
  return restored;
}

std::vector<RestoreSource> restore_sources(CliContext& ctx, const RestoreFlags& flags) {
  return {{"--backup", !flags.backup_file.empty(),
           [&ctx, &flags](const RestoreTarget& target) {
             return restore_backup_file(ctx, flags, target);
           }},
          {"--from", !flags.replica.empty(), [&ctx, &flags](const RestoreTarget& target) {
             return restore_replica(ctx, flags, target);
           }}};
}

int restore_command(CliContext& ctx, const RestoreFlags& flags) {
  std::vector<RestoreSource> sources = restore_sources(ctx, flags);
  const RestoreSource* chosen = nullptr;
  std::string names;
  int given = 0;
  for (const RestoreSource& s : sources) {
    names += (names.empty() ? "" : " or ") + std::string(s.flag);
    if (s.given) {
      ++given;
      chosen = &s;
    }
  }
  if (given != 1) return usage_error("restore needs exactly one source: " + names);
  if (!flags.timestamp.empty() && flags.replica.empty()) {
    return usage_error("--timestamp picks a point in a replica's history: use it with --from");
  }
  RestoreTarget target{flags.to, flags.force};
  auto report = chosen->restore(target);
  if (!report.is_ok()) {
    Status st = report.status();
    if (st.code() == StatusCode::kFailedPrecondition &&
        st.message().find("no passphrase is set") != std::string::npos) {
      st = Status(st.code(), st.message() + ", or pass --passphrase-file FILE");
    }
    return report_error(st);
  }
  if (ctx.json) {
    std::cout << OJson{{"success", true},
                       {"path", report->path},
                       {"memories", report->memories},
                       {"newest_memory_at", report->newest_memory_at
                                                ? OJson(iso_utc(*report->newest_memory_at))
                                                : OJson(nullptr)},
                       {"decrypted", report->decrypted},
                       {"integrity_checked", report->integrity_checked},
                       {"previous_kept_as", report->previous_kept_as.empty()
                                                ? OJson(nullptr)
                                                : OJson(report->previous_kept_as)}}
                     .dump(2)
              << "\n";
    return kExitOk;
  }
  std::cout << "Restored " << report->memories << (report->memories == 1 ? " memory" : " memories")
            << " to " << report->path;
  if (report->newest_memory_at) {
    std::cout << " (newest created " << iso_utc(*report->newest_memory_at) << ")";
  }
  std::cout << "\n";
  if (!report->integrity_checked) {
    std::cout << "note: the Python service's sqlite-vec table could not be checked without its "
                 "extension; everything else passed SQLite's integrity check\n";
  }
  if (!report->previous_kept_as.empty()) {
    std::cout << "The database it replaced is kept as " << report->previous_kept_as
              << " (delete it once you are sure)\n";
  }
  return kExitOk;
}

}  // namespace

void add_restore_command(CLI::App& app, CliContext& ctx, std::vector<Command>& out) {
  auto flags = std::make_shared<RestoreFlags>();
  CLI::App* cmd = app.add_subcommand(
      "restore",
      "Rebuild a database at --to PATH from a backup or a Litestream replica: checked "
      "(integrity, schema), then put in place in one step; nothing is written at PATH when "
      "anything fails. Stop the server using PATH first");
  cmd->add_option("--to", flags->to, "The database file to create")->required()->type_name("PATH");
  cmd->add_flag("--force", flags->force,
                "Replace an existing database at PATH (it is kept as "
                "PATH.before-restore-<time>); refused while a process has it open");
  cmd->add_option("--backup", flags->backup_file,
                  "A backup file (memory_backup_*.db, or *.db.enc with the passphrase from "
                  "MCP_BACKUP_PASSPHRASE_FILE, MCP_BACKUP_PASSPHRASE or --passphrase-file)")
      ->type_name("FILE");
  cmd->add_option("--from", flags->replica,
                  "A Litestream replica (what `replicate --replica` writes): a directory, a "
                  "file://, s3://, gcs://, abs:// or sftp:// URL, or a hub's https://HOST:PORT/"
                  "litestream/NAME (`serve --replica-dir`); restored as of its newest sync")
      ->type_name("URL|DIR");
  cmd->add_option("--timestamp", flags->timestamp,
                  "With --from: restore the replica as it was at this time (RFC3339, e.g. "
                  "2026-12-07T01:00:00Z; to about one sync interval)")
      ->type_name("TIME");
  cmd->add_option("--hub-ca", flags->hub_ca,
                  "With --from https://: trust this certificate (the hub's self-signed "
                  "cert.pem; MCP_MEMORY_HUB_CA)")
      ->type_name("FILE");
  cmd->add_option("--api-key-file", flags->api_key_file,
                  "With --from https://: file with the hub's API key (else MCP_SYNC_API_KEY "
                  "or MCP_API_KEY)")
      ->type_name("FILE");
  cmd->add_option("--passphrase-file", flags->passphrase_file,
                  "File holding the passphrase of an encrypted backup")
      ->type_name("FILE");
  out.push_back({cmd, [&ctx, flags]() -> int { return restore_command(ctx, *flags); }});
}

}  // namespace mcpmem::cli
