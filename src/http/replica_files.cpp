// /litestream/: a replica directory served read-only (see replica_files.h). Every request is
// checked twice: its text first (no "..", NUL, backslash, absolute or overlong path, so a bad
// request never reaches the file system), then its canonical path, which must lie inside the
// canonical root (a symlink planted in the directory cannot lead out of it). Listings apply
// the same rule to each entry: what a client cannot GET is not listed.
#include "http/replica_files.h"

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <vector>

#include "core/time_format.h"
#include "http/http_server.h"

namespace mcpmem {
namespace {

namespace fs = std::filesystem;

// Why `relative` is refused, or "" when its text is acceptable.
std::string path_text_problem(std::string_view relative) {
  if (relative.size() > kMaxReplicaPathBytes) {
    return "the path is longer than " + std::to_string(kMaxReplicaPathBytes) + " bytes";
  }
  if (relative.find('\0') != std::string_view::npos) return "the path holds a NUL byte";
  if (relative.find('\\') != std::string_view::npos) return "the path holds a backslash";
  if (!relative.empty() && relative.front() == '/') return "the path is absolute";
  std::string_view rest = relative;
  if (!rest.empty() && rest.back() == '/') rest.remove_suffix(1);  // "dir/" names the directory
  while (!rest.empty()) {
    size_t slash = rest.find('/');
    std::string_view segment = rest.substr(0, slash);
    if (segment.empty()) return "the path has an empty segment";
    if (segment == "." || segment == "..") return "the path has a '.' or '..' segment";
    if (slash == std::string_view::npos) break;
    rest.remove_prefix(slash + 1);
  }
  return "";
}

bool inside(const fs::path& canonical, const std::string& root) {
  const std::string p = canonical.string();
  const char next = p.size() > root.size() ? p[root.size()] : '\0';
  return p == root || (p.compare(0, root.size(), root) == 0 &&
                       (next == '/' || next == static_cast<char>(fs::path::preferred_separator)));
}

Response listing(const std::string& root, const fs::path& dir) {
  std::error_code ec;
  fs::directory_iterator it(dir, ec);
  if (ec) return json_error(500, "cannot list " + dir.filename().string() + ": " + ec.message());
  nlohmann::json entries = nlohmann::json::array();
  std::vector<std::pair<std::string, nlohmann::json>> found;
  for (; it != fs::directory_iterator(); it.increment(ec)) {
    if (ec) return json_error(500, "cannot list a directory: " + ec.message());
    if (found.size() >= kMaxReplicaListingEntries) {
      return json_error(403, "the directory holds more than " +
                                 std::to_string(kMaxReplicaListingEntries) + " entries");
    }
    std::error_code entry_ec;
    fs::path target = fs::canonical(it->path(), entry_ec);
    if (entry_ec || !inside(target, root)) continue;  // dangling, or leads outside
    fs::file_status st = fs::status(target, entry_ec);
    if (entry_ec) continue;
    nlohmann::json e{{"name", it->path().filename().string()}};
    if (fs::is_regular_file(st)) {
      e["type"] = "file";
      e["size"] = static_cast<int64_t>(fs::file_size(target, entry_ec));
      if (entry_ec) continue;
    } else if (fs::is_directory(st)) {
      e["type"] = "dir";
      e["size"] = 0;
    } else {
      continue;
    }
    e["mtime"] = modified_unix_seconds(target);
    found.emplace_back(it->path().filename().string(), std::move(e));
  }
  std::sort(found.begin(), found.end(),
            [](const auto& a, const auto& b) { return a.first < b.first; });
  for (auto& [name, e] : found) entries.push_back(std::move(e));
  Response r;
  r.set_content(nlohmann::json{{"entries", std::move(entries)}}.dump(), "application/json");
  return r;
}

Response file_bytes(const fs::path& file, std::string_view shown) {
  std::error_code ec;
  const auto size = fs::file_size(file, ec);
  if (ec) return json_error(500, "cannot read " + std::string(shown) + ": " + ec.message());
  if (static_cast<int64_t>(size) > kMaxReplicaFileBytes) {
    return json_error(403, std::string(shown) + " is " + std::to_string(size) +
                               " bytes, more than the " +
                               std::to_string(kMaxReplicaFileBytes >> 20) +
                               " MiB this server sends; replicate to S3 or SFTP for a "
                               "database this large");
  }
  std::ifstream in(file, std::ios::binary);
  std::string bytes(size, '\0');
  if (!in.read(bytes.data(), static_cast<std::streamsize>(size))) {
    return json_error(500, "cannot read " + std::string(shown));
  }
  Response r;
  r.set_content(std::move(bytes), "application/octet-stream");
  return r;
}

}  // namespace

Response replica_file_response(const std::string& canonical_root, std::string_view relative) {
  if (std::string problem = path_text_problem(relative); !problem.empty()) {
    return json_error(400, "refused: " + problem);
  }
  const bool wants_dir = relative.empty() || relative.back() == '/';
  std::string rel(relative);
  if (wants_dir && !rel.empty()) rel.pop_back();
  fs::path full = rel.empty() ? fs::path(canonical_root) : fs::path(canonical_root) / rel;
  std::error_code ec;
  fs::path target = fs::canonical(full, ec);
  if (ec) return json_error(404, "not found: /" + rel);
  if (!inside(target, canonical_root)) {
    return json_error(403, "refused: /" + rel + " leads outside the replica directory");
  }
  fs::file_status st = fs::status(target, ec);
  if (ec) return json_error(404, "not found: /" + rel);
  if (fs::is_directory(st)) return listing(canonical_root, target);
  if (wants_dir) return json_error(404, "not a directory: /" + rel);
  if (fs::is_regular_file(st)) return file_bytes(target, "/" + rel);
  return json_error(403, "refused: /" + rel + " is neither a file nor a directory");
}

Status mount_replica_files(HttpServer& server, const std::string& dir) {
  std::error_code ec;
  fs::path root = fs::canonical(dir, ec);
  if (ec || !fs::is_directory(root, ec)) {
    return Status::invalid_argument("--replica-dir " + dir + " is not an existing directory");
  }
  const std::string canonical_root = root.string();
  const std::string prefix(kReplicaRoutePrefix);
  server.get(prefix, [canonical_root](const Request&) {
    return replica_file_response(canonical_root, "");
  });
  server.get(prefix + "/(.*)", [canonical_root](const Request& req) {
    return replica_file_response(canonical_root, req.matches.size() > 1 ? req.matches[1] : "");
  });
  return Status::ok();
}

}  // namespace mcpmem
