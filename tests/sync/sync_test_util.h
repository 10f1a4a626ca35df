// What the sync tests share: a node is a MemoryService on its own database file in a test
// directory, named (node_name) for the versions it makes.
#pragma once

#include <gtest/gtest.h>

#include <memory>
#include <string>

#include "service/memory_service.h"

namespace mcpmem::testing_util {

inline std::unique_ptr<MemoryService> open_node(const std::string& dir, const std::string& name) {
  Config c = config_from_env({{"HOME", dir}});
  c.db_path = dir + "/" + name + ".db";
  c.synchronous_full = false;
  c.node_name = name;
  auto s = MemoryService::open(c);
  EXPECT_TRUE(s.is_ok()) << s.status().message();
  return s.is_ok() ? std::move(s).value() : nullptr;
}

}  // namespace mcpmem::testing_util
