// The model behind the stored vectors, and re-embedding them with another (database.h).
//
// A reindex writes the new vectors to memory_vectors_next, keyed by memory id like
// memory_vectors, while the old ones keep serving searches; meta reindex.* names its target so
// a killed reindex resumes. The swap is one transaction: the new vectors of the alive memories
// replace the old ones and meta embedding_* names the new model. Memories stored meanwhile (by
// processes still on the old model) have no new vector yet and are embedded by the caller in
// that transaction (finish_reindex refuses otherwise); new vectors of memories deleted
// meanwhile are left behind by the join.
#include "storage/database_impl.h"
#include "storage/vector_blob.h"

namespace mcpmem {

using storage_detail::exec_sql;

namespace {

constexpr const char* kReindexModelKey = "reindex.model";
constexpr const char* kReindexSpecKey = "reindex.spec";
constexpr const char* kReindexDimensionKey = "reindex.dimension";

Result<std::optional<std::string>> meta(Database::Impl& impl, const char* key) {
  MCP_ASSIGN_OR_RETURN(auto s, impl.prepare("SELECT value FROM meta WHERE key = ?"));
  s->bind(1, std::string(key));
  std::optional<std::string> out;
  if (s->step()) out = s->text(0);
  MCP_RETURN_IF_ERROR(s->status("reading meta"));
  return out;
}

Status put_meta(Database::Impl& impl, const char* key, const std::string& value) {
  MCP_ASSIGN_OR_RETURN(auto s,
                       impl.prepare("INSERT OR REPLACE INTO meta(key, value) VALUES (?, ?)"));
  return s->bind(1, std::string(key)).bind(2, value).run("writing meta");
}

Result<bool> shadow_table_exists(Database::Impl& impl) {
  MCP_ASSIGN_OR_RETURN(int64_t n, impl.scalar("SELECT count(*) FROM sqlite_master WHERE type = "
                                              "'table' AND name = 'memory_vectors_next'"));
  return n > 0;
}

}  // namespace

Status Database::Impl::check_vector_model() {
  if (vector_model_guard.empty()) return Status::ok();
  MCP_ASSIGN_OR_RETURN(auto stored, meta(*this, Database::kModelKey));
  if (!stored.has_value() || *stored == vector_model_guard) return Status::ok();
  return Status::failed_precondition("the vectors of " + path + " were re-made with " + *stored +
                                     " (mcp-memory reindex) while this process runs " +
                                     vector_model_guard + ": restart it to use " + *stored);
}

void Database::guard_vector_model(const std::string& model) {
  std::lock_guard lock(impl_->mu);
  impl_->vector_model_guard = model;
}

Status Database::check_vector_model() {
  std::lock_guard lock(impl_->mu);
  return impl_->check_vector_model();
}

Result<int64_t> Database::count_vectors() {
  std::lock_guard lock(impl_->mu);
  return impl_->scalar(
      "SELECT count(*) FROM memory_vectors v JOIN memories m ON m.id = v.memory_id "
      "WHERE m.deleted_at IS NULL");
}

Result<std::optional<Database::ReindexState>> Database::reindex_state() {
  std::lock_guard lock(impl_->mu);
  MCP_ASSIGN_OR_RETURN(auto model, meta(*impl_, kReindexModelKey));
  MCP_ASSIGN_OR_RETURN(bool table, shadow_table_exists(*impl_));
  if (!model.has_value() || !table) return std::optional<ReindexState>();
  ReindexState state;
  state.model = *model;
  MCP_ASSIGN_OR_RETURN(auto spec, meta(*impl_, kReindexSpecKey));
  state.spec = spec.value_or(*model);
  MCP_ASSIGN_OR_RETURN(auto dim, meta(*impl_, kReindexDimensionKey));
  state.dimension = dim.has_value() ? std::strtoull(dim->c_str(), nullptr, 10) : 0;
  MCP_ASSIGN_OR_RETURN(state.total,
                       impl_->scalar("SELECT count(*) FROM memories WHERE deleted_at IS NULL"));
  MCP_ASSIGN_OR_RETURN(
      state.done, impl_->scalar("SELECT count(*) FROM memory_vectors_next n JOIN memories m ON "
                                "m.id = n.memory_id WHERE m.deleted_at IS NULL"));
  return std::optional<ReindexState>(std::move(state));
}

Status Database::start_reindex(const std::string& model, const std::string& spec,
                               size_t dimension) {
  std::lock_guard lock(impl_->mu);
  return impl_->write([&]() -> Status {
    MCP_ASSIGN_OR_RETURN(auto target, meta(*impl_, kReindexModelKey));
    MCP_ASSIGN_OR_RETURN(auto dim, meta(*impl_, kReindexDimensionKey));
    if (target != model || dim != std::to_string(dimension)) {
      MCP_RETURN_IF_ERROR(
          exec_sql(impl_->db, "DROP TABLE IF EXISTS memory_vectors_next", "starting a reindex"));
    }
    MCP_RETURN_IF_ERROR(exec_sql(impl_->db,
                                 "CREATE TABLE IF NOT EXISTS memory_vectors_next ("
                                 " memory_id INTEGER PRIMARY KEY, vec BLOB NOT NULL)",
                                 "starting a reindex"));
    MCP_RETURN_IF_ERROR(put_meta(*impl_, kReindexModelKey, model));
    MCP_RETURN_IF_ERROR(put_meta(*impl_, kReindexSpecKey, spec));
    return put_meta(*impl_, kReindexDimensionKey, std::to_string(dimension));
  });
}

Result<std::vector<Memory>> Database::memories_to_reindex(int64_t limit) {
  std::lock_guard lock(impl_->mu);
  return impl_->memories(std::string("SELECT ") + storage_detail::kMemoryColumns +
                             " FROM memories m WHERE m.deleted_at IS NULL AND NOT EXISTS "
                             "(SELECT 1 FROM memory_vectors_next n WHERE n.memory_id = m.id) "
                             "ORDER BY m.id LIMIT ?",
                         {limit});
}

Status Database::put_reindexed(const std::vector<std::pair<int64_t, std::vector<float>>>& vectors) {
  std::lock_guard lock(impl_->mu);
  return impl_->write([&]() -> Status {
    for (const auto& [id, vec] : vectors) {
      MCP_ASSIGN_OR_RETURN(auto s,
                           impl_->prepare("INSERT OR REPLACE INTO "
                                          "memory_vectors_next(memory_id, vec) VALUES (?, ?)"));
      const std::string blob = storage_detail::encode_vector(vec);
      s->bind(1, id);
      s->bind_blob(2, blob.data(), blob.size());
      MCP_RETURN_IF_ERROR(s->run("storing a new vector"));
    }
    return Status::ok();
  });
}

Status Database::abandon_reindex() {
  std::lock_guard lock(impl_->mu);
  return impl_->write([&]() -> Status {
    MCP_RETURN_IF_ERROR(
        exec_sql(impl_->db, "DROP TABLE IF EXISTS memory_vectors_next", "dropping a reindex"));
    return exec_sql(impl_->db, "DELETE FROM meta WHERE key LIKE 'reindex.%'", "dropping a reindex");
  });
}

Status Database::finish_reindex() {
  std::lock_guard lock(impl_->mu);
  return impl_->write([&]() -> Status {
    MCP_ASSIGN_OR_RETURN(auto model, meta(*impl_, kReindexModelKey));
    MCP_ASSIGN_OR_RETURN(auto spec, meta(*impl_, kReindexSpecKey));
    MCP_ASSIGN_OR_RETURN(auto dim, meta(*impl_, kReindexDimensionKey));
    MCP_ASSIGN_OR_RETURN(bool table, shadow_table_exists(*impl_));
    if (!model || !dim || !table) return Status::failed_precondition("no reindex in progress");
    MCP_ASSIGN_OR_RETURN(
        int64_t missing,
        impl_->scalar("SELECT count(*) FROM memories m WHERE m.deleted_at IS NULL AND NOT EXISTS "
                      "(SELECT 1 FROM memory_vectors_next n WHERE n.memory_id = m.id)"));
    if (missing > 0) {
      return Status::failed_precondition(std::to_string(missing) +
                                         " memories have no new vector yet");
    }
    MCP_RETURN_IF_ERROR(exec_sql(impl_->db, "DELETE FROM memory_vectors", "swapping vectors"));
    MCP_RETURN_IF_ERROR(exec_sql(impl_->db,
                                 "INSERT INTO memory_vectors(memory_id, vec) SELECT n.memory_id, "
                                 "n.vec FROM memory_vectors_next n JOIN memories m ON m.id = "
                                 "n.memory_id WHERE m.deleted_at IS NULL",
                                 "swapping vectors"));
    MCP_RETURN_IF_ERROR(exec_sql(impl_->db, "DROP TABLE memory_vectors_next", "swapping vectors"));
    MCP_RETURN_IF_ERROR(put_meta(*impl_, kModelKey, *model));
    MCP_RETURN_IF_ERROR(put_meta(*impl_, kModelSpecKey, spec.value_or(*model)));
    MCP_RETURN_IF_ERROR(put_meta(*impl_, kDimensionKey, *dim));
    return exec_sql(impl_->db, "DELETE FROM meta WHERE key LIKE 'reindex.%'", "swapping vectors");
  });
}

}  // namespace mcpmem
