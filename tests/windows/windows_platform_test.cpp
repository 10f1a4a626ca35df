// The Windows implementations of platform/ (the *_win.cpp files), run under wine: owner-only
// ACLs on secrets and directories, durable publish and replace, mapped reads, child processes,
// shutdown requests, and the Windows defaults of Config.
#include <aclapi.h>
#include <gtest/gtest.h>
#include <sddl.h>
#include <windows.h>

#include <atomic>
#include <chrono>
#include <csignal>
#include <fstream>
#include <thread>

#include "../temp_dir.h"
#include "core/config.h"
#include "platform/child_process.h"
#include "platform/console.h"
#include "platform/durable_file.h"
#include "platform/file_modes.h"
#include "platform/mapped_file.h"
#include "platform/secret_file.h"
#include "platform/shutdown_signal.h"
#include "platform/windows_security.h"
#include "platform/windows_text.h"

namespace mcpmem {
namespace {

std::string read_all(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

void write_file(const std::string& path, const std::string& text) {
  std::ofstream(path, std::ios::binary) << text;
}

// Gives Everyone read access to `path`, as a file copied from elsewhere might have.
void open_to_everyone(const std::string& path) {
  PSECURITY_DESCRIPTOR sd = nullptr;
  ASSERT_TRUE(ConvertStringSecurityDescriptorToSecurityDescriptorA("D:(A;;FA;;;WD)",
                                                                   SDDL_REVISION_1, &sd, nullptr));
  BOOL present = FALSE, defaulted = FALSE;
  PACL dacl = nullptr;
  ASSERT_TRUE(GetSecurityDescriptorDacl(sd, &present, &dacl, &defaulted));
  std::string p = path;
  ASSERT_EQ(SetNamedSecurityInfoA(p.data(), SE_FILE_OBJECT, DACL_SECURITY_INFORMATION, nullptr,
                                  nullptr, dacl, nullptr),
            static_cast<DWORD>(ERROR_SUCCESS));
  LocalFree(sd);
}

TEST(WindowsSecretFile, OwnerOnlyFromTheStartAndNeverReplaced) {
  TempDir dir("win-secret");
  const std::string path = dir.path() + "\\keys\\api_key";
  ASSERT_TRUE(create_secret_file(path, "s3cret\n").is_ok());
  bool too_open = true;
  auto text = read_secret_file(path, &too_open);
  ASSERT_TRUE(text.is_ok()) << text.status().message();
  EXPECT_EQ(*text, "s3cret\n");  // bytes, no CRLF
  EXPECT_FALSE(too_open);
  EXPECT_EQ(create_secret_file(path, "other").code(), StatusCode::kAlreadyExists);
  EXPECT_EQ(read_all(path), "s3cret\n");
}

TEST(WindowsSecretFile, AFileOthersCanReadIsReportedAndTightened) {
  TempDir dir("win-open");
  const std::string path = dir.path() + "\\passphrase";
  write_file(path, "pass");
  open_to_everyone(path);
  bool too_open = false;
  ASSERT_TRUE(read_secret_file(path, &too_open).is_ok());
  EXPECT_TRUE(too_open);
  auto message = tighten_to_owner(path);
  ASSERT_TRUE(message.has_value());
  EXPECT_NE(message->find(path), std::string::npos);
  ASSERT_TRUE(read_secret_file(path, &too_open).is_ok());
  EXPECT_FALSE(too_open);
  EXPECT_FALSE(tighten_to_owner(path).has_value());  // private already
}

// The DACL of `path` in SDDL ("D:P(A;OICI;FA;;;S-1-5-...)...").
std::string dacl_text(const std::string& path) {
  PSECURITY_DESCRIPTOR sd = nullptr;
  PACL dacl = nullptr;
  if (GetNamedSecurityInfoA(path.c_str(), SE_FILE_OBJECT, DACL_SECURITY_INFORMATION, nullptr,
                            nullptr, &dacl, nullptr, &sd) != ERROR_SUCCESS) {
    return "";
  }
  char* text = nullptr;
  ConvertSecurityDescriptorToStringSecurityDescriptorA(sd, SDDL_REVISION_1,
                                                       DACL_SECURITY_INFORMATION, &text, nullptr);
  std::string out = text != nullptr ? text : "";
  LocalFree(text);
  LocalFree(sd);
  return out;
}

TEST(WindowsFileModes, CreatedDirectoriesAreOwnerOnlyAndPassItOn) {
  TempDir dir("win-dirs");
  const std::string deep = dir.path() + "\\a\\b";
  ASSERT_TRUE(create_private_directories(deep).is_ok());
  EXPECT_TRUE(std::filesystem::is_directory(deep));
  for (const std::string& level : {dir.path() + "\\a", deep}) {
    EXPECT_FALSE(readable_by_others(level)) << dacl_text(level);
    // Inherited by what is made inside (Windows applies that; wine gives new files the Unix
    // mode's DACL instead, and keeps no "P"rotected flag, so neither is checked here).
    const std::string text = dacl_text(level);
    EXPECT_NE(text.find("(A;OICI;FA;;;SY)"), std::string::npos) << text;
    EXPECT_EQ(text.find(";WD)"), std::string::npos) << text;
  }
}

TEST(WindowsPaths, AFolderOutsideAsciiIsReachedByItsShortName) {
  TempDir dir("win-paths");
  const std::string folder = dir.path() + "\\José Müller";
  ASSERT_TRUE(CreateDirectoryW(widen(folder).c_str(), nullptr));
  Result<std::string> usable = usable_path("the database", folder + "\\.local\\sqlite_vec.db");
  ASSERT_TRUE(usable.is_ok()) << usable.status().message();
  for (unsigned char c : *usable) ASSERT_LT(c, 0x80) << *usable;
  EXPECT_TRUE(usable->ends_with("\\.local\\sqlite_vec.db")) << *usable;
  // The C++ library, given the short form, writes into that folder and not a look-alike.
  std::filesystem::create_directories(std::filesystem::path(*usable).parent_path());
  write_file(*usable, "x");
  EXPECT_NE(GetFileAttributesW(widen(folder + "\\.local\\sqlite_vec.db").c_str()),
            INVALID_FILE_ATTRIBUTES);

  EXPECT_EQ(*usable_path("the database", "C:\\mcp-memory\\a.db"), "C:\\mcp-memory\\a.db");
  // A file keeps its name, even one outside ASCII that exists: replaced through its short name
  // it would take that name.
  HANDLE file = CreateFileW(widen(folder + "\\é.json").c_str(), GENERIC_WRITE, 0, nullptr,
                            CREATE_NEW, FILE_ATTRIBUTE_NORMAL, nullptr);
  ASSERT_NE(file, INVALID_HANDLE_VALUE);
  CloseHandle(file);
  EXPECT_FALSE(usable_path("--output", folder + "\\é.json").is_ok());
  // A part outside ASCII that does not exist has no short name yet: refused, with what to do.
  Result<std::string> missing = usable_path("the data directory", folder + "\\Zoë\\data");
  ASSERT_FALSE(missing.is_ok()) << *missing;
  EXPECT_NE(missing.status().message().find("outside ASCII"), std::string::npos);
  EXPECT_NE(missing.status().message().find("MCP_MEMORY_BASE_DIR"), std::string::npos);
}

TEST(WindowsDurableFile, PublishNeverReplacesAndReplaceDoes) {
  TempDir dir("win-durable");
  const std::string target = dir.path() + "\\export.json";
  const std::string first = temporary_path_beside(target);
  write_file(first, "one");
  ASSERT_TRUE(publish_new_file(first, target).is_ok());
  EXPECT_FALSE(std::filesystem::exists(first));
  const std::string second = temporary_path_beside(target);
  write_file(second, "two");
  EXPECT_EQ(publish_new_file(second, target).code(), StatusCode::kAlreadyExists);
  EXPECT_EQ(read_all(target), "one");
  ASSERT_TRUE(replace_file(second, target).is_ok());
  EXPECT_EQ(read_all(target), "two");
}

TEST(WindowsDurableFile, ADeadWritersTemporariesAreRemovedALiveOnesKept) {
  TempDir dir("win-partial");
  const std::string target = dir.path() + "\\index";
  const std::string mine = temporary_path_beside(target);
  const std::string dead = target + ".partial-999999-1";
  write_file(mine, "mine");
  write_file(dead, "dead");
  remove_abandoned_temporaries(target);
  EXPECT_TRUE(std::filesystem::exists(mine));
  EXPECT_FALSE(std::filesystem::exists(dead));
}

TEST(WindowsMappedFile, MapsAndReadsAtOffsets) {
  TempDir dir("win-map");
  const std::string path = dir.path() + "\\data";
  write_file(path, "0123456789");
  auto mapped = MappedFile::open(path, true);
  ASSERT_TRUE(mapped.is_ok()) << mapped.status().message();
  ASSERT_EQ(mapped->size(), 10u);
  EXPECT_EQ(mapped->bytes()[3], '3');
  uint8_t out[4];
  ASSERT_TRUE(mapped->read_at(6, out).is_ok());
  EXPECT_EQ(std::string(reinterpret_cast<char*>(out), 4), "6789");
  EXPECT_FALSE(mapped->read_at(8, out).is_ok());  // past the end
  EXPECT_EQ(MappedFile::open(dir.path() + "\\missing").status().code(), StatusCode::kNotFound);
}

TEST(WindowsChildProcess, RunsAProgramAndReadsItsLines) {
  auto out = run_child({"cmd.exe", "/c", "echo first&& echo second"}, std::chrono::seconds(30));
  ASSERT_TRUE(out.is_ok()) << out.status().message();
  EXPECT_EQ(out->exit_code, 0);
  EXPECT_EQ(out->output, "first\nsecond\n");  // "\r\n" read as line ends
  auto code = run_child({"cmd.exe", "/c", "exit 3"}, std::chrono::seconds(30));
  ASSERT_TRUE(code.is_ok());
  EXPECT_EQ(code->exit_code, 3);
  EXPECT_EQ(run_child({"no-such-program-here"}, std::chrono::seconds(5)).status().code(),
            StatusCode::kNotFound);
}

TEST(WindowsChildProcess, AKilledChildIsGoneAndAnArgumentWithSpacesArrivesWhole) {
  auto child =
      ChildProcess::start({"cmd.exe", "/c", "echo \"a b\" & ping -n 30 127.0.0.1 >NUL"}, nullptr);
  ASSERT_TRUE(child.is_ok()) << child.status().message();
  const int pid = (*child)->pid();
  EXPECT_TRUE(process_exists(pid));
  (*child)->kill();
  EXPECT_TRUE((*child)->wait_for(std::chrono::seconds(20)).has_value());
  EXPECT_FALSE(process_exists(pid));
  EXPECT_TRUE(process_exists(current_process_id()));
  EXPECT_NE(executable_path().find("platform_tests_win"), std::string::npos);
}

TEST(WindowsShutdownSignal, RequestShutdownReachesTheWaiter) {
  std::atomic<int> got{0};
  {
    ShutdownSignal signal([&](int sig) { got = sig; });
    EXPECT_TRUE(request_shutdown(current_process_id()));
    for (int i = 0; i < 100 && got == 0; ++i) {
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
  }
  EXPECT_EQ(got.load(), SIGTERM);
  EXPECT_FALSE(request_shutdown(999'999));  // no such process
}

TEST(WindowsConfig, DefaultsFollowTheGuidesWindowsPaths) {
  const Config c = config_from_env({{"USERPROFILE", "C:\\Users\\YourUser"},
                                    {"HOME", "/c/Users/YourUser"},
                                    {"COMPUTERNAME", "WINPC"}});
  EXPECT_EQ(c.base_dir, "C:\\Users\\YourUser\\.local\\share\\mcp-memory");
  EXPECT_EQ(c.db_path, "C:\\Users\\YourUser\\.local\\share\\mcp-memory\\sqlite_vec.db");
  EXPECT_EQ(c.host_name, "WINPC");
  const Config own = config_from_env(
      {{"USERPROFILE", "C:\\Users\\YourUser"}, {"MCP_MEMORY_BASE_DIR", "D:\\memories"}});
  EXPECT_EQ(own.db_path, "D:\\memories\\sqlite_vec.db");
  // A profile folder outside ASCII keeps its name (main then reaches it by its short name).
  const Config jose = config_from_env({{"USERPROFILE", "C:\\Users\\José"}});
  EXPECT_EQ(jose.db_path, "C:\\Users\\José\\.local\\share\\mcp-memory\\sqlite_vec.db");
}

}  // namespace
}  // namespace mcpmem
