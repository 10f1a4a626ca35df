// What durable files do the same way everywhere: temporary names that carry the writer's
// process id, the clean-up of a dead writer's temporaries, and publishing without replacing.
#include "platform/durable_file.h"

#include <atomic>
#include <cstdlib>
#include <filesystem>

#include "platform/child_process.h"

namespace mcpmem {

std::string temporary_path_beside(const std::string& path) {
  static std::atomic<unsigned> counter{0};
  return path + ".partial-" + std::to_string(current_process_id()) + "-" +
         std::to_string(++counter);
}

void remove_abandoned_temporaries(const std::string& path) {
  namespace fs = std::filesystem;
  const fs::path target(path);
  const std::string prefix = target.filename().string() + ".partial-";
  std::error_code ec;
  for (fs::directory_iterator it(target.parent_path().empty() ? "." : target.parent_path(), ec),
       end;
       !ec && it != end; it.increment(ec)) {
    const std::string name = it->path().filename().string();
    if (name.rfind(prefix, 0) != 0) continue;
    const long pid = std::strtol(name.c_str() + prefix.size(), nullptr, 10);
    // Only a writer that is gone.
    if (pid <= 0 || pid == current_process_id() || process_exists(static_cast<int>(pid))) {
      continue;
    }
    std::error_code ignored;
    fs::remove(it->path(), ignored);
  }
}

Status publish_new_file(const std::string& temporary, const std::string& path) {
  MCP_RETURN_IF_ERROR(sync_file(temporary));
  MCP_RETURN_IF_ERROR(link_file(temporary, path));
  std::error_code ignored;
  std::filesystem::remove(temporary, ignored);
  const std::string dir = std::filesystem::path(path).parent_path().string();
  return sync_directory(dir.empty() ? "." : dir);
}

}  // namespace mcpmem
