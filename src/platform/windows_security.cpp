// Owner-only DACLs from SDDL ("D:P(A;;FA;;;<user>)(A;;FA;;;SY)"), and a DACL's reader check.
#include "platform/windows_security.h"

#include <aclapi.h>
#include <sddl.h>

#include <vector>

namespace mcpmem {
namespace {

// The current user's SID as a string ("S-1-5-21-..."), empty when it cannot be read.
std::wstring current_user_sid() {
  HANDLE raw = nullptr;
  if (!OpenProcessToken(GetCurrentProcess(), TOKEN_QUERY, &raw)) return {};
  UniqueHandle token(raw);
  DWORD size = 0;
  GetTokenInformation(token.get(), TokenUser, nullptr, 0, &size);
  std::vector<BYTE> buffer(size);
  if (size == 0 || !GetTokenInformation(token.get(), TokenUser, buffer.data(), size, &size)) {
    return {};
  }
  wchar_t* text = nullptr;
  if (!ConvertSidToStringSidW(reinterpret_cast<TOKEN_USER*>(buffer.data())->User.Sid, &text)) {
    return {};
  }
  std::wstring sid(text);
  LocalFree(text);
  return sid;
}

bool is_trusted(PSID sid, PSID owner) {
  if (owner != nullptr && EqualSid(sid, owner)) return true;
  for (WELL_KNOWN_SID_TYPE t :
       {WinLocalSystemSid, WinBuiltinAdministratorsSid, WinCreatorOwnerSid}) {
    if (IsWellKnownSid(sid, t)) return true;
  }
  static const std::wstring user = current_user_sid();
  PSID user_sid = nullptr;
  bool same = false;
  if (!user.empty() && ConvertStringSidToSidW(user.c_str(), &user_sid)) {
    same = EqualSid(sid, user_sid);
    LocalFree(user_sid);
  }
  return same;
}

}  // namespace

OwnerOnlySecurity::OwnerOnlySecurity(bool directory) {
  const std::wstring user = current_user_sid();
  if (user.empty()) return;
  const std::wstring inherit = directory ? L"OICI" : L"";
  const std::wstring sddl =
      L"D:P(A;" + inherit + L";FA;;;" + user + L")(A;" + inherit + L";FA;;;SY)";
  if (!ConvertStringSecurityDescriptorToSecurityDescriptorW(sddl.c_str(), SDDL_REVISION_1,
                                                            &descriptor_, nullptr)) {
    descriptor_ = nullptr;
    return;
  }
  attributes_.nLength = sizeof attributes_;
  attributes_.lpSecurityDescriptor = descriptor_;
  attributes_.bInheritHandle = FALSE;
}

OwnerOnlySecurity::~OwnerOnlySecurity() {
  if (descriptor_ != nullptr) LocalFree(descriptor_);
}

Status OwnerOnlySecurity::apply(const std::string& path) const {
  if (!valid()) return Status::internal("the current user's SID cannot be read");
  // SetFileSecurityW, not SetNamedSecurityInfoW: the descriptor is set as it is (protected by
  // its "P"), and wine keeps what it sets (it ignores SetNamedSecurityInfoW on files).
  if (!SetFileSecurityW(widen(path).c_str(),
                        DACL_SECURITY_INFORMATION | PROTECTED_DACL_SECURITY_INFORMATION,
                        descriptor_)) {
    return Status::io_error("restricting " + path + " to its owner: " + windows_error_text());
  }
  return Status::ok();
}

bool readable_by_others(const std::string& path) {
  PSID owner = nullptr;
  PACL dacl = nullptr;
  PSECURITY_DESCRIPTOR descriptor = nullptr;
  if (GetNamedSecurityInfoW(widen(path).c_str(), SE_FILE_OBJECT,
                            OWNER_SECURITY_INFORMATION | DACL_SECURITY_INFORMATION, &owner, nullptr,
                            &dacl, nullptr, &descriptor) != ERROR_SUCCESS) {
    return false;  // unreadable: the error that matters comes when the file is opened
  }
  bool open = dacl == nullptr;  // no DACL: everyone has full control
  for (DWORD i = 0; !open && dacl != nullptr && i < dacl->AceCount; ++i) {
    void* ace = nullptr;
    if (!GetAce(dacl, i, &ace)) continue;
    const auto* header = static_cast<ACE_HEADER*>(ace);
    if (header->AceType != ACCESS_ALLOWED_ACE_TYPE) continue;
    const auto* allowed = static_cast<ACCESS_ALLOWED_ACE*>(ace);
    const ACCESS_MASK reads = FILE_READ_DATA | GENERIC_READ | GENERIC_ALL;
    PSID sid = const_cast<DWORD*>(&allowed->SidStart);
    if ((allowed->Mask & reads) != 0 && !is_trusted(sid, owner)) open = true;
  }
  LocalFree(descriptor);
  return open;
}

}  // namespace mcpmem
