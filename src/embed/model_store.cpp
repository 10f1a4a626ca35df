// Models on disk and `model pull`: see model_store.h.
#include "embed/model_store.h"

#include <openssl/evp.h>

#include <array>
#include <cctype>
#include <chrono>
#include <fstream>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <thread>

#include "core/json_parse.h"
#include "platform/file_modes.h"
#include "platform/http_client.h"
#include "platform/url.h"

namespace mcpmem {
namespace {

namespace fs = std::filesystem;
using Json = nlohmann::json;

constexpr std::array<std::pair<const char*, const char*>, 4> kShortNames = {{
    {"all-MiniLM-L6-v2", "sentence-transformers/all-MiniLM-L6-v2"},
    {"bge-small-en-v1.5", "BAAI/bge-small-en-v1.5"},
    {"e5-small-v2", "intfloat/e5-small-v2"},
    {"gte-small", "thenlper/gte-small"},
}};

// What a sentence-transformers BERT needs, in the Hugging Face layout.
struct KnownFile {
  const char* path;
  bool required;
};
constexpr KnownFile kKnownFiles[] = {
    {"config.json", true},
    {"model.safetensors", true},
    {"vocab.txt", false},
    {"tokenizer.json", false},
    {"tokenizer_config.json", false},
    {"special_tokens_map.json", false},
    {"modules.json", false},
    {"sentence_bert_config.json", false},
    {"config_sentence_transformers.json", false},
    {"1_Pooling/config.json", false},
};
constexpr int kAttempts = 4;  // per file: the first and three resumes

struct Listed {
  int64_t size = -1;   // -1: unknown
  std::string sha256;  // empty: unknown (small files are in git, not LFS)
};

std::string hex(const unsigned char* p, size_t n) {
  static const char* digits = "0123456789abcdef";
  std::string out;
  for (size_t i = 0; i < n; ++i) {
    out += digits[p[i] >> 4];
    out += digits[p[i] & 15];
  }
  return out;
}

Result<std::string> file_sha256(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return Status::io_error("cannot read " + path.string());
  std::unique_ptr<EVP_MD_CTX, decltype(&EVP_MD_CTX_free)> ctx(EVP_MD_CTX_new(), EVP_MD_CTX_free);
  EVP_DigestInit_ex(ctx.get(), EVP_sha256(), nullptr);
  std::vector<char> buf(1 << 20);
  while (in) {
    in.read(buf.data(), static_cast<std::streamsize>(buf.size()));
    EVP_DigestUpdate(ctx.get(), buf.data(), static_cast<size_t>(in.gcount()));
  }
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  EVP_DigestFinal_ex(ctx.get(), digest, &len);
  return hex(digest, len);
}

HttpRequest get(const std::string& url, const PullOptions& o) {
  HttpRequest r;
  r.url = url;
  r.ca_file = o.ca_file;
  if (!o.token.empty()) r.headers.emplace_back("Authorization", "Bearer " + o.token);
  return r;
}

// The repository's files with sizes and LFS hashes, or nullopt when the endpoint has no
// listing (a plain mirror of the file layout).
Result<std::optional<std::map<std::string, Listed>>> list_files(const std::string& repo,
                                                                const PullOptions& o,
                                                                HttpClient& client) {
  std::string url = trim_trailing_slashes(o.endpoint) + "/api/models/" + repo;
  if (o.revision != "main") url += "/revision/" + o.revision;
  HttpRequest r = get(url + "?blobs=true", o);
  r.timeout_ms = 30'000;
  MCP_ASSIGN_OR_RETURN(auto reply, client.send(r));
  if (reply.status == 401 || reply.status == 403) {
    return Status::failed_precondition(repo + " needs an access token (HF_TOKEN): HTTP " +
                                       std::to_string(reply.status));
  }
  auto parsed = parse_json(reply.body, "the model listing of " + repo);
  if (reply.status == 200 && is_json_too_deep(parsed.status())) {
    return Status::io_error(parsed.status().message());
  }
  const Json j = parsed.is_ok() ? std::move(*parsed) : Json();
  if (reply.status != 200 || !j.is_object() || !j.contains("siblings") ||
      !j["siblings"].is_array()) {
    return std::optional<std::map<std::string, Listed>>();
  }
  std::map<std::string, Listed> out;
  for (const Json& s : j["siblings"]) {
    if (!s.is_object() || !s.contains("rfilename") || !s["rfilename"].is_string()) continue;
    Listed l;
    if (s.contains("size") && s["size"].is_number_integer()) l.size = s["size"];
    if (s.contains("lfs") && s["lfs"].is_object()) {
      const Json& lfs = s["lfs"];
      if (lfs.contains("sha256") && lfs["sha256"].is_string()) l.sha256 = lfs["sha256"];
      if (lfs.contains("size") && lfs["size"].is_number_integer()) l.size = lfs["size"];
    }
    out[s["rfilename"].get<std::string>()] = l;
  }
  return std::optional(std::move(out));
}

int64_t size_of(const fs::path& p) {
  std::error_code ec;
  const auto n = fs::file_size(p, ec);
  return ec ? -1 : static_cast<int64_t>(n);
}

// One file into dir/path: resumed from its .partial, checked, renamed into place. NotFound
// when the endpoint has no such file.
Status fetch(const std::string& repo, const std::string& path, const Listed& listed,
             const fs::path& dir, const PullOptions& o, HttpClient& client) {
  const fs::path target = dir / path;
  const fs::path partial = target.string() + ".partial";
  fs::create_directories(target.parent_path());
  const std::string url =
      trim_trailing_slashes(o.endpoint) + "/" + repo + "/resolve/" + o.revision + "/" + path;
  Status last;
  for (int attempt = 0; attempt < kAttempts; ++attempt) {
    if (attempt > 0) std::this_thread::sleep_for(std::chrono::milliseconds(200 << attempt));
    const int64_t have = std::max<int64_t>(0, size_of(partial));
    if (listed.size >= 0 && have > listed.size) fs::remove(partial);  // not this file: start over
    HttpRequest r = get(url, o);
    r.timeout_ms = 0;  // large files take their time; a stalled one fails (low speed)
    r.max_response_bytes = listed.size >= 0 ? listed.size + 1 : 16ll << 30;
    const int64_t from = size_of(partial) > 0 ? size_of(partial) : 0;
    if (from > 0) r.headers.emplace_back("Range", "bytes=" + std::to_string(from) + "-");
    std::ofstream out;
    int64_t received = from;
    auto sink = [&](long status, const char* data, size_t n) -> bool {
      if (status != 200 && status != 206) return true;  // an error page: read, not kept
      if (!out.is_open()) {
        // 200: the whole file (the server ignored the Range); 206: the rest of it.
        out.open(partial, std::ios::binary | (status == 206 ? std::ios::app : std::ios::trunc));
        tighten_to_owner(partial.string());
        if (status == 200) received = 0;
      }
      out.write(data, static_cast<std::streamsize>(n));
      received += static_cast<int64_t>(n);
      if (o.progress) o.progress(path, received, listed.size);
      return static_cast<bool>(out);
    };
    auto reply = client.send(r, sink);
    out.close();
    if (!reply.is_ok()) {
      last = reply.status();  // cut, timed out, too large: resume from what arrived
      continue;
    }
    if (reply->status == 404) return Status::not_found(repo + " has no " + path);
    if (reply->status == 401 || reply->status == 403) {
      return Status::failed_precondition(repo + "/" + path + " needs an access token (HF_TOKEN)");
    }
    if (reply->status == 416 && listed.size >= 0 && size_of(partial) == listed.size) {
      // Already complete: checked below.
    } else if (reply->status != 200 && reply->status != 206) {
      last = Status::io_error(url + ": HTTP " + std::to_string(reply->status));
      if (reply->status >= 500 || reply->status == 429) continue;
      return last;
    }
    const int64_t got = size_of(partial);
    if (listed.size >= 0 && got != listed.size) {
      last = Status::io_error(url + ": " + std::to_string(got) + " of " +
                              std::to_string(listed.size) + " bytes arrived");
      continue;
    }
    if (!listed.sha256.empty()) {
      MCP_ASSIGN_OR_RETURN(auto sha, file_sha256(partial));
      if (sha != listed.sha256) {
        fs::remove(partial);
        return Status::corruption(repo + "/" + path + " arrived damaged: its sha256 is " + sha +
                                  ", the listing says " + listed.sha256 + " (removed; pull again)");
      }
    }
    fs::rename(partial, target);
    return Status::ok();
  }
  return Status::io_error("downloading " + repo + "/" + path + " failed " +
                          std::to_string(kAttempts) +
                          " times; run the pull again to resume: " + last.message());
}

}  // namespace

Result<std::string> model_repo(const std::string& name) {
  for (const auto& [short_name, repo] : kShortNames) {
    if (name == short_name) return std::string(repo);
  }
  const size_t slash = name.find('/');
  auto ok_part = [](std::string_view s) {
    return !s.empty() && s != "." && s != ".." &&
           s.find_first_not_of(
               "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_.") ==
               std::string_view::npos;
  };
  if (slash != std::string::npos && name.find('/', slash + 1) == std::string::npos &&
      ok_part(std::string_view(name).substr(0, slash)) &&
      ok_part(std::string_view(name).substr(slash + 1))) {
    return name;
  }
  std::string known;
  for (const auto& [short_name, repo] : kShortNames)
    known += std::string(known.empty() ? "" : ", ") + short_name;
  return Status::invalid_argument("unknown model '" + name + "': give one of " + known +
                                  ", or a Hugging Face repository as owner/name");
}

fs::path model_dir(const fs::path& models_dir, const std::string& repo) {
  return models_dir / repo;
}

Result<std::vector<PulledFile>> pull_model(const std::string& repo, const fs::path& dir,
                                           const PullOptions& options) {
  HttpClient client;  // one connection to the endpoint for the listing and every file
  MCP_ASSIGN_OR_RETURN(auto listing, list_files(repo, options, client));
  if (listing && !listing->contains("model.safetensors")) {
    return Status::failed_precondition(
        repo + " has no model.safetensors (only PyTorch .bin weights? those are not supported)");
  }
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (ec) return Status::io_error("cannot create " + dir.string() + ": " + ec.message());
  fs::permissions(dir, fs::perms::owner_all, fs::perm_options::replace, ec);
  std::vector<PulledFile> out;
  for (const KnownFile& f : kKnownFiles) {
    Listed listed;
    if (listing) {
      auto it = listing->find(f.path);
      if (it == listing->end()) continue;  // the repository has no such file
      listed = it->second;
    }
    const fs::path target = dir / f.path;
    if (size_of(target) >= 0 && (listed.size < 0 || size_of(target) == listed.size)) {
      out.push_back({f.path, size_of(target), false});  // pulled before
      continue;
    }
    Status st = fetch(repo, f.path, listed, dir, options, client);
    if (st.code() == StatusCode::kNotFound && !f.required) continue;
    if (!st.is_ok()) return st;
    out.push_back({f.path, size_of(target), !listed.sha256.empty()});
  }
  if (!fs::exists(dir / "vocab.txt") && !fs::exists(dir / "tokenizer.json")) {
    return Status::failed_precondition(repo + " has neither vocab.txt nor tokenizer.json");
  }
  return out;
}

std::vector<InstalledModel> installed_models(const fs::path& models_dir) {
  std::vector<InstalledModel> out;
  std::error_code ec;
  for (const auto& owner : fs::directory_iterator(models_dir, ec)) {
    if (!owner.is_directory()) continue;
    for (const auto& repo : fs::directory_iterator(owner.path(), ec)) {
      if (!repo.is_directory()) continue;
      InstalledModel m;
      m.repo = owner.path().filename().string() + "/" + repo.path().filename().string();
      m.dir = repo.path();
      for (const auto& f : fs::recursive_directory_iterator(repo.path(), ec)) {
        if (f.is_regular_file()) m.bytes += static_cast<int64_t>(f.file_size(ec));
      }
      m.complete = fs::exists(m.dir / "config.json") && fs::exists(m.dir / "model.safetensors") &&
                   (fs::exists(m.dir / "vocab.txt") || fs::exists(m.dir / "tokenizer.json"));
      out.push_back(std::move(m));
    }
  }
  std::sort(out.begin(), out.end(),
            [](const InstalledModel& a, const InstalledModel& b) { return a.repo < b.repo; });
  return out;
}

Result<std::optional<std::string>> default_model(const fs::path& models_dir) {
  std::ifstream in(models_dir / "default");
  if (!in) return std::optional<std::string>();
  std::string line;
  std::getline(in, line);
  while (!line.empty() && std::isspace(static_cast<unsigned char>(line.back()))) line.pop_back();
  if (line.empty()) return std::optional<std::string>();
  return std::optional<std::string>(line);
}

Status set_default_model(const fs::path& models_dir, const std::string& model) {
  MCP_RETURN_IF_ERROR(create_private_directories(models_dir.string()));
  const fs::path path = models_dir / "default";
  const fs::path tmp = models_dir / "default.partial";
  {
    std::ofstream out(tmp, std::ios::trunc);
    out << model << "\n";
    if (!out.flush()) return Status::io_error("cannot write " + tmp.string());
  }
  std::error_code ec;
  fs::rename(tmp, path, ec);
  if (ec) return Status::io_error("cannot write " + path.string() + ": " + ec.message());
  return Status::ok();
}

}  // namespace mcpmem
