// Durable files on POSIX. link_file uses link(2), which fails with EEXIST instead of replacing
// (rename(2) always replaces): two processes that publish the same final name cannot overwrite
// each other's file. fsync of the directory is what makes a rename durable on Linux file systems
// (ext4 commits names with the directory's inode).
#include <fcntl.h>
#include <unistd.h>

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

Status sync_file(const std::string& path) { return sync_path(path, O_RDONLY, "file"); }

Status sync_directory(const std::string& dir) {
  return sync_path(dir, O_RDONLY | O_DIRECTORY, "directory");
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
