// Status, Result and the two early-return macros every layer uses.
#include "core/status.h"

#include <gtest/gtest.h>

#include <memory>
#include <string>

namespace mcpmem {
namespace {

Result<int> parse_digit(char c) {
  if (c < '0' || c > '9') return Status::invalid_argument(std::string("not a digit: ") + c);
  return c - '0';
}

// Two uses in one scope, a declaration and an assignment to an existing variable.
Result<int> add_digits(char a, char b) {
  MCP_ASSIGN_OR_RETURN(int x, parse_digit(a));
  int y = 0;
  MCP_ASSIGN_OR_RETURN(y, parse_digit(b));
  return x + y;
}

Status check_digit(char c) {
  MCP_RETURN_IF_ERROR(parse_digit(c));
  return Status::ok();
}

Result<std::unique_ptr<int>> boxed(int v) { return std::make_unique<int>(v); }

Result<int> unbox(int v) {
  MCP_ASSIGN_OR_RETURN(auto p, boxed(v));  // move-only values are moved out
  return *p;
}

TEST(Status, AssignOrReturnGivesTheValueOrTheFirstError) {
  EXPECT_EQ(add_digits('4', '5').value(), 9);
  auto bad = add_digits('4', 'x');
  ASSERT_FALSE(bad.is_ok());
  EXPECT_EQ(bad.status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(bad.status().message(), "not a digit: x");
  EXPECT_EQ(add_digits('y', 'x').status().message(), "not a digit: y");
  EXPECT_EQ(unbox(7).value(), 7);
}

TEST(Status, ReturnIfErrorPassesTheStatusOn) {
  EXPECT_TRUE(check_digit('1').is_ok());
  EXPECT_EQ(check_digit('a').message(), "not a digit: a");
  EXPECT_EQ(Status::io_error("disk").with_context("storing").message(), "storing: disk");
}

}  // namespace
}  // namespace mcpmem
