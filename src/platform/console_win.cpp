// Binary stdin, stdout and stderr, and a UTF-8 console: see console.h.
// windows.h (through windows_text.h) before shellapi.h, which needs its definitions.
#include "platform/windows_text.h"
// clang-format off
#include <shellapi.h>
// clang-format on
#include <fcntl.h>
#include <io.h>

#include <algorithm>
#include <cstdio>
#include <cwchar>

#include "platform/console.h"

namespace mcpmem {

void use_binary_standard_streams() {
  // A service has no standard streams: _fileno() is then negative, and _setmode() on it would
  // end the process (the C runtime's invalid-parameter handler).
  for (FILE* stream : {stdin, stdout, stderr}) {
    if (_fileno(stream) >= 0) _setmode(_fileno(stream), _O_BINARY);
  }
  SetConsoleOutputCP(CP_UTF8);
}

std::vector<std::string> utf8_arguments(int argc, char** argv) {
  int count = 0;
  wchar_t** wide = CommandLineToArgvW(GetCommandLineW(), &count);
  if (wide == nullptr) return std::vector<std::string>(argv, argv + argc);
  std::vector<std::string> args;
  for (int i = 0; i < count; ++i) args.push_back(narrow(wide[i]));
  LocalFree(wide);
  return args;
}

std::map<std::string, std::string> process_environment() {
  std::map<std::string, std::string> env;
  wchar_t* block = GetEnvironmentStringsW();
  if (block == nullptr) return env;
  // "NAME=value\0NAME=value\0\0"; entries such as "=C:=C:\\" (a drive's current folder) have
  // no name and are left out.
  for (const wchar_t* e = block; *e != L'\0'; e += std::wcslen(e) + 1) {
    const std::string entry = narrow(e);
    const size_t eq = entry.find('=');
    if (eq != std::string::npos && eq > 0) env.emplace(entry.substr(0, eq), entry.substr(eq + 1));
  }
  FreeEnvironmentStringsW(block);
  return env;
}

namespace {

bool is_ascii(std::string_view text) {
  for (unsigned char c : text) {
    if (c >= 0x80) return false;
  }
  return true;
}

// The short (8.3) name Windows gives the folder at `path`, "" when it has none or is no folder.
// Files keep their names: a file replaced through its short name would take that name.
std::string short_name_of_folder(const std::string& path) {
  const std::wstring wide = widen(path);
  const DWORD attributes = GetFileAttributesW(wide.c_str());
  if (attributes == INVALID_FILE_ATTRIBUTES || !(attributes & FILE_ATTRIBUTE_DIRECTORY)) return "";
  const DWORD size = GetShortPathNameW(wide.c_str(), nullptr, 0);
  if (size == 0) return "";
  std::wstring shortened(size, L'\0');
  const DWORD length = GetShortPathNameW(wide.c_str(), shortened.data(), size);
  if (length == 0 || length >= size) return "";
  shortened.resize(length);
  const size_t cut = shortened.find_last_of(L"\\/");
  return narrow(cut == std::wstring::npos ? shortened : shortened.substr(cut + 1));
}

}  // namespace

Result<std::string> usable_path(const std::string& what, const std::string& path) {
  if (is_ascii(path)) return path;
  // Each folder outside ASCII by its short name; every other part as it is, so that a file
  // keeps the name other programs know it by (SQLite names "-wal" and "-shm" after it).
  std::string usable;
  for (size_t begin = 0; begin <= path.size();) {
    const size_t end = std::min(path.find_first_of("\\/", begin), path.size());
    const std::string part = path.substr(begin, end - begin);
    const std::string shortened = is_ascii(part) ? part : short_name_of_folder(path.substr(0, end));
    if (!is_ascii(shortened) || shortened.empty() != part.empty()) {
      return Status::failed_precondition(
          what + " " + path +
          " has characters outside ASCII, which mcp-memory for Windows reaches only through "
          "Windows' short names, and " +
          part +
          " has none (it is a file, or a folder that does not exist yet, or the drive makes no "
          "short names): create the folder first, or use a file name and path of ASCII "
          "characters (for the data: MCP_MEMORY_BASE_DIR=C:\\mcp-memory)");
    }
    usable += shortened;
    if (end < path.size()) usable += path[end];
    begin = end + 1;
  }
  return usable;
}

}  // namespace mcpmem
