// Re-embedding every memory of a database with another model (`mcp-memory reindex`).
//
// The new vectors go to a shadow table (Database::start_reindex) in batches, each its own
// transaction, while the old vectors keep answering searches of the processes still running
// the old model; the last batch and the swap share one transaction. Killed half-way, it
// resumes where it stopped. Processes still on the old model refuse to write afterwards and
// ask to be restarted (Database::guard_vector_model); started again, they pick up the new
// model from the database (choose_model).
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>

#include "core/config.h"
#include "core/status.h"

namespace mcpmem {

struct ReindexOptions {
  // The model to re-embed with (a make_embedder name). Empty: MCP_MEMORY_EMBEDDING_MODEL, else
  // the `model use` default.
  std::string model;
  bool force = false;  // re-embed even when the vectors are that model's already
  int batch = 64;      // memories per embedding batch and transaction
  // done, total: after every batch.
  std::function<void(int64_t, int64_t)> progress;
};

struct ReindexReport {
  std::string from_model;  // the vectors' model before (empty: none recorded)
  std::string to_model;
  int64_t total = 0;     // alive memories
  int64_t embedded = 0;  // embedded by this run
  int64_t resumed = 0;   // had a new vector from an earlier, interrupted run
  double seconds = 0;
  bool already = false;  // the vectors were the target's already: nothing was done
};

Result<ReindexReport> reindex(const Config& config, const ReindexOptions& options);

// What the vectors of the configured database are made with.
struct VectorModelStatus {
  std::string model;  // empty: none recorded yet
  size_t dimension = 0;
  int64_t vectors = 0;       // alive memories with a vector
  std::string reindex_to;    // a reindex in progress: its target, else empty
  int64_t reindex_done = 0;  // of reindex_total
  int64_t reindex_total = 0;
};
Result<VectorModelStatus> vector_model_status(const Config& config);

}  // namespace mcpmem
