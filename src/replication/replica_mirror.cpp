// mirror_replica: three levels of listings (the replica's root, generations/, each
// generation's snapshots/ and wal/), then one GET per file the cache lacks. A file is judged by
// name and size alone because Litestream never rewrites one; a torn earlier download cannot
// pass for whole since it only ever existed under a temporary name.
#include "replication/replica_mirror.h"

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <map>
#include <regex>
#include <set>

#include "core/json_parse.h"
#include "platform/durable_file.h"
#include "platform/http_client.h"

namespace mcpmem {
namespace {

namespace fs = std::filesystem;

struct Entry {
  std::string name;
  bool dir = false;
  int64_t size = 0;
  double mtime = 0;
};

struct Wanted {
  int64_t size = 0;
  double mtime = 0;
};

const std::regex& generation_name() {
  static const std::regex re("[0-9a-f]{16}");
  return re;
}
const std::regex& snapshot_name() {
  static const std::regex re("[0-9a-f]{8}\\.snapshot\\.lz4");
  return re;
}
const std::regex& wal_name() {
  static const std::regex re("[0-9a-f]{8}_[0-9a-f]{8}\\.wal\\.lz4");
  return re;
}

std::string strip_trailing_slashes(std::string url) {
  while (!url.empty() && url.back() == '/') url.pop_back();
  return url;
}

class Mirror {
 public:
  Mirror(std::string url, const MirrorOptions& options)
      : url_(strip_trailing_slashes(std::move(url))), options_(options) {}

  HttpRequest request(const std::string& relative, int timeout_ms, int64_t max_bytes) const {
    HttpRequest r;
    r.url = url_ + "/" + relative;
    r.ca_file = options_.ca_file;
    if (!options_.api_key.empty()) {
      r.headers.emplace_back("Authorization", "Bearer " + options_.api_key);
    }
    r.connect_timeout_ms = options_.connect_timeout_ms;
    r.timeout_ms = timeout_ms;
    r.max_response_bytes = max_bytes;
    r.follow_redirects = false;
    r.retries = 2;  // only where repeating is harmless (see HttpRequest::retries)
    return r;
  }

  Status status_error(long status, const std::string& relative, const std::string& body) const {
    const std::string where = url_ + "/" + relative;
    if (status == 401 || status == 403) {
      return Status::failed_precondition(
          "the hub refused " + where + " (HTTP " + std::to_string(status) +
          (status == 401 ? "): give its API key with --api-key-file" : "): " + body));
    }
    if (status == 404) return Status::failed_precondition("no replica at " + where + " (404)");
    return Status::io_error(where + " answered HTTP " + std::to_string(status));
  }

  Status transport_error(const Status& st, const std::string& doing) const {
    if (client_.last_failure() == HttpFailure::kUntrustedCertificate) {
      return Status::io_error("the certificate of " + url_ +
                              " is not trusted: give the hub's cert.pem with --hub-ca (" +
                              st.message() + ")");
    }
    return st.with_context(doing);
  }

  // Entries of the directory `relative` ("" the root, else ending with '/'); NotFound for 404.
  Result<std::vector<Entry>> list(const std::string& relative) {
    auto reply =
        client_.send(request(relative, options_.listing_timeout_ms, kMaxMirrorListingBytes));
    if (!reply.is_ok()) return transport_error(reply.status(), "listing the replica");
    if (reply->status == 404) return Status::not_found(url_ + "/" + relative);
    if (reply->status != 200) return status_error(reply->status, relative, reply->body);
    MCP_ASSIGN_OR_RETURN(auto json, parse_json(reply->body, "the listing of " + url_));
    const auto* entries = json.is_object() && json.contains("entries") ? &json["entries"] : nullptr;
    if (entries == nullptr || !entries->is_array()) {
      return Status::io_error(url_ + "/" + relative + " is not a replica listing");
    }
    if (entries->size() > kMaxMirrorListingEntries) {
      return Status::io_error(url_ + "/" + relative + " lists more than " +
                              std::to_string(kMaxMirrorListingEntries) + " entries");
    }
    std::vector<Entry> out;
    for (const auto& e : *entries) {
      if (!e.is_object()) continue;
      auto name = e.find("name");
      auto type = e.find("type");
      auto size = e.find("size");
      if (name == e.end() || !name->is_string() || type == e.end() || !type->is_string() ||
          size == e.end() || !size->is_number_integer()) {
        continue;
      }
      Entry entry{name->get<std::string>(), type->get<std::string>() == "dir", size->get<int64_t>(),
                  0};
      if (auto m = e.find("mtime"); m != e.end() && m->is_number()) entry.mtime = m->get<double>();
      out.push_back(std::move(entry));
    }
    return out;
  }

  // Every replica file the hub lists, by relative path.
  Result<std::map<std::string, Wanted>> wanted_files() {
    std::map<std::string, Wanted> out;
    auto generations = list("generations/");
    if (!generations.is_ok() && generations.status().code() == StatusCode::kNotFound) {
      // The root exists but Litestream has not synced yet: an empty replica.
      auto root = list("");
      if (!root.is_ok()) {
        if (root.status().code() == StatusCode::kNotFound) {
          return Status::failed_precondition("no replica at " + url_ + " (404)");
        }
        return root.status();
      }
      return out;
    }
    if (!generations.is_ok()) return generations.status();
    size_t kept_generations = 0;
    for (const Entry& g : *generations) {
      if (!g.dir || !std::regex_match(g.name, generation_name())) continue;
      if (++kept_generations > kMaxMirrorGenerations) {
        return Status::io_error(url_ + " lists more than " + std::to_string(kMaxMirrorGenerations) +
                                " generations");
      }
      for (const auto& [sub, shape] :
           {std::pair{"snapshots", &snapshot_name()}, std::pair{"wal", &wal_name()}}) {
        const std::string dir = "generations/" + g.name + "/" + sub + "/";
        auto files = list(dir);
        if (!files.is_ok() && files.status().code() == StatusCode::kNotFound) continue;
        if (!files.is_ok()) return files.status();
        for (const Entry& f : *files) {
          if (f.dir || !std::regex_match(f.name, *shape)) continue;
          if (f.size < 0 || f.size > kMaxMirrorFileBytes) {
            return Status::io_error(url_ + "/" + dir + f.name + " is " + std::to_string(f.size) +
                                    " bytes, over the " +
                                    std::to_string(kMaxMirrorFileBytes >> 20) + " MiB bound");
          }
          out[dir + f.name] = Wanted{f.size, f.mtime};
        }
      }
    }
    return out;
  }

  // Fetches one file into the cache: a temporary name, checked against its listed size, then
  // renamed into place with its listed time (the follower's lag is measured from it).
  Status fetch(const std::string& relative, const Wanted& wanted, const fs::path& local) {
    std::error_code ec;
    fs::create_directories(local.parent_path(), ec);
    if (ec)
      return Status::io_error("cannot create " + local.parent_path().string() + ": " +
                              ec.message());
    const std::string temporary = temporary_path_beside(local.string());
    Status st = download(relative, wanted, temporary);
    if (st.is_ok()) st = replace_file(temporary, local.string());
    if (!st.is_ok()) {
      fs::remove(temporary, ec);
      return st;
    }
    if (wanted.mtime > 0) {
      auto sys = std::chrono::system_clock::time_point(
          std::chrono::duration_cast<std::chrono::system_clock::duration>(
              std::chrono::duration<double>(wanted.mtime)));
      fs::last_write_time(local, std::chrono::file_clock::from_sys(sys), ec);
    }
    return Status::ok();
  }

 private:
  Status download(const std::string& relative, const Wanted& wanted, const std::string& temporary) {
    std::ofstream out(temporary, std::ios::binary | std::ios::trunc);
    if (!out) return Status::io_error("cannot write " + temporary);
    int64_t written = 0;
    auto reply = client_.send(request(relative, options_.file_timeout_ms, wanted.size),
                              [&](long status, const char* data, size_t size) {
                                if (status != 200)
                                  return true;  // an error body; the status is read below
                                out.write(data, static_cast<std::streamsize>(size));
                                written += static_cast<int64_t>(size);
                                return static_cast<bool>(out);
                              });
    out.close();
    if (!reply.is_ok()) return transport_error(reply.status(), "fetching a replica file");
    if (reply->status != 200) return status_error(reply->status, relative, "");
    if (!out) return Status::io_error("cannot write " + temporary);
    if (written != wanted.size) {
      return Status::io_error(url_ + "/" + relative + " sent " + std::to_string(written) +
                              " bytes where its listing said " + std::to_string(wanted.size));
    }
    return Status::ok();
  }

  const std::string url_;
  const MirrorOptions& options_;
  HttpClient client_;  // one connection (and TLS handshake) for the whole mirror
};

bool same_size(const fs::path& p, int64_t size) {
  std::error_code ec;
  if (!fs::is_regular_file(p, ec)) return false;
  auto actual = fs::file_size(p, ec);
  return !ec && static_cast<int64_t>(actual) == size;
}

// Removes what the cache holds under generations/ that the hub no longer lists (Litestream's
// retention, or a temporary file a killed mirror left).
int64_t remove_unlisted(const fs::path& cache, const std::map<std::string, Wanted>& wanted) {
  std::set<std::string> generations;
  for (const auto& [rel, w] : wanted) generations.insert(rel.substr(0, rel.find('/', 12)));
  int64_t removed = 0;
  std::error_code ec;
  const fs::path root = cache / "generations";
  if (!fs::is_directory(root, ec)) return 0;
  std::vector<fs::path> doomed;
  for (fs::recursive_directory_iterator it(root, ec), end; !ec && it != end; it.increment(ec)) {
    const std::string rel = fs::relative(it->path(), cache, ec).generic_string();
    if (ec) break;
    const bool is_dir = it->is_directory(ec) && !it->is_symlink(ec);
    if (is_dir) {
      // generations/<g> and generations/<g>/{snapshots,wal} stay while <g> is listed.
      const size_t depth = std::count(rel.begin(), rel.end(), '/');
      const std::string generation = rel.substr(0, rel.find('/', 12));
      if (!generations.count(generation)) {
        doomed.push_back(it->path());
        it.disable_recursion_pending();
      } else if (depth == 2 && it->path().filename() != "snapshots" &&
                 it->path().filename() != "wal") {
        doomed.push_back(it->path());
        it.disable_recursion_pending();
      }
    } else if (!wanted.count(rel)) {
      doomed.push_back(it->path());
    }
  }
  for (const fs::path& p : doomed) removed += static_cast<int64_t>(fs::remove_all(p, ec));
  return removed;
}

}  // namespace

bool is_remote_replica(const std::string& source) {
  return source.rfind("https://", 0) == 0 || source.rfind("http://", 0) == 0;
}

Result<MirrorResult> mirror_replica(const std::string& https_url, const std::string& cache_dir,
                                    const MirrorOptions& options) {
  if (!is_remote_replica(https_url)) {
    return Status::invalid_argument("a replica URL starts with https:// (got " + https_url + ")");
  }
  Mirror mirror(https_url, options);
  // Listed before anything is created: a refused key or certificate writes nothing.
  MCP_ASSIGN_OR_RETURN(auto wanted, mirror.wanted_files());
  std::error_code ec;
  fs::create_directories(cache_dir, ec);
  if (ec) return Status::io_error("cannot create the mirror " + cache_dir + ": " + ec.message());
  MirrorResult result;
  result.local_dir = fs::absolute(cache_dir).lexically_normal().string();
  while (!result.local_dir.empty() && result.local_dir.back() == '/') result.local_dir.pop_back();
  const fs::path cache(result.local_dir);
  for (const auto& [relative, w] : wanted) {
    const fs::path local = cache / relative;
    if (same_size(local, w.size)) {
      ++result.files_kept;
      continue;
    }
    MCP_RETURN_IF_ERROR(mirror.fetch(relative, w, local));
    ++result.files_fetched;
    result.bytes_fetched += w.size;
    result.fetched.push_back(relative);
  }
  result.files_removed = remove_unlisted(cache, wanted);
  return result;
}

}  // namespace mcpmem
