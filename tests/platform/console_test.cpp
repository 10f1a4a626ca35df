// What the process is given, as the rest of the program reads it: its environment as UTF-8
// (Windows: from the UTF-16 block, not the C runtime's ANSI copy) and paths it can open. Runs
// in the Linux build and, under wine, in the Windows build.
#include "platform/console.h"

#include <gtest/gtest.h>

#include "platform/child_process.h"

namespace mcpmem {
namespace {

TEST(ProcessEnvironment, AValueOutsideAsciiArrivesAsUtf8) {
  const std::string text = "C:\\Users\\José Müller ✓";
  set_environment("MCP_TEST_ENVIRONMENT_TEXT", text);
  const auto env = process_environment();
  ASSERT_TRUE(env.contains("MCP_TEST_ENVIRONMENT_TEXT"));
  EXPECT_EQ(env.at("MCP_TEST_ENVIRONMENT_TEXT"), text);
}

TEST(UsablePath, AnAsciiPathIsItself) {
  for (const std::string path : {"/home/me/.local/share/mcp-memory", "C:\\mcp-memory\\a.db", "-"}) {
    Result<std::string> usable = usable_path("the database", path);
    ASSERT_TRUE(usable.is_ok()) << usable.status().message();
    EXPECT_EQ(*usable, path);
  }
}

}  // namespace
}  // namespace mcpmem
