#include "replication/replica_fence.h"

#include <filesystem>
#include <fstream>
#include <sstream>

#include "core/json_parse.h"
#include "core/time_format.h"
#include "platform/durable_file.h"

namespace mcpmem {
namespace {

namespace fs = std::filesystem;

constexpr std::uintmax_t kMaxFenceBytes = 64 * 1024;

std::string fence_path(const std::string& dir) { return (fs::path(dir) / kFenceFileName).string(); }

Status write_fence(const std::string& dir, const ReplicaFence& fence) {
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (ec)
    return Status::io_error("cannot create the replica directory " + dir + ": " + ec.message());
  const nlohmann::json j{
      {"owner", fence.owner}, {"since", fence.since}, {"previous_owner", fence.previous_owner}};
  const std::string path = fence_path(dir);
  const std::string temporary = temporary_path_beside(path);
  {
    std::ofstream out(temporary, std::ios::binary | std::ios::trunc);
    out << j.dump(2) << "\n";
    out.flush();
    if (!out) return Status::io_error("cannot write " + temporary + " (disk full?)");
  }
  Status placed = replace_file(temporary, path);
  if (!placed.is_ok()) fs::remove(temporary, ec);
  return placed;
}

}  // namespace

std::string fence_owner_name(const std::string& host_name, const std::string& db_path) {
  return host_name + ":" + fs::absolute(db_path).lexically_normal().string();
}

std::string replica_directory(const LitestreamReplica& replica) {
  if (!replica.path.empty() && (replica.type.empty() || replica.type == "file")) {
    return replica.path;
  }
  if (replica.url.starts_with("file://")) return replica.url.substr(7);
  return "";
}

Result<std::optional<ReplicaFence>> read_fence(const std::string& dir) {
  const std::string path = fence_path(dir);
  std::error_code ec;
  if (!fs::exists(path, ec)) return std::optional<ReplicaFence>();
  const auto size = fs::file_size(path, ec);
  if (ec || size > kMaxFenceBytes) {
    return Status::corruption(path + " is not a replica fence (unreadable or over 64 KiB)");
  }
  std::ifstream in(path, std::ios::binary);
  std::ostringstream text;
  text << in.rdbuf();
  auto parsed = parse_json(text.str(), path);
  if (!parsed.is_ok()) return Status::corruption(parsed.status().message());
  const nlohmann::json& j = *parsed;
  if (!j.is_object() || !j.contains("owner") || !j["owner"].is_string()) {
    return Status::corruption(path + " is not a replica fence (no \"owner\")");
  }
  ReplicaFence fence;
  fence.owner = j["owner"].get<std::string>();
  if (j.contains("since") && j["since"].is_string()) fence.since = j["since"].get<std::string>();
  if (j.contains("previous_owner") && j["previous_owner"].is_string()) {
    fence.previous_owner = j["previous_owner"].get<std::string>();
  }
  return std::optional<ReplicaFence>(fence);
}

Status claim_or_check_fence(const std::string& dir, const std::string& owner) {
  MCP_ASSIGN_OR_RETURN(auto fence, read_fence(dir));
  if (!fence) return write_fence(dir, {owner, iso_utc(unix_now()), ""});
  if (fence->owner == owner) return Status::ok();
  return Status::failed_precondition(
      "the replica " + dir + " belongs to " + fence->owner + " since " + fence->since +
      " (mcp-memory promote made it the hub); this database (" + owner +
      ") must not replicate over it. Make this machine a replica (mcp-memory replica follow "
      "--from " +
      dir +
      " --db PATH), or take the store back on purpose with mcp-memory promote --db THIS_DB "
      "--replica " +
      dir);
}

Result<std::string> take_over_fence(const std::string& dir, const std::string& owner) {
  auto fence = read_fence(dir);
  // A damaged fence is replaced: promote is the explicit act of taking the store.
  std::string previous = fence.is_ok() && *fence ? (*fence)->owner : "";
  MCP_RETURN_IF_ERROR(write_fence(dir, {owner, iso_utc(unix_now()), previous}));
  return previous;
}

}  // namespace mcpmem
