// The Python service's vectors, read from the ordinary tables behind its sqlite-vec table
// `memory_embeddings` (we never load sqlite-vec), so a file whose vectors were made by our model
// need not be embedded again. docs/storage.md describes the layout (sqlite-vec 0.1.x, checked
// against its source and the real extension) and why reading it this way is safe: every size,
// offset, validity bit and back-pointer is checked before a vector is passed on, and anything
// unexpected is an error naming it (the caller then adopts nothing from there on), never a
// vector read from the wrong place.
#include <sqlite3.h>

#include <cctype>
#include <cstring>
#include <optional>
#include <string_view>

#include "storage/database_impl.h"
#include "storage/vector_blob.h"

namespace mcpmem {
namespace {

using storage_detail::exec_sql;

constexpr const char* kVecTable = "memory_embeddings";
constexpr const char* kRowidsTable = "memory_embeddings_rowids";
constexpr const char* kChunksTable = "memory_embeddings_chunks";
constexpr const char* kVectorsTable = "memory_embeddings_vector_chunks00";
// sqlite-vec's default chunk is 1024 slots and a declared one must be a multiple of 8; a size
// past this cap is damage, not a table (the rowids blob alone would be 8 bytes a slot).
constexpr int64_t kMaxChunkSlots = 1 << 16;

// N of the single "FLOAT[N]" column in `create_sql` (case-insensitive, as sqlite-vec parses it);
// nullopt when there is none, several vector columns, or a vector type other than float.
std::optional<size_t> declared_float_dimension(std::string_view create_sql) {
  std::string sql(create_sql);
  for (char& c : sql) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  if (sql.find("vec0") == std::string::npos) return std::nullopt;
  if (sql.find("int8[") != std::string::npos || sql.find("bit[") != std::string::npos) {
    return std::nullopt;
  }
  const size_t at = sql.find("float[");
  if (at == std::string::npos || sql.find("float[", at + 1) != std::string::npos) {
    return std::nullopt;
  }
  size_t n = 0, i = at + 6;
  for (; i < sql.size() && std::isdigit(static_cast<unsigned char>(sql[i])); ++i) {
    if (n > 100000) return std::nullopt;
    n = n * 10 + static_cast<size_t>(sql[i] - '0');
  }
  if (i >= sql.size() || sql[i] != ']' || n == 0) return std::nullopt;
  return n;
}

// Whether the file has the vec0 table; an error when it has one we cannot read as `dimension`
// floats (another dimension, another vector type, shadow tables missing).
Result<bool> has_vec_table(Database::Impl& impl, size_t dimension) {
  MCP_ASSIGN_OR_RETURN(auto s,
                       impl.prepare("SELECT sql FROM sqlite_master WHERE type = 'table' AND "
                                    "name = ?"));
  s->bind(1, std::string(kVecTable));
  if (!s->step()) {
    MCP_RETURN_IF_ERROR(s->status("looking for memory_embeddings"));
    return false;
  }
  const std::string sql = s->text(0);
  const auto dim = declared_float_dimension(sql);
  if (!dim) {
    return Status::failed_precondition(
        "memory_embeddings is not a vec0 table with one FLOAT[N] column: " + sql);
  }
  if (*dim != dimension) {
    return Status::failed_precondition("memory_embeddings holds FLOAT[" + std::to_string(*dim) +
                                       "] vectors, this model makes " + std::to_string(dimension));
  }
  MCP_ASSIGN_OR_RETURN(
      int64_t shadows,
      impl.scalar(
          "SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name IN (?, ?, ?)",
          {std::string(kRowidsTable), std::string(kChunksTable), std::string(kVectorsTable)}));
  if (shadows != 3) {
    return Status::failed_precondition(
        "memory_embeddings lacks its shadow tables (_rowids, _chunks, _vector_chunks00)");
  }
  return true;
}

// Every chunk's blobs have the sizes its `size` gives, and every rowids row points into a
// chunk: read from the blob lengths only (SQLite does not load a blob to take its length).
Status check_chunks(Database::Impl& impl, size_t dimension) {
  MCP_ASSIGN_OR_RETURN(
      auto s, impl.prepare("SELECT c.chunk_id, c.size, typeof(c.validity), length(c.validity), "
                           "typeof(c.rowids), length(c.rowids), typeof(v.vectors), "
                           "length(v.vectors) FROM memory_embeddings_chunks c LEFT JOIN "
                           "memory_embeddings_vector_chunks00 v ON v._rowid_ = c.chunk_id"));
  while (s->step()) {
    const int64_t id = s->i64(0), size = s->i64(1);
    const std::string chunk = "memory_embeddings chunk " + std::to_string(id);
    if (size <= 0 || size % 8 != 0 || size > kMaxChunkSlots) {
      return Status::failed_precondition(chunk + " has size " + std::to_string(size));
    }
    const int64_t vector_bytes = size * static_cast<int64_t>(dimension * sizeof(float));
    if (s->text(2) != "blob" || s->i64(3) != size / 8 || s->text(4) != "blob" ||
        s->i64(5) != size * 8 || s->text(6) != "blob" || s->i64(7) != vector_bytes) {
      return Status::failed_precondition(
          chunk + ": blob sizes differ from its " + std::to_string(size) + " slots (validity " +
          std::to_string(s->i64(3)) + ", rowids " + std::to_string(s->i64(5)) + ", vectors " +
          std::to_string(s->i64(7)) + " bytes)");
    }
  }
  MCP_RETURN_IF_ERROR(s->status("checking memory_embeddings' chunks"));
  MCP_ASSIGN_OR_RETURN(
      int64_t stray,
      impl.scalar("SELECT count(*) FROM memory_embeddings_rowids r LEFT JOIN "
                  "memory_embeddings_chunks c ON c.chunk_id = r.chunk_id WHERE c.chunk_id IS NULL "
                  "OR typeof(r.chunk_offset) != 'integer' OR r.chunk_offset < 0 OR "
                  "r.chunk_offset >= c.size"));
  if (stray != 0) {
    return Status::failed_precondition(std::to_string(stray) +
                                       " memory_embeddings rows point outside their chunks");
  }
  return Status::ok();
}

// One chunk as the scan reads it: the validity bitmap and rowid slots whole (small), the
// vectors through an incremental blob handle, so a vector costs its own pages only.
class ChunkReader {
 public:
  ChunkReader(Database::Impl& impl, size_t dimension) : impl_(impl), dimension_(dimension) {}
  ~ChunkReader() {
    if (vectors_ != nullptr) sqlite3_blob_close(vectors_);
  }
  ChunkReader(const ChunkReader&) = delete;
  ChunkReader& operator=(const ChunkReader&) = delete;

  // The vector of `rowid` at `offset` of chunk `chunk_id`, after checking that the slot is live
  // and names this rowid.
  Status read(int64_t rowid, int64_t chunk_id, int64_t offset, std::vector<float>& out) {
    if (chunk_id != chunk_id_) MCP_RETURN_IF_ERROR(load(chunk_id));
    const std::string where = "memory_embeddings row " + std::to_string(rowid);
    if (offset < 0 || offset >= size_) {
      return Status::failed_precondition(where + ": offset " + std::to_string(offset) +
                                         " outside chunk " + std::to_string(chunk_id));
    }
    const auto slot = static_cast<size_t>(offset);
    if (((validity_[slot / 8] >> (slot % 8)) & 1) == 0) {
      return Status::failed_precondition(where + ": its slot is not marked live");
    }
    int64_t named = 0;
    std::memcpy(&named, rowids_.data() + slot * sizeof(int64_t), sizeof(named));
    if (named != rowid) {
      return Status::failed_precondition(where + ": its slot names row " + std::to_string(named));
    }
    out.resize(dimension_);
    const int bytes = static_cast<int>(dimension_ * sizeof(float));
    const int rc = sqlite3_blob_read(vectors_, out.data(), bytes, static_cast<int>(offset) * bytes);
    if (rc != SQLITE_OK) return storage_detail::sqlite_status(impl_.db, rc, "reading " + where);
    return Status::ok();
  }

 private:
  Status load(int64_t chunk_id) {
    chunk_id_ = -1;
    MCP_ASSIGN_OR_RETURN(auto s, impl_.prepare("SELECT size, validity, rowids FROM "
                                               "memory_embeddings_chunks WHERE chunk_id = ?"));
    s->bind(1, chunk_id);
    const std::string chunk = "memory_embeddings chunk " + std::to_string(chunk_id);
    if (!s->step()) {
      MCP_RETURN_IF_ERROR(s->status("reading " + chunk));
      return Status::failed_precondition(chunk + " is missing");
    }
    size_ = s->i64(0);
    const auto validity = s->blob(1);
    const auto rowids = s->blob(2);
    if (size_ <= 0 || size_ % 8 != 0 || size_ > kMaxChunkSlots ||
        validity.size() != static_cast<size_t>(size_ / 8) ||
        rowids.size() != static_cast<size_t>(size_) * sizeof(int64_t)) {
      return Status::failed_precondition(chunk + " has blobs of the wrong size");
    }
    validity_.assign(validity.begin(), validity.end());
    rowids_.assign(rowids.begin(), rowids.end());
    MCP_RETURN_IF_ERROR(s->status("reading " + chunk));

    // The vectors row is found by its real rowid, as sqlite-vec finds it.
    const int rc = vectors_ == nullptr ? sqlite3_blob_open(impl_.db, "main", kVectorsTable,
                                                           "vectors", chunk_id, 0, &vectors_)
                                       : sqlite3_blob_reopen(vectors_, chunk_id);
    if (rc != SQLITE_OK) {
      return Status::failed_precondition("the vectors of " + chunk +
                                         " cannot be read: " + sqlite3_errmsg(impl_.db));
    }
    const int64_t expected = size_ * static_cast<int64_t>(dimension_ * sizeof(float));
    if (sqlite3_blob_bytes(vectors_) != expected) {
      return Status::failed_precondition("the vectors of " + chunk + " are " +
                                         std::to_string(sqlite3_blob_bytes(vectors_)) +
                                         " bytes, not " + std::to_string(expected));
    }
    chunk_id_ = chunk_id;
    return Status::ok();
  }

  Database::Impl& impl_;
  const size_t dimension_;
  int64_t chunk_id_ = -1;
  int64_t size_ = 0;
  std::vector<unsigned char> validity_;
  std::vector<unsigned char> rowids_;
  sqlite3_blob* vectors_ = nullptr;
};

// Alive rows with a vec0 slot and no vector of ours.
constexpr const char* kCandidates =
    " FROM memory_embeddings_rowids r JOIN memories m ON m.id = r.rowid WHERE "
    "m.deleted_at IS NULL AND NOT EXISTS (SELECT 1 FROM memory_vectors v WHERE "
    "v.memory_id = m.id)";

}  // namespace

Result<int64_t> Database::count_sqlite_vec_vectors(size_t dimension) {
  std::lock_guard lock(impl_->mu);
  MCP_ASSIGN_OR_RETURN(bool present, has_vec_table(*impl_, dimension));
  if (!present) return int64_t{0};
  MCP_ASSIGN_OR_RETURN(int64_t n, impl_->scalar(std::string("SELECT count(*)") + kCandidates));
  if (n > 0) MCP_RETURN_IF_ERROR(check_chunks(*impl_, dimension));
  return n;
}

Result<int64_t> Database::scan_sqlite_vec_vectors(const SqliteVecScan& scan,
                                                  const SqliteVecFn& fn) {
  std::lock_guard lock(impl_->mu);
  MCP_ASSIGN_OR_RETURN(bool present, has_vec_table(*impl_, scan.dimension));
  if (!present) return scan.after_id;
  const bool own_tx = impl_->tx_depth == 0;
  if (own_tx) MCP_RETURN_IF_ERROR(exec_sql(impl_->db, "BEGIN", "starting a read"));
  int64_t last = scan.after_id;
  Status st = [&]() -> Status {
    MCP_ASSIGN_OR_RETURN(auto s, impl_->prepare(std::string("SELECT r.rowid, r.chunk_id, "
                                                            "r.chunk_offset") +
                                                kCandidates + " AND r.rowid > ? ORDER BY r.rowid"));
    s->bind(1, scan.after_id);
    ChunkReader chunks(*impl_, scan.dimension);
    std::vector<float> vec;
    const int64_t stride = scan.stride > 0 ? scan.stride : 1;
    int64_t seen = 0, passed = 0;
    while (passed < scan.limit && s->step()) {
      if (seen++ % stride != 0) continue;
      const int64_t id = s->i64(0);
      if (s->null(1) || s->null(2)) {
        return Status::failed_precondition("memory_embeddings row " + std::to_string(id) +
                                           " has no chunk");
      }
      MCP_RETURN_IF_ERROR(chunks.read(id, s->i64(1), s->i64(2), vec));
      MCP_RETURN_IF_ERROR(fn(id, vec));
      last = id;
      ++passed;
    }
    return s->status("reading memory_embeddings");
  }();
  if (own_tx) (void)exec_sql(impl_->db, "COMMIT", "ending a read");
  if (!st.is_ok()) return st;
  return last;
}

Result<int64_t> Database::put_embeddings_if_absent(
    const std::vector<std::pair<int64_t, std::vector<float>>>& rows) {
  std::lock_guard lock(impl_->mu);
  int64_t stored = 0;
  Status st = impl_->write([&]() -> Status {
    stored = 0;
    for (const auto& [id, vec] : rows) {
      // Cached: a fresh handle per row is the statement reset for the next binding.
      MCP_ASSIGN_OR_RETURN(
          auto ins, impl_->prepare("INSERT OR IGNORE INTO memory_vectors(memory_id, vec) SELECT "
                                   "?1, ?2 WHERE EXISTS (SELECT 1 FROM memories WHERE id = ?1 AND "
                                   "deleted_at IS NULL)"));
      const std::string blob = storage_detail::encode_vector(vec);
      ins->bind(1, id).bind_blob(2, blob.data(), blob.size());
      MCP_RETURN_IF_ERROR(ins->run("storing adopted vectors"));
      stored += sqlite3_changes(impl_->db);
    }
    return Status::ok();
  });
  if (!st.is_ok()) return st;
  return stored;
}

}  // namespace mcpmem
