// Adopting the Python service's vectors: a file it wrote holds a vector of every memory in its
// sqlite-vec table. When those vectors were made by the model we run, copying them into
// memory_vectors saves embedding every memory again (minutes for a large file on a CPU).
//
// The file does not say which model made them, and a name would prove nothing (the same name
// can mean another revision, pooling or prompt), so we check the vectors themselves: a sample
// spread over the rows is embedded here and compared with the stored vectors. The same model
// computed by torch and by us differs by about 1e-6 per element (cosine 1 - 1e-10; F16 weights
// ~1e-3, cosine > 0.9999); another model's vectors live in an unrelated space (cosine near 0),
// so any bound far from both works, and 0.99 leaves room for tokenizer corner cases without
// letting a different model through. Only when every sample agrees are the vectors copied.
// Anything unexpected in the sqlite-vec tables means no adoption (logged); the index follower
// then embeds those memories as it would have anyway.
#include <spdlog/spdlog.h>

#include <algorithm>
#include <cmath>
#include <optional>
#include <vector>

#include "service/memory_service.h"

namespace mcpmem {
namespace {

constexpr int64_t kSamples = 8;            // memories embedded to verify the model
constexpr double kSameModelCosine = 0.99;  // see above: every sample must reach it
constexpr int64_t kAdoptBatch = 1000;      // vectors copied per write transaction
constexpr double kUnitTolerance = 1e-4;    // norms this close to 1 are kept bit for bit

double cosine(std::span<const float> a, std::span<const float> b) {
  double ab = 0, aa = 0, bb = 0;
  for (size_t i = 0; i < a.size() && i < b.size(); ++i) {
    ab += double(a[i]) * b[i];
    aa += double(a[i]) * a[i];
    bb += double(b[i]) * b[i];
  }
  const double c = (aa > 0 && bb > 0) ? ab / std::sqrt(aa * bb) : 0.0;
  return std::isfinite(c) ? c : 0.0;
}

// The vector as the index expects it (unit length), or nothing for a vector that is no
// direction (zero, NaN, infinite). Vectors already of unit length are kept exactly as stored.
std::optional<std::vector<float>> as_unit(std::span<const float> v) {
  double norm2 = 0;
  for (float x : v) norm2 += double(x) * x;
  if (!std::isfinite(norm2) || norm2 <= 0) return std::nullopt;
  std::vector<float> out(v.begin(), v.end());
  const double norm = std::sqrt(norm2);
  if (std::abs(norm - 1.0) > kUnitTolerance) {
    for (float& x : out) x = static_cast<float>(x / norm);
  }
  return out;
}

}  // namespace

Status MemoryService::adopt_sqlite_vec_vectors() {
  const size_t dim = embedder_->dimension();
  const std::string& model = embedder_->model_id();
  auto pending = db_->count_sqlite_vec_vectors(dim);
  if (!pending.is_ok()) {
    spdlog::info("the Python service's memory_embeddings is not used ({}): re-embedding",
                 pending.status().message());
    return Status::ok();
  }
  if (*pending == 0) return Status::ok();

  // A sample spread over the rows waiting for a vector, checked against our model.
  Database::SqliteVecScan scan;
  scan.dimension = dim;
  scan.limit = kSamples;
  scan.stride = std::max<int64_t>(1, *pending / kSamples);
  std::vector<std::pair<int64_t, std::vector<float>>> samples;
  auto sampled = db_->scan_sqlite_vec_vectors(scan, [&](int64_t id, std::span<const float> v) {
    samples.emplace_back(id, std::vector<float>(v.begin(), v.end()));
    return Status::ok();
  });
  if (!sampled.is_ok()) {
    spdlog::info("the Python service's memory_embeddings is not used ({}): re-embedding",
                 sampled.status().message());
    return Status::ok();
  }
  std::vector<int64_t> ids;
  for (const auto& s : samples) ids.push_back(s.first);
  MCP_ASSIGN_OR_RETURN(auto rows, db_->get_by_ids(ids));
  if (rows.size() != samples.size()) return Status::ok();  // deleted meanwhile: next open
  std::vector<float> ours(dim);
  for (size_t i = 0; i < samples.size(); ++i) {
    Status embedded = embedder_->embed(rows[i].content, ours);
    if (!embedded.is_ok()) {
      spdlog::info("the Python service's vectors could not be checked ({}): re-embedding",
                   embedded.message());
      return Status::ok();
    }
    const double c = cosine(ours, samples[i].second);
    if (c < kSameModelCosine) {
      spdlog::info(
          "the Python service's vectors (memory_embeddings) were made by another model than {} "
          "(cosine {:.2f} on sample {}): re-embedding",
          model, c, rows[i].content_hash);
      return Status::ok();
    }
  }

  // Verified: copy them, a batch per transaction. A row stored or deleted by another process
  // meanwhile is left as it is (put_embeddings_if_absent), so two processes may both run this.
  scan.after_id = 0;
  scan.limit = kAdoptBatch;
  scan.stride = 1;
  int64_t adopted = 0;
  for (;;) {
    std::vector<std::pair<int64_t, std::vector<float>>> batch;
    auto last = db_->scan_sqlite_vec_vectors(scan, [&](int64_t id, std::span<const float> v) {
      if (auto unit = as_unit(v)) batch.emplace_back(id, std::move(*unit));
      return Status::ok();
    });
    if (!last.is_ok()) {
      spdlog::info(
          "adopted {} vectors from the Python service's memory_embeddings, then stopped ({}): "
          "the rest are re-embedded",
          adopted, last.status().message());
      return Status::ok();
    }
    MCP_ASSIGN_OR_RETURN(int64_t stored, db_->put_embeddings_if_absent(batch));
    adopted += stored;
    if (*last == scan.after_id) break;
    scan.after_id = *last;
  }
  spdlog::info(
      "adopted {} vectors from the Python service's memory_embeddings (model {} verified on {} "
      "samples)",
      adopted, model, samples.size());
  return Status::ok();
}

}  // namespace mcpmem
