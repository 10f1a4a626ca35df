// `litestream restore -o CANDIDATE [-timestamp T] URL`, then install_restored_database. The
// candidate is a fresh name beside the target (restore_candidate_path), because Litestream
// never writes over an existing file and writes `<out>.tmp` before renaming it to `<out>`;
// every file it or SQLite may leave (`.tmp`, `-wal`, `-shm`) is removed on every path out.
// Litestream says what failed only in its last log line (`ERROR failed to run error="..."`,
// exit code 1), so that line is read and mapped: "no matching backups found" is an empty
// replica (or none as old as the timestamp), "invalid -timestamp" a bad --timestamp.
#include "replication/replica_restore.h"

#include <filesystem>
#include <set>
#include <vector>

#include "platform/child_process.h"
#include "platform/file_modes.h"

namespace mcpmem {
namespace {

namespace fs = std::filesystem;

// The replica types Litestream 0.3.13 restores from by URL.
const std::set<std::string> kReadableSchemes = {"file", "s3", "gcs", "abs", "sftp"};

std::string scheme_of(const std::string& url) {
  const size_t colon = url.find("://");
  return colon == std::string::npos ? "" : url.substr(0, colon);
}

// Every file a restore to `candidate` may leave: Litestream's `.tmp`, SQLite's -wal and -shm.
void remove_restore_leftovers(const std::string& candidate) {
  std::error_code ec;
  for (const std::string& base : {candidate, candidate + ".tmp"}) {
    for (const char* suffix : {"", "-wal", "-shm", "-journal"}) fs::remove(base + suffix, ec);
  }
}

// What Litestream's output says went wrong: the text of the last `error="..."`, else its last
// non-empty line.
std::string litestream_error(const std::string& output) {
  std::vector<std::string> lines;
  size_t start = 0;
  while (start < output.size()) {
    size_t end = output.find('\n', start);
    if (end == std::string::npos) end = output.size();
    if (end > start) lines.push_back(output.substr(start, end - start));
    start = end + 1;
  }
  if (lines.empty()) return "no output";
  for (auto line = lines.rbegin(); line != lines.rend(); ++line) {
    const size_t at = line->find("error=\"");
    if (at == std::string::npos) continue;
    std::string text = line->substr(at + 7);
    if (!text.empty() && text.back() == '"') text.pop_back();
    std::string plain;
    for (size_t i = 0; i < text.size(); ++i) {
      if (text.compare(i, 6, "\\u00a0") == 0) {  // Go quotes a no-break space this way
        plain += ' ';
        i += 5;
      } else if (text[i] == '\\' && i + 1 < text.size()) {
        plain += text[++i] == 'n' ? ' ' : text[i];
      } else {
        plain += text[i];
      }
    }
    return plain;
  }
  return lines.back();
}

Status restore_failure(const ReplicaSource& source, const std::string& url,
                       const std::string& output) {
  const std::string why = litestream_error(output);
  if (why.find("no matching backups found") != std::string::npos) {
    if (!source.timestamp.empty()) {
      return Status::not_found("no backups found in " + url + " as old as " + source.timestamp +
                               ": its first sync is later than that (or the replica is empty)");
    }
    return Status::not_found("no replica at " + url + " (no generations)");
  }
  if (why.find("invalid -timestamp") != std::string::npos) {
    return Status::invalid_argument("--timestamp '" + source.timestamp +
                                    "' is not an RFC3339 time (e.g. 2026-12-07T01:00:00Z)");
  }
  return Status::io_error("litestream restore from " + url + " failed: " + why);
}

}  // namespace

Result<std::string> local_replica_url(const ReplicaSource& source) {
  if (source.url.empty()) return Status::invalid_argument("no replica to restore from");
  const std::string scheme = scheme_of(source.url);
  if (scheme.empty()) {
    return "file://" + fs::absolute(source.url).lexically_normal().string();
  }
  if (scheme == "https" || scheme == "http") {
    // The hub's replica served over HTTP(S): the caller mirrors it into a local directory
    // (replica_mirror.h) and restores from that.
    return Status::invalid_argument("restoring over HTTP(S) needs the mirror: " + source.url +
                                    " cannot be read by Litestream itself; mirror it first "
                                    "(mcp-memory restore --from does)");
  }
  if (!kReadableSchemes.contains(scheme)) {
    return Status::invalid_argument("replica '" + source.url +
                                    "': give a directory or a file://, s3://, gcs://, abs:// or "
                                    "sftp:// URL");
  }
  return source.url;
}

Result<RestoreReport> restore_from_replica(const std::string& litestream_binary,
                                           const ReplicaSource& source,
                                           const RestoreTarget& target) {
  MCP_ASSIGN_OR_RETURN(const std::string url, local_replica_url(source));
  MCP_RETURN_IF_ERROR(check_restore_target(target));
  const std::string parent = fs::path(target.path).parent_path().string();
  if (!parent.empty()) MCP_RETURN_IF_ERROR(create_private_directories(parent));
  const std::string candidate = fs::absolute(restore_candidate_path(target)).string();
  std::vector<std::string> argv = {litestream_binary, "restore", "-o", candidate};
  if (!source.timestamp.empty()) {
    argv.push_back("-timestamp");
    argv.push_back(source.timestamp);
  }
  argv.push_back(url);
  auto ran = run_child(argv, kReplicaRestoreTimeout);
  if (!ran.is_ok() || ran->exit_code != 0 || !fs::exists(candidate)) {
    remove_restore_leftovers(candidate);
    if (!ran.is_ok()) return ran.status().with_context("litestream restore from " + url);
    if (ran->exit_code != 0) return restore_failure(source, url, ran->output);
    return Status::internal("litestream restore from " + url + " succeeded but wrote no " +
                            candidate);
  }
  auto report = install_restored_database(candidate, target);
  remove_restore_leftovers(candidate);
  return report;
}

}  // namespace mcpmem
