// MappedFile on Windows: CreateFileW + CreateFileMappingW(PAGE_READONLY) + MapViewOfFile. The
// file is opened sharing read, write and delete, so a writer may still rename a new index over
// it (where Windows allows that while a view is mapped: see docs/windows.md). The mapping
// handle is closed at once (the view keeps it alive); the file handle only when no read_at()
// will need it.
#include <algorithm>

#include "platform/mapped_file.h"
#include "platform/windows_text.h"

namespace mcpmem {

Result<MappedFile> MappedFile::open(const std::string& path, bool readable) {
  UniqueHandle file(CreateFileW(widen(path).c_str(), GENERIC_READ,
                                FILE_SHARE_READ | FILE_SHARE_WRITE | FILE_SHARE_DELETE, nullptr,
                                OPEN_EXISTING, FILE_ATTRIBUTE_NORMAL, nullptr));
  if (!file.valid()) {
    const DWORD err = GetLastError();
    if (err == ERROR_FILE_NOT_FOUND || err == ERROR_PATH_NOT_FOUND) {
      return Status::not_found(path + ": " + windows_error_text(err));
    }
    return Status::io_error("opening " + path + ": " + windows_error_text(err));
  }
  LARGE_INTEGER size{};
  if (GetFileType(file.get()) != FILE_TYPE_DISK || !GetFileSizeEx(file.get(), &size)) {
    return Status::io_error("opening " + path + ": not a regular file");
  }
  if (size.QuadPart == 0) return MappedFile(path, nullptr, 0, -1);
  UniqueHandle mapping(CreateFileMappingW(file.get(), nullptr, PAGE_READONLY, 0, 0, nullptr));
  const void* data =
      mapping.valid() ? MapViewOfFile(mapping.get(), FILE_MAP_READ, 0, 0, 0) : nullptr;
  if (data == nullptr) return Status::io_error("mapping " + path + ": " + windows_error_text());
  const std::intptr_t kept = readable ? reinterpret_cast<std::intptr_t>(file.release()) : -1;
  return MappedFile(path, static_cast<const uint8_t*>(data), static_cast<size_t>(size.QuadPart),
                    kept);
}

void MappedFile::unmap() {
  if (data_ != nullptr) UnmapViewOfFile(data_);
  data_ = nullptr;
  size_ = 0;
  if (file_ != -1) CloseHandle(reinterpret_cast<HANDLE>(file_));
  file_ = -1;
}

Status MappedFile::read_at(uint64_t offset, std::span<uint8_t> out) const {
  if (file_ == -1) return Status::failed_precondition(path_ + ": not opened for reads");
  size_t done = 0;
  while (done < out.size()) {
    OVERLAPPED at{};
    const uint64_t position = offset + done;
    at.Offset = static_cast<DWORD>(position);
    at.OffsetHigh = static_cast<DWORD>(position >> 32);
    DWORD n = 0;
    const DWORD chunk = static_cast<DWORD>(std::min<size_t>(out.size() - done, 1u << 30));
    if (!ReadFile(reinterpret_cast<HANDLE>(file_), out.data() + done, chunk, &n, &at) || n == 0) {
      return Status::io_error("reading " + path_ + ": " +
                              (n == 0 ? std::string("short file") : windows_error_text()));
    }
    done += n;
  }
  return Status::ok();
}

}  // namespace mcpmem
