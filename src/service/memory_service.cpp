// MemoryService: opening and the write paths (store, update, delete). Search lives in
// memory_search.cpp, sync's merge in memory_sync.cpp, and the vector index's life cycle in
// index_follower.cpp: every commit here is counted (note_own_write) and followed by a catch-up,
// so the index holds it before the call returns.
#include "service/memory_service.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <filesystem>
#include <thread>
#include <unordered_map>
#include <unordered_set>

#include "core/content_hash.h"
#include "core/tags.h"
#include "core/time_format.h"
#include "embed/model_store.h"
#include "platform/file_modes.h"
#include "service/duplicate_rule.h"
#include "service/merge.h"

namespace mcpmem {
namespace {

// Dedup windows up to this size are read from the DB directly; larger ones load the index.
constexpr size_t kDirectDedupScan = 256;
// Near-duplicate candidates checked against the text rules, closest first.
constexpr size_t kDedupCandidates = 8;
constexpr size_t kParallelPrepareMin = 512;  // smaller batches are prepared on one thread

const char* kDuplicateExact = "Duplicate content detected (exact match)";

Status ensure_parent_dir(const std::string& path) {
  std::filesystem::path parent = std::filesystem::path(path).parent_path();
  if (parent.empty()) return Status::ok();
  return create_private_directories(parent.string());
}

// Files and directories made before they were private (by an older version or another
// program) lose group and other access, one log line each (platform/file_modes.h). The parent
// of a database elsewhere is not ours to change; the base, backups and models dirs are.
void tighten_data_files(const Config& config) {
  for (const std::string& path :
       {config.base_dir, config.backups_path, config.models_dir, config.db_path,
        config.db_path + "-wal", config.db_path + "-shm", config.db_path + "-journal"}) {
    if (path.empty()) continue;
    if (auto note = tighten_to_owner(path)) spdlog::warn("{}", *note);
  }
}

float dot(std::span<const float> a, std::span<const float> b) {
  float s = 0;
  for (size_t i = 0; i < a.size() && i < b.size(); ++i) s += a[i] * b[i];
  return s;
}

// The persisted index lives beside the database file (not beside an in-memory one).
IndexOptions index_options(const Config& config) {
  IndexOptions o;
  const bool on_disk = !config.db_path.empty() && config.db_path != ":memory:" &&
                       config.db_path.rfind("file::memory:", 0) != 0;
  if (config.index_file && on_disk) o.file_path = config.db_path + ".index";
  o.hnsw_threshold = config.hnsw_threshold;
  o.hnsw_min_recall = config.hnsw_min_recall;
  return o;
}

}  // namespace

MemoryService::MemoryService(Config config, std::unique_ptr<Database> db,
                             std::unique_ptr<Embedder> embedder, std::function<double()> clock)
    : config_(std::move(config)),
      db_(std::move(db)),
      embedder_(std::move(embedder)),
      follower_(*db_, *embedder_, index_options(config_)),
      // One notion of now for versions and for everything else (a test's clock moves both).
      hlc_(config_.node_name.empty() ? "local" : config_.node_name,
           [this] { return static_cast<int64_t>(std::llround(clock_() * 1000.0)); }),
      clock_(clock ? std::move(clock) : std::function<double()>([] { return unix_now(); })) {}

EmbedderOptions embedder_options(const Config& config) {
  EmbedderOptions o;
  o.api_key = config.embedding_api_key;
  o.models_dir = config.models_dir;
  return o;
}

std::string storable_model_spec(const std::string& spec) {
  if (spec.rfind("bert:", 0) != 0) return spec;
  return "bert:" + std::filesystem::absolute(spec.substr(5)).lexically_normal().string();
}

namespace {
constexpr const char* kPythonServiceModel = "sentence-transformers/all-MiniLM-L6-v2";
constexpr size_t kPythonServiceDimension = 384;
}  // namespace

Result<ModelChoice> choose_model(const Config& config, Database& db) {
  ModelChoice choice;
  MCP_ASSIGN_OR_RETURN(choice.stored_model, db.get_meta(Database::kModelKey));
  MCP_ASSIGN_OR_RETURN(choice.stored_spec, db.get_meta(Database::kModelSpecKey));
  MCP_ASSIGN_OR_RETURN(auto stored_dim, db.get_meta(Database::kDimensionKey));
  choice.stored_dimension = stored_dim ? std::strtoull(stored_dim->c_str(), nullptr, 10) : 0;
  MCP_ASSIGN_OR_RETURN(choice.default_spec, default_model(config.models_dir));
  if (!config.embedding_model.empty()) {
    choice.spec = config.embedding_model;
    choice.configured = true;
  } else if (choice.stored_model.has_value()) {
    choice.spec = choice.stored_spec.value_or(*choice.stored_model);
  } else if (choice.default_spec.has_value()) {
    choice.spec = *choice.default_spec;
  } else {
    choice.spec = kDefaultEmbeddingModel;
    // A Python service's database: its vectors are all-MiniLM-L6-v2's (its default), which
    // serve as they are when that model is here (adopt_sqlite_vec_vectors checks them).
    auto python_vectors = db.count_sqlite_vec_vectors(kPythonServiceDimension);
    if (python_vectors.is_ok() && *python_vectors > 0) {
      const auto minilm = model_dir(config.models_dir, kPythonServiceModel);
      std::error_code ec;
      if (std::filesystem::exists(minilm / "config.json", ec)) {
        choice.spec = kPythonServiceModel;
      } else {
        spdlog::warn(
            "{} holds {} vectors the Python service made, most likely with {}: `mcp-memory "
            "model pull all-MiniLM-L6-v2` would use them as they are; {} re-embeds them",
            config.db_path, *python_vectors, kPythonServiceModel, kDefaultEmbeddingModel);
      }
    }
  }
  choice.spec = storable_model_spec(choice.spec);
  return choice;
}

Result<std::unique_ptr<Database>> open_database(const Config& config) {
  MCP_RETURN_IF_ERROR(ensure_parent_dir(config.db_path));
  tighten_data_files(config);
  OpenOptions db_options;
  db_options.synchronous_full = config.synchronous_full;
  db_options.busy_timeout_ms = config.busy_timeout_ms;
  db_options.write_retry_ms = config.write_retry_ms;
  return Database::open(config.db_path, db_options);
}

Result<std::unique_ptr<MemoryService>> MemoryService::open(const Config& config,
                                                           const ServiceOptions& options) {
  MCP_ASSIGN_OR_RETURN(auto db, open_database(config));

  MCP_ASSIGN_OR_RETURN(ModelChoice choice, choose_model(config, *db));
  auto embedder = make_embedder(choice.spec, embedder_options(config));
  if (!embedder.is_ok()) {
    if (choice.configured || !choice.stored_model.has_value()) return embedder.status();
    return embedder.status().with_context(
        "the vectors of " + config.db_path + " were made by " + *choice.stored_model +
        ", which this machine cannot load; get it back, or re-embed them with a model you have "
        "(mcp-memory reindex --model NAME)");
  }

  // A database never mixes vectors of two models, and never answers a search with vectors of
  // a model other than the query's: another model is refused while vectors of the stored one
  // exist (`mcp-memory reindex` re-embeds them), and adopted when there are none.
  const std::string& model = (*embedder)->model_id();
  const size_t dim = (*embedder)->dimension();
  if (choice.stored_model.has_value() &&
      (*choice.stored_model != model || choice.stored_dimension != dim)) {
    MCP_ASSIGN_OR_RETURN(int64_t vectors, db->count_vectors());
    if (vectors > 0) {
      return Status::failed_precondition(
          "the " + std::to_string(vectors) + " memories of " + config.db_path +
          " were embedded with " + *choice.stored_model + " (" +
          std::to_string(choice.stored_dimension) + " dimensions), not with " + model +
          " (MCP_MEMORY_EMBEDDING_MODEL), and a search must not compare vectors of two "
          "models. Run `mcp-memory reindex` to re-embed them with " +
          model +
          " (searches keep working on the old vectors until it switches), or unset "
          "MCP_MEMORY_EMBEDDING_MODEL to keep " +
          *choice.stored_model);
    }
  }
  if (choice.stored_model != model || choice.stored_dimension != dim ||
      choice.stored_spec != choice.spec) {
    MCP_RETURN_IF_ERROR(db->write_transaction([&]() -> Status {
      MCP_RETURN_IF_ERROR(db->set_meta(Database::kModelKey, model));
      MCP_RETURN_IF_ERROR(db->set_meta(Database::kModelSpecKey, choice.spec));
      return db->set_meta(Database::kDimensionKey, std::to_string(dim));
    }));
  }
  db->guard_vector_model(model);
  if (!choice.configured && choice.default_spec.has_value() &&
      storable_model_spec(*choice.default_spec) != choice.spec) {
    spdlog::warn(
        "the default model is {} (mcp-memory model use), but the vectors of {} were made by "
        "{}, which stays in use until `mcp-memory reindex` re-embeds them",
        *choice.default_spec, config.db_path, model);
  }

  std::unique_ptr<MemoryService> service(
      new MemoryService(config, std::move(db), std::move(*embedder), options.clock));
  MCP_RETURN_IF_ERROR(service->load_clock());
  MCP_RETURN_IF_ERROR(service->adopt_sqlite_vec_vectors());
  if (options.load_index_in_background) service->follower_.load_in_background();
  return service;
}

MemoryService::~MemoryService() = default;

double MemoryService::now() const { return clock_(); }

Status MemoryService::wait_for_index() { return follower_.wait_until_loaded(); }

IndexState MemoryService::index_state() const { return follower_.state(); }

Status MemoryService::rebuild_index() { return follower_.rebuild(); }

bool MemoryService::index_ready() const { return follower_.ready(); }

// ---------------------------------------------------------------------------------------------
// Versions of local writes

Status MemoryService::load_clock() {
  MCP_ASSIGN_OR_RETURN(auto high, db_->get_meta(kHlcHighKey));
  if (!high.has_value()) return Status::ok();
  auto h = Hlc::parse(*high);
  if (h && h->wall_ms <= latest_acceptable_ms()) {
    hlc_.observe(*h);
    return Status::ok();
  }
  // Written by a release that trusted every version it received (or damaged): a clock this
  // far ahead would make every later local write lose to nothing and run the counter out.
  spdlog::warn(
      "the stored sync clock {} is more than MCP_SYNC_MAX_SKEW ({} s) ahead of this "
      "machine's clock; it is reset to now",
      *high, config_.max_sync_skew_s);
  return db_->set_meta(kHlcHighKey, hlc_.now().to_string());
}

int64_t MemoryService::latest_acceptable_ms() const {
  return static_cast<int64_t>((now() + config_.max_sync_skew_s) * 1000.0);
}

Result<std::string> MemoryService::next_local_version(const std::vector<Memory>& replaced) {
  MCP_ASSIGN_OR_RETURN(auto high, db_->get_meta(kHlcHighKey));
  if (high.has_value()) {
    if (auto h = Hlc::parse(*high); h && h->wall_ms <= latest_acceptable_ms()) hlc_.observe(*h);
  }
  for (const Memory& row : replaced) {
    if (auto h = Hlc::parse(row.hlc)) hlc_.observe(*h);
  }
  std::string version = hlc_.now().to_string();
  MCP_RETURN_IF_ERROR(db_->set_meta(kHlcHighKey, version));  // above `high` by construction
  return version;
}

Result<int64_t> MemoryService::tombstone_rows(const std::vector<std::string>& hashes) {
  MCP_ASSIGN_OR_RETURN(auto rows, db_->get_by_hashes(hashes));  // tombstones too
  MCP_ASSIGN_OR_RETURN(auto version, next_local_version(rows));
  const double now_s = now();
  std::vector<Memory> deleted;
  for (const Memory& row : rows) {
    if (row.is_deleted()) continue;
    Memory m = row;
    m.deleted_at = now_s;
    stamp_edit(row, m, version);
    deleted.push_back(std::move(m));
  }
  return db_->tombstone(deleted);
}

// ---------------------------------------------------------------------------------------------
// Store

Result<Memory> MemoryService::prepare_memory(const StoreRequest& r, double now_s) {
  if (r.content.size() > config_.max_content_bytes) {
    return Status::invalid_argument(
        "content is " + std::to_string(r.content.size()) + " bytes; the limit is " +
        std::to_string(config_.max_content_bytes) + " (MCP_MEMORY_MAX_CONTENT_BYTES)");
  }
  auto hash = content_hash(r.content);
  if (!hash.is_ok()) return hash.status().with_context("content");
  if (python_strip_lower(r.content).empty()) {
    return Status::invalid_argument("content is empty");
  }
  if (!r.metadata.is_object()) {
    return Status::invalid_argument("metadata must be a JSON object");
  }
  Memory m;
  m.content = r.content;
  m.content_hash = std::move(hash).value();
  auto tags = normalize_tags(r.tags);
  if (!tags.is_ok()) return tags.status().with_context("tags");
  m.tags = std::move(tags).value();
  if (!is_valid_utf8(r.memory_type)) return Status::invalid_argument("memory type is not UTF-8");
  m.memory_type = r.memory_type;
  m.metadata = r.metadata;
  if (!r.conversation_id.empty()) m.metadata["conversation_id"] = r.conversation_id;
  std::string dumped = m.metadata.dump(-1, ' ', false, Json::error_handler_t::strict);
  if (dumped.size() > config_.max_metadata_bytes) {
    return Status::invalid_argument("metadata is " + std::to_string(dumped.size()) +
                                    " bytes; the limit is " +
                                    std::to_string(config_.max_metadata_bytes));
  }
  m.created_at = r.created_at.value_or(now_s);
  m.updated_at = r.updated_at.value_or(m.created_at);
  if (!is_storable_time(m.created_at) || !is_storable_time(m.updated_at)) {
    return Status::invalid_argument(
        "created_at and updated_at must be times between 1970 and 9999");
  }
  m.origin = hlc_.node();
  return m;
}

Result<std::optional<Memory>> MemoryService::find_semantic_duplicate(std::string_view content,
                                                                     std::span<const float> vec,
                                                                     double now_s) {
  MemoryFilter window;
  window.created_after = now_s - config_.semantic_dedup_window_hours * 3600.0;
  MCP_ASSIGN_OR_RETURN(auto ids, db_->ids_matching(window));
  if (ids.empty()) return std::optional<Memory>();
  // A configured threshold asks for semantic dedup at that cosine; the model's own bar comes
  // with the near-exact wording rule (duplicate_rule.h).
  const bool near_exact = !config_.semantic_dedup_threshold.has_value();
  const double bar = config_.semantic_dedup_threshold.value_or(embedder_->duplicate_cosine());
  // The closest few above the bar, best first: the closest may state another fact while the
  // next is the same one with a typo.
  std::vector<Neighbor> close;
  if (!follower_.loaded() && ids.size() <= kDirectDedupScan) {
    // A short-lived process (one CLI store) need not load the whole index for this.
    for (int64_t id : ids) {
      MCP_ASSIGN_OR_RETURN(auto v, db_->get_embedding(id, embedder_->dimension()));
      if (v.has_value()) close.push_back({id, dot(vec, *v)});
    }
    std::sort(close.begin(), close.end(),
              [](const Neighbor& a, const Neighbor& b) { return a.cosine > b.cosine; });
    if (close.size() > kDedupCandidates) close.resize(kDedupCandidates);
  } else {
    MCP_ASSIGN_OR_RETURN(close, follower_.search(vec, kDedupCandidates, &ids));
  }
  std::erase_if(close, [&](const Neighbor& n) { return n.cosine < bar; });
  if (close.empty()) return std::optional<Memory>();
  std::vector<int64_t> close_ids;
  for (const Neighbor& n : close) close_ids.push_back(n.id);
  MCP_ASSIGN_OR_RETURN(auto rows, db_->get_by_ids(close_ids));  // in the order of close_ids
  for (Memory& row : rows) {
    if (row.is_deleted() || !states_same_facts(content, row.content)) continue;
    if (near_exact && !same_wording(content, row.content)) continue;
    return std::optional<Memory>(std::move(row));
  }
  return std::optional<Memory>();
}

Result<StoreResult> MemoryService::store(const StoreRequest& request) {
  double now_s = now();
  MCP_ASSIGN_OR_RETURN(Memory m, prepare_memory(request, now_s));
  StoreResult result;
  result.content_hash = m.content_hash;
  // A duplicate: nothing is stored, and the reply names the memory that is.
  auto duplicate_of = [&](Duplicate kind, Memory stored) {
    result.duplicate = kind;
    result.content_hash = stored.content_hash;
    result.message = kind == Duplicate::kExact ? kDuplicateExact
                                               : "Duplicate content detected (semantically "
                                                 "similar to " +
                                                     stored.content_hash + ")";
    result.memory = std::move(stored);
    return result;
  };

  MCP_ASSIGN_OR_RETURN(auto existing, db_->get_by_hash(m.content_hash));
  if (existing.has_value()) return duplicate_of(Duplicate::kExact, std::move(*existing));
  std::vector<float> vec(embedder_->dimension());
  MCP_RETURN_IF_ERROR(embedder_->embed(m.content, vec));
  bool semantic_dedup = config_.semantic_dedup_enabled && !request.allow_duplicate &&
                        request.conversation_id.empty() && m.memory_type != "session";
  if (semantic_dedup) {
    MCP_ASSIGN_OR_RETURN(auto similar, find_semantic_duplicate(m.content, vec, now_s));
    if (similar.has_value()) return duplicate_of(Duplicate::kNear, std::move(*similar));
  }
  Result<int64_t> id = int64_t{0};
  Status written = db_->write_transaction([&]() -> Status {
    MCP_ASSIGN_OR_RETURN(auto rows, db_->get_by_hashes({m.content_hash}));
    MCP_ASSIGN_OR_RETURN(auto version, next_local_version(rows));
    stamp_creation(m, version, rows.empty() ? nullptr : &rows.front());
    id = db_->insert_memory(m, vec);
    return id.status();
  });
  if (!written.is_ok()) {
    if (written.code() == StatusCode::kAlreadyExists) {  // another writer won the race
      MCP_ASSIGN_OR_RETURN(auto winner, db_->get_by_hash(m.content_hash));
      if (winner.has_value()) return duplicate_of(Duplicate::kExact, std::move(*winner));
      result.duplicate = Duplicate::kExact;
      result.message = kDuplicateExact;
      return result;
    }
    return written;
  }
  m.id = *id;
  follower_.note_own_write();
  KnownVectors known{{m.id, std::move(vec)}};
  MCP_RETURN_IF_ERROR(follower_.catch_up(&known));
  result.success = true;
  result.message = "Memory stored successfully";
  result.memory = std::move(m);
  return result;
}

Result<std::vector<StoreResult>> MemoryService::store_batch(
    const std::vector<StoreRequest>& requests) {
  const size_t n = requests.size();
  std::vector<StoreResult> results(n);
  std::vector<Memory> memories(n);
  std::vector<std::vector<float>> vectors(n);
  std::vector<char> valid(n, 0);  // not vector<bool>: written from several threads
  const double now_s = now();
  // Validation, hashing and embedding are independent per memory: spread them over the cores
  // (each thread owns a contiguous slice); only the inserts below are serial.
  auto prepare_range = [&](size_t begin, size_t end) {
    for (size_t i = begin; i < end; ++i) {
      auto m = prepare_memory(requests[i], now_s);
      if (!m.is_ok()) {
        results[i].message = m.status().message();
        continue;
      }
      memories[i] = std::move(m).value();
      results[i].content_hash = memories[i].content_hash;
      vectors[i].resize(embedder_->dimension());
      if (!embedder_->embed(memories[i].content, vectors[i]).is_ok()) {
        results[i].message = "content could not be embedded";
        continue;
      }
      valid[i] = 1;
    }
  };
  // Prepares [begin, end) on `workers` threads, each owning a contiguous slice.
  auto prepare_batch = [&](size_t begin, size_t end, size_t workers) {
    std::vector<std::thread> threads;
    const size_t len = end - begin;
    for (size_t w = 1; w < workers; ++w) {
      threads.emplace_back(prepare_range, begin + len * w / workers,
                           begin + len * (w + 1) / workers);
    }
    prepare_range(begin, begin + len / workers);
    for (auto& t : threads) t.join();
  };
  // Writes [begin, end) in one transaction, then brings the index up to date.
  auto write_batch = [&](size_t begin, size_t end) -> Status {
    std::vector<Memory> chunk;
    std::vector<std::vector<float>> chunk_vectors;
    std::vector<size_t> index_of;  // chunk position -> request index
    std::vector<std::string> hashes;
    for (size_t i = begin; i < end; ++i) {
      if (!valid[i]) continue;
      hashes.push_back(memories[i].content_hash);
      chunk.push_back(std::move(memories[i]));  // moved on into results[i] below
      chunk_vectors.push_back(std::move(vectors[i]));
      index_of.push_back(i);
    }
    std::vector<int64_t> ids;
    MCP_RETURN_IF_ERROR(db_->write_transaction([&]() -> Status {
      // One floor for the batch, then a fresh version each (the clock only moves forward).
      MCP_ASSIGN_OR_RETURN(auto rows, db_->get_by_hashes(hashes));
      std::unordered_map<std::string, const Memory*> tombstones;
      for (const Memory& row : rows) tombstones.emplace(row.content_hash, &row);
      MCP_ASSIGN_OR_RETURN(auto first, next_local_version(rows));
      for (size_t c = 0; c < chunk.size(); ++c) {
        auto t = tombstones.find(chunk[c].content_hash);
        stamp_creation(chunk[c], c == 0 ? first : hlc_.now().to_string(),
                       t == tombstones.end() ? nullptr : t->second);
      }
      if (chunk.size() > 1) MCP_RETURN_IF_ERROR(db_->set_meta(kHlcHighKey, chunk.back().hlc));
      MCP_ASSIGN_OR_RETURN(ids, db_->insert_memories(chunk, chunk_vectors));
      return Status::ok();
    }));
    KnownVectors known;
    for (size_t c = 0; c < chunk.size(); ++c) {
      const size_t i = index_of[c];
      if (ids[c] == 0) {
        results[i].message = kDuplicateExact;
        results[i].duplicate = Duplicate::kExact;
        continue;
      }
      chunk[c].id = ids[c];
      results[i].success = true;
      results[i].message = "Memory stored successfully";
      known.emplace(chunk[c].id, std::move(chunk_vectors[c]));
      results[i].memory = std::move(chunk[c]);
    }
    follower_.note_own_write();
    return follower_.catch_up(&known);
  };

  // The write is one thread; while it runs, the other cores prepare the next batch.
  const size_t cores = std::clamp<size_t>(std::thread::hardware_concurrency(), 1, 8);
  const size_t batch = std::max<size_t>(1, config_.bulk_batch_size);
  prepare_batch(0, std::min(n, batch), n < kParallelPrepareMin ? 1 : cores);
  for (size_t begin = 0; begin < n; begin += batch) {
    const size_t end = std::min(n, begin + batch);
    std::thread next;
    if (end < n) {
      next =
          std::thread(prepare_batch, end, std::min(n, end + batch), std::max<size_t>(1, cores - 1));
    }
    Status written = write_batch(begin, end);
    if (next.joinable()) next.join();
    MCP_RETURN_IF_ERROR(written);
  }
  return results;
}

// ---------------------------------------------------------------------------------------------
// Read, update, delete

Result<std::vector<Change>> MemoryService::changes_since(int64_t after_seq, int64_t limit) {
  return db_->changes_since(after_seq, limit);
}

Result<int64_t> MemoryService::last_change_seq() { return db_->last_change_seq(); }

Status MemoryService::backup_to(const std::string& path) { return db_->backup_to(path); }

Result<std::optional<Memory>> MemoryService::get(const std::string& content_hash) {
  return db_->get_by_hash(content_hash);
}

Result<MemoryFilter> MemoryService::make_filter(const std::vector<std::string>& tags,
                                                bool match_all,
                                                const std::optional<std::string>& type,
                                                std::optional<double> after,
                                                std::optional<double> before) {
  MemoryFilter f;
  auto normalized = normalize_tag_filter(tags);
  if (!normalized.is_ok()) return normalized.status().with_context("tags");
  f.tags = std::move(normalized).value();
  f.match_all_tags = match_all;
  if (type && !type->empty()) f.memory_type = type;
  f.created_after = after;
  f.created_before = before;
  if (after && before && *after > *before) {
    return Status::invalid_argument("the time window ends before it starts");
  }
  return f;
}

Result<ListResponse> MemoryService::list(const ListRequest& r) {
  if (r.page < 1) return Status::invalid_argument("page must be 1 or more");
  if (r.page_size < 1 || r.page_size > config_.max_page_size) {
    return Status::invalid_argument("page size must be between 1 and " +
                                    std::to_string(config_.max_page_size));
  }
  MCP_ASSIGN_OR_RETURN(auto filter, make_filter(r.tags, r.match_all_tags, r.memory_type,
                                                std::nullopt, std::nullopt));
  ListResponse out;
  out.page = r.page;
  out.page_size = r.page_size;
  MCP_ASSIGN_OR_RETURN(out.total, db_->count(filter));
  MCP_ASSIGN_OR_RETURN(out.memories, db_->list(filter, ListOrder::kCreatedDesc,
                                               (r.page - 1) * r.page_size, r.page_size));
  out.has_more = r.page * r.page_size < out.total;
  return out;
}

Result<Memory> MemoryService::update(const UpdateRequest& r) {
  Memory m;
  MCP_RETURN_IF_ERROR(db_->write_transaction([&]() -> Status {
    MCP_ASSIGN_OR_RETURN(auto found, db_->get_by_hash(r.content_hash));
    if (!found.has_value()) {
      return Status::not_found("no memory with content hash " + r.content_hash);
    }
    m = std::move(*found);
    return apply_update(r, m);
  }));
  follower_.note_own_write();
  MCP_RETURN_IF_ERROR(follower_.catch_up(nullptr));
  return m;
}

// Changes `m` (the row as it is now, read in the caller's write transaction) as `r` asks and
// writes it with a new version.
Status MemoryService::apply_update(const UpdateRequest& r, Memory& m) {
  const Memory before = m;
  if (r.tags) {
    auto tags = normalize_tags(*r.tags);
    if (!tags.is_ok()) return tags.status().with_context("tags");
    m.tags = std::move(tags).value();
  }
  if (r.memory_type) {
    if (!is_valid_utf8(*r.memory_type)) return Status::invalid_argument("memory type is not UTF-8");
    m.memory_type = *r.memory_type;
  }
  if (r.metadata) {
    if (!r.metadata->is_object()) return Status::invalid_argument("metadata must be a JSON object");
    for (const auto& [key, value] : r.metadata->items()) m.metadata[key] = value;
    if (m.metadata.dump().size() > config_.max_metadata_bytes) {
      return Status::invalid_argument("metadata would exceed " +
                                      std::to_string(config_.max_metadata_bytes) + " bytes");
    }
  }
  m.updated_at = std::max(now(), m.created_at);
  MCP_ASSIGN_OR_RETURN(auto version, next_local_version({before}));
  stamp_edit(before, m, version);
  return db_->update_memory(m);
}

Result<DeleteResult> MemoryService::remove(const DeleteRequest& r) {
  DeleteResult out;
  out.dry_run = r.dry_run;
  if (r.content_hash) {
    MCP_ASSIGN_OR_RETURN(auto found, db_->get_by_hash(*r.content_hash));
    if (!found.has_value()) {
      return Status::not_found("no memory with content hash " + *r.content_hash);
    }
    out.content_hashes.push_back(*r.content_hash);
  } else {
    if (r.tags.empty() && !r.after && !r.before) {
      return Status::invalid_argument(
          "refusing to delete without a filter: give a content hash, tags or a time window");
    }
    MCP_ASSIGN_OR_RETURN(
        auto filter,
        make_filter(r.tags, r.match_all_tags, std::nullopt, r.after,
                    // strictly before: the filter's bound is inclusive
                    r.before ? std::optional(std::nextafter(*r.before, -INFINITY)) : std::nullopt));
    MCP_ASSIGN_OR_RETURN(auto rows, db_->hashes_matching(filter));
    for (auto& [id, hash] : rows) out.content_hashes.push_back(std::move(hash));
  }
  if (r.dry_run || out.content_hashes.empty()) {
    out.count = static_cast<int64_t>(out.content_hashes.size());
    return out;
  }
  MCP_RETURN_IF_ERROR(db_->write_transaction([&]() -> Status {
    MCP_ASSIGN_OR_RETURN(out.count, tombstone_rows(out.content_hashes));
    return Status::ok();
  }));
  follower_.note_own_write();
  MCP_RETURN_IF_ERROR(follower_.catch_up(nullptr));
  return out;
}

Result<ServiceStats> MemoryService::stats(bool by_source) {
  ServiceStats out;
  // Every write, by any process, appends to the change log, so the counts can only have moved
  // if its last seq did. Health checks and dashboards poll this: they get the cached counts
  // (one indexed lookup) unless something changed or the weekly count is a minute old.
  MCP_ASSIGN_OR_RETURN(auto seq, db_->last_change_seq());
  const double now_s = now();
  bool cached = false;
  {
    MutexLock lock(stats_mu_);
    if (stats_cache_ && stats_cache_seq_ == seq && now_s - stats_cache_time_ < 60) {
      out.storage = *stats_cache_;
      cached = true;
    }
  }
  if (!cached) {
    MCP_ASSIGN_OR_RETURN(auto storage, db_->stats());
    out.storage = storage;
    MutexLock lock(stats_mu_);
    stats_cache_ = storage;
    stats_cache_seq_ = seq;
    stats_cache_time_ = now_s;
  }
  out.embedding_model = embedder_->model_id();
  out.embedding_dimension = embedder_->dimension();
  if (by_source) {
    MCP_ASSIGN_OR_RETURN(auto tags, db_->tag_counts());
    for (const TagCount& t : tags) {
      if (t.tag.rfind("source:", 0) == 0) out.sources.push_back({t.tag.substr(7), t.count});
    }
  }
  out.index_ready = index_ready();
  out.index_size = follower_.size();
  out.index = follower_.state();
  return out;
}

Result<std::vector<TagCount>> MemoryService::tags() { return db_->tag_counts(); }

Result<int64_t> MemoryService::cleanup_duplicates() {
  // Hashes written by other programs (older Python versions hashed metadata too) can disagree
  // with the content; rows whose content is the same under today's hash are duplicates.
  constexpr int64_t kPage = 1000;
  std::unordered_set<std::string> seen;
  std::vector<std::string> doomed;
  for (int64_t offset = 0;; offset += kPage) {
    MCP_ASSIGN_OR_RETURN(auto rows,
                         db_->list(MemoryFilter{}, ListOrder::kCreatedAsc, offset, kPage));
    for (const Memory& m : rows) {
      auto h = content_hash(m.content);
      if (!h.is_ok()) continue;
      if (!seen.insert(*h).second) doomed.push_back(m.content_hash);
    }
    if (rows.size() < static_cast<size_t>(kPage)) break;
  }
  if (doomed.empty()) return int64_t{0};
  int64_t n = 0;
  MCP_RETURN_IF_ERROR(db_->write_transaction([&]() -> Status {
    MCP_ASSIGN_OR_RETURN(n, tombstone_rows(doomed));
    return Status::ok();
  }));
  follower_.note_own_write();
  MCP_RETURN_IF_ERROR(follower_.catch_up(nullptr));
  return n;
}

}  // namespace mcpmem
