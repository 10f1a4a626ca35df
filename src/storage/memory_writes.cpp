// Writes of memories: inserts (one or many, in multi-row statements; a tombstone with the same
// hash is purged first, #644), updates, tombstones and embeddings. Each call is one write
// transaction or joins the caller's. Our inserts carry a non-NULL origin and write their own
// FTS and tag rows, with the same derivation the triggers use for other programs' rows
// (schema.cpp), so memory_tags and memories_fts are the same whoever wrote a row.
#include <algorithm>
#include <numeric>
#include <unordered_map>

#include "core/tags.h"
#include "core/time_format.h"
#include "storage/database_impl.h"
#include "storage/schema.h"
#include "storage/vector_blob.h"

namespace mcpmem {

using storage_detail::Statement;

namespace {

// Rows per multi-row statement: powers of two up to `max`, so few statement shapes are cached.
size_t chunk_rows(size_t remaining, size_t max) {
  size_t n = max;
  while (n > remaining) n /= 2;
  return n;
}

std::string placeholders(size_t rows, const char* row) {
  std::string out;
  for (size_t r = 0; r < rows; ++r) {
    if (r > 0) out += ",";
    out += row;
  }
  return out;
}

// NULL for a memory without field versions (see Memory::fields).
void bind_field_versions(Statement& s, int param, const Memory& m) {
  if (m.fields.empty()) {
    s.bind_null(param);
  } else {
    s.bind(param, field_versions_json(m.fields).dump());
  }
}

std::string metadata_text(const Memory& m) {
  // Invalid UTF-8 in a metadata string must not throw out of a write.
  return m.metadata.dump(-1, ' ', false, Json::error_handler_t::replace);
}

// Which of `memories` go in: not alive already, not repeated earlier in the list. Tombstones
// with the same hash are deleted (their FTS, tag and vector rows go with them, by trigger).
Result<std::vector<size_t>> pick_fresh(Database::Impl& impl, const std::vector<Memory>& memories) {
  std::vector<size_t> fresh;
  std::unordered_map<std::string, size_t> seen;
  for (size_t i = 0; i < memories.size(); ++i) {
    const Memory& m = memories[i];
    if (!seen.emplace(m.content_hash, i).second) continue;
    int64_t old_id = 0;
    bool tombstone = false;
    {
      MCP_ASSIGN_OR_RETURN(
          auto find,
          impl.prepare("SELECT id, deleted_at IS NOT NULL FROM memories WHERE content_hash = ?"));
      find->bind(1, m.content_hash);
      if (find->step()) {
        old_id = find->i64(0);
        tombstone = find->i64(1) != 0;
      }
      MCP_RETURN_IF_ERROR(find->status("looking up a content hash"));
    }
    if (old_id != 0 && !tombstone) continue;
    if (old_id != 0) {
      MCP_ASSIGN_OR_RETURN(auto del, impl.prepare("DELETE FROM memories WHERE id = ?"));
      MCP_RETURN_IF_ERROR(del->bind(1, old_id).run("replacing a deleted memory"));
    }
    fresh.push_back(i);
  }
  return fresh;
}

// Inserts memories[fresh...] and returns their ids by content hash.
Result<std::unordered_map<std::string, int64_t>> insert_rows(Database::Impl& impl,
                                                             const std::vector<Memory>& memories,
                                                             const std::vector<size_t>& fresh) {
  constexpr size_t kMaxRows = 256;
  std::unordered_map<std::string, int64_t> id_of;
  for (size_t begin = 0; begin < fresh.size();) {
    size_t n = chunk_rows(fresh.size() - begin, kMaxRows);
    MCP_ASSIGN_OR_RETURN(
        auto ins,
        impl.prepare(
            "INSERT INTO memories(content_hash, content, tags, memory_type, metadata, created_at, "
            "updated_at, created_at_iso, updated_at_iso, deleted_at, hlc, origin, prev_hlc, "
            "field_versions) VALUES " +
            placeholders(n, "(?,?,?,?,?,?,?,?,?,?,?,?,?,?)") + " RETURNING id, content_hash"));
    Statement& s = *ins;
    int p = 1;
    for (size_t r = 0; r < n; ++r, p += 14) {
      const Memory& m = memories[fresh[begin + r]];
      s.bind(p, m.content_hash).bind(p + 1, m.content).bind(p + 2, join_tags_csv(m.tags));
      s.bind_optional_text(p + 3, m.memory_type).bind(p + 4, metadata_text(m));
      s.bind(p + 5, m.created_at).bind(p + 6, m.updated_at);
      s.bind(p + 7, iso_utc(m.created_at)).bind(p + 8, iso_utc(m.updated_at));
      if (m.deleted_at) {
        s.bind(p + 9, *m.deleted_at);
      } else {
        s.bind_null(p + 9);
      }
      // origin is never NULL for our rows: NULL is what tells the trigger to index the row.
      s.bind_optional_text(p + 10, m.hlc).bind(p + 11, m.origin);
      s.bind_optional_text(p + 12, m.prev_hlc);
      bind_field_versions(s, p + 13, m);
    }
    while (s.step()) id_of[s.text(1)] = s.i64(0);
    MCP_RETURN_IF_ERROR(s.status("storing memories"));
    begin += n;
  }
  return id_of;
}

using VectorRow = std::pair<int64_t, std::span<const float>>;

Status store_vectors(Database::Impl& impl, const std::vector<VectorRow>& rows) {
  constexpr size_t kMaxRows = 256;
  for (size_t begin = 0; begin < rows.size();) {
    size_t n = chunk_rows(rows.size() - begin, kMaxRows);
    MCP_ASSIGN_OR_RETURN(
        auto ins, impl.prepare("INSERT OR REPLACE INTO memory_vectors(memory_id, vec) VALUES " +
                               placeholders(n, "(?,?)")));
    for (size_t r = 0; r < n; ++r) {
      const auto& [id, vec] = rows[begin + r];
      const std::string blob = storage_detail::encode_vector(vec);  // bind_blob copies it
      ins->bind(static_cast<int>(2 * r + 1), id);
      ins->bind_blob(static_cast<int>(2 * r + 2), blob.data(), blob.size());
    }
    MCP_RETURN_IF_ERROR(ins->run("storing vectors"));
    begin += n;
  }
  return Status::ok();
}

Status drop_vector(Database::Impl& impl, int64_t memory_id) {
  MCP_ASSIGN_OR_RETURN(auto drop, impl.prepare("DELETE FROM memory_vectors WHERE memory_id = ?"));
  return drop->bind(1, memory_id).run("dropping a vector");
}

}  // namespace

Status Database::Impl::index_rows(const std::vector<std::pair<int64_t, const Memory*>>& rows) {
  constexpr size_t kMaxRows = 128;
  std::vector<std::pair<int64_t, const Memory*>> alive;
  for (const auto& row : rows) {
    if (!row.second->deleted_at) alive.push_back(row);
  }
  // One statement for all rows: FTS5 writes its pending terms out as a new segment whenever
  // a later statement of the transaction opens a savepoint, so N statements make N segments
  // (and merges); rows are read back from memories, where they were just written.
  if (!alive.empty()) {
    std::string ids = "[";
    for (const auto& [id, m] : alive) ids += std::to_string(id) + ",";
    ids.back() = ']';
    MCP_ASSIGN_OR_RETURN(
        auto fts,
        prepare("INSERT INTO memories_fts(rowid, content) SELECT id, content FROM memories"
                " WHERE id IN (SELECT value FROM json_each(?))"));
    MCP_RETURN_IF_ERROR(fts->bind(1, ids).run("indexing content"));
  }
  std::vector<std::pair<int64_t, std::string>> tags;
  for (const auto& [id, m] : alive) {
    for (std::string& t : storage_detail::indexed_tags(join_tags_csv(m->tags))) {
      tags.emplace_back(id, std::move(t));
    }
  }
  for (size_t begin = 0; begin < tags.size();) {
    size_t n = chunk_rows(tags.size() - begin, kMaxRows);
    MCP_ASSIGN_OR_RETURN(auto ins,
                         prepare("INSERT OR IGNORE INTO memory_tags(tag, memory_id) VALUES " +
                                 placeholders(n, "(?,?)")));
    for (size_t r = 0; r < n; ++r) {
      ins->bind(static_cast<int>(2 * r + 1), tags[begin + r].second);
      ins->bind(static_cast<int>(2 * r + 2), tags[begin + r].first);
    }
    MCP_RETURN_IF_ERROR(ins->run("indexing tags"));
    begin += n;
  }
  return Status::ok();
}

Result<int64_t> Database::insert_memory(const Memory& m, std::span<const float> embedding) {
  MCP_ASSIGN_OR_RETURN(
      auto ids, insert_memories({m}, {std::vector<float>(embedding.begin(), embedding.end())}));
  if (ids.front() == 0) {
    return Status::already_exists("a memory with this content already exists (content hash " +
                                  m.content_hash + ")");
  }
  return ids.front();
}

Result<std::vector<int64_t>> Database::insert_memories(
    const std::vector<Memory>& memories, const std::vector<std::vector<float>>& embeddings,
    bool known_new) {
  std::lock_guard lock(impl_->mu);
  std::vector<int64_t> ids(memories.size(), 0);
  Status st = impl_->write([&]() -> Status {
    std::fill(ids.begin(), ids.end(), 0);  // a retried body starts over
    std::vector<size_t> fresh(memories.size());
    std::iota(fresh.begin(), fresh.end(), size_t{0});
    if (!known_new) {
      MCP_ASSIGN_OR_RETURN(fresh, pick_fresh(*impl_, memories));
    }
    MCP_ASSIGN_OR_RETURN(auto id_of, insert_rows(*impl_, memories, fresh));
    std::vector<std::pair<int64_t, const Memory*>> inserted;
    std::vector<VectorRow> vectors;
    for (size_t i : fresh) {
      ids[i] = id_of[memories[i].content_hash];
      inserted.emplace_back(ids[i], &memories[i]);
      if (i < embeddings.size() && !embeddings[i].empty() && !memories[i].deleted_at) {
        vectors.emplace_back(ids[i], std::span<const float>(embeddings[i]));
      }
    }
    MCP_RETURN_IF_ERROR(impl_->index_rows(inserted));
    return store_vectors(*impl_, vectors);
  });
  if (!st.is_ok()) return st;
  return ids;
}

Status Database::update_memory(const Memory& m) {
  std::lock_guard lock(impl_->mu);
  return impl_->write([&]() -> Status {
    MCP_ASSIGN_OR_RETURN(
        auto s, impl_->prepare(
                    "UPDATE memories SET tags = ?, memory_type = ?, metadata = ?, updated_at = ?, "
                    "updated_at_iso = ?, hlc = ?, origin = ?, prev_hlc = NULL, field_versions = ? "
                    "WHERE content_hash = ? AND deleted_at IS NULL"));
    s->bind(1, join_tags_csv(m.tags)).bind_optional_text(2, m.memory_type);
    s->bind(3, metadata_text(m)).bind(4, m.updated_at).bind(5, iso_utc(m.updated_at));
    s->bind_optional_text(6, m.hlc).bind_optional_text(7, m.origin);
    bind_field_versions(*s, 8, m);
    s->bind(9, m.content_hash);
    MCP_RETURN_IF_ERROR(s->run("updating a memory"));
    if (sqlite3_changes(impl_->db) == 0) {
      return Status::not_found("no memory with content hash " + m.content_hash);
    }
    return Status::ok();
  });
}

Result<int64_t> Database::tombstone(const std::vector<Memory>& deleted) {
  std::lock_guard lock(impl_->mu);
  int64_t changed = 0;
  Status st = impl_->write([&]() -> Status {
    changed = 0;
    for (const Memory& m : deleted) {
      std::vector<int64_t> ids;
      {
        // updated_at stays: it is the time of the last edit, deleted_at the time of the delete.
        MCP_ASSIGN_OR_RETURN(
            auto upd, impl_->prepare("UPDATE memories SET deleted_at = ?, hlc = ?, origin = ?, "
                                     "prev_hlc = NULL, field_versions = ? "
                                     "WHERE content_hash = ? AND deleted_at IS NULL RETURNING id"));
        upd->bind(1, m.deleted_at.value_or(m.updated_at)).bind_optional_text(2, m.hlc);
        upd->bind_optional_text(3, m.origin);
        bind_field_versions(*upd, 4, m);
        upd->bind(5, m.content_hash);
        while (upd->step()) ids.push_back(upd->i64(0));
        MCP_RETURN_IF_ERROR(upd->status("deleting a memory"));
      }
      for (int64_t id : ids) {
        MCP_RETURN_IF_ERROR(drop_vector(*impl_, id));
        ++changed;
      }
    }
    return Status::ok();
  });
  if (!st.is_ok()) return st;
  return changed;
}

Result<int64_t> Database::put_version(const Memory& m, std::span<const float> embedding) {
  std::lock_guard lock(impl_->mu);
  int64_t id = 0;
  Status st = impl_->write([&]() -> Status {
    id = 0;
    {
      // The triggers move the row in or out of the FTS and tag indexes and log the change.
      MCP_ASSIGN_OR_RETURN(
          auto upd,
          impl_->prepare(
              "UPDATE memories SET content = ?, tags = ?, memory_type = ?, metadata = ?, "
              "created_at = ?, updated_at = ?, created_at_iso = ?, updated_at_iso = ?, "
              "deleted_at = ?, "
              "hlc = ?, origin = ?, prev_hlc = ?, field_versions = ? WHERE content_hash = ? "
              "RETURNING id"));
      Statement& s = *upd;
      s.bind(1, m.content).bind(2, join_tags_csv(m.tags)).bind_optional_text(3, m.memory_type);
      s.bind(4, metadata_text(m)).bind(5, m.created_at).bind(6, m.updated_at);
      s.bind(7, iso_utc(m.created_at)).bind(8, iso_utc(m.updated_at));
      if (m.deleted_at) {
        s.bind(9, *m.deleted_at);
      } else {
        s.bind_null(9);
      }
      s.bind_optional_text(10, m.hlc).bind(11, m.origin).bind_optional_text(12, m.prev_hlc);
      bind_field_versions(s, 13, m);
      s.bind(14, m.content_hash);
      while (s.step()) id = s.i64(0);
      MCP_RETURN_IF_ERROR(s.status("writing a version"));
    }
    if (id == 0) {
      const std::vector<Memory> one = {m};
      MCP_ASSIGN_OR_RETURN(auto id_of, insert_rows(*impl_, one, {0}));
      id = id_of[m.content_hash];
      MCP_RETURN_IF_ERROR(impl_->index_rows({{id, &m}}));
    }
    if (m.deleted_at) return drop_vector(*impl_, id);
    if (embedding.empty()) return Status::ok();
    return store_vectors(*impl_, {{id, embedding}});
  });
  if (!st.is_ok()) return st;
  return id;
}

Result<std::pair<int64_t, int64_t>> Database::purge_tombstones(double deleted_before,
                                                               int64_t settled_seq) {
  std::lock_guard lock(impl_->mu);
  std::pair<int64_t, int64_t> out;
  Status st = impl_->write([&]() -> Status {
    out = {0, 0};
    // idx_deleted_at, and the changes after settled_seq (a range of the log's key): cheap when
    // nothing has expired, which is almost every call.
    std::string ids = "[";
    {
      MCP_ASSIGN_OR_RETURN(
          auto expired,
          impl_->prepare("SELECT id FROM memories WHERE deleted_at IS NOT NULL AND deleted_at < ?"
                         " AND id NOT IN (SELECT memory_id FROM changes WHERE seq > ?)"));
      expired->bind(1, deleted_before).bind(2, settled_seq);
      while (expired->step()) ids += std::to_string(expired->i64(0)) + ",";
      MCP_RETURN_IF_ERROR(expired->status("finding old tombstones"));
    }
    if (ids.size() == 1) return Status::ok();
    ids.back() = ']';
    const std::string in_ids = " IN (SELECT value FROM json_each(?))";
    MCP_ASSIGN_OR_RETURN(
        auto max_seq,
        impl_->scalar("SELECT MAX(seq) FROM changes WHERE memory_id" + in_ids, {ids}));
    MCP_ASSIGN_OR_RETURN(auto del, impl_->prepare("DELETE FROM memories WHERE id" + in_ids));
    MCP_RETURN_IF_ERROR(del->bind(1, ids).run("purging old tombstones"));
    out = {sqlite3_changes(impl_->db), max_seq};
    return Status::ok();
  });
  if (!st.is_ok()) return st;
  return out;
}

Result<int64_t> Database::purge(const std::vector<std::string>& hashes) {
  std::lock_guard lock(impl_->mu);
  int64_t removed = 0;
  Status st = impl_->write([&]() -> Status {
    removed = 0;
    for (const std::string& h : hashes) {
      MCP_ASSIGN_OR_RETURN(auto del, impl_->prepare("DELETE FROM memories WHERE content_hash = ?"));
      MCP_RETURN_IF_ERROR(del->bind(1, h).run("removing a memory"));
      removed += sqlite3_changes(impl_->db);
    }
    return Status::ok();
  });
  if (!st.is_ok()) return st;
  return removed;
}

Status Database::put_embedding(int64_t memory_id, std::span<const float> embedding) {
  std::lock_guard lock(impl_->mu);
  return impl_->write([&] { return store_vectors(*impl_, {{memory_id, embedding}}); });
}

}  // namespace mcpmem
