// Reads: lookups, filtered lists and counts, keyword (FTS5 BM25) and substring search, tag
// counts, stats, and what the vector index needs (embedding scans with the change-log seq of
// their snapshot, the change log itself). Every filter is applied in SQL before LIMIT, so a
// filtered top-k is the top k of the filtered rows. Tombstones are excluded unless asked for.
#include <algorithm>
#include <cstring>

#include "core/time_format.h"
#include "storage/database_impl.h"
#include "storage/schema.h"
#include "storage/vector_blob.h"

namespace mcpmem {

using storage_detail::kMemoryColumns;
using storage_detail::Statement;
using storage_detail::Value;

namespace {

// SQL for a MemoryFilter over `memories m`: " AND ..." plus its values, in order.
struct FilterSql {
  std::string where;
  std::vector<Value> values;
};

// Tags are matched as memory_tags holds them (trimmed, ASCII-lowercased), exactly: "test"
// never matches "testing". The tag list is bound as one JSON array, so any number of tags
// uses the same statement.
void add_tag_filter(const MemoryFilter& f, FilterSql& out) {
  Json wanted = Json::array();
  for (const std::string& t : f.tags) {
    std::string tag = storage_detail::indexed_tag(t);
    if (!tag.empty() && std::find(wanted.begin(), wanted.end(), tag) == wanted.end()) {
      wanted.push_back(std::move(tag));
    }
  }
  if (wanted.empty()) {
    out.where += " AND 0";  // only empty tags were asked for: no row has one
    return;
  }
  out.where +=
      " AND m.id IN (SELECT t.memory_id FROM memory_tags t"
      " WHERE t.tag IN (SELECT value FROM json_each(?))";
  out.values.emplace_back(wanted.dump(-1, ' ', false, Json::error_handler_t::replace));
  if (f.match_all_tags && wanted.size() > 1) {
    // (tag, memory_id) is the primary key: a row has each tag at most once.
    out.where += " GROUP BY t.memory_id HAVING COUNT(*) = ?";
    out.values.emplace_back(static_cast<int64_t>(wanted.size()));
  }
  out.where += ")";
}

// `ordered`: the query walks memories in created_at order (lists, pages). Then the alive test
// is written `+m.deleted_at IS NULL`, which keeps SQLite from choosing idx_deleted_at for it:
// nearly every row is alive, so that index selects nothing and forces a sort of the whole
// table (38 ms per page at 10k memories); idx_created_at then serves the order directly.
FilterSql filter_sql(const MemoryFilter& f, bool ordered = false) {
  FilterSql out;
  if (!f.include_deleted)
    out.where += ordered ? " AND +m.deleted_at IS NULL" : " AND m.deleted_at IS NULL";
  if (!f.tags.empty()) add_tag_filter(f, out);
  if (f.memory_type) {
    out.where += " AND m.memory_type = ?";
    out.values.emplace_back(*f.memory_type);
  }
  if (f.created_after) {
    out.where += " AND m.created_at >= ?";
    out.values.emplace_back(*f.created_after);
  }
  if (f.created_before) {
    out.where += " AND m.created_at <= ?";
    out.values.emplace_back(*f.created_before);
  }
  return out;
}

// The words of a keyword query, each a quoted FTS5 string joined with OR, so FTS5 syntax in
// user input (AND, NEAR(, *, ^, column:, quotes) is inert. Words are runs of ASCII letters,
// digits and '_' and of any non-ASCII bytes (the tokenizer splits those further).
std::string fts_query(const std::string& query) {
  std::string out, word;
  auto flush = [&] {
    if (word.empty()) return;
    if (!out.empty()) out += " OR ";
    out += "\"" + word + "\"";
    word.clear();
  };
  for (char c : query) {
    unsigned char u = static_cast<unsigned char>(c);
    bool word_char = u >= 0x80 || (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') ||
                     (c >= 'A' && c <= 'Z') || c == '_';
    if (word_char) {
      word.push_back(c);
    } else {
      flush();
    }
  }
  flush();
  return out;
}

const char* order_by(ListOrder order) {
  switch (order) {
    case ListOrder::kCreatedAsc:
      return "m.created_at ASC, m.id ASC";
    case ListOrder::kUpdatedDesc:
      return "m.updated_at DESC, m.id DESC";
    case ListOrder::kCreatedDesc:
      break;
  }
  return "m.created_at DESC, m.id DESC";
}

}  // namespace

Result<std::optional<Memory>> Database::get_by_hash(const std::string& hash, bool include_deleted) {
  std::lock_guard lock(impl_->mu);
  std::string sql = std::string("SELECT ") + kMemoryColumns +
                    " FROM memories m WHERE m.content_hash = ?" +
                    (include_deleted ? "" : " AND m.deleted_at IS NULL");
  MCP_ASSIGN_OR_RETURN(auto rows, impl_->memories(sql, {hash}));
  if (rows.empty()) return std::optional<Memory>();
  return std::optional<Memory>(std::move(rows.front()));
}

Result<std::vector<Memory>> Database::get_by_ids(const std::vector<int64_t>& ids) {
  std::lock_guard lock(impl_->mu);
  std::vector<Memory> out;
  out.reserve(ids.size());
  std::string sql = std::string("SELECT ") + kMemoryColumns + " FROM memories m WHERE m.id = ?";
  for (int64_t id : ids) {
    MCP_ASSIGN_OR_RETURN(auto rows, impl_->memories(sql, {id}));
    for (Memory& m : rows) out.push_back(std::move(m));
  }
  return out;
}

Result<std::vector<Memory>> Database::list(const MemoryFilter& filter, ListOrder order,
                                           int64_t offset, int64_t limit) {
  std::lock_guard lock(impl_->mu);
  FilterSql f = filter_sql(filter, /*ordered=*/true);
  std::string sql = std::string("SELECT ") + kMemoryColumns + " FROM memories m WHERE 1" + f.where +
                    " ORDER BY " + order_by(order) + " LIMIT ? OFFSET ?";
  f.values.emplace_back(limit);
  f.values.emplace_back(offset);
  return impl_->memories(sql, f.values);
}

Result<int64_t> Database::count(const MemoryFilter& filter) {
  std::lock_guard lock(impl_->mu);
  FilterSql f = filter_sql(filter);
  return impl_->scalar("SELECT COUNT(*) FROM memories m WHERE 1" + f.where, f.values);
}

Result<std::vector<int64_t>> Database::ids_matching(const MemoryFilter& filter) {
  std::lock_guard lock(impl_->mu);
  FilterSql f = filter_sql(filter);
  MCP_ASSIGN_OR_RETURN(auto s, impl_->prepare("SELECT m.id FROM memories m WHERE 1" + f.where));
  storage_detail::bind_all(*s, 1, f.values);
  std::vector<int64_t> out;
  while (s->step()) out.push_back(s->i64(0));
  MCP_RETURN_IF_ERROR(s->status("filtering memories"));
  return out;
}

Result<std::vector<std::pair<int64_t, std::string>>> Database::hashes_matching(
    const MemoryFilter& filter) {
  std::lock_guard lock(impl_->mu);
  FilterSql f = filter_sql(filter, /*ordered=*/true);
  MCP_ASSIGN_OR_RETURN(
      auto s, impl_->prepare("SELECT m.id, m.content_hash FROM memories m WHERE 1" + f.where +
                             " ORDER BY m.created_at DESC, m.id DESC"));
  storage_detail::bind_all(*s, 1, f.values);
  std::vector<std::pair<int64_t, std::string>> out;
  while (s->step()) out.emplace_back(s->i64(0), s->text(1));
  MCP_RETURN_IF_ERROR(s->status("filtering memories"));
  return out;
}

Result<std::vector<ScoredId>> Database::keyword_search(const std::string& query,
                                                       const MemoryFilter& filter, int64_t limit) {
  std::lock_guard lock(impl_->mu);
  std::vector<ScoredId> out;
  std::string match = fts_query(query);
  if (match.empty()) return out;
  FilterSql f = filter_sql(filter);
  MCP_ASSIGN_OR_RETURN(
      auto s,
      impl_->prepare("SELECT m.id, bm25(memories_fts) AS score FROM memories_fts "
                     "JOIN memories m ON m.id = memories_fts.rowid WHERE memories_fts MATCH ?" +
                     f.where + " ORDER BY score, m.id LIMIT ?"));
  s->bind(1, match);
  storage_detail::bind_all(*s, 2, f.values);
  s->bind(2 + static_cast<int>(f.values.size()), limit);
  while (s->step()) out.push_back({s->i64(0), s->f64(1)});
  MCP_RETURN_IF_ERROR(s->status("keyword search"));
  return out;
}

Result<std::vector<int64_t>> Database::substring_search(const std::string& needle,
                                                        const MemoryFilter& filter, int64_t limit) {
  std::lock_guard lock(impl_->mu);
  FilterSql f = filter_sql(filter);
  // SQLite's lower() folds ASCII only (as the Python service's LIKE): "É" does not match "é".
  MCP_ASSIGN_OR_RETURN(
      auto s,
      impl_->prepare("SELECT m.id FROM memories m WHERE instr(lower(m.content), lower(?)) > 0" +
                     f.where + " ORDER BY m.created_at DESC, m.id DESC LIMIT ?"));
  s->bind(1, needle);
  storage_detail::bind_all(*s, 2, f.values);
  s->bind(2 + static_cast<int>(f.values.size()), limit);
  std::vector<int64_t> out;
  while (s->step()) out.push_back(s->i64(0));
  MCP_RETURN_IF_ERROR(s->status("exact search"));
  return out;
}

Result<std::vector<Memory>> Database::get_by_hashes(const std::vector<std::string>& hashes) {
  std::lock_guard lock(impl_->mu);
  Json list = hashes;
  return impl_->memories(std::string("SELECT ") + kMemoryColumns +
                             " FROM memories m WHERE m.content_hash IN "
                             "(SELECT value FROM json_each(?))",
                         {list.dump()});
}

Result<int64_t> Database::scan_memories(const ScanOptions& o, const ScanFn& fn,
                                        const std::function<void(int64_t, int64_t)>& on_totals) {
  std::lock_guard lock(impl_->mu);
  MemoryFilter f = o.filter;
  f.include_deleted = true;  // each pass below picks alive rows or tombstones
  FilterSql where = filter_sql(f);
  if (o.changed_since) {
    where.where += " AND max(coalesce(m.updated_at, 0), coalesce(m.deleted_at, 0)) >= ?";
    where.values.emplace_back(*o.changed_since);
  }
  const bool vectors = o.vector_dimension > 0;
  const bool own_tx = impl_->tx_depth == 0;
  if (own_tx) MCP_RETURN_IF_ERROR(storage_detail::exec_sql(impl_->db, "BEGIN", "starting a read"));
  int64_t passed = 0;
  bool stopped = false;
  // One pass per kind, each walking idx_created_at (no sort, so constant memory).
  auto pass = [&](bool tombstones) -> Status {
    std::string sql = std::string("SELECT ") + kMemoryColumns + (vectors ? ", v.vec" : "") +
                      " FROM memories m" +
                      (vectors ? " LEFT JOIN memory_vectors v ON v.memory_id = m.id" : "") +
                      // "+": never idx_deleted_at, whose order would need a sort of every row.
                      " WHERE +m.deleted_at IS " + (tombstones ? "NOT NULL" : "NULL") +
                      where.where + " ORDER BY m.created_at DESC";
    MCP_ASSIGN_OR_RETURN(auto s, impl_->prepare(sql));
    storage_detail::bind_all(*s, 1, where.values);
    std::vector<float> vec;
    while (!stopped && s->step()) {
      Memory m = storage_detail::read_memory(*s);
      vec.clear();
      if (vectors && !m.deleted_at) {
        if (!storage_detail::decode_vector(s->blob(storage_detail::kMemoryColumnCount),
                                           o.vector_dimension, vec))
          vec.clear();
      }
      ++passed;
      stopped = !fn(m, vec);
    }
    return s->status("reading memories");
  };
  // A scan reads every page once: a small cache keeps an export of any size in constant
  // memory (the connection's usual 64 MB is restored after).
  if (own_tx)
    (void)storage_detail::exec_sql(impl_->db, "PRAGMA cache_size=-4096", "sizing the cache");
  Status st = [&]() -> Status {
    if (on_totals) {
      int64_t counts[2] = {0, 0};
      for (int dead = 0; dead < 2; ++dead) {
        if (!(dead ? o.tombstones : o.alive)) continue;
        MCP_ASSIGN_OR_RETURN(
            counts[dead],
            impl_->scalar(std::string("SELECT COUNT(*) FROM memories m WHERE m.deleted_at IS ") +
                              (dead ? "NOT NULL" : "NULL") + where.where,
                          where.values));
      }
      on_totals(counts[0], counts[1]);
    }
    if (o.alive) MCP_RETURN_IF_ERROR(pass(false));
    if (o.tombstones && !stopped) MCP_RETURN_IF_ERROR(pass(true));
    return Status::ok();
  }();
  if (own_tx) (void)storage_detail::exec_sql(impl_->db, "COMMIT", "ending a read");
  if (own_tx)
    (void)storage_detail::exec_sql(impl_->db, "PRAGMA cache_size=-65536", "sizing the cache");
  if (!st.is_ok()) return st;
  return passed;
}

Result<std::vector<TagCount>> Database::tag_counts() {
  std::lock_guard lock(impl_->mu);
  // memory_tags holds alive rows only.
  MCP_ASSIGN_OR_RETURN(
      auto s, impl_->prepare(
                  "SELECT tag, COUNT(*) AS n FROM memory_tags GROUP BY tag ORDER BY n DESC, tag"));
  std::vector<TagCount> out;
  while (s->step()) out.push_back({s->text(0), s->i64(1)});
  MCP_RETURN_IF_ERROR(s->status("counting tags"));
  return out;
}

Result<StorageStats> Database::stats() {
  std::lock_guard lock(impl_->mu);
  StorageStats st;
  // Each count is shaped to be answered from an index: this runs at every `stats`.
  MCP_ASSIGN_OR_RETURN(auto all, impl_->scalar("SELECT COUNT(*) FROM memories"));
  MCP_ASSIGN_OR_RETURN(auto dead,
                       impl_->scalar("SELECT COUNT(*) FROM memories WHERE deleted_at IS NOT NULL"));
  st.deleted_memories = dead;
  st.total_memories = all - dead;
  MCP_ASSIGN_OR_RETURN(st.unique_tags,
                       impl_->scalar("SELECT COUNT(DISTINCT tag) FROM memory_tags"));
  MCP_ASSIGN_OR_RETURN(
      st.memories_this_week,
      impl_->scalar("SELECT COUNT(*) FROM memories WHERE created_at >= ? AND +deleted_at IS NULL",
                    {unix_now() - 7 * 86400.0}));
  MCP_ASSIGN_OR_RETURN(auto pages, impl_->scalar("PRAGMA page_count"));
  MCP_ASSIGN_OR_RETURN(auto page_size, impl_->scalar("PRAGMA page_size"));
  st.database_size_bytes = pages * page_size;
  MCP_ASSIGN_OR_RETURN(auto last,
                       impl_->prepare("SELECT at FROM changes ORDER BY seq DESC LIMIT 1"));
  if (last->step()) st.last_applied = last->f64(0);
  MCP_RETURN_IF_ERROR(last->status("reading the change log"));
  // Two index lookups (idx_mcpmem_updated_at, idx_deleted_at).
  MCP_ASSIGN_OR_RETURN(auto newest, impl_->prepare("SELECT (SELECT MAX(updated_at) FROM memories), "
                                                   "(SELECT MAX(deleted_at) FROM memories)"));
  if (newest->step()) {
    st.last_modified =
        std::max(newest->null(0) ? 0.0 : newest->f64(0), newest->null(1) ? 0.0 : newest->f64(1));
  }
  MCP_RETURN_IF_ERROR(newest->status("reading the newest change"));
  return st;
}

// ---- index support ----

Result<int64_t> Database::scan_embeddings(
    size_t dimension, const std::function<bool(int64_t, std::span<const float>)>& fn) {
  std::lock_guard lock(impl_->mu);
  // One read transaction: the rows and the seq come from the same snapshot.
  const bool own_tx = impl_->tx_depth == 0;
  if (own_tx) MCP_RETURN_IF_ERROR(storage_detail::exec_sql(impl_->db, "BEGIN", "starting a read"));
  Status st = [&]() -> Status {
    MCP_ASSIGN_OR_RETURN(
        auto s,
        impl_->prepare(
            "SELECT v.memory_id, v.vec FROM memory_vectors v JOIN memories m ON m.id = v.memory_id "
            "WHERE m.deleted_at IS NULL"));
    std::vector<float> vec(dimension);
    while (s->step()) {
      if (!storage_detail::decode_vector(s->blob(1), dimension, vec)) continue;  // another model's
      if (!fn(s->i64(0), vec)) return Status::failed_precondition("stopped");
    }
    return s->status("loading vectors");
  }();
  Result<int64_t> seq =
      st.is_ok() ? impl_->scalar("SELECT COALESCE(MAX(seq), 0) FROM changes") : Result<int64_t>(st);
  if (own_tx) (void)storage_detail::exec_sql(impl_->db, "COMMIT", "ending a read");
  return seq;
}

Result<std::vector<Memory>> Database::memories_without_embedding(int64_t limit) {
  std::lock_guard lock(impl_->mu);
  return impl_->memories(std::string("SELECT ") + kMemoryColumns +
                             " FROM memories m WHERE m.deleted_at IS NULL AND NOT EXISTS "
                             "(SELECT 1 FROM memory_vectors v WHERE v.memory_id = m.id) LIMIT ?",
                         {limit});
}

Result<std::optional<std::vector<float>>> Database::get_embedding(int64_t memory_id,
                                                                  size_t dimension) {
  std::lock_guard lock(impl_->mu);
  MCP_ASSIGN_OR_RETURN(
      auto s,
      impl_->prepare("SELECT v.vec FROM memory_vectors v JOIN memories m ON m.id = v.memory_id "
                     "WHERE v.memory_id = ? AND m.deleted_at IS NULL"));
  s->bind(1, memory_id);
  std::optional<std::vector<float>> out;
  if (s->step()) {
    std::vector<float> vec;
    if (storage_detail::decode_vector(s->blob(0), dimension, vec)) out = std::move(vec);
  }
  MCP_RETURN_IF_ERROR(s->status("reading a vector"));
  return out;
}

Result<std::vector<Change>> Database::changes_since(int64_t after_seq, int64_t limit) {
  std::lock_guard lock(impl_->mu);
  MCP_ASSIGN_OR_RETURN(
      auto s,
      impl_->prepare(
          "SELECT seq, memory_id, content_hash, op, hlc FROM changes WHERE seq > ? ORDER BY seq "
          "LIMIT ?"));
  s->bind(1, after_seq).bind(2, limit);
  std::vector<Change> out;
  while (s->step()) {
    out.push_back({s->i64(0), s->i64(1), s->text(2), s->text(3), s->text(4)});
  }
  MCP_RETURN_IF_ERROR(s->status("reading the change log"));
  return out;
}

Result<int64_t> Database::count_changes_after(int64_t after_seq) {
  std::lock_guard lock(impl_->mu);
  return impl_->scalar("SELECT COUNT(*) FROM changes WHERE seq > ?", {after_seq});
}

Result<int64_t> Database::last_change_seq() {
  std::lock_guard lock(impl_->mu);
  return impl_->scalar("SELECT COALESCE(MAX(seq), 0) FROM changes");
}

Result<std::optional<std::string>> Database::change_version(int64_t seq) {
  std::lock_guard lock(impl_->mu);
  MCP_ASSIGN_OR_RETURN(auto s, impl_->prepare("SELECT hlc FROM changes WHERE seq = ?"));
  s->bind(1, seq);
  std::optional<std::string> out;
  if (s->step()) out = s->text(0);
  MCP_RETURN_IF_ERROR(s->status("reading the change log"));
  return out;
}

}  // namespace mcpmem
