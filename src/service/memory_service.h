// MemoryService: the business rules every front end (CLI, MCP, HTTP, sync) calls. It owns the
// database, the embedder and the in-RAM vector index, and keeps the index in step with the
// database's change log, so writes by other processes (another CLI, a server, the Python
// service) become searchable without a restart.
//
// Rules it enforces (DESIGN §3-4): content hash identity and exact dedup; near-duplicate dedup
// among memories created within a window (see store()); tag normalization; filters (tags,
// type, time) applied before the top-k, never after; scores (1 + cos) / 2 like the Python
// service; updates keep created_at.
// Thread-safety: safe from many threads.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "core/config.h"
#include "core/hlc.h"
#include "core/memory.h"
#include "core/status.h"
#include "core/thread_annotations.h"
#include "embed/embedder.h"
#include "index/vector_index.h"
#include "service/index_follower.h"
#include "storage/database.h"

namespace mcpmem {

struct StoreRequest {
  std::string content;
  std::vector<std::string> tags;     // raw; normalized by the service
  std::string memory_type;           // "" = none
  Json metadata = Json::object();    // must be an object
  std::optional<double> created_at;  // kept when given (imports); now otherwise
  std::optional<double> updated_at;
  std::string conversation_id;  // non-empty: near-duplicate dedup is skipped (Python #463)
  // Store even when a near-duplicate exists (the near-duplicate check is skipped). An exact
  // duplicate (the same content, so the same hash) is never stored twice.
  bool allow_duplicate = false;
};

// Why a store with valid content stored nothing.
enum class Duplicate {
  kNone,
  kExact,  // the same content (the same hash) is stored
  kNear,   // a near-duplicate is stored (see MemoryService::store)
};

struct StoreResult {
  bool success = false;
  // The hash of the memory that holds this content now: the new memory's, or for a duplicate
  // the memory already stored (for a near-duplicate, the hash of that other text).
  std::string content_hash;
  std::string message;  // "Memory stored successfully" or why not (the Python service's words)
  Duplicate duplicate = Duplicate::kNone;
  // The memory stored; from store(), for a duplicate, the memory already stored.
  std::optional<Memory> memory;
};

// A conversation to keep (the MCP tool memory_store_session).
struct SessionTurn {
  std::string role;  // "user", "assistant", ...; empty: "unknown"
  std::string content;
};
struct SessionRequest {
  std::vector<SessionTurn> turns;
  std::string session_id;  // empty: a new UUID
  std::vector<std::string> tags;
  Json metadata = Json::object();
};
struct SessionStored {
  std::string session_id;
  std::vector<std::string> content_hashes;  // one per chunk, in order
  size_t turns = 0;                         // turns with content
};

enum class SearchMode { kSemantic, kExact, kKeyword, kHybrid };
const char* to_string(SearchMode mode);
std::optional<SearchMode> parse_search_mode(std::string_view text);

struct SearchRequest {
  std::string query;  // may be empty when a time window is given (time-only recall)
  SearchMode mode = SearchMode::kSemantic;
  int limit = 10;
  std::vector<std::string> tags;  // raw
  bool match_all_tags = false;
  std::optional<std::string> memory_type;
  std::string time_expr;         // natural language ("last week"); wins over after/before
  std::optional<double> after;   // created_at >= after (Unix seconds)
  std::optional<double> before;  // created_at <= before
  // Read a time named inside `query` ("what did I store yesterday", core/time_in_query.h)
  // when time_expr, after and before are all unset: its window filters, its words leave the
  // query, and a query of nothing else browses the window. Never in exact mode, whose query
  // is a literal string.
  bool time_from_query = false;
  // Hits scoring below this (similarity_score, [0, 1]) are not returned.
  std::optional<double> min_score;
};

// The window a time expression gave a search.
struct TimeWindow {
  std::string expression;   // the words that named it: time_expr, or those read from the query
  double start = 0;         // created_at >= start (Unix seconds)
  double end = 0;           // created_at <= end
  bool from_query = false;  // read from the query (SearchRequest::time_from_query)
};

struct SearchHit {
  Memory memory;
  double similarity_score = 0;  // [0, 1]
  std::string relevance_reason;
};

struct SearchResponse {
  std::vector<SearchHit> results;
  std::string query;
  // The mode that ranked ("semantic", "exact", "keyword", "hybrid"); for a recall by filters
  // alone (no query words left), what filtered, newest first: "tags", "time" (a time
  // expression or after/before) and "type", joined by "+" in that order ("tags+time").
  // search_similar: "similar".
  std::string search_type;
  double processing_time_ms = 0;
  std::optional<TimeWindow> time_window;  // set when a time expression filtered the search
};

struct ListRequest {
  int64_t page = 1;  // 1-based
  int64_t page_size = 10;
  std::vector<std::string> tags;  // raw
  bool match_all_tags = false;
  std::optional<std::string> memory_type;
};

struct ListResponse {
  std::vector<Memory> memories;
  int64_t total = 0;
  int64_t page = 1;
  int64_t page_size = 10;
  bool has_more = false;
};

struct UpdateRequest {
  std::string content_hash;
  std::optional<std::vector<std::string>> tags;  // replaces the tags (normalized)
  std::optional<std::string> memory_type;
  std::optional<Json> metadata;  // merged into the existing object (keys overwritten)
  // created_at is always kept; updated_at becomes now (the sync version moves with it).
};

struct DeleteRequest {
  std::optional<std::string> content_hash;
  std::vector<std::string> tags;  // raw
  bool match_all_tags = false;
  std::optional<double> after;   // created_at >= after
  std::optional<double> before;  // created_at < before ("before 2024-01-01": not that day)
  bool dry_run = false;
};

struct DeleteResult {
  int64_t count = 0;
  std::vector<std::string> content_hashes;
  bool dry_run = false;
};

struct ServiceStats {
  StorageStats storage;
  std::string embedding_model;
  size_t embedding_dimension = 0;
  std::vector<TagCount> sources;  // counts of "source:<machine>" tags, when asked for
  bool index_ready = false;
  size_t index_size = 0;
  IndexState index;  // the vector index's file and graph
};

// One version of a memory arriving from elsewhere (an import file, another node), with its
// embedding when the sender's model is ours.
struct IncomingVersion {
  Memory memory;
  std::vector<float> embedding;  // empty: embedded here
};

struct ApplyOptions {
  std::string source;  // recorded with conflicts: "import:<file>", "sync:<node>"
};

// What applying versions did, one count per version.
struct ApplyCounts {
  int64_t added = 0;       // memory unknown here: stored
  int64_t updated = 0;     // newer than ours: replaced ours
  int64_t deleted = 0;     // a newer tombstone of a memory alive here
  int64_t tombstones = 0;  // a tombstone of a memory unknown here (kept, so it cannot come back)
  int64_t unchanged = 0;   // the same version as ours
  int64_t kept_local = 0;  // older than ours: ours stays
  int64_t merged = 0;      // made concurrently with ours: the two merged field by field
  int64_t conflicts =
      0;  // of the above, versions made concurrently: the loser is in sync_conflicts

  ApplyCounts& operator+=(const ApplyCounts& o);
  int64_t total() const {
    return added + updated + deleted + tombstones + unchanged + kept_local + merged;
  }
};

// What a node holds, in a form two nodes can compare: equal digests mean the same memories at
// the same versions (tombstones included).
struct DataDigest {
  int64_t alive = 0;
  int64_t tombstones = 0;
  std::string hash;  // 32 hex digits: the sum of a hash of each (content hash, version)
};

// Versions changed after a change-log seq, for another node.
struct ChangedVersions {
  std::vector<Memory> versions;  // current state of each changed memory (tombstones included)
  // With `with_vectors`: parallel to versions, each alive one's stored vector (empty if none).
  std::vector<std::vector<float>> vectors;
  std::vector<ConflictRecord> conflicts;  // conflicts recorded or resolved in that range
  int64_t next_seq = 0;  // the change-log seq these include; ask from here next time
  bool more = false;     // more changes after next_seq
};

// meta key of the highest version received from another node (see apply_versions).
inline constexpr const char* kHlcHighKey = "hlc_high";
// meta key of the highest change seq of any purged tombstone: a node that has not pulled
// past it may have missed a delete and needs a full resync.
inline constexpr const char* kPurgedSeqKey = "sync.purged_seq";

// The embedding model a process uses on a database: MCP_MEMORY_EMBEDDING_MODEL when set
// (`configured`); else the model the database's vectors were made with; else the default
// `mcp-memory model use` chose; else all-MiniLM-L6-v2 for a Python service's database with
// vectors when that model is installed; else hash-384.
struct ModelChoice {
  std::string spec;  // make_embedder's name (a bert:<dir> made absolute)
  bool configured = false;
  std::optional<std::string> stored_model;  // meta embedding_model: the vectors' model id
  std::optional<std::string> stored_spec;   // meta embedding_spec: how to load it
  size_t stored_dimension = 0;
  std::optional<std::string> default_spec;  // `model use`
};
inline constexpr const char* kDefaultEmbeddingModel = "hash-384";
Result<ModelChoice> choose_model(const Config& config, Database& db);
// make_embedder's options from the configuration (models dir, remote key).
EmbedderOptions embedder_options(const Config& config);
// make_embedder's name for `spec` as it loads from any directory (a bert:<dir> made absolute).
std::string storable_model_spec(const std::string& spec);
// The configured database (its directory made when missing), opened with the configured
// options.
Result<std::unique_ptr<Database>> open_database(const Config& config);

struct ServiceOptions {
  bool load_index_in_background = false;  // servers: true; a CLI loads it on first search
  std::function<double()> clock;          // tests: the wall clock in Unix seconds from the start
};

class MemoryService {
 public:
  static Result<std::unique_ptr<MemoryService>> open(const Config& config,
                                                     const ServiceOptions& options = {});
  ~MemoryService();

  // Stores a memory unless it is a duplicate (then success false, `duplicate` says which, and
  // content_hash and memory are the stored one's):
  //  - exact: the same content hash is stored (always checked);
  //  - near: among memories created within MCP_SEMANTIC_DEDUP_TIME_WINDOW_HOURS, one with
  //    cosine >= the bar (MCP_SEMANTIC_DEDUP_THRESHOLD, else Embedder::duplicate_cosine) that
  //    states the same facts (same numbers and negations, duplicate_rule.h) and, unless the
  //    threshold is configured, has the same wording up to typos. Skipped when dedup is
  //    disabled, for allow_duplicate, a conversation_id, or type "session".
  Result<StoreResult> store(const StoreRequest& request);
  // Stores many in one transaction per `bulk_batch_size`: exact dedup only, as the Python
  // service's store_batch. One result per request, in order.
  Result<std::vector<StoreResult>> store_batch(const std::vector<StoreRequest>& requests);

  // A conversation as one memory ("[role] content" lines, type "session", tag
  // session:<id>), or, past Config::session_chunk_chars, as several that keep whole turns and
  // add the tag chunk:i/n, as the Python service (lengths in code points, like Python's len()).
  // InvalidArgument when no turn has content; a chunk that cannot be stored (a duplicate)
  // fails the call, naming how many were stored before it.
  Result<SessionStored> store_session(const SessionRequest& request);

  Result<SearchResponse> search(const SearchRequest& request);
  // The memories closest in meaning to the one with `content_hash` (itself excluded);
  // NotFound when there is no such memory. search_type "similar", query = the hash.
  Result<SearchResponse> search_similar(const std::string& content_hash, int limit);
  Result<ListResponse> list(const ListRequest& request);
  Result<std::optional<Memory>> get(const std::string& content_hash);
  Result<Memory> update(const UpdateRequest& request);
  Result<DeleteResult> remove(const DeleteRequest& request);
  Result<ServiceStats> stats(bool by_source = false);
  Result<std::vector<TagCount>> tags();
  // Removes rows whose content hashes to the same value as another row's (only possible in
  // databases written by other programs), keeping the oldest. Returns how many were removed.
  Result<int64_t> cleanup_duplicates();

  // ---- sync (memory_sync.cpp) ----
  // Applies versions from elsewhere by the sync rule (DESIGN §5.2): a memory is identified by
  // its content hash; of two versions the higher HLC wins (a version without an HLC gets one
  // made from its updated_at, or deleted_at, and origin, the same on every node); tombstones
  // are versions too, so an older alive version never resurrects a delete. When the two were
  // made concurrently (neither built on the other) and differ, the loser is kept in
  // sync_conflicts. Joins the caller's write transaction (see write_transaction).
  Result<ApplyCounts> apply_versions(std::vector<IncomingVersion>& versions,
                                     const ApplyOptions& options);
  // Runs `body` in one write transaction (a whole import file); a non-ok Status rolls it back.
  Status write_transaction(const std::function<Status()>& body);
  // A file's share of the caller's transaction (see Database::write_step): a failed file undoes
  // only itself. Outside a transaction, write_transaction.
  Status write_step(const std::function<Status()>& body);
  // Walks memories for export (see Database::scan_memories).
  Result<int64_t> scan_memories(const ScanOptions& options, const Database::ScanFn& fn,
                                const std::function<void(int64_t, int64_t)>& on_totals = nullptr);
  // The current state of memories changed after `after_seq`, at most about `limit`.
  Result<ChangedVersions> changed_since(int64_t after_seq, int64_t limit,
                                        bool with_vectors = false);
  Result<int64_t> count_changes_after(int64_t after_seq);
  // The digest of every memory and tombstone (one pass over the rows; cached until the next
  // change). Order-independent: a sum of per-row hashes.
  Result<DataDigest> data_digest();
  // Conflicts, newest first.
  Result<std::vector<ConflictRecord>> conflicts(bool include_resolved, int64_t limit);
  Result<std::optional<ConflictRecord>> conflict(int64_t id);
  Result<int64_t> count_conflicts(bool unresolved_only);
  // Settles a conflict: "winner" keeps the current version; "loser" makes the losing version
  // current again as a new local edit (a new HLC, so it wins everywhere once synced).
  Status resolve_conflict(int64_t id, const std::string& keep);
  // Conflicts another node recorded or resolved (ChangedVersions::conflicts): unknown ones are
  // recorded, and a resolution made there holds here. Joins the caller's write transaction.
  // Returns how many changed here.
  Result<int64_t> apply_conflicts(const std::vector<ConflictRecord>& incoming);
  // Removes tombstones older than the retention window (config tombstone_retention_days; 0 =
  // never) whose changes are all at or below `settled_seq` (a spoke: what the hub has
  // acknowledged; otherwise everything), and raises kPurgedSeqKey. At most once per
  // min(1 hour, window / 10) per process unless `force`. Returns how many.
  Result<int64_t> purge_expired_tombstones(int64_t settled_seq = INT64_MAX, bool force = false);
  // kPurgedSeqKey, 0 when nothing was ever purged.
  Result<int64_t> purged_seq();
  // Removes these memories outright, leaving no tombstone (a full resync: the hub purged them).
  Result<int64_t> drop_versions(const std::vector<std::string>& hashes);
  // Durable key/value state of sync (cursors, per-node status), in the database's meta table.
  Result<std::optional<std::string>> sync_state(const std::string& key);
  Status set_sync_state(const std::string& key, const std::string& value);
  Result<std::vector<std::pair<std::string, std::string>>> sync_states(const std::string& prefix);
  Result<int64_t> erase_sync_states(const std::string& prefix);  // how many were erased
  const std::string& node_name() const { return hlc_.node(); }

  // A consistent copy of the database at `path` (see Database::backup_to).
  Status backup_to(const std::string& path);

  // The change log: every writer's changes (this process, other processes, sync), oldest
  // first. For live events and sync; seq increases in commit order.
  Result<std::vector<Change>> changes_since(int64_t after_seq, int64_t limit);
  Result<int64_t> last_change_seq();

  // Blocks until the vector index holds every stored vector (loading it if not started).
  Status wait_for_index();
  bool index_ready() const;
  // The vector index's files and state (`index status`), and rebuilding both files from the
  // database (`index rebuild`; blocks until they are written).
  IndexState index_state() const;
  Status rebuild_index();

  const Config& config() const { return config_; }
  const Embedder& embedder() const { return *embedder_; }

 private:
  using KnownVectors = IndexFollower::KnownVectors;
  struct ScoredHit {
    int64_t id = 0;
    double score = 0;
    std::string reason;
  };

  MemoryService(Config config, std::unique_ptr<Database> db, std::unique_ptr<Embedder> embedder,
                std::function<double()> clock);
  double now() const;

  Result<MemoryFilter> make_filter(const std::vector<std::string>& tags, bool match_all,
                                   const std::optional<std::string>& type,
                                   std::optional<double> after, std::optional<double> before);
  Result<Memory> prepare_memory(const StoreRequest& request, double now_s);
  // Copies the vectors of the Python service's sqlite-vec table into ours when a sample shows
  // they were made by our model (sqlite_vec_adoption.cpp). Anything else (no such table, another
  // model, a damaged table) is logged and leaves the file as it was; only a failed write is an
  // error. Cheap when there is nothing to adopt.
  Status adopt_sqlite_vec_vectors();
  // Seeds the clock from the persisted hlc_high, resetting one that is poisoned (further ahead
  // than MCP_SYNC_MAX_SKEW).
  Status load_clock();
  // The latest version time (ms) accepted from elsewhere: now + MCP_SYNC_MAX_SKEW.
  int64_t latest_acceptable_ms() const;
  // Refuses versions (with field versions, derived or not) that break a limit: times outside
  // 1970..9999, a version too far ahead, content or metadata over the store's limits. Names
  // the record.
  Status check_incoming(const std::vector<IncomingVersion>& versions) const;
  Status apply_update(const UpdateRequest& request, Memory& m);
  // The version of a local write, made inside its write transaction: above the clock every
  // process on this file persisted (hlc_high) and above the current versions of the rows it
  // replaces (tombstones too), and persisted in turn. So two writes of one memory never get
  // the same version, whether they come from this process or from two short-lived ones.
  Result<std::string> next_local_version(const std::vector<Memory>& replaced);
  // Deletes the alive memories among `hashes` with one new version (in the caller's write
  // transaction). Returns how many.
  Result<int64_t> tombstone_rows(const std::vector<std::string>& hashes);
  // The near-duplicate of `content` (with vector `vec`) that store() refuses it for, if any.
  Result<std::optional<Memory>> find_semantic_duplicate(std::string_view content,
                                                        std::span<const float> vec, double now_s);

  // Ranking (memory_search.cpp).
  Result<std::vector<Neighbor>> nearest(std::span<const float> query, size_t k,
                                        const MemoryFilter& filter);
  Result<std::vector<ScoredHit>> rank(const SearchRequest& r, const MemoryFilter& filter);
  Result<std::vector<ScoredHit>> rank_hybrid(const SearchRequest& r, const MemoryFilter& filter);
  Result<std::vector<SearchHit>> hits_for(const std::vector<ScoredHit>& scored);

  Config config_;
  std::unique_ptr<Database> db_;
  std::unique_ptr<Embedder> embedder_;
  IndexFollower follower_;  // after db_ and embedder_, which it uses
  HlcClock hlc_;
  std::function<double()> clock_;

  // stats() caches its answer for a change-log position and a short time.
  Mutex stats_mu_;
  std::optional<StorageStats> stats_cache_ MCP_GUARDED_BY(stats_mu_);
  int64_t stats_cache_seq_ MCP_GUARDED_BY(stats_mu_) = -1;
  double stats_cache_time_ MCP_GUARDED_BY(stats_mu_) = 0;
  std::atomic<double> last_purge_at_{0};  // purge_expired_tombstones' rate limit
  Mutex digest_mu_;
  std::optional<DataDigest> digest_cache_ MCP_GUARDED_BY(digest_mu_);
  int64_t digest_cache_seq_ MCP_GUARDED_BY(digest_mu_) = -1;
};

}  // namespace mcpmem
