// The follower's maintenance (servers) and its HNSW graph. Why a search through the graph
// misses nothing: every change the follower applies after a graph's snapshot is recorded in
// `pending` (id -> seq of its latest change), and a search adds the pending ids to the graph's
// candidates before the exact re-rank. A pending entry is dropped only after the graph holds
// that row's vector as of a moment after the change (the seq is compared again when dropping),
// so a row changed meanwhile stays pending. While a graph is being (re)built, changes are
// recorded for the new graph too, and the new graph replaces the old one with its own record.
#include <spdlog/spdlog.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>

#include "platform/durable_file.h"
#include "service/index_follower.h"

namespace mcpmem {
namespace {

constexpr auto kMaintenanceInterval = std::chrono::seconds(1);
constexpr int64_t kChangeBatch = 5000;        // change-log rows read per step
constexpr size_t kPendingBatch = 10000;       // rows put into the graph per maintenance round
constexpr double kRebuildDeletedShare = 0.2;  // rebuild when this share of the graph is deleted
constexpr size_t kSaveAfterRowsMin = 10000;   // save the graph after this many rows were added
constexpr double kSaveAfterShare = 0.05;      // ... or this share of it, whichever is larger
constexpr size_t kRecallQueries = 40;         // stored rows a new graph is measured on (GraphCheck)
// A store whose graph was refused is not tried again until it has grown this much.
constexpr double kRetryGrowth = 2.0;

// Marks a span of maintenance that holds mu_ for long: searches answer without catching up.
class LongWork {
 public:
  explicit LongWork(std::atomic<bool>& flag) : flag_(flag) { flag_ = true; }
  ~LongWork() { flag_ = false; }
  LongWork(const LongWork&) = delete;
  LongWork& operator=(const LongWork&) = delete;

 private:
  std::atomic<bool>& flag_;
};

}  // namespace

struct IndexFollower::Hnsw {
  mutable Mutex mu;
  std::shared_ptr<HnswIndex> graph MCP_GUARDED_BY(mu);              // searched; null until ready
  std::unordered_map<int64_t, int64_t> pending MCP_GUARDED_BY(mu);  // not yet in `graph`
  bool building MCP_GUARDED_BY(mu) = false;
  std::unordered_map<int64_t, int64_t> building_pending MCP_GUARDED_BY(mu);  // for the new one
  size_t added_since_save MCP_GUARDED_BY(mu) = 0;
  bool save_failed MCP_GUARDED_BY(mu) = false;
  size_t refused_at_rows MCP_GUARDED_BY(mu) = 0;  // a graph was measured worse than exact
  std::string verdict MCP_GUARDED_BY(mu);         // why, for state()
};

// Here, where Hnsw is a complete type.
IndexFollower::IndexFollower(Database& db, const Embedder& embedder, IndexOptions options)
    : db_(db),
      embedder_(embedder),
      options_(std::move(options)),
      index_(embedder.dimension()),
      hnsw_(std::make_unique<Hnsw>()) {}

IndexFollower::~IndexFollower() {
  closing_ = true;
  wake_.notify_all();
  if (loader_.joinable()) loader_.join();
}

void IndexFollower::maintain() {
  while (!closing_) {
    maintenance_round();
    MutexLock lock(mu_);
    wake_.wait_for(lock.native(), kMaintenanceInterval, [&] { return closing_.load(); });
  }
}

void IndexFollower::maintenance_round() {
  if (!options_.file_path.empty() && file_is_stale()) {
    LongWork long_work(long_work_);
    MutexLock lock(mu_);
    if (!file_failed_) {
      Status st = write_file();
      if (!st.is_ok()) spdlog::warn("index maintenance: {}", st.message());
    }
  }
  if (options_.hnsw_threshold == 0 || closing_) return;
  bool have_graph, building;
  size_t graph_rows = 0, graph_deleted = 0, refused_at = 0;
  {
    MutexLock lock(hnsw_->mu);
    have_graph = hnsw_->graph != nullptr;
    building = hnsw_->building;
    refused_at = hnsw_->refused_at_rows;
    if (have_graph) {
      graph_rows = hnsw_->graph->size();
      graph_deleted = hnsw_->graph->deleted();
    }
  }
  Status st;
  if (!have_graph && !building) {
    const size_t rows = index_.size();
    if (rows >= options_.hnsw_threshold && rows >= kRetryGrowth * refused_at) st = start_hnsw();
  } else if (have_graph) {
    st = catch_up_hnsw(kPendingBatch);
    if (st.is_ok() && graph_deleted > kRebuildDeletedShare * (graph_rows + graph_deleted)) {
      st = build_hnsw();
    }
    if (st.is_ok()) st = save_hnsw();
  }
  if (!st.is_ok() && !closing_) spdlog::warn("index maintenance (HNSW): {}", st.message());
}

Status IndexFollower::start_hnsw() {
  const std::string path = options_.file_path.empty() ? "" : options_.file_path + ".hnsw";
  if (!path.empty() && read_refusal(path + ".refused")) return Status::ok();
  if (!path.empty()) {
    auto saved = HnswIndex::load(path, embedder_.dimension());
    Status usable = saved.is_ok()
                        ? index_stamp_matches(db_, embedder_.model_id(), saved->second, path)
                        : saved.status();
    if (usable.is_ok()) {
      MutexLock lock(mu_);  // no change is applied while the record is made
      const int64_t replay_from = saved->second.replay_from;
      std::unordered_map<int64_t, int64_t> pending;
      for (int64_t after = replay_from;;) {
        MCP_ASSIGN_OR_RETURN(auto changes, db_.changes_since(after, kChangeBatch));
        for (const Change& c : changes) {
          if (c.seq > seq_) break;
          if (c.op != "conflict") pending[c.memory_id] = c.seq;
          after = c.seq;
        }
        if (changes.size() < static_cast<size_t>(kChangeBatch) || after >= seq_) break;
      }
      MutexLock hl(hnsw_->mu);
      hnsw_->graph = std::shared_ptr<HnswIndex>(std::move(saved->first));
      hnsw_->pending = std::move(pending);
      hnsw_->added_since_save = 0;
      spdlog::info("HNSW graph {} loaded ({} rows, {} to catch up)", path, hnsw_->graph->size(),
                   hnsw_->pending.size());
      return Status::ok();
    }
    if (usable.code() != StatusCode::kNotFound) {
      spdlog::warn("not using the HNSW graph: {}; building a new one", usable.message());
    }
  }
  MCP_RETURN_IF_ERROR(build_hnsw());
  return save_hnsw();
}

Status IndexFollower::build_hnsw() {
  std::vector<int64_t> ids;
  {
    MutexLock lock(mu_);  // the snapshot and the start of the record are one moment
    ids.reserve(index_.size());
    index_.for_each([&](int64_t id, std::span<const float>) { ids.push_back(id); });
    MutexLock hl(hnsw_->mu);
    hnsw_->building = true;
    hnsw_->building_pending.clear();
  }
  const auto started = std::chrono::steady_clock::now();
  auto graph = std::make_shared<HnswIndex>(embedder_.dimension(), options_.hnsw);
  size_t next = 0;
  Status built = graph->add_many(
      [&](int64_t& id, std::vector<float>& v) {
        while (next < ids.size() && !closing_) {
          auto found = index_.get(ids[next++]);
          if (!found.has_value()) continue;  // removed since: it is in the record
          id = ids[next - 1];
          v = std::move(*found);
          return true;
        }
        return false;
      },
      std::max<size_t>(1, std::thread::hardware_concurrency()));
  const double build_s =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  std::optional<GraphCheck> check;
  if (built.is_ok() && !closing_) check = measure_graph(*graph, ids);
  MutexLock hl(hnsw_->mu);
  hnsw_->building = false;
  if (!built.is_ok() || closing_) {
    hnsw_->building_pending.clear();
    return built;
  }
  if (check.has_value() && !check->good(options_.hnsw_min_recall)) {
    hnsw_->building_pending.clear();
    hnsw_->graph = nullptr;
    hnsw_->pending.clear();
    hnsw_->refused_at_rows = ids.size();
    hnsw_->verdict = check->describe();
    spdlog::warn("HNSW graph over {} rows refused: {}; searches stay exact", ids.size(),
                 hnsw_->verdict);
    if (!options_.file_path.empty()) {
      const std::string path = options_.file_path + ".hnsw";
      std::error_code ec;
      std::filesystem::remove(path, ec);
      write_refusal(path + ".refused", ids.size(), hnsw_->verdict);
    }
    return Status::ok();
  }
  if (check.has_value()) hnsw_->verdict = check->describe();
  hnsw_->refused_at_rows = 0;
  if (!options_.file_path.empty()) {
    std::error_code ec;
    std::filesystem::remove(options_.file_path + ".hnsw.refused", ec);
  }
  hnsw_->graph = std::move(graph);
  hnsw_->pending = std::move(hnsw_->building_pending);
  hnsw_->building_pending.clear();
  hnsw_->added_since_save = SIZE_MAX;  // never saved: save at the next chance
  spdlog::info("HNSW graph built over {} rows in {:.1f} s ({})", ids.size(), build_s,
               hnsw_->verdict);
  return Status::ok();
}

void IndexFollower::note_changed_for_hnsw(int64_t id, int64_t seq) {
  MutexLock hl(hnsw_->mu);
  if (hnsw_->graph) hnsw_->pending[id] = seq;
  if (hnsw_->building) hnsw_->building_pending[id] = seq;
}

Status IndexFollower::catch_up_hnsw(size_t max_rows) {
  std::shared_ptr<HnswIndex> graph;
  std::vector<std::pair<int64_t, int64_t>> batch;
  {
    MutexLock hl(hnsw_->mu);
    graph = hnsw_->graph;
    if (!graph) return Status::ok();
    for (const auto& entry : hnsw_->pending) {
      if (batch.size() == max_rows) break;
      batch.push_back(entry);
    }
  }
  for (const auto& [id, seq] : batch) {
    if (auto v = index_.get(id)) {
      MCP_RETURN_IF_ERROR(graph->add(id, *v));
    } else {
      graph->remove(id);
    }
  }
  MutexLock hl(hnsw_->mu);
  for (const auto& [id, seq] : batch) {
    auto it = hnsw_->pending.find(id);
    if (it != hnsw_->pending.end() && it->second == seq) hnsw_->pending.erase(it);
  }
  if (hnsw_->added_since_save != SIZE_MAX) hnsw_->added_since_save += batch.size();
  return Status::ok();
}

Status IndexFollower::save_hnsw() {
  if (options_.file_path.empty()) return Status::ok();
  const std::string path = options_.file_path + ".hnsw";
  LongWork long_work(long_work_);
  MutexLock lock(mu_);  // no change is applied while the graph is written
  std::shared_ptr<HnswIndex> graph;
  IndexStamp stamp;
  {
    MutexLock hl(hnsw_->mu);
    graph = hnsw_->graph;
    const size_t due = std::max(kSaveAfterRowsMin,
                                static_cast<size_t>(kSaveAfterShare * (graph ? graph->size() : 0)));
    if (!graph || hnsw_->save_failed || hnsw_->added_since_save < due) return Status::ok();
    MCP_ASSIGN_OR_RETURN(stamp, current_stamp());
    // The graph holds every change before the oldest one still pending.
    for (const auto& [id, seq] : hnsw_->pending) {
      stamp.replay_from = std::min(stamp.replay_from, seq - 1);
    }
  }
  Status saved = graph->save(path, stamp);
  MutexLock hl(hnsw_->mu);
  if (!saved.is_ok()) {
    hnsw_->save_failed = true;
    spdlog::warn("could not save the HNSW graph {}: {}; each start builds it again", path,
                 saved.message());
    return Status::ok();
  }
  hnsw_->added_since_save = 0;
  return Status::ok();
}

std::vector<int64_t> IndexFollower::hnsw_candidates(std::span<const float> query, size_t k) const {
  std::shared_ptr<HnswIndex> graph;
  std::vector<int64_t> candidates;
  {
    MutexLock hl(hnsw_->mu);
    graph = hnsw_->graph;
    if (!graph) return candidates;
    candidates.reserve(hnsw_->pending.size() + hnsw_candidate_count(k));
    for (const auto& entry : hnsw_->pending) candidates.push_back(entry.first);
  }
  for (int64_t id : graph->search(query, hnsw_candidate_count(k))) candidates.push_back(id);
  return candidates;
}

void IndexFollower::describe_hnsw(IndexState& state) const {
  MutexLock hl(hnsw_->mu);
  state.hnsw_verdict = hnsw_->verdict;
  if (options_.hnsw_threshold == 0) {
    state.hnsw_state = "off";
  } else if (hnsw_->graph) {
    state.hnsw_state = "ready";
    state.hnsw_rows = hnsw_->graph->size();
    state.hnsw_pending = hnsw_->pending.size();
    state.memory_bytes += hnsw_->graph->memory_bytes();
  } else if (hnsw_->building) {
    state.hnsw_state = "building";
  } else if (hnsw_->refused_at_rows > 0) {
    state.hnsw_state = "refused";
  } else {
    state.hnsw_state = state.rows < options_.hnsw_threshold ? "below threshold" : "not loaded";
  }
}

// Stored rows (spread over `ids`, the graph's snapshot) as queries, their own row left out: the
// graph's answers (candidates re-ranked exactly, as searches do) against the exact scan's.
std::optional<GraphCheck> IndexFollower::measure_graph(const HnswIndex& graph,
                                                       const std::vector<int64_t>& ids) {
  if (ids.size() < 2 * kRecallQueries) return std::nullopt;
  GraphCheck check;
  size_t found = 0, wanted = 0;
  for (size_t q = 0; q < kRecallQueries && !closing_; ++q) {
    const int64_t id = ids[(q * 7919 + 13) * ids.size() / (kRecallQueries * 7919 + 13)];
    auto v = index_.get(id);
    if (!v.has_value()) continue;
    auto drop_self = [&](std::vector<Neighbor> n) {
      std::erase_if(n, [&](const Neighbor& x) { return x.id == id; });
      if (n.size() > 10) n.resize(10);
      return n;
    };
    auto t0 = std::chrono::steady_clock::now();
    auto exact = drop_self(index_.search(*v, 11));
    auto t1 = std::chrono::steady_clock::now();
    std::vector<int64_t> candidates = graph.search(*v, hnsw_candidate_count(11));
    auto approx = drop_self(index_.search(*v, 11, &candidates));
    auto t2 = std::chrono::steady_clock::now();
    check.exact_ms += std::chrono::duration<double, std::milli>(t1 - t0).count();
    check.graph_ms += std::chrono::duration<double, std::milli>(t2 - t1).count();
    for (const Neighbor& a : approx) {
      found += std::count_if(exact.begin(), exact.end(),
                             [&](const Neighbor& e) { return e.id == a.id; });
    }
    wanted += exact.size();
  }
  if (wanted == 0) return std::nullopt;
  check.recall = static_cast<double>(found) / static_cast<double>(wanted);
  check.exact_ms /= kRecallQueries;
  check.graph_ms /= kRecallQueries;
  return check;
}

bool GraphCheck::good(double min_recall) const {
  return min_recall <= 0 || (recall >= min_recall && graph_ms * kMinSpeedup < exact_ms);
}

std::string GraphCheck::describe() const {
  char text[160];
  std::snprintf(text, sizeof text, "recall@10 %.2f in %.1f ms against exact scans in %.1f ms",
                recall, graph_ms, exact_ms);
  return text;
}

// `<db>.index.hnsw.refused`: "<model> <rows> <why>", so later servers do not build a graph this
// store has shown it does not need until it grows kRetryGrowth times.
void IndexFollower::write_refusal(const std::string& path, size_t rows, const std::string& why) {
  const std::string temporary = temporary_path_beside(path);
  {
    std::ofstream out(temporary, std::ios::trunc);
    out << embedder_.model_id() << " " << rows << " " << why << "\n";
  }
  if (!replace_file(temporary, path).is_ok()) std::remove(temporary.c_str());
}

bool IndexFollower::read_refusal(const std::string& path) {
  std::ifstream in(path);
  std::string model;
  size_t rows = 0;
  if (!(in >> model >> rows) || model != embedder_.model_id()) return false;
  if (index_.size() >= kRetryGrowth * rows) return false;
  std::string why;
  std::getline(in, why);
  MutexLock hl(hnsw_->mu);
  hnsw_->refused_at_rows = rows;
  hnsw_->verdict = why.empty() ? why : why.substr(1);
  return true;
}

}  // namespace mcpmem
