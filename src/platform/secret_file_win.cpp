// Secret files on Windows: CreateFileW(CREATE_NEW) with an owner-only DACL, so the file never
// exists readable by others, not even for a moment, and an existing secret is never replaced;
// FlushFileBuffers before close.
#include <filesystem>
#include <fstream>
#include <sstream>

#include "platform/secret_file.h"
#include "platform/windows_security.h"

namespace mcpmem {

Status create_secret_file(const std::string& path, const std::string& content) {
  namespace fs = std::filesystem;
  std::error_code ec;
  const fs::path parent = fs::path(widen(path)).parent_path();
  if (!parent.empty()) fs::create_directories(parent, ec);
  if (ec) return Status::io_error("creating " + narrow(parent.native()) + ": " + ec.message());
  OwnerOnlySecurity security(false);
  if (!security.valid()) return Status::internal("the current user's SID cannot be read");
  UniqueHandle file(CreateFileW(widen(path).c_str(), GENERIC_WRITE, 0, security.attributes(),
                                CREATE_NEW, FILE_ATTRIBUTE_NORMAL, nullptr));
  if (!file.valid()) {
    const DWORD err = GetLastError();
    if (err == ERROR_FILE_EXISTS || err == ERROR_ALREADY_EXISTS) {
      return Status::already_exists(path + " already exists");
    }
    return Status::io_error("creating " + path + ": " + windows_error_text(err));
  }
  size_t done = 0;
  bool written = true;
  while (written && done < content.size()) {
    DWORD n = 0;
    const DWORD chunk = static_cast<DWORD>(std::min<size_t>(content.size() - done, 1u << 20));
    written = WriteFile(file.get(), content.data() + done, chunk, &n, nullptr) && n > 0;
    done += n;
  }
  if (!written || !FlushFileBuffers(file.get())) {
    const std::string why = windows_error_text();
    file.reset();
    DeleteFileW(widen(path).c_str());
    return Status::io_error("writing " + path + ": " + why);
  }
  return Status::ok();
}

Result<std::string> read_secret_file(const std::string& path, bool* too_open) {
  const std::filesystem::path wide(widen(path));
  std::error_code ec;
  if (!std::filesystem::exists(wide, ec)) {
    return Status::not_found("reading " + path + ": no such file");
  }
  if (too_open) *too_open = readable_by_others(path);
  std::ifstream in(wide, std::ios::binary);
  if (!in) return Status::io_error("reading " + path + ": cannot open it");
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

}  // namespace mcpmem
