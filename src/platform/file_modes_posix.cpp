// File modes on POSIX: umask, chmod and stat (see file_modes.h).
#include <sys/stat.h>

#include <cstdio>
#include <filesystem>
#include <vector>

#include "platform/file_modes.h"

namespace mcpmem {
namespace {

std::string octal(mode_t mode) {
  char text[8];
  std::snprintf(text, sizeof text, "%04o", static_cast<unsigned>(mode & 07777));
  return text;
}

}  // namespace

void make_new_files_private() { ::umask(077); }

Status create_private_directories(const std::string& dir) {
  namespace fs = std::filesystem;
  std::vector<fs::path> missing;  // the levels this call creates, deepest first
  std::error_code ec;
  for (fs::path p = fs::path(dir); !p.empty() && !fs::exists(p, ec); p = p.parent_path()) {
    missing.push_back(p);
    if (p == p.parent_path()) break;
  }
  fs::create_directories(dir, ec);
  if (ec) return Status::io_error("cannot create directory " + dir + ": " + ec.message());
  for (const fs::path& p : missing) ::chmod(p.c_str(), 0700);
  return Status::ok();
}

std::optional<std::string> tighten_to_owner(const std::string& path) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0 || (st.st_mode & 077) == 0) return std::nullopt;
  const mode_t tight = st.st_mode & 07700;
  if (::chmod(path.c_str(), tight) != 0) return std::nullopt;
  return "tightened mode of " + path + " from " + octal(st.st_mode) + " to " + octal(tight);
}

}  // namespace mcpmem
