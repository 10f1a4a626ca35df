// Owner-only access on Windows, for the *_win.cpp files: the DACL that stands for mode 0600
// (files) and 0700 (directories, inherited by what is made inside). It grants full control to
// the current user and to SYSTEM (which can read any file anyway, and is who a service runs
// as), nobody else, and is protected: nothing is inherited from the parent.
#pragma once

#include <string>

#include "core/status.h"
#include "platform/windows_text.h"

namespace mcpmem {

class OwnerOnlySecurity {
 public:
  explicit OwnerOnlySecurity(bool directory);
  ~OwnerOnlySecurity();
  OwnerOnlySecurity(const OwnerOnlySecurity&) = delete;
  OwnerOnlySecurity& operator=(const OwnerOnlySecurity&) = delete;

  bool valid() const { return descriptor_ != nullptr; }
  // For CreateFileW / CreateDirectoryW: the object is owner-only from its first moment.
  SECURITY_ATTRIBUTES* attributes() { return valid() ? &attributes_ : nullptr; }
  // Replaces the DACL of an existing file or directory.
  Status apply(const std::string& path) const;

 private:
  PSECURITY_DESCRIPTOR descriptor_ = nullptr;
  SECURITY_ATTRIBUTES attributes_{};
};

// True when the DACL of `path` lets anyone but its owner, the current user, SYSTEM or the
// Administrators read it (or there is no DACL at all, which lets everyone).
bool readable_by_others(const std::string& path);

}  // namespace mcpmem
