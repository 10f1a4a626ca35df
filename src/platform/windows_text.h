// Text at the Win32 boundary, for the *_win.cpp files only: our strings are UTF-8, the wide
// Win32 functions take UTF-16, and an error code is shown as Windows words it.
#pragma once

#include <windows.h>

#include <string>
#include <string_view>
#include <utility>

namespace mcpmem {

std::wstring widen(std::string_view utf8);
std::string narrow(std::wstring_view utf16);
// "Access is denied. (5)"
std::string windows_error_text(DWORD code = GetLastError());

// A HANDLE closed when it goes out of scope (INVALID_HANDLE_VALUE and null are no handle).
class UniqueHandle {
 public:
  explicit UniqueHandle(HANDLE h = nullptr) : h_(h) {}
  UniqueHandle(UniqueHandle&& other) noexcept : h_(other.release()) {}
  UniqueHandle& operator=(UniqueHandle&& other) noexcept {
    if (this != &other) reset(other.release());
    return *this;
  }
  UniqueHandle(const UniqueHandle&) = delete;
  UniqueHandle& operator=(const UniqueHandle&) = delete;
  ~UniqueHandle() { reset(); }

  HANDLE get() const { return h_; }
  bool valid() const { return h_ != nullptr && h_ != INVALID_HANDLE_VALUE; }
  HANDLE release() { return std::exchange(h_, nullptr); }
  void reset(HANDLE h = nullptr) {
    if (valid()) CloseHandle(h_);
    h_ = h;
  }

 private:
  HANDLE h_;
};

}  // namespace mcpmem
