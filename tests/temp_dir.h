// A fresh directory under /tmp (mcpmem-<label>-XXXXXX), removed with everything in it when the
// object goes: the scratch space of a test. Creation that fails throws, naming errno, so a test
// never runs against "" or a directory it does not own.
#pragma once

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <random>
#ifdef _WIN32
#include <process.h>
#endif
#include <stdexcept>
#include <string>
#include <string_view>
#include <system_error>
#include <vector>

namespace mcpmem {

#ifdef _WIN32
bool readable_by_others(const std::string& path);  // platform/windows_security.h, without windows.h
#endif

// Whether only the owner may read `path`: no group or other mode bit on POSIX; on Windows a
// DACL that lets nobody else read it (platform/windows_security.h).
inline bool owner_only(const std::string& path) {
#ifdef _WIN32
  return !readable_by_others(path);
#else
  namespace fs = std::filesystem;
  return (fs::status(path).permissions() & (fs::perms::group_all | fs::perms::others_all)) ==
         fs::perms::none;
#endif
}

class TempDir {
 public:
  explicit TempDir(std::string_view label) {
#ifdef _WIN32
    // %TEMP%\mcpmem-<label>-<random>: Windows has no mkdtemp; create_directory fails on a name
    // that exists, so a directory it made is ours alone.
    // The process id in the name: mingw's random_device may give every process one sequence.
    std::random_device random;
    const std::string pid = std::to_string(_getpid());
    for (int attempt = 0; path_.empty(); ++attempt) {
      const auto dir =
          std::filesystem::temp_directory_path() /
          ("mcpmem-" + std::string(label) + "-" + pid + "-" + std::to_string(random()));
      if (std::filesystem::create_directory(dir)) path_ = dir.string();
      if (attempt > 100) throw std::runtime_error("cannot create a directory in %TEMP%");
    }
#else
    std::string pattern = "/tmp/mcpmem-" + std::string(label) + "-XXXXXX";
    std::vector<char> buffer(pattern.begin(), pattern.end());
    buffer.push_back('\0');
    if (mkdtemp(buffer.data()) == nullptr) {
      const int err = errno;
      throw std::runtime_error("mkdtemp(" + pattern + "): " + std::strerror(err));
    }
    path_ = buffer.data();
#endif
  }
  ~TempDir() {
    std::error_code ignored;  // a destructor must not throw; a leftover in /tmp is harmless
    std::filesystem::remove_all(path_, ignored);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;

  const std::string& path() const { return path_; }
  // path() + "/" + name ("\\" on Windows).
  std::string operator/(std::string_view name) const {
    return (std::filesystem::path(path_) / name).string();
  }

 private:
  std::string path_;
};

}  // namespace mcpmem
