// MappedFile: a whole file mapped read-only into the address space (mmap on POSIX). Pages come
// from the page cache on first touch and are never copied, so a 90 MB model file costs only the
// pages actually read, and those are shared with every other process mapping the same file.
// The bytes stay valid while the MappedFile lives; moving it moves the mapping. Reading is safe
// from many threads. The file must not be truncated by someone else while mapped (POSIX then
// delivers SIGBUS on access): model files are written once and replaced by rename, never edited.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <utility>

#include "core/status.h"

namespace mcpmem {

class MappedFile {
 public:
  // Maps all of `path` read-only. NotFound when it does not exist, IoError when it cannot be
  // opened or mapped (a directory, no permission, out of address space). An empty file maps to
  // no bytes.
  // `readable`: also keeps the file open for read_at().
  static Result<MappedFile> open(const std::string& path, bool readable = false);

  MappedFile(MappedFile&& other) noexcept;
  MappedFile& operator=(MappedFile&& other) noexcept;
  MappedFile(const MappedFile&) = delete;
  MappedFile& operator=(const MappedFile&) = delete;
  ~MappedFile();

  const std::string& path() const { return path_; }
  std::span<const uint8_t> bytes() const { return {data_, size_}; }
  size_t size() const { return size_; }
  // Copies out.size() bytes at `offset` with a read (pread on POSIX), not through the mapping:
  // the pages then do not count in this process's resident memory (the mapping's would, and a
  // fault maps up to 64 KiB around the page it needs). Needs open(path, true). Safe from many
  // threads.
  Status read_at(uint64_t offset, std::span<uint8_t> out) const;

 private:
  MappedFile(std::string path, const uint8_t* data, size_t size, std::intptr_t file)
      : path_(std::move(path)), data_(data), size_(size), file_(file) {}
  void unmap();

  std::string path_;
  const uint8_t* data_ = nullptr;
  size_t size_ = 0;
  std::intptr_t file_ = -1;  // open(path, true): the descriptor (POSIX) or HANDLE read_at() reads
};

}  // namespace mcpmem
