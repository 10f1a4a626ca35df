// Backups. Names carry the UTC second of creation; a second backup within the same second
// gets "_2", "_3"... so none is ever overwritten. The schedule checks once a minute, so a
// server that was down past its interval makes the missed backup within a minute of starting.
#include "service/backups.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <ctime>
#include <filesystem>

#include "platform/file_modes.h"

namespace mcpmem {
namespace {

namespace fs = std::filesystem;
constexpr const char* kPrefix = "memory_backup_";
constexpr int kScheduleCheckSeconds = 60;

double now_unix() {
  return std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
}

std::string stamp(double t) {
  std::time_t secs = static_cast<std::time_t>(t);
  std::tm tm{};
  gmtime_r(&secs, &tm);
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

// "memory_backup_20261125_070412.db" (or "..._2.db") -> its UTC time; nullopt otherwise.
std::optional<double> time_of(const std::string& name) {
  const size_t p = std::string(kPrefix).size();
  if (name.rfind(kPrefix, 0) != 0 || name.size() < p + 15 + 3 || !name.ends_with(".db")) {
    return std::nullopt;
  }
  std::tm tm{};
  const std::string s = name.substr(p, 15);
  if (std::sscanf(s.c_str(), "%4d%2d%2d_%2d%2d%2d", &tm.tm_year, &tm.tm_mon, &tm.tm_mday,
                  &tm.tm_hour, &tm.tm_min, &tm.tm_sec) != 6) {
    return std::nullopt;
  }
  tm.tm_year -= 1900;
  tm.tm_mon -= 1;
  return static_cast<double>(timegm(&tm));
}

}  // namespace

Backups::Backups(MemoryService& service, const Config& config)
    : service_(service), config_(config) {}

Backups::~Backups() { stop(); }

double Backups::interval_seconds() const {
  if (config_.backup_interval == "hourly") return 3600;
  if (config_.backup_interval == "weekly") return 7 * 86400;
  return 86400;
}

std::vector<BackupInfo> Backups::list() const {
  std::vector<BackupInfo> out;
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator(config_.backups_path, ec)) {
    const std::string name = entry.path().filename().string();
    auto t = time_of(name);
    if (!t || !entry.is_regular_file(ec)) continue;
    BackupInfo b;
    b.filename = name;
    b.path = entry.path().string();
    b.size_bytes = static_cast<int64_t>(entry.file_size(ec));
    b.created_at = *t;
    out.push_back(std::move(b));
  }
  std::sort(out.begin(), out.end(), [](const BackupInfo& a, const BackupInfo& b) {
    return a.created_at != b.created_at ? a.created_at > b.created_at
                                        : sequence_of(a.filename) > sequence_of(b.filename);
  });
  return out;
}

Result<BackupInfo> Backups::create() {
  MutexLock lock(mu_);
  std::error_code ec;
  MCP_RETURN_IF_ERROR(create_private_directories(config_.backups_path));
  const auto started = std::chrono::steady_clock::now();
  const double t = now_unix();
  BackupInfo b;
  b.created_at = std::floor(t);
  // Within one second: one past the highest sequence made in it (even if that one was
  // pruned since), so names only ever grow.
  int n = 1;
  for (const BackupInfo& other : list()) {
    if (other.created_at == b.created_at) n = std::max(n, sequence_of(other.filename) + 1);
  }
  if (last_made_ == b.created_at) n = std::max(n, last_sequence_ + 1);
  b.filename = kPrefix + stamp(t) + (n > 1 ? "_" + std::to_string(n) : "") + ".db";
  b.path = config_.backups_path + "/" + b.filename;
  last_made_ = b.created_at;
  last_sequence_ = n;
  MCP_RETURN_IF_ERROR(service_.backup_to(b.path));
  b.size_bytes = static_cast<int64_t>(fs::file_size(b.path, ec));
  b.duration_seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  prune();
  return b;
}

void Backups::prune() {
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
