// Backups. Names carry the UTC second of creation; a second backup within the same second
// gets "_2", "_3"... so none is ever overwritten (a name another process took in the meantime
// is skipped too: files are published with a no-replace link). The schedule checks once a
// minute, so a server that was down past its interval makes the missed backup within a minute
// of starting. Temporary files a crash left behind (".partial-*" in the backups folder, the
// plaintext snapshot beside the database) are removed once they are an hour old.
#include "service/backups.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstring>
#include <ctime>
#include <filesystem>
#include <fstream>

#include "core/encrypted_stream.h"
#include "core/time_format.h"
#include "platform/durable_file.h"
#include "platform/file_modes.h"
#include "platform/secret_file.h"

namespace mcpmem {
namespace {

namespace fs = std::filesystem;
constexpr const char* kPrefix = "memory_backup_";
constexpr const char* kEncryptedSuffix = ".db.enc";
constexpr const char* kSnapshotSuffix = ".backup-snapshot";  // beside the database
constexpr int kScheduleCheckSeconds = 60;
constexpr int kStalePartialSeconds = 3600;
constexpr int kNameAttempts = 20;  // names tried when other processes take them first
constexpr size_t kFileBufferBytes = 1 << 20;

double now_unix() {
  return std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
}

std::string stamp(double t) {
  std::time_t secs = static_cast<std::time_t>(t);
  const std::tm tm = utc_calendar(secs);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y%m%d_%H%M%S", &tm);
  return buf;
}

// The n of "..._n.db" (1 without a suffix): orders backups made within one second.
int sequence_of(const std::string& name) {
  const size_t at = std::string(kPrefix).size() + 15;
  if (name.size() > at + 1 && name[at] == '_') return std::atoi(name.c_str() + at + 1);
  return 1;
}

// "memory_backup_20261125_070412.db" (or "..._2.db", or either with ".enc") -> its UTC time;
// nullopt otherwise.
std::optional<double> time_of(const std::string& name) {
  const size_t p = std::string(kPrefix).size();
  if (name.rfind(kPrefix, 0) != 0 || name.size() < p + 15 + 3 ||
      !(name.ends_with(".db") || name.ends_with(kEncryptedSuffix))) {
    return std::nullopt;
  }
  CivilDate date;
  int hour = 0, minute = 0, second = 0;
  const std::string s = name.substr(p, 15);
  if (std::sscanf(s.c_str(), "%4d%2d%2d_%2d%2d%2d", &date.year, &date.month, &date.day, &hour,
                  &minute, &second) != 6 ||
      date.month < 1 || date.month > 12 || date.day < 1 || date.day > 31 || hour > 23 ||
      minute > 59 || second > 60) {
    return std::nullopt;
  }
  return static_cast<double>(days_from_civil(date) * 86400 + hour * 3600 + minute * 60 + second);
}

// Removes the temporary files in `dir` whose names start with `prefix` and contain ".partial-"
// (see durable_file.h) and that are older than kStalePartialSeconds: what a crash left.
void remove_stale_partials(const std::string& dir, const std::string& prefix) {
  std::error_code ec;
  const auto cutoff = fs::file_time_type::clock::now() - std::chrono::seconds(kStalePartialSeconds);
  for (const auto& entry : fs::directory_iterator(dir, ec)) {
    const std::string name = entry.path().filename().string();
    if (name.rfind(prefix, 0) != 0 || name.find(".partial-") == std::string::npos) continue;
    std::error_code time_ec;
    if (entry.last_write_time(time_ec) < cutoff && !time_ec) fs::remove(entry.path(), ec);
  }
}

// Seals the file `plain` into a new file `sealed` (owner-only), closed and checked.
Status encrypt_file(const std::string& plain, const std::string& sealed,
                    const std::string& passphrase, const EncryptOptions& options) {
  MCP_RETURN_IF_ERROR(create_secret_file(sealed, ""));
  std::ifstream in(plain, std::ios::binary);
  if (!in) return Status::io_error("cannot read " + plain);
  std::vector<char> buffer(kFileBufferBytes);
  std::ofstream out;
  out.rdbuf()->pubsetbuf(buffer.data(), static_cast<std::streamsize>(buffer.size()));
  out.open(sealed, std::ios::binary | std::ios::trunc);
  if (!out) return Status::io_error("cannot write " + sealed);
  MCP_RETURN_IF_ERROR(
      encrypt_stream(in, out, passphrase, options).status().with_context("encrypting the backup"));
  out.close();
  if (!out) return Status::io_error("writing " + sealed + " failed (disk full?)");
  return Status::ok();
}

}  // namespace

std::vector<BackupInfo> list_backups(const std::string& dir) {
  std::vector<BackupInfo> out;
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator(dir, ec)) {
    const std::string name = entry.path().filename().string();
    auto t = time_of(name);
    if (!t || !entry.is_regular_file(ec)) continue;
    BackupInfo b;
    b.filename = name;
    b.path = entry.path().string();
    b.size_bytes = static_cast<int64_t>(entry.file_size(ec));
    b.created_at = *t;
    b.encrypted = name.ends_with(kEncryptedSuffix);
    out.push_back(std::move(b));
  }
  std::sort(out.begin(), out.end(), [](const BackupInfo& a, const BackupInfo& b) {
    return a.created_at != b.created_at ? a.created_at > b.created_at
                                        : sequence_of(a.filename) > sequence_of(b.filename);
  });
  return out;
}

Status describe_backup(BackupInfo& backup) {
  if (backup.encrypted) return Status::ok();
  MCP_ASSIGN_OR_RETURN(DatabaseFileSummary summary,
                       Database::inspect_file(backup.path, /*check_integrity=*/false));
  backup.memory_count = summary.memories;
  backup.newest_memory_at = summary.newest_created_at;
  return Status::ok();
}

Result<std::optional<std::string>> backup_passphrase(const Config& config) {
  if (!config.backup_passphrase.empty())
    return std::optional<std::string>(config.backup_passphrase);
  if (config.backup_passphrase_file.empty()) return std::optional<std::string>();
  bool too_open = false;
  auto text = read_secret_file(config.backup_passphrase_file, &too_open);
  if (!text.is_ok()) {
    return text.status().with_context("reading the backup passphrase file");
  }
  if (too_open) {
    spdlog::warn("the backup passphrase file {} is readable by other users: chmod 600 it",
                 config.backup_passphrase_file);
  }
  std::string passphrase = std::move(*text);
  while (!passphrase.empty() && (passphrase.back() == '\n' || passphrase.back() == '\r')) {
    passphrase.pop_back();
  }
  if (passphrase.empty()) {
    return Status::invalid_argument("the backup passphrase file " + config.backup_passphrase_file +
                                    " is empty");
  }
  return std::optional<std::string>(std::move(passphrase));
}

Backups::Backups(MemoryService& service, const Config& config)
    : service_(service), config_(config) {}

Backups::~Backups() { stop(); }

double Backups::interval_seconds() const {
  if (config_.backup_interval == "hourly") return 3600;
  if (config_.backup_interval == "weekly") return 7 * 86400;
  return 86400;
}

std::vector<BackupInfo> Backups::list() const { return list_backups(config_.backups_path); }

Result<BackupInfo> Backups::find(const std::string& filename) const {
  for (BackupInfo& b : list()) {
    if (b.filename == filename) return std::move(b);
  }
  return Status::not_found("no backup named '" + filename.substr(0, 200) + "'");
}

Result<RestoreReport> Backups::restore_to_new_file(const std::string& filename) const {
  MCP_ASSIGN_OR_RETURN(auto backup, find(filename));
  MCP_ASSIGN_OR_RETURN(auto passphrase, backup_passphrase(config_));
  const std::string dir = join_path(config_.backups_path, "restored");
  MCP_RETURN_IF_ERROR(create_private_directories(dir));
  // restored_<backup's own stamp>[_n].db: which backup it came from, never an existing file.
  std::string stem = filename.substr(0, filename.find('.'));
  stem.replace(0, std::strlen(kPrefix), "restored_");
  for (int n = 1; n <= kNameAttempts; ++n) {
    RestoreTarget target{join_path(dir, stem + (n > 1 ? "_" + std::to_string(n) : "") + ".db"),
                         false};
    auto report = restore_from_backup(backup.path, target, passphrase);
    if (report.is_ok() || report.status().code() != StatusCode::kAlreadyExists) return report;
  }
  return Status::already_exists("too many restored copies of " + filename + " in " + dir);
}

Status Backups::check_settings() const {
  if (!config_.backup_encrypt) return Status::ok();
  MCP_ASSIGN_OR_RETURN(auto passphrase, backup_passphrase(config_));
  if (!passphrase) {
    return Status::failed_precondition(
        "backups are to be encrypted (MCP_BACKUP_ENCRYPT) but no passphrase is set: set "
        "MCP_BACKUP_PASSPHRASE_FILE (a file holding it) or MCP_BACKUP_PASSPHRASE");
  }
  return Status::ok();
}

Result<BackupInfo> Backups::create() {
  MutexLock lock(mu_);
  std::optional<std::string> passphrase;
  if (config_.backup_encrypt) {
    MCP_RETURN_IF_ERROR(check_settings());
    MCP_ASSIGN_OR_RETURN(passphrase, backup_passphrase(config_));
  }
  MCP_RETURN_IF_ERROR(create_private_directories(config_.backups_path));
  const auto started = std::chrono::steady_clock::now();
  const double t = now_unix();
  BackupInfo b;
  b.created_at = std::floor(t);
  b.encrypted = passphrase.has_value();
  // Within one second: one past the highest sequence made in it (even if that one was
  // pruned since), so names only ever grow.
  int n = 1;
  for (const BackupInfo& other : list()) {
    if (other.created_at == b.created_at) n = std::max(n, sequence_of(other.filename) + 1);
  }
  if (last_made_ == b.created_at) n = std::max(n, last_sequence_ + 1);
  for (int attempt = 0;; ++attempt, ++n) {
    b.filename = kPrefix + stamp(t) + (n > 1 ? "_" + std::to_string(n) : "") +
                 (b.encrypted ? kEncryptedSuffix : ".db");
    b.path = join_path(config_.backups_path, b.filename);
    Status written = write_backup(b.path, passphrase, b);
    if (written.is_ok()) break;
    if (written.code() != StatusCode::kAlreadyExists || attempt + 1 >= kNameAttempts) {
      return written;
    }
  }
  last_made_ = b.created_at;
  last_sequence_ = n;
  std::error_code ec;
  b.size_bytes = static_cast<int64_t>(fs::file_size(b.path, ec));
  b.duration_seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  prune();
  return b;
}

Status Backups::write_backup(const std::string& path, const std::optional<std::string>& passphrase,
                             BackupInfo& info) {
  if (!passphrase) {
    MCP_RETURN_IF_ERROR(service_.backup_to(path));
    return describe_backup(info);
  }
  // The plaintext snapshot lives beside the live database (which holds the same data) for the
  // moment of sealing; only ciphertext ever reaches the backups folder.
  const std::string snapshot = temporary_path_beside(service_.config().db_path + kSnapshotSuffix);
  const std::string sealed = temporary_path_beside(path);
  Status st = service_.backup_to(snapshot);
  if (st.is_ok()) {
    auto summary = Database::inspect_file(snapshot, /*check_integrity=*/false);
    st = summary.status();
    if (st.is_ok()) {
      info.memory_count = summary->memories;
      info.newest_memory_at = summary->newest_created_at;
    }
  }
  if (st.is_ok()) {
    EncryptOptions options;
    options.kdf.log2_n = static_cast<uint8_t>(config_.backup_kdf_log2_n);
    st = encrypt_file(snapshot, sealed, *passphrase, options);
  }
  std::error_code ec;
  fs::remove(snapshot, ec);
  if (st.is_ok()) st = publish_new_file(sealed, path);
  fs::remove(sealed, ec);
  return st;
}

void Backups::prune() {
  remove_stale_partials(config_.backups_path, kPrefix);
  const fs::path db_path = fs::absolute(service_.config().db_path);
  remove_stale_partials(db_path.parent_path().string(),
                        db_path.filename().string() + kSnapshotSuffix);
  const double cutoff = now_unix() - 86400.0 * config_.backup_retention_days;
  std::vector<BackupInfo> all = list();
  std::error_code ec;
  for (size_t i = 0; i < all.size(); ++i) {
    if (i == 0) continue;  // never the newest
    if (all[i].created_at < cutoff || i >= static_cast<size_t>(config_.backup_max_count)) {
      fs::remove(all[i].path, ec);
    }
  }
}

BackupStatus Backups::status() const {
  BackupStatus s;
  s.enabled = config_.backup_enabled;
  s.interval = config_.backup_interval;
  s.retention_days = config_.backup_retention_days;
  s.max_count = config_.backup_max_count;
  s.encrypt = config_.backup_encrypt;
  s.backup_directory = config_.backups_path;
  std::vector<BackupInfo> all = list();
  s.backup_count = all.size();
  for (const BackupInfo& b : all) s.total_size_bytes += b.size_bytes;
  if (!all.empty()) s.last_backup_time = all.front().created_at;
  {
    MutexLock lock(mu_);
    s.scheduler_running = scheduled_ && !stopping_;
  }
  if (s.enabled) {
    s.next_backup_at = s.last_backup_time
                           ? std::max(*s.last_backup_time + interval_seconds(), now_unix())
                           : now_unix() + kScheduleCheckSeconds;
  }
  return s;
}

void Backups::start_schedule() {
  if (!config_.backup_enabled) return;
  {
    MutexLock lock(mu_);
    if (scheduled_) return;
    scheduled_ = true;
  }
  scheduler_ = std::thread([this] {
    for (;;) {
      {
        MutexLock lock(mu_);
        if (cv_.wait_for(lock.native(), std::chrono::seconds(kScheduleCheckSeconds),
                         [this]() MCP_REQUIRES(mu_) { return stopping_; })) {
          return;
        }
      }
      std::vector<BackupInfo> all = list();
      if (all.empty() || now_unix() - all.front().created_at >= interval_seconds()) {
        auto made = create();
        if (!made.is_ok()) {  // retried at the next check
          spdlog::warn("scheduled backup failed: {}", made.status().message());
        }
      }
    }
  });
}

void Backups::stop() {
  {
    MutexLock lock(mu_);
    stopping_ = true;
  }
  cv_.notify_all();
  if (scheduler_.joinable()) scheduler_.join();
}

}  // namespace mcpmem
