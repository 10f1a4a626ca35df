// MappedFile's moves, the same on every platform; opening, unmapping and reads are in
// mapped_file_<platform>.cpp.
#include "platform/mapped_file.h"

#include <utility>

namespace mcpmem {

MappedFile::MappedFile(MappedFile&& other) noexcept
    : path_(std::move(other.path_)),
      data_(std::exchange(other.data_, nullptr)),
      size_(std::exchange(other.size_, 0)),
      file_(std::exchange(other.file_, -1)) {}

MappedFile& MappedFile::operator=(MappedFile&& other) noexcept {
  if (this != &other) {
    unmap();
    path_ = std::move(other.path_);
    data_ = std::exchange(other.data_, nullptr);
    size_ = std::exchange(other.size_, 0);
    file_ = std::exchange(other.file_, -1);
  }
  return *this;
}

MappedFile::~MappedFile() { unmap(); }

}  // namespace mcpmem
