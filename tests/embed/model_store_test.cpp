// `model pull` against a fake Hugging Face endpoint on loopback (our HttpServer in the hub's
// URL layout: /api/models/{repo} and /{repo}/resolve/{revision}/{path}, answering Range
// itself): a cut connection resumes; a file whose bytes do not match the listed sha256 is
// rejected and removed; without a listing the known files are asked for one by one; names
// resolve. A cut is a streamed body aborted half-way (ResponseStream::abort: no final chunk).
#include "embed/model_store.h"

#include <gtest/gtest.h>

#include <atomic>
#include <filesystem>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <random>
#include <thread>

#include "../loopback_server.h"
#include "../temp_dir.h"
#include "core/content_hash.h"
#include "http/http_server.h"

namespace mcpmem {
namespace {

namespace fs = std::filesystem;
using Json = nlohmann::json;

class FakeHub {
 public:
  std::map<std::string, std::string> files;  // path in the repository -> bytes
  bool listing = true;
  std::string corrupt;           // this file is served with one byte changed
  std::atomic<int> cut_once{0};  // cut the next N downloads of model.safetensors half-way
  std::atomic<int> ranged{0};    // requests that asked for a Range
  std::string revision_seen;

  FakeHub()
      : server_([this](HttpServer& s) {
          s.get("/api/models/acme/tiny", [this](const Request&) { return list(); });
          s.get(R"(/acme/tiny/resolve/([^/]+)/(.+))",
                [this](const Request& q) { return resolve(q); });
        }) {}
  std::string url() const { return server_.url(); }

 private:
  Response list() {
    Response r;
    if (!listing) {
      r.status = 404;
      return r;
    }
    Json siblings = Json::array();
    for (const auto& [path, bytes] : files) {
      Json s = {{"rfilename", path}};
      if (path == "model.safetensors") {
        s["lfs"] = {{"sha256", sha256_hex(bytes)}, {"size", bytes.size()}};
      } else {
        s["size"] = bytes.size();
      }
      siblings.push_back(s);
    }
    r.set_content(Json{{"id", "acme/tiny"}, {"siblings", siblings}}.dump(), "application/json");
    return r;
  }

  // The file, or the part a "Range: bytes=N-" asks for (206); the only form model pull sends.
  Response resolve(const Request& q) {
    revision_seen = q.matches[1];
    const std::string path = q.matches[2];
    Response r;
    auto it = files.find(path);
    if (it == files.end()) {
      r.status = 404;
      return r;
    }
    std::string body = it->second;
    if (path == corrupt) body[body.size() / 2] ^= 1;
    size_t from = 0;
    if (const std::string range = q.header("Range"); !range.empty()) {
      ++ranged;
      EXPECT_EQ(range.rfind("bytes=", 0), 0u) << range;
      from = std::stoul(range.substr(6));
      if (from >= body.size()) {
        r.status = 416;
        r.set_header("Content-Range", "bytes */" + std::to_string(body.size()));
        return r;
      }
      r.status = 206;
      r.set_header("Content-Range", "bytes " + std::to_string(from) + "-" +
                                        std::to_string(body.size() - 1) + "/" +
                                        std::to_string(body.size()));
    }
    std::string part = body.substr(from);
    const bool cut = path == "model.safetensors" && cut_once > 0 && cut_once-- > 0;
    if (!cut) {
      r.set_content(std::move(part), "application/octet-stream");
      return r;
    }
    // Half of it in chunks, then the connection goes down without the body's end.
    r.set_header("Content-Type", "application/octet-stream");
    r.stream = [half = part.substr(0, part.size() / 2)](std::shared_ptr<ResponseStream> out) {
      for (size_t at = 0; at < half.size(); at += 16384) out->write(half.substr(at, 16384));
      out->abort();
    };
    return r;
  }

  LoopbackServer server_;  // last: it stops before the state its handlers read goes
};

std::string random_bytes(size_t n) {
  std::mt19937 rng(7);
  std::string s(n, '\0');
  for (char& c : s) c = static_cast<char>(rng());
  return s;
}

std::string read(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), {}};
}

class ModelStoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    hub_.files = {{"config.json", R"({"hidden_size": 4})"},
                  {"vocab.txt", "[PAD]\n[UNK]\n[CLS]\n[SEP]\nhello\n"},
                  {"1_Pooling/config.json", R"({"pooling_mode_mean_tokens": true})"},
                  {"README.md", "not needed"},
                  {"model.safetensors", random_bytes(600'000)}};
    options_.endpoint = hub_.url();
  }

  fs::path target() const { return fs::path(dir_.path()) / "acme" / "tiny"; }

  FakeHub hub_;
  PullOptions options_;
  TempDir dir_{"models"};
};

TEST_F(ModelStoreTest, PullsTheListedFilesChecksThemAndResumesACutConnection) {
  hub_.cut_once = 1;
  std::map<std::string, int64_t> progress;
  options_.progress = [&](const std::string& f, int64_t got, int64_t) { progress[f] = got; };
  auto pulled = pull_model("acme/tiny", target(), options_);
  ASSERT_TRUE(pulled.is_ok()) << pulled.status().message();
  EXPECT_EQ(pulled->size(), 4u);  // not the README
  for (const char* f : {"config.json", "vocab.txt", "1_Pooling/config.json", "model.safetensors"}) {
    EXPECT_EQ(read(target() / f), hub_.files[f]) << f;
    EXPECT_FALSE(fs::exists(target() / (std::string(f) + ".partial"))) << f;
  }
  EXPECT_FALSE(fs::exists(target() / "README.md"));
  EXPECT_GE(hub_.ranged.load(), 1);  // the cut download went on from where it stopped
  EXPECT_EQ(progress["model.safetensors"], 600'000);
  EXPECT_EQ(fs::status(target()).permissions() & fs::perms::all, fs::perms::owner_all);
  bool verified = false;
  for (const PulledFile& f : *pulled) verified |= f.path == "model.safetensors" && f.verified;
  EXPECT_TRUE(verified);

  // Pulled again: nothing to download.
  const int ranged = hub_.ranged;
  hub_.corrupt = "model.safetensors";  // would be refused if it were fetched again
  ASSERT_TRUE(pull_model("acme/tiny", target(), options_).is_ok());
  EXPECT_EQ(hub_.ranged.load(), ranged);

  auto models = installed_models(dir_.path());
  ASSERT_EQ(models.size(), 1u);
  EXPECT_EQ(models[0].repo, "acme/tiny");
  EXPECT_TRUE(models[0].complete);
}

TEST_F(ModelStoreTest, AFileThatDoesNotMatchItsSha256IsRejectedAndRemoved) {
  hub_.corrupt = "model.safetensors";
  auto pulled = pull_model("acme/tiny", target(), options_);
  ASSERT_FALSE(pulled.is_ok());
  EXPECT_EQ(pulled.status().code(), StatusCode::kCorruption);
  EXPECT_NE(pulled.status().message().find("sha256"), std::string::npos);
  EXPECT_FALSE(fs::exists(target() / "model.safetensors"));
  EXPECT_FALSE(fs::exists(target() / "model.safetensors.partial"));
  hub_.corrupt.clear();
  ASSERT_TRUE(pull_model("acme/tiny", target(), options_).is_ok());
  EXPECT_EQ(read(target() / "model.safetensors"), hub_.files["model.safetensors"]);
}

TEST_F(ModelStoreTest, WithoutAListingTheKnownFilesAreAskedForOneByOne) {
  hub_.listing = false;
  hub_.cut_once = 1;
  options_.revision = "v1.0";
  auto pulled = pull_model("acme/tiny", target(), options_);
  ASSERT_TRUE(pulled.is_ok()) << pulled.status().message();
  EXPECT_EQ(hub_.revision_seen, "v1.0");
  EXPECT_EQ(read(target() / "model.safetensors"), hub_.files["model.safetensors"]);
  EXPECT_FALSE(fs::exists(target() / "tokenizer.json"));  // 404: optional

  // A repository without weights is named as such.
  fs::remove_all(target());
  hub_.files.erase("model.safetensors");
  auto none = pull_model("acme/tiny", target(), options_);
  ASSERT_FALSE(none.is_ok());
  EXPECT_NE(none.status().message().find("model.safetensors"), std::string::npos);
  hub_.listing = true;
  none = pull_model("acme/tiny", target(), options_);
  ASSERT_FALSE(none.is_ok());
  EXPECT_NE(none.status().message().find("no model.safetensors"), std::string::npos);
}

TEST(ModelNamesTest, ShortNamesAndRepositoriesResolveAndOthersAreRefused) {
  EXPECT_EQ(*model_repo("all-MiniLM-L6-v2"), "sentence-transformers/all-MiniLM-L6-v2");
  EXPECT_EQ(*model_repo("bge-small-en-v1.5"), "BAAI/bge-small-en-v1.5");
  EXPECT_EQ(*model_repo("owner/some.repo_1"), "owner/some.repo_1");
  for (const char* bad : {"nope", "a/b/c", "../x", "a/..", "/x", "a b/c", ""}) {
    auto r = model_repo(bad);
    EXPECT_FALSE(r.is_ok()) << bad;
  }
  EXPECT_NE(model_repo("nope").status().message().find("all-MiniLM-L6-v2"), std::string::npos);
}

}  // namespace
}  // namespace mcpmem
