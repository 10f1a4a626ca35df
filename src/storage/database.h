// Database: the only place in mcp-memory with SQL. One SQLite file in WAL mode holding the
// Python service's `memories` table (read and written as it is), our `memory_vectors`
// (float32 embeddings by memory id), `memory_tags` (indexed tags), `memories_fts` (FTS5),
// `changes` (the change log) and `meta`. docs/storage.md describes the format.
//
// Guarantees:
// - Every write is one `BEGIN IMMEDIATE` transaction; SQLITE_BUSY from another process is
//   waited out (busy_timeout, then retries up to OpenOptions::write_retry_ms), so two processes
//   writing one file never fail with "database is locked".
// - The change log, the tag index and the FTS index change in the same transaction as the
//   row, whoever writes it: our inserts write FTS and tag rows themselves (in multi-row
//   statements), triggers do it for rows of other programs (the Python service) and for every
//   update and delete; the change log is always written by a trigger.
// - A database made by the Python service opens; migrations only add tables, columns,
//   indexes and triggers, never drop or rewrite its data.
// Thread-safety: safe from many threads (one connection, calls serialized by a mutex).
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <utility>
#include <vector>

#include "core/memory.h"
#include "core/status.h"

namespace mcpmem {

struct OpenOptions {
  bool synchronous_full = true;  // PRAGMA synchronous=FULL, else NORMAL
  int busy_timeout_ms = 15000;
  int write_retry_ms = 60000;  // total retry time for a write transaction on SQLITE_BUSY
  bool read_only = false;
};

// Which rows a read selects. Every field is optional; empty means "no constraint".
struct MemoryFilter {
  std::vector<std::string> tags;  // whole tags, matched as stored (trimmed, ASCII-lowercased)
  bool match_all_tags = false;    // false: any of `tags`; true: all of them
  std::optional<std::string> memory_type;
  std::optional<double> created_after;   // created_at >= created_after
  std::optional<double> created_before;  // created_at <= created_before
  bool include_deleted = false;          // tombstones are excluded unless set

  bool empty() const { return tags.empty() && !memory_type && !created_after && !created_before; }
};

struct ScoredId {
  int64_t id = 0;
  double score = 0;  // meaning depends on the producer (bm25 for keyword search: lower = better)
};

struct TagCount {
  std::string tag;
  int64_t count = 0;
};

struct StorageStats {
  int64_t total_memories = 0;    // alive rows
  int64_t deleted_memories = 0;  // tombstones
  int64_t unique_tags = 0;
  int64_t memories_this_week = 0;  // created in the last 7 days
  int64_t database_size_bytes = 0;
  // The newest change in the data (the latest updated_at or deleted_at, Unix seconds; 0 if
  // none): the same on nodes that hold the same data.
  double last_modified = 0;
  double last_applied = 0;  // when this file last changed, by any program (Unix seconds)
};

// One entry of the change log: seq increases in commit order across all writers.
struct Change {
  int64_t seq = 0;
  int64_t memory_id = 0;
  std::string content_hash;
  // "upsert", "delete" (tombstoned), "purge" (row removed) or "conflict" (a sync conflict
  // recorded or resolved: memory_id 0, hlc its uid)
  std::string op;
  std::string hlc;
};

// What Database::inspect_file reads from a database file.
struct DatabaseFileSummary {
  int64_t memories = 0;                     // alive ones
  std::optional<double> newest_created_at;  // Unix seconds; none when it holds no memory
  std::optional<std::string> integrity;     // "ok" or SQLite's report; none when not checked
};

// What Database::inspect_health reads from a database file (for `doctor`).
struct DatabaseHealth {
  std::string journal_mode;  // "wal", "delete", ... as SQLite reports it
  int64_t memories = 0;      // alive ones
  // Alive memories with a vector of ours; none when the file has no memory_vectors table yet
  // (a Python service database mcp-memory has not opened).
  std::optional<int64_t> vectors;
  int64_t orphan_vectors = 0;            // vectors whose memory is gone or a tombstone
  std::optional<std::string> integrity;  // "ok" or SQLite's report; none: needs a module we lack
  std::vector<std::string> litestream_tables;  // _litestream_seq, _litestream_lock: expected
};

// What a passive checkpoint did (Database::checkpoint_passive).
struct CheckpointOutcome {
  int64_t wal_frames = 0;    // frames in the WAL
  int64_t checkpointed = 0;  // of them, now in the database file
};

enum class ListOrder { kCreatedDesc, kCreatedAsc, kUpdatedDesc };

// A version that lost to another (import or sync), kept whole (both sides as JSON objects of
// the memory, written by the caller).
struct ConflictRecord {
  int64_t id = 0;   // this file's number for it (what `sync conflicts --resolve ID` takes)
  std::string uid;  // the same on every node: "<content hash>:<the lost version>"
  std::string content_hash;
  double detected_at = 0;
  std::string source;  // where the incoming side came from: "import:<file>", "sync:<node>"
  std::string winner;  // JSON
  std::string loser;   // JSON
  std::string fields;  // what the loser lost, comma-separated ("memory_type,metadata.k,deleted")
  std::optional<double> resolved_at;
  std::string resolution;   // "kept-winner", "kept-loser"
  std::string resolved_by;  // the node where it was resolved
};

// What scan_memories() walks, newest created first (the Python exporter's order).
struct ScanOptions {
  MemoryFilter filter;                  // tags (any/all), type, created window
  std::optional<double> changed_since;  // updated_at or deleted_at >= this
  bool alive = true;                    // alive rows
  bool tombstones = false;              // tombstones
  size_t vector_dimension = 0;          // > 0: pass each alive row's vector of this size
};

class Database {
 public:
  // Opens (creating when missing, unless read_only) and migrates to the current schema.
  // Corruption when the file is not an SQLite database (nothing is written to it then);
  // FailedPrecondition when it is from a newer mcp-memory, or needs migrating and read_only.
  static Result<std::unique_ptr<Database>> open(const std::string& path, const OpenOptions& opts);
  ~Database();
  Database(const Database&) = delete;
  Database& operator=(const Database&) = delete;

  const std::string& path() const;

  // ---- meta (key/value of ours: embedding_model, embedding_dimension, embedding_spec,
  // reindex.*, hlc_high, and the sync state under sync.*: sync.hub, sync.peer.<node>,
  // sync.purged_seq) ----
  Result<std::optional<std::string>> get_meta(const std::string& key);
  Status set_meta(const std::string& key, const std::string& value);

  // ---- writes ----
  // Runs `body` inside one write transaction (BEGIN IMMEDIATE ... COMMIT), retried as a whole
  // on SQLITE_BUSY. Write methods called inside `body` join it instead of opening their own.
  // A non-ok Status from `body` rolls everything back.
  Status write_transaction(const std::function<Status()>& body);
  // Like write_transaction, but inside an open one it is a step of it (a savepoint): a non-ok
  // Status from `body` undoes what `body` did and leaves the rest of the transaction as it was.
  // (A savepoint costs the full-text index a segment: for whole files, not for every row.)
  Status write_step(const std::function<Status()>& body);

  // Inserts `m` (id is ignored) and its embedding (may be empty). A tombstone with the same
  // hash is replaced. AlreadyExists when an alive row has the same hash. Returns the new id.
  Result<int64_t> insert_memory(const Memory& m, std::span<const float> embedding);

  // Inserts many memories at once (joining or opening a write transaction) with multi-row
  // statements, so derived data is written per statement instead of per row. Returns one id per
  // memory, in order; 0 where an alive row or an earlier memory of this call has the same hash.
  // Tombstones with the same hash are replaced. `embeddings` is parallel to `memories`.
  // `known_new`: the caller looked the hashes up in this transaction and found none, and they
  // are distinct, so the per-row lookups are skipped (a row that exists after all fails the
  // UNIQUE constraint: an error, never a silent overwrite).
  Result<std::vector<int64_t>> insert_memories(const std::vector<Memory>& memories,
                                               const std::vector<std::vector<float>>& embeddings,
                                               bool known_new = false);

  // Rewrites tags, memory_type, metadata, updated_at(+iso), hlc, origin and field versions of
  // the alive row with m.content_hash (content and created_at are never changed here). NotFound
  // when absent.
  Status update_memory(const Memory& m);

  // Tombstones the alive rows with the hashes of `deleted`, writing each one's deleted_at, hlc,
  // origin and field versions; their vectors are dropped. Returns how many rows changed.
  Result<int64_t> tombstone(const std::vector<Memory>& deleted);

  // Writes the whole state of one version (sync and import): every column of the row with
  // m.content_hash, alive or tombstone, including content, timestamps, hlc, origin and
  // field versions; inserts the row when there is none. An alive version's vector is replaced by
  // `embedding` when given; a tombstone's is dropped. Returns the row id.
  Result<int64_t> put_version(const Memory& m, std::span<const float> embedding);

  // Removes tombstones deleted before `deleted_before` whose changes are all at or below
  // `settled_seq` (a tombstone not yet sent to the hub stays). The change log records each
  // removal ("purge"). Returns how many, and the highest change seq they had (0 if none).
  Result<std::pair<int64_t, int64_t>> purge_tombstones(double deleted_before, int64_t settled_seq);
  // Removes the rows with these hashes, alive or not, leaving no tombstone (a full resync
  // drops what the hub no longer has). Returns how many.
  Result<int64_t> purge(const std::vector<std::string>& hashes);

  // Stores (replaces) the embedding of a memory.
  Status put_embedding(int64_t memory_id, std::span<const float> embedding);

  // ---- the vectors' model, and re-embedding them with another (vector_models.cpp) ----
  // The meta keys naming the model every stored vector was made by, and how to load it.
  static constexpr const char* kModelKey = "embedding_model";          // its id
  static constexpr const char* kDimensionKey = "embedding_dimension";  // floats per vector
  static constexpr const char* kModelSpecKey = "embedding_spec";       // what make_embedder loads
  // From now on every write transaction first checks that the stored vectors are still made by
  // `model` (meta embedding_model), and fails with FailedPrecondition once another process has
  // re-embedded them with another model (`mcp-memory reindex`): a process still running the
  // old model must not mix its vectors in. check_vector_model() is that check on its own.
  void guard_vector_model(const std::string& model);
  Status check_vector_model();
  // Alive memories with a stored vector.
  Result<int64_t> count_vectors();

  // A reindex re-embeds every alive memory into a shadow table while the current vectors keep
  // serving searches, then swaps them in one transaction. It survives being killed: the
  // shadow table and the target (meta reindex.*) stay until it finishes.
  struct ReindexState {
    std::string model;  // the target's id
    std::string spec;   // how to load it
    size_t dimension = 0;
    int64_t done = 0;   // alive memories with a new vector
    int64_t total = 0;  // alive memories
  };
  // The reindex in progress, if any.
  Result<std::optional<ReindexState>> reindex_state();
  // Starts a reindex to `model`, or resumes the one in progress when it has the same target;
  // a different target discards the other's vectors.
  Status start_reindex(const std::string& model, const std::string& spec, size_t dimension);
  // Alive memories without a new vector yet, lowest id first, up to `limit`.
  Result<std::vector<Memory>> memories_to_reindex(int64_t limit);
  Status put_reindexed(const std::vector<std::pair<int64_t, std::vector<float>>>& vectors);
  // Drops the reindex in progress, if any.
  Status abandon_reindex();
  // Inside the caller's write transaction: replaces the stored vectors by the new ones and
  // records the new model. FailedPrecondition when an alive memory still lacks a new vector.
  Status finish_reindex();

  // ---- the Python service's vectors (sqlite_vec_vectors.cpp; docs/storage.md) ----
  // Read from the shadow tables of its sqlite-vec table `memory_embeddings` without loading
  // sqlite-vec. Errors (kFailedPrecondition, naming what is wrong) mean the table is not as
  // sqlite-vec 0.1 writes it or holds another dimension: use none of its vectors then.
  //
  // How many alive rows without a vector of ours have one there (0 without such a table:
  // one lookup in sqlite_master). When some have, every chunk's blob sizes and every slot
  // pointer are checked first.
  Result<int64_t> count_sqlite_vec_vectors(size_t dimension);
  // Calls `fn(id, vector)` for alive rows with id > after_id that have a live vector of
  // `dimension` floats there and none of ours, in id order: every `stride`-th such row, at most
  // `limit`. Each slot is checked (inside its chunk, validity bit set, the chunk's rowid slot
  // naming this row) before its vector is passed; a slot that fails stops the scan with an
  // error. A non-ok Status from `fn` stops it and is returned. One read transaction; `fn` must
  // not write. Returns the id of the last row passed (after_id when none).
  struct SqliteVecScan {
    size_t dimension = 0;
    int64_t after_id = 0;
    int64_t limit = INT64_MAX;
    int64_t stride = 1;
  };
  using SqliteVecFn = std::function<Status(int64_t, std::span<const float>)>;
  Result<int64_t> scan_sqlite_vec_vectors(const SqliteVecScan& scan, const SqliteVecFn& fn);
  // Stores each vector unless its row already has one or is no longer alive (another process
  // may have stored or deleted it since it was read), in one write transaction (joining an
  // open one). Returns how many were stored.
  Result<int64_t> put_embeddings_if_absent(
      const std::vector<std::pair<int64_t, std::vector<float>>>& rows);

  // ---- reads ----
  Result<std::optional<Memory>> get_by_hash(const std::string& hash, bool include_deleted = false);
  // Rows with these ids, in the order of `ids` (missing ids skipped). Tombstones are returned
  // too (is_deleted()): an id from the index may have been deleted by another process since.
  Result<std::vector<Memory>> get_by_ids(const std::vector<int64_t>& ids);
  Result<std::vector<Memory>> list(const MemoryFilter& filter, ListOrder order, int64_t offset,
                                   int64_t limit);
  Result<int64_t> count(const MemoryFilter& filter);
  // Ids of every row the filter selects (for filtering before a vector top-k).
  Result<std::vector<int64_t>> ids_matching(const MemoryFilter& filter);
  // Ids and hashes of rows the filter selects (for deletes by filter and dry runs).
  Result<std::vector<std::pair<int64_t, std::string>>> hashes_matching(const MemoryFilter& filter);

  // FTS5 BM25 over content: up to `limit` alive rows matching any word of `query` (words are
  // quoted, so FTS syntax in user input is inert), best first; score = bm25 (negative, lower
  // is better). Rows outside `filter` are excluded before the limit.
  Result<std::vector<ScoredId>> keyword_search(const std::string& query, const MemoryFilter& filter,
                                               int64_t limit);
  // Case-insensitive substring match over content, newest first, filtered before the limit.
  Result<std::vector<int64_t>> substring_search(const std::string& needle,
                                                const MemoryFilter& filter, int64_t limit);

  // Rows (alive or tombstones) with these hashes, in no particular order; missing ones skipped.
  Result<std::vector<Memory>> get_by_hashes(const std::vector<std::string>& hashes);
  // Calls `fn(memory, vector)` for every row `options` selects, alive rows first, each kind
  // newest created first, inside one read transaction, reading one row at a time (constant
  // memory). `vector` is empty unless options.vector_dimension is set and the row has one. `fn`
  // returns false to stop. `on_totals(alive, tombstones)`, when given, is called first with the
  // counts of the same snapshot. Returns how many rows were passed.
  using ScanFn = std::function<bool(const Memory&, std::span<const float>)>;
  Result<int64_t> scan_memories(const ScanOptions& options, const ScanFn& fn,
                                const std::function<void(int64_t, int64_t)>& on_totals = nullptr);

  Result<std::vector<TagCount>> tag_counts();  // alive rows only, most used first
  Result<StorageStats> stats();

  // ---- index support ----
  // Calls `fn(id, vector)` for every alive row that has an embedding of `dimension` floats,
  // all inside one read transaction, and returns the change-log seq that snapshot includes.
  // `fn` returns false to stop early; the scan then returns a kFailedPrecondition "stopped".
  Result<int64_t> scan_embeddings(size_t dimension,
                                  const std::function<bool(int64_t, std::span<const float>)>& fn);
  // Alive rows with no stored embedding (e.g. written by the Python service), up to `limit`.
  Result<std::vector<Memory>> memories_without_embedding(int64_t limit);
  // The embedding of one alive row, if stored with `dimension` floats.
  Result<std::optional<std::vector<float>>> get_embedding(int64_t memory_id, size_t dimension);
  // Change-log entries with seq > `after_seq`, oldest first, at most `limit`.
  Result<std::vector<Change>> changes_since(int64_t after_seq, int64_t limit);
  // Highest seq in the change log (0 if empty).
  Result<int64_t> last_change_seq();
  // The version (HLC) of change `seq`; nullopt when the log has no such entry.
  Result<std::optional<std::string>> change_version(int64_t seq);
  // This database's identity: a random id made the first time it is asked for (kept in `meta`).
  // A copy of the file (backup, replica) has the same id. "" when read-only and never made.
  Result<std::string> database_id();
  // How many change-log entries have seq > `after_seq`.
  Result<int64_t> count_changes_after(int64_t after_seq);
  // PRAGMA data_version: changes whenever another connection commits. Cheap; for polling.
  Result<int64_t> data_version();

  // ---- sync bookkeeping ----
  // Conflicts travel with sync (a resolution made anywhere holds everywhere): recording one,
  // and changing its resolution, append an entry 'conflict' (hlc = its uid) to the change log.
  // Records `c` unless its uid is known; returns its id here, and whether it was new.
  Result<std::pair<int64_t, bool>> add_conflict(const ConflictRecord& c);
  // Newest first; resolved ones only when asked.
  Result<std::vector<ConflictRecord>> conflicts(bool include_resolved, int64_t limit);
  Result<std::optional<ConflictRecord>> conflict(int64_t id);
  Result<std::vector<ConflictRecord>> conflicts_by_uid(const std::vector<std::string>& uids);
  Status set_conflict_resolution(int64_t id, double at, const std::string& resolution,
                                 const std::string& by);
  Result<int64_t> count_conflicts(bool unresolved_only);
  // meta rows whose key starts with `prefix`, by key.
  Result<std::vector<std::pair<std::string, std::string>>> meta_with_prefix(
      const std::string& prefix);
  // Removes the meta rows whose key starts with `prefix`; how many.
  Result<int64_t> erase_meta_with_prefix(const std::string& prefix);

  // ---- maintenance ----
  // "ok" or SQLite's report. FailedPrecondition when SQLite needs a virtual-table module we do
  // not load to check a table (the Python service's sqlite-vec table, on newer SQLite).
  Result<std::string> integrity_check();
  // A consistent copy of the whole database at `path` (SQLite's online backup: other
  // connections may keep writing; what they committed to the WAL before it began is in it), in
  // rollback-journal mode so it is one standalone file. Written beside under a temporary name
  // (owner-only), fsynced, then named `path` only if nothing has that name (AlreadyExists:
  // never an overwrite, even when another process picks the same name at the same moment).
  Status backup_to(const std::string& path);

  // ---- database files that are not open (backups, restores) ----
  // Reads a database file without changing it or leaving a file beside it (read-only): how many
  // alive memories it holds, the newest one's creation time and, when asked, SQLite's integrity
  // check. Corruption when it is not an SQLite database or has no memories table.
  static Result<DatabaseFileSummary> inspect_file(const std::string& path, bool check_integrity);
  // Whether another connection (a server, a CLI command, Litestream) has the database at `path`
  // open. A WAL that a crash left beside it is folded into the file first, as SQLite does when
  // it is opened. Best effort: a process that opens it a moment later is not seen.
  static Result<bool> file_in_use(const std::string& path);

  // ---- health of a database file, open elsewhere or not (file_health.cpp; `doctor`) ----
  // Reads, without writing (a read-only connection): the journal mode, the alive memories and
  // their vectors, vectors left without a memory, Litestream's tables and SQLite's integrity
  // check. Corruption when the file is not an SQLite database or has no memories table;
  // NotFound when there is no file.
  static Result<DatabaseHealth> inspect_health(const std::string& path);
  // Switches the file to WAL mode (a no-op when it is). Busy when another connection holds it.
  static Status enable_wal(const std::string& path);
  // A PASSIVE checkpoint: copies what it can of the WAL into the file without waiting for or
  // blocking anyone (never TRUNCATE or RESTART: Litestream may hold a read transaction).
  static Result<CheckpointOutcome> checkpoint_passive(const std::string& path);

  // ---- followed copies (replication/replica_follow.h) ----
  // "<path>.follow": while this file exists, a follower (`replica follow`) keeps the database
  // at `path` and renames a new file over it each round. open() then opens it read-only
  // whatever the options say: a reader that wrote would leave a -wal, -shm or -journal named
  // after `path`, which SQLite would apply to the next file renamed there (a torn database).
  // A copy not restored yet is then not created either ("unable to open database file").
  static std::string follow_marker_path(const std::string& path);
  // Switches a database file that nothing else has open (a restored candidate) to
  // rollback-journal mode (PRAGMA journal_mode=DELETE), folding any WAL into it: a standalone
  // file with nothing beside it, which readers open without creating a -wal or -shm. IoError
  // or Corruption naming the file.
  // It is also marked as a followed copy (PRAGMA application_id), so a follower replaces only
  // files it made, never a database someone writes.
  static Status make_standalone_file(const std::string& path);
  // Whether the file at `path` carries that mark (false for any other database or file).
  static bool is_followed_copy(const std::string& path);
  // Removes the mark: `promote` makes a followed copy a database of its own again.
  static Status unmark_followed_copy(const std::string& path);

  // The implementation, opaque outside src/storage (storage/database_impl.h).
  struct Impl;

 private:
  explicit Database(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace mcpmem
