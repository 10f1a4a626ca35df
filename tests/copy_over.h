// Puts a copy of `from` in place of `to` as another process would: whole, by a rename (which
// Windows refuses over a mapped file, and platform's replace_file does anyway).
#pragma once

#include <gtest/gtest.h>

#include <filesystem>
#include <string>

#include "platform/durable_file.h"

namespace mcpmem {

inline void copy_over(const std::string& from, const std::string& to) {
  const std::string temporary = temporary_path_beside(to);
  std::filesystem::copy_file(from, temporary);
  const Status placed = replace_file(temporary, to);
  ASSERT_TRUE(placed.is_ok()) << placed.message();
}

}  // namespace mcpmem
