// Sentence-embedding models on disk: names resolved to directories under
// <base_dir>/models/<owner>/<repo>/ in the layout Hugging Face serves them, and `model pull`,
// which downloads one from a Hugging Face-compatible endpoint. Nothing is ever downloaded
// implicitly: a model that is not there is an error naming the pull command.
//
// A pull reads the repository's file list from {endpoint}/api/models/{repo} (sizes and, for
// large files, sha256) when the endpoint answers it, else asks for the known files one by one
// (optional ones may 404). Each file goes to <name>.partial, resumes from where a cut connection
// left it (Range), is checked against the listed size and sha256, and is renamed into place,
// so a directory holds complete files or none.
#pragma once

#include <cstdint>
#include <filesystem>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "core/status.h"

namespace mcpmem {

// "all-MiniLM-L6-v2" -> "sentence-transformers/all-MiniLM-L6-v2"; an "owner/repo" stays as it
// is. InvalidArgument for anything else (with the known short names).
Result<std::string> model_repo(const std::string& name);
// <models_dir>/<owner>/<repo>.
std::filesystem::path model_dir(const std::filesystem::path& models_dir, const std::string& repo);

struct PullOptions {
  std::string endpoint = "https://huggingface.co";  // HF_ENDPOINT
  std::string revision = "main";
  std::string token;    // HF_TOKEN: for gated or private repositories
  std::string ca_file;  // PEM to trust for the endpoint (tests; a private mirror)
  // file, bytes so far, bytes in all (0: unknown); called as bytes arrive.
  std::function<void(const std::string&, int64_t, int64_t)> progress;
};

struct PulledFile {
  std::string path;  // inside the repository: "1_Pooling/config.json"
  int64_t bytes = 0;
  bool verified = false;  // its sha256 was listed and matched
};

// Downloads `repo` into `dir` (made 0700). Returns the files written.
Result<std::vector<PulledFile>> pull_model(const std::string& repo,
                                           const std::filesystem::path& dir,
                                           const PullOptions& options);

struct InstalledModel {
  std::string repo;  // "sentence-transformers/all-MiniLM-L6-v2"
  std::filesystem::path dir;
  int64_t bytes = 0;
  bool complete = false;  // config.json, weights and a vocabulary are all there
};
// The models under `models_dir`, by name.
std::vector<InstalledModel> installed_models(const std::filesystem::path& models_dir);

// The model `model use` made the default (a make_embedder name, kept in <models_dir>/default),
// if any. Databases whose vectors already come from another model keep using theirs until
// `mcp-memory reindex` re-embeds them.
Result<std::optional<std::string>> default_model(const std::filesystem::path& models_dir);
Status set_default_model(const std::filesystem::path& models_dir, const std::string& model);

}  // namespace mcpmem
