// Durable files on POSIX. publish_new_file uses link(2), which fails with EEXIST instead of
// replacing (rename(2) always replaces), then unlinks the temporary name: two processes that
// pick the same final name cannot overwrite each other's file. fsync of the directory is what
// makes a rename durable on Linux file systems (ext4 commits names with the directory's inode).
#include <fcntl.h>
#include <signal.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstring>
#include <filesystem>

#include "platform/durable_file.h"

namespace mcpmem {
namespace {

std::string parent_of(const std::string& path) {
  std::string dir = std::filesystem::path(path).parent_path().string();
  return dir.empty() ? "." : dir;
}

Status sync_path(const std::string& path, int flags, const char* what) {
  int fd = ::open(path.c_str(), flags | O_CLOEXEC);
  if (fd < 0)
    return Status::io_error(std::string("opening ") + what + " " + path +
                            " to sync it: " + std::strerror(errno));
  int rc = ::fsync(fd);
  int err = errno;
  ::close(fd);
  if (rc != 0) return Status::io_error("syncing " + path + ": " + std::strerror(err));
  return Status::ok();
}

}  // namespace

std::string temporary_path_beside(const std::string& path) {
  static std::atomic<unsigned> counter{0};
  return path + ".partial-" + std::to_string(::getpid()) + "-" + std::to_string(++counter);
}

void remove_abandoned_temporaries(const std::string& path) {
  namespace fs = std::filesystem;
  const fs::path target(path);
  const std::string prefix = target.filename().string() + ".partial-";
  std::error_code ec;
  for (fs::directory_iterator it(target.parent_path().empty() ? "." : target.parent_path(), ec),
       end;
       !ec && it != end; it.increment(ec)) {
    const std::string name = it->path().filename().string();
    if (name.rfind(prefix, 0) != 0) continue;
    const long pid = std::strtol(name.c_str() + prefix.size(), nullptr, 10);
    // Only a writer that is gone: kill(pid, 0) fails with ESRCH when no such process exists.
    if (pid <= 0 || pid == ::getpid() || ::kill(static_cast<pid_t>(pid), 0) == 0 ||
        errno != ESRCH) {
      continue;
    }
    std::error_code ignored;
    fs::remove(it->path(), ignored);
  }
}

Status sync_file(const std::string& path) { return sync_path(path, O_RDONLY, "file"); }

Status sync_directory(const std::string& dir) {
  return sync_path(dir, O_RDONLY | O_DIRECTORY, "directory");
}

Status publish_new_file(const std::string& temporary, const std::string& path) {
  MCP_RETURN_IF_ERROR(sync_file(temporary));
  MCP_RETURN_IF_ERROR(link_file(temporary, path));
  ::unlink(temporary.c_str());
  return sync_directory(parent_of(path));
}

Status replace_file(const std::string& temporary, const std::string& path) {
  MCP_RETURN_IF_ERROR(sync_file(temporary));
  if (::rename(temporary.c_str(), path.c_str()) != 0) {
    return Status::io_error("renaming " + temporary + " to " + path + ": " + std::strerror(errno));
  }
  return sync_directory(parent_of(path));
}

Status link_file(const std::string& existing, const std::string& link_path) {
  if (::link(existing.c_str(), link_path.c_str()) == 0) return Status::ok();
  if (errno == EEXIST) return Status::already_exists(link_path + " already exists");
  return Status::io_error("naming " + existing + " also " + link_path + ": " +
                          std::strerror(errno));
}

}  // namespace mcpmem
