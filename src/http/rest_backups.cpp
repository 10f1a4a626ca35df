// REST backups, in the shapes of the Python service's BackupScheduler routes: the schedule's
// state, a backup made now, and the backups kept, newest first. Service/backups.h decides what
// a backup is (a standalone SQLite copy, owner-only, or that copy encrypted: "encrypted" in
// each shape, keys the Python service's clients ignore); these only render it. Without a
// Backups (backups off) the routes are not mounted and the handlers answer 404.
#include <fstream>

#include "core/time_format.h"
#include "http/rest_api.h"
#include "http/rest_input.h"

namespace mcpmem {

using namespace rest_detail;  // the readers and answers of rest_input.h

namespace {

[[noreturn]] void no_backups() { fail(404, "backups are not enabled on this server"); }

// A download is answered from memory: larger backups are for the command line.
constexpr int64_t kMaxDownloadBytes = int64_t{1} << 30;

}  // namespace

Response RestApi::backup_status(const Request&) const {
  return respond([&] {
    if (backups_ == nullptr) no_backups();
    BackupStatus s = backups_->status();
    OJson j = OJson::object();
    j["enabled"] = s.enabled;
    j["interval"] = s.interval;
    j["retention_days"] = s.retention_days;
    j["max_count"] = s.max_count;
    j["encrypted"] = s.encrypt;
    j["backup_count"] = s.backup_count;
    j["total_size_bytes"] = s.total_size_bytes;
    j["last_backup_time"] = s.last_backup_time ? OJson(*s.last_backup_time) : OJson(nullptr);
    j["time_since_last_seconds"] =
        s.last_backup_time ? OJson(unix_now() - *s.last_backup_time) : OJson(nullptr);
    j["next_backup_at"] = iso_or_null(s.next_backup_at);
    j["scheduler_running"] = s.scheduler_running;
    j["backup_directory"] = s.backup_directory;
    return json_response(j);
  });
}

Response RestApi::backup_now(const Request&) const {
  return respond([&] {
    if (backups_ == nullptr) no_backups();
    BackupInfo b = value_or_fail(backups_->create());
    OJson j = OJson::object();
    j["success"] = true;
    j["filename"] = b.filename;
    j["size_bytes"] = b.size_bytes;
    j["created_at"] = iso_utc(b.created_at);
    j["duration_seconds"] = b.duration_seconds;
    j["encrypted"] = b.encrypted;
    j["memory_count"] = b.memory_count ? OJson(*b.memory_count) : OJson(nullptr);
    return json_response(j);
  });
}

Response RestApi::backup_list(const Request&) const {
  return respond([&] {
    if (backups_ == nullptr) no_backups();
    const double now = unix_now();
    OJson list = OJson::array();
    int64_t total = 0;
    for (const BackupInfo& b : backups_->list()) {
      OJson one = OJson::object();
      one["filename"] = b.filename;
      one["size_bytes"] = b.size_bytes;
      one["created_at"] = iso_utc(b.created_at);
      one["age_days"] = static_cast<int64_t>((now - b.created_at) / 86400);
      one["encrypted"] = b.encrypted;
      list.push_back(std::move(one));
      total += b.size_bytes;
    }
    OJson j = OJson::object();
    j["total_count"] = list.size();
    j["backups"] = std::move(list);
    j["total_size_bytes"] = total;
    return json_response(j);
  });
}

Response RestApi::backup_download(const Request& req) const {
  return respond([&] {
    if (backups_ == nullptr) no_backups();
    const BackupInfo b = value_or_fail(backups_->find(req.matches.at(1)));
    if (b.size_bytes > kMaxDownloadBytes) {
      fail(413, b.filename + " is over 1 GiB: copy " + b.path + " from the server instead");
    }
    std::ifstream in(b.path, std::ios::binary);
    std::string bytes(static_cast<size_t>(b.size_bytes), '\0');
    if (!in.read(bytes.data(), b.size_bytes)) fail(500, "cannot read " + b.filename);
    Response r;
    r.set_content(std::move(bytes), "application/octet-stream");
    r.set_header("Content-Disposition", "attachment; filename=\"" + b.filename + "\"");
    return r;
  });
}

Response RestApi::backup_restore(const Request& req) const {
  return respond([&] {
    if (backups_ == nullptr) no_backups();
    const Json body = body_object(req);
    const std::string filename = text_field(body, "filename");
    if (filename.empty()) fail(422, "filename: name the backup to restore");
    const RestoreReport r = value_or_fail(backups_->restore_to_new_file(filename));
    OJson j = OJson::object();
    j["success"] = true;
    j["path"] = r.path;
    j["memories"] = r.memories;
    j["newest_memory_at"] = iso_or_null(r.newest_memory_at);
    return json_response(j);
  });
}

}  // namespace mcpmem
