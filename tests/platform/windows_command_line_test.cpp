// windows_command_line: the quoting CommandLineToArgvW undoes (what CreateProcessW and the
// Service Control Manager are given). Portable text, so it is tested on Linux too.
#include "platform/windows_command_line.h"

#include <gtest/gtest.h>

namespace mcpmem {
namespace {

TEST(WindowsCommandLine, QuotesOnlyWhatNeedsIt) {
  EXPECT_EQ(windows_command_line({"mcp-memory.exe", "serve", "--http"}),
            "mcp-memory.exe serve --http");
  EXPECT_EQ(windows_command_line({"C:\\Program Files\\m.exe", "", "a\tb"}),
            "\"C:\\Program Files\\m.exe\" \"\" \"a\tb\"");
}

TEST(WindowsCommandLine, BackslashesAreDoubledOnlyBeforeAQuote) {
  EXPECT_EQ(windows_command_line({"C:\\dir\\"}), "C:\\dir\\");  // no quote needed: as it is
  EXPECT_EQ(windows_command_line({"C:\\my dir\\"}), "\"C:\\my dir\\\\\"");
  EXPECT_EQ(windows_command_line({"say \"hi\""}), "\"say \\\"hi\\\"\"");
  EXPECT_EQ(windows_command_line({"a\\\"b"}), "\"a\\\\\\\"b\"");
}

}  // namespace
}  // namespace mcpmem
