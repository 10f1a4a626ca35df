// escape_log_text: request text in the access log cannot forge lines (issue 15).
#include "core/log_text.h"

#include <gtest/gtest.h>

namespace mcpmem {
namespace {

TEST(LogText, ControlBytesAreEscapedAndOrdinaryTextIsKept) {
  EXPECT_EQ(escape_log_text("/api/memories?tag=größe"), "/api/memories?tag=größe");
  EXPECT_EQ(escape_log_text("/api/x\nGET /api/health 200 0.1ms"),
            "/api/x\\nGET /api/health 200 0.1ms");
  EXPECT_EQ(escape_log_text("a\rb\tc"), "a\\rb\\tc");
  EXPECT_EQ(escape_log_text(std::string("\x1b[2J\x7f\0z", 7)), "\\x1b[2J\\x7f\\x00z");
  EXPECT_EQ(escape_log_text("C:\\n"), "C:\\\\n");  // a real backslash-n stays distinguishable
  EXPECT_EQ(escape_log_text(""), "");
}

}  // namespace
}  // namespace mcpmem
