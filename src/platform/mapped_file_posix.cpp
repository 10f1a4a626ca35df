// MappedFile on POSIX: open + fstat + mmap(PROT_READ, MAP_PRIVATE); the descriptor is closed
// at once (the mapping keeps the file alive). MAP_PRIVATE with PROT_READ never writes back.
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "platform/mapped_file.h"

namespace mcpmem {

Result<MappedFile> MappedFile::open(const std::string& path, bool readable) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    std::string why = std::strerror(errno);
    if (errno == ENOENT) return Status::not_found(path + ": " + why);
    return Status::io_error("opening " + path + ": " + why);
  }
  struct stat st {};
  if (::fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
    std::string why = S_ISREG(st.st_mode) ? std::strerror(errno) : "not a regular file";
    ::close(fd);
    return Status::io_error("opening " + path + ": " + why);
  }
  const auto size = static_cast<size_t>(st.st_size);
  if (size == 0) {
    ::close(fd);
    return MappedFile(path, nullptr, 0, -1);
  }
  void* data = ::mmap(nullptr, size, PROT_READ, MAP_PRIVATE, fd, 0);
  int map_errno = errno;
  if (!readable || data == MAP_FAILED) {
    ::close(fd);
    fd = -1;
  }
  if (data == MAP_FAILED)
    return Status::io_error("mapping " + path + ": " + std::strerror(map_errno));
  return MappedFile(path, static_cast<const uint8_t*>(data), size, fd);
}

void MappedFile::unmap() {
  if (data_ != nullptr) ::munmap(const_cast<uint8_t*>(data_), size_);
  data_ = nullptr;
  size_ = 0;
  if (file_ >= 0) ::close(static_cast<int>(file_));
  file_ = -1;
}

Status MappedFile::read_at(uint64_t offset, std::span<uint8_t> out) const {
  if (file_ < 0) return Status::failed_precondition(path_ + ": not opened for reads");
  size_t done = 0;
  while (done < out.size()) {
    ssize_t n = ::pread(static_cast<int>(file_), out.data() + done, out.size() - done,
                        static_cast<off_t>(offset + done));
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0)
      return Status::io_error("reading " + path_ + ": " +
                              (n == 0 ? "short file" : std::strerror(errno)));
    done += static_cast<size_t>(n);
  }
  return Status::ok();
}

}  // namespace mcpmem
