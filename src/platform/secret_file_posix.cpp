// Secret files on POSIX: open(O_CREAT | O_EXCL, 0600) so the file never exists with a wider
// mode, not even for a moment, and an existing secret is never replaced; fsync before close.
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "platform/secret_file.h"

namespace mcpmem {

Status create_secret_file(const std::string& path, const std::string& content) {
  std::error_code ec;
  auto parent = std::filesystem::path(path).parent_path();
  if (!parent.empty()) std::filesystem::create_directories(parent, ec);
  if (ec) return Status::io_error("creating " + parent.string() + ": " + ec.message());
  int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  if (fd < 0 && errno == EEXIST) return Status::already_exists(path + " already exists");
  if (fd < 0) return Status::io_error("creating " + path + ": " + std::strerror(errno));
  size_t done = 0;
  while (done < content.size()) {
    ssize_t n = ::write(fd, content.data() + done, content.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      int err = errno;
      ::close(fd);
      ::unlink(path.c_str());
      return Status::io_error("writing " + path + ": " + std::strerror(err));
    }
    done += static_cast<size_t>(n);
  }
  if (::fsync(fd) != 0 || ::close(fd) != 0) {
    return Status::io_error("writing " + path + ": " + std::strerror(errno));
  }
  return Status::ok();
}

Result<std::string> read_secret_file(const std::string& path, bool* too_open) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) {
    return Status::not_found("reading " + path + ": " + std::strerror(errno));
  }
  if (too_open) *too_open = (st.st_mode & 077) != 0;
  std::ifstream in(path, std::ios::binary);
  if (!in) return Status::io_error("reading " + path + ": " + std::strerror(errno));
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

}  // namespace mcpmem
