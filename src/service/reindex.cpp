#include "service/reindex.h"

#include <spdlog/spdlog.h>

#include <chrono>
#include <string_view>
#include <vector>

#include "embed/embedder.h"
#include "embed/model_store.h"
#include "service/memory_service.h"
#include "storage/database.h"

namespace mcpmem {
namespace {

// Embeds `rows` and stores their new vectors (in the caller's transaction, if any).
Status embed_rows(Database& db, const Embedder& embedder, const std::vector<Memory>& rows) {
  const size_t dim = embedder.dimension();
  std::vector<std::string_view> texts;
  texts.reserve(rows.size());
  for (const Memory& m : rows) texts.emplace_back(m.content);
  std::vector<float> flat(rows.size() * dim);
  MCP_RETURN_IF_ERROR(embedder.embed_batch(texts, flat));
  std::vector<std::pair<int64_t, std::vector<float>>> vectors;
  vectors.reserve(rows.size());
  for (size_t i = 0; i < rows.size(); ++i) {
    vectors.emplace_back(rows[i].id,
                         std::vector<float>(flat.begin() + static_cast<ptrdiff_t>(i * dim),
                                            flat.begin() + static_cast<ptrdiff_t>((i + 1) * dim)));
  }
  return db.put_reindexed(vectors);
}

}  // namespace

Result<VectorModelStatus> vector_model_status(const Config& config) {
  MCP_ASSIGN_OR_RETURN(auto db, open_database(config));
  VectorModelStatus out;
  MCP_ASSIGN_OR_RETURN(auto model, db->get_meta(Database::kModelKey));
  MCP_ASSIGN_OR_RETURN(auto dim, db->get_meta(Database::kDimensionKey));
  out.model = model.value_or("");
  out.dimension = dim ? std::strtoull(dim->c_str(), nullptr, 10) : 0;
  MCP_ASSIGN_OR_RETURN(out.vectors, db->count_vectors());
  MCP_ASSIGN_OR_RETURN(auto state, db->reindex_state());
  if (state.has_value()) {
    out.reindex_to = state->model;
    out.reindex_done = state->done;
    out.reindex_total = state->total;
  }
  return out;
}

Result<ReindexReport> reindex(const Config& config, const ReindexOptions& options) {
  const auto started = std::chrono::steady_clock::now();
  MCP_ASSIGN_OR_RETURN(auto db, open_database(config));

  std::string spec = options.model.empty() ? config.embedding_model : options.model;
  if (spec.empty()) {
    MCP_ASSIGN_OR_RETURN(auto chosen, default_model(config.models_dir));
    if (!chosen.has_value()) {
      return Status::invalid_argument(
          "name the model to re-embed with: mcp-memory reindex --model NAME (or choose it "
          "first: mcp-memory model use NAME)");
    }
    spec = *chosen;
  }
  Config target_config = config;
  target_config.embedding_model = spec;
  MCP_ASSIGN_OR_RETURN(ModelChoice choice, choose_model(target_config, *db));
  MCP_ASSIGN_OR_RETURN(auto embedder, make_embedder(choice.spec, embedder_options(config)));

  ReindexReport report;
  report.from_model = choice.stored_model.value_or("");
  report.to_model = embedder->model_id();
  MCP_ASSIGN_OR_RETURN(auto state, db->reindex_state());
  const bool resuming = state.has_value() && state->model == report.to_model &&
                        state->dimension == embedder->dimension();
  if (!resuming && !options.force && report.from_model == report.to_model &&
      choice.stored_dimension == embedder->dimension()) {
    if (state.has_value()) MCP_RETURN_IF_ERROR(db->abandon_reindex());
    report.already = true;
    return report;
  }
  MCP_RETURN_IF_ERROR(db->start_reindex(report.to_model, choice.spec, embedder->dimension()));
  MCP_ASSIGN_OR_RETURN(state, db->reindex_state());
  report.resumed = state->done;
  report.total = state->total;
  if (report.resumed > 0) {
    spdlog::info("resuming the reindex to {}: {} of {} memories done", report.to_model,
                 report.resumed, report.total);
  }

  const int64_t batch = std::max(1, options.batch);
  for (;;) {
    MCP_ASSIGN_OR_RETURN(auto rows, db->memories_to_reindex(batch));
    if (static_cast<int64_t>(rows.size()) < batch) {
      // The last ones, and memories stored meanwhile, go in the swap's transaction: nothing
      // stored after it can be left without a vector of the new model.
      MCP_RETURN_IF_ERROR(db->write_transaction([&]() -> Status {
        MCP_ASSIGN_OR_RETURN(auto last, db->memories_to_reindex(INT64_MAX));
        MCP_RETURN_IF_ERROR(embed_rows(*db, *embedder, last));
        report.embedded += static_cast<int64_t>(last.size());
        return db->finish_reindex();
      }));
      break;
    }
    MCP_RETURN_IF_ERROR(embed_rows(*db, *embedder, rows));
    report.embedded += static_cast<int64_t>(rows.size());
    if (options.progress) {
      options.progress(std::min(report.resumed + report.embedded, report.total), report.total);
    }
  }
  if (options.progress) options.progress(report.total, report.total);
  report.total = std::max(report.total, report.resumed + report.embedded);
  report.seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  return report;
}

}  // namespace mcpmem
