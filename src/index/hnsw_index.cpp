// HNSW over int8 sketches, and the checked file format that persists it.
//
// The graph is hnswlib 0.6.2's HierarchicalNSW<float> with our space (Int8Space): an element's
// data is [q: int8 x qbytes][s: float32], qbytes = dimension rounded up to 32, and the distance
// 1 - sa*sb*dot(qa, qb) orders elements like the cosine of their int8 reconstructions. hnswlib
// is built with NO_MANUAL_VECTORIZATION: its SSE prefetches read one link past a full upper-level
// list, past the end of its own allocation (ASan reports it), and we use none of its kernels.
//
// File (little-endian), written by save() and trusted by load() only after every check:
//   header (kHeaderBytes): magic "MCPHNSW\0", format version u32, dimension u32,
//     IndexStamp (kIndexStampBytes), m u64, ef_construction u64, element count u64,
//     entry point u32 (0xffffffff when empty), max level i32 (-1 when empty),
//     element bytes u64 (hnswlib's size_data_per_element_), payload bytes u64, zeros.
//   payload: levels (count x i32); hnswlib's level-0 block (count x element bytes: link count
//     u16, delete mark u8, zero u8, 2m link ids u32, data, label u64); then, for each element of
//     level L > 0, its L upper link lists (each: count u32, m link ids u32).
//   trailer: checksum u64 = index_checksum chained over the 1 MiB blocks of everything before
//     it (h = index_checksum(block, n, h), from h = 0), so neither side holds the file twice.
// load() checks, in order: magic and version, dimension, stamp, parameters against the element
// size, the payload length against the file size, the checksum, then every level, link count,
// link id (< count, and at a level its target has), delete mark, scale and label (unique):
// hnswlib follows links without checks, so nothing unchecked reaches it.
#define NO_MANUAL_VECTORIZATION
#include "index/hnsw_index.h"

#include <hnswlib/hnswlib.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <queue>
#include <thread>
#include <unordered_set>

#include "index/index_file.h"  // quantize_row, sketch_stride
#include "index/int8_dot.h"
#include "platform/durable_file.h"

namespace mcpmem {
namespace {

namespace fs = std::filesystem;
using Graph = hnswlib::HierarchicalNSW<float>;
using hnswlib::tableint;

constexpr size_t kMinCapacity = 1024;       // first allocation of an empty graph
constexpr size_t kAddManyBatch = 8192;      // vectors add_many reads before it inserts them
constexpr size_t kChecksumBlock = 1 << 20;  // the checksum's block size (part of the format)
constexpr size_t kMaxM = 1024;              // bounds on a file's parameters
constexpr size_t kMaxEfConstruction = 100000;
constexpr int32_t kMaxLevel = 64;  // levels are ~ln(n)/ln(m); 64 is never reached
constexpr uint32_t kFormatVersion = 1;
constexpr char kMagic[8] = {'M', 'C', 'P', 'H', 'N', 'S', 'W', '\0'};

// Header field offsets.
constexpr size_t kVersionAt = 8, kDimensionAt = 12, kStampAt = 16;
constexpr size_t kMAt = kStampAt + kIndexStampBytes, kEfConstructionAt = kMAt + 8,
                 kCountAt = kEfConstructionAt + 8, kEntryAt = kCountAt + 8,
                 kMaxLevelAt = kEntryAt + 4, kElementBytesAt = kMaxLevelAt + 4,
                 kPayloadBytesAt = kElementBytesAt + 8;
constexpr size_t kHeaderBytes = 640;
static_assert(kPayloadBytesAt + 8 <= kHeaderBytes);

template <typename T>
T get(const char* p) {
  T v;
  std::memcpy(&v, p, sizeof v);
  return v;
}
template <typename T>
void put(char* p, T v) {
  std::memcpy(p, &v, sizeof v);
}

// ---- the distance ----

struct SpaceParam {
  size_t qbytes;  // a multiple of 32; the scale follows
};

template <int32_t (*Dot)(const int8_t*, const int8_t*, size_t)>
float int8_distance(const void* a, const void* b, const void* param) {
  const size_t n = static_cast<const SpaceParam*>(param)->qbytes;
  const auto* qa = static_cast<const int8_t*>(a);
  const auto* qb = static_cast<const int8_t*>(b);
  float sa, sb;
  std::memcpy(&sa, qa + n, sizeof sa);
  std::memcpy(&sb, qb + n, sizeof sb);
  return 1.0f - sa * sb * static_cast<float>(Dot(qa, qb, n));
}

class Int8Space final : public hnswlib::SpaceInterface<float> {
 public:
  explicit Int8Space(size_t dimension) : param_{sketch_stride(dimension)} {
    set_avx2(cpu_has_avx2());
  }
  void set_avx2(bool on) {
    dist_ = on && cpu_has_avx2() ? int8_distance<dot_i8_avx2> : int8_distance<dot_i8_scalar>;
  }
  size_t get_data_size() override { return param_.qbytes + sizeof(float); }
  hnswlib::DISTFUNC<float> get_dist_func() override { return dist_; }
  void* get_dist_func_param() override { return &param_; }
  size_t qbytes() const { return param_.qbytes; }

 private:
  SpaceParam param_;
  hnswlib::DISTFUNC<float> dist_;
};

// hnswlib's element size for a space and m (its constructor's arithmetic).
size_t element_bytes(size_t data_size, size_t m) {
  return 2 * m * sizeof(tableint) + sizeof(hnswlib::linklistsizeint) + data_size +
         sizeof(hnswlib::labeltype);
}
size_t upper_list_bytes(size_t m) {
  return m * sizeof(tableint) + sizeof(hnswlib::linklistsizeint);
}

// ---- block-checksummed file I/O ----

class ChecksumWriter {
 public:
  explicit ChecksumWriter(std::FILE* f) : f_(f) { buf_.reserve(kChecksumBlock); }
  void write(const void* data, size_t n) {
    const char* p = static_cast<const char*>(data);
    while (n > 0 && ok_) {
      size_t take = std::min(n, kChecksumBlock - buf_.size());
      buf_.insert(buf_.end(), p, p + take);
      p += take;
      n -= take;
      if (buf_.size() == kChecksumBlock) flush();
    }
  }
  // Flushes the last block and appends the checksum. False when a write failed.
  bool finish() {
    if (!buf_.empty()) flush();
    char tail[8];
    put(tail, hash_);
    ok_ = ok_ && std::fwrite(tail, 1, sizeof tail, f_) == sizeof tail;
    return ok_;
  }

 private:
  void flush() {
    hash_ = index_checksum(buf_.data(), buf_.size(), hash_);
    ok_ = ok_ && std::fwrite(buf_.data(), 1, buf_.size(), f_) == buf_.size();
    buf_.clear();
  }
  std::FILE* f_;
  std::vector<char> buf_;
  uint64_t hash_ = 0;
  bool ok_ = true;
};

// Reads `limit` bytes (the file before its trailer) and hashes them block by block as they come.
class ChecksumReader {
 public:
  ChecksumReader(std::FILE* f, uint64_t limit) : f_(f), left_(limit) {}
  bool read(void* out, size_t n) {
    char* p = static_cast<char*>(out);
    while (n > 0) {
      if (at_ == buf_.size() && !refill()) return false;
      size_t take = std::min(n, buf_.size() - at_);
      std::memcpy(p, buf_.data() + at_, take);
      at_ += take;
      p += take;
      n -= take;
    }
    return true;
  }
  // Whether everything was consumed and the trailer equals the running checksum.
  bool checksum_matches() {
    char tail[8];
    return at_ == buf_.size() && left_ == 0 &&
           std::fread(tail, 1, sizeof tail, f_) == sizeof tail && get<uint64_t>(tail) == hash_;
  }

 private:
  bool refill() {
    size_t n = static_cast<size_t>(std::min<uint64_t>(left_, kChecksumBlock));
    if (n == 0) return false;
    buf_.resize(n);
    if (std::fread(buf_.data(), 1, n, f_) != n) return false;
    hash_ = index_checksum(buf_.data(), n, hash_);
    left_ -= n;
    at_ = 0;
    return true;
  }
  std::FILE* f_;
  uint64_t left_;
  std::vector<char> buf_;
  size_t at_ = 0;
  uint64_t hash_ = 0;
};

struct FileCloser {
  void operator()(std::FILE* f) const { std::fclose(f); }
};
using File = std::unique_ptr<std::FILE, FileCloser>;

Status corrupt(const std::string& path, const std::string& why) {
  return Status::corruption("HNSW index " + path + ": " + why + "; it will be rebuilt");
}

}  // namespace

struct HnswIndex::Impl {
  explicit Impl(size_t dimension) : space(dimension) {}

  Int8Space space;  // declared first: the graph points into it
  std::unique_ptr<Graph> graph;

  // Writes v's sketch (int8, zero-padded, then the scale) to out[space.get_data_size()].
  void encode(std::span<const float> v, char* out) const {
    const size_t n = space.qbytes();
    auto* q = reinterpret_cast<int8_t*>(out);
    std::memset(q, 0, n);
    const float scale = quantize_row(v.data(), v.size(), q).scale;
    std::memcpy(out + n, &scale, sizeof scale);
  }

  // Room for `n` elements. `exact`: just that (add_many knows its batch); else an eighth more
  // than now at least, so one-by-one adds copy the level-0 block (resizeIndex) rarely, while a
  // million-element graph keeps ~70 MB of slack, not the half of it a doubling policy would.
  Status ensure_capacity(size_t n, bool exact = false) {
    if (n <= graph->max_elements_) return Status::ok();
    try {
      size_t grown = graph->max_elements_ + graph->max_elements_ / 8;
      graph->resizeIndex(exact ? n : std::max({n, kMinCapacity, grown}));
    } catch (const std::exception& e) {
      return Status::internal(std::string("growing the HNSW index: ") + e.what());
    }
    return Status::ok();
  }

  bool contains(hnswlib::labeltype label) const { return graph->label_lookup_.count(label) != 0; }

  Status insert(const char* data, int64_t id) {
    try {
      graph->addPoint(data, static_cast<hnswlib::labeltype>(id));
    } catch (const std::exception& e) {
      return Status::internal(std::string("HNSW insert: ") + e.what());
    }
    return Status::ok();
  }
};

HnswIndex::HnswIndex(size_t dimension, HnswParams params)
    : dimension_(dimension), params_(params), impl_(new Impl(dimension)) {
  params_.m = std::clamp<size_t>(params_.m, 2, kMaxM);
  params_.ef_construction = std::clamp<size_t>(params_.ef_construction, 1, kMaxEfConstruction);
  params_.ef_search = std::max<size_t>(params_.ef_search, 1);
  impl_->graph =
      std::make_unique<Graph>(&impl_->space, kMinCapacity, params_.m, params_.ef_construction);
  impl_->graph->setEf(params_.ef_search);
}

HnswIndex::~HnswIndex() = default;

size_t HnswIndex::size() const {
  wait_for_writers();
  ReaderLock lock(mu_);
  return impl_->graph->cur_element_count - impl_->graph->num_deleted_;
}

size_t HnswIndex::deleted() const {
  wait_for_writers();
  ReaderLock lock(mu_);
  return impl_->graph->num_deleted_;
}

Status HnswIndex::add(int64_t id, std::span<const float> v) {
  if (v.size() != dimension_) {
    return Status::invalid_argument("vector has " + std::to_string(v.size()) +
                                    " dimensions; the HNSW index has " +
                                    std::to_string(dimension_));
  }
  MutexLock queued(turnstile_);
  WriterLock lock(mu_);
  Impl& m = *impl_;
  std::vector<char> data(m.space.get_data_size());
  m.encode(v, data.data());
  if (!m.contains(static_cast<hnswlib::labeltype>(id))) {
    MCP_RETURN_IF_ERROR(m.ensure_capacity(m.graph->cur_element_count + 1));
  }
  return m.insert(data.data(), id);
}

void HnswIndex::remove(int64_t id) {
  MutexLock queued(turnstile_);
  WriterLock lock(mu_);
  Graph& g = *impl_->graph;
  auto it = g.label_lookup_.find(static_cast<hnswlib::labeltype>(id));
  if (it == g.label_lookup_.end() || g.isMarkedDeleted(it->second)) return;
  g.markDeletedInternal(it->second);
}

Status HnswIndex::add_many(const std::function<bool(int64_t& id, std::vector<float>& v)>& next,
                           size_t threads) {
  threads = std::max<size_t>(threads, 1);
  MutexLock queued(turnstile_);
  WriterLock lock(mu_);
  Impl& m = *impl_;
  const size_t data_size = m.space.get_data_size();
  std::vector<int64_t> ids;
  std::vector<float> rows(kAddManyBatch * dimension_);
  std::vector<float> v;
  std::vector<size_t> fresh, repeated;  // positions in the batch
  std::unordered_set<int64_t> in_batch;
  for (bool more = true; more;) {
    ids.clear();
    while (ids.size() < kAddManyBatch) {
      int64_t id = 0;
      if (!next(id, v)) {
        more = false;
        break;
      }
      if (v.size() != dimension_) {
        return Status::invalid_argument("add_many: vector of id " + std::to_string(id) + " has " +
                                        std::to_string(v.size()) + " dimensions; the index has " +
                                        std::to_string(dimension_));
      }
      std::copy(v.begin(), v.end(), rows.begin() + static_cast<ptrdiff_t>(ids.size() * dimension_));
      ids.push_back(id);
    }
    // New ids go in on all threads; hnswlib updates an existing label in place, which is not
    // safe beside concurrent inserts, so repeats go in afterwards on this thread.
    fresh.clear();
    repeated.clear();
    in_batch.clear();
    for (size_t i = 0; i < ids.size(); ++i) {
      bool is_new =
          !m.contains(static_cast<hnswlib::labeltype>(ids[i])) && in_batch.insert(ids[i]).second;
      (is_new ? fresh : repeated).push_back(i);
    }
    MCP_RETURN_IF_ERROR(m.ensure_capacity(m.graph->cur_element_count + fresh.size(), true));

    std::atomic<size_t> cursor{0};
    std::atomic<bool> failed{false};
    Status first_error;
    Mutex error_mu;
    auto insert_at = [&](size_t i, std::vector<char>& buf) {
      m.encode(std::span<const float>(rows.data() + i * dimension_, dimension_), buf.data());
      Status s = m.insert(buf.data(), ids[i]);
      if (!s.is_ok() && !failed.exchange(true)) {
        MutexLock hold(error_mu);
        first_error = s;
      }
    };
    auto worker = [&] {
      std::vector<char> buf(data_size);
      for (size_t k; !failed && (k = cursor.fetch_add(1)) < fresh.size();) insert_at(fresh[k], buf);
    };
    const size_t n_threads = std::min(threads, std::max<size_t>(fresh.size(), 1));
    std::vector<std::thread> pool;
    for (size_t t = 1; t < n_threads; ++t) pool.emplace_back(worker);
    worker();
    for (std::thread& t : pool) t.join();
    {
      MutexLock hold(error_mu);
      if (failed) return first_error;
    }
    std::vector<char> buf(data_size);
    for (size_t i : repeated) {
      insert_at(i, buf);
      MutexLock hold(error_mu);
      if (failed) return first_error;
    }
  }
  return Status::ok();
}

std::vector<int64_t> HnswIndex::search(std::span<const float> query, size_t count) const {
  std::vector<int64_t> out;
  if (count == 0 || query.size() != dimension_) return out;
  wait_for_writers();
  ReaderLock lock(mu_);
  std::vector<char> data(impl_->space.get_data_size());
  impl_->encode(query, data.data());
  const Graph& g = *impl_->graph;
  if (g.cur_element_count == g.num_deleted_) return out;
  std::priority_queue<std::pair<float, hnswlib::labeltype>> found;
  try {
    found = g.searchKnn(data.data(), count);  // ef = max(ef_search, count)
  } catch (const std::exception&) {
    return out;  // hnswlib throws only on a broken graph, which load() never builds
  }
  out.resize(found.size());
  for (size_t i = out.size(); i-- > 0; found.pop()) {
    out[i] = static_cast<int64_t>(found.top().second);  // worst first off the heap
  }
  return out;
}

void HnswIndex::set_simd_level(SimdLevel level) {
  MutexLock queued(turnstile_);
  WriterLock lock(mu_);
  impl_->space.set_avx2(level == SimdLevel::kAvx2);
  impl_->graph->fstdistfunc_ = impl_->space.get_dist_func();
}

size_t HnswIndex::memory_bytes() const {
  wait_for_writers();
  ReaderLock lock(mu_);
  const Graph& g = *impl_->graph;
  size_t upper = 0;
  for (size_t i = 0; i < g.cur_element_count; ++i) {
    if (g.element_levels_[i] > 0) upper += g.size_links_per_element_ * g.element_levels_[i] + 1;
  }
  // Per slot: the level-0 element, its upper-list pointer, level, lock and visited mark.
  size_t per_slot = g.size_data_per_element_ + sizeof(void*) + sizeof(int) + sizeof(std::mutex) +
                    sizeof(hnswlib::vl_type);
  size_t lookup =
      g.label_lookup_.size() * (sizeof(hnswlib::labeltype) + sizeof(tableint) + 2 * sizeof(void*)) +
      g.label_lookup_.bucket_count() * sizeof(void*);
  return g.max_elements_ * per_slot + upper + lookup +
         g.link_list_update_locks_.size() * sizeof(std::mutex);
}

Status HnswIndex::save(const std::string& path, const IndexStamp& stamp) const {
  char stamp_bytes[kIndexStampBytes];
  MCP_RETURN_IF_ERROR(encode_index_stamp(stamp, stamp_bytes));
  wait_for_writers();
  ReaderLock lock(mu_);
  const Graph& g = *impl_->graph;
  const size_t n = g.cur_element_count;
  uint64_t upper_bytes = 0;
  for (size_t i = 0; i < n; ++i) {
    upper_bytes += g.size_links_per_element_ * static_cast<size_t>(g.element_levels_[i]);
  }
  char header[kHeaderBytes] = {};
  std::memcpy(header, kMagic, sizeof kMagic);
  put<uint32_t>(header + kVersionAt, kFormatVersion);
  put<uint32_t>(header + kDimensionAt, static_cast<uint32_t>(dimension_));
  std::memcpy(header + kStampAt, stamp_bytes, kIndexStampBytes);
  put<uint64_t>(header + kMAt, g.M_);
  put<uint64_t>(header + kEfConstructionAt, g.ef_construction_);
  put<uint64_t>(header + kCountAt, n);
  put<uint32_t>(header + kEntryAt, n == 0 ? 0xffffffffu : g.enterpoint_node_);
  put<int32_t>(header + kMaxLevelAt, n == 0 ? -1 : g.maxlevel_);
  put<uint64_t>(header + kElementBytesAt, g.size_data_per_element_);
  put<uint64_t>(header + kPayloadBytesAt,
                n * sizeof(int32_t) + n * g.size_data_per_element_ + upper_bytes);

  const std::string temporary = temporary_path_beside(path);
  File f(std::fopen(temporary.c_str(), "wb"));
  if (!f) return Status::io_error("writing " + temporary + ": " + std::strerror(errno));
  std::error_code ec;  // owner-only before a byte is written
  fs::permissions(temporary, fs::perms::owner_read | fs::perms::owner_write, ec);
  ChecksumWriter w(f.get());
  w.write(header, sizeof header);
  for (size_t i = 0; i < n; ++i) {
    char level[4];
    put<int32_t>(level, g.element_levels_[i]);
    w.write(level, sizeof level);
  }
  w.write(g.data_level0_memory_, n * g.size_data_per_element_);
  for (size_t i = 0; i < n; ++i) {
    if (g.element_levels_[i] > 0) {
      w.write(g.linkLists_[i],
              g.size_links_per_element_ * static_cast<size_t>(g.element_levels_[i]));
    }
  }
  bool written = w.finish() && !ec;
  written = std::fclose(f.release()) == 0 && written;
  if (!written) {
    fs::remove(temporary, ec);
    return Status::io_error("writing " + temporary + " failed (disk full?)");
  }
  Status s = replace_file(temporary, path);
  if (!s.is_ok()) fs::remove(temporary, ec);
  return s;
}

namespace {

// Checks a graph read from a file before anything searches it: link counts and ids, the levels
// they point at, delete marks, scales, labels; fills the label map and the deletion count.
Status validate_graph(Graph& g, size_t qbytes, int32_t max_level, uint32_t entry,
                      const std::string& path) {
  const size_t n = g.cur_element_count;
  auto check_links = [&](const char* list, size_t max_links, int level) -> bool {
    uint16_t links = get<uint16_t>(list);
    if (links > max_links) return false;
    for (size_t j = 0; j < links; ++j) {
      uint32_t to = get<uint32_t>(list + 4 + 4 * j);
      if (to >= n || g.element_levels_[to] < level) return false;
    }
    return true;
  };
  int32_t top = -1;
  for (size_t i = 0; i < n; ++i) {
    const char* element = g.data_level0_memory_ + i * g.size_data_per_element_;
    const auto mark = static_cast<uint8_t>(element[2]), zero = static_cast<uint8_t>(element[3]);
    if ((mark & ~Graph::DELETE_MARK) != 0 || zero != 0 || !check_links(element, g.maxM0_, 0)) {
      return corrupt(path, "bad links at element " + std::to_string(i));
    }
    for (int level = 1; level <= g.element_levels_[i]; ++level) {
      if (!check_links(g.linkLists_[i] + (level - 1) * g.size_links_per_element_, g.maxM_, level)) {
        return corrupt(path, "bad links at element " + std::to_string(i));
      }
    }
    float scale = get<float>(element + g.offsetData_ + qbytes);
    if (!std::isfinite(scale) || scale < 0) {
      return corrupt(path, "bad scale at element " + std::to_string(i));
    }
    if (!g.label_lookup_.emplace(g.getExternalLabel(static_cast<tableint>(i)), i).second) {
      return corrupt(path, "a label appears twice");
    }
    if (mark != 0) ++g.num_deleted_;
    top = std::max(top, g.element_levels_[i]);
  }
  bool entry_ok = n == 0 ? entry == 0xffffffffu && max_level == -1
                         : entry < n && max_level == top && g.element_levels_[entry] == top;
  if (!entry_ok) return corrupt(path, "bad entry point");
  g.enterpoint_node_ = entry;
  g.maxlevel_ = max_level;
  return Status::ok();
}

}  // namespace

Result<std::pair<std::unique_ptr<HnswIndex>, IndexStamp>> HnswIndex::load(const std::string& path,
                                                                          size_t dimension) {
  std::error_code ec;
  const uint64_t file_bytes = fs::file_size(path, ec);
  if (ec) {
    if (ec == std::errc::no_such_file_or_directory) {
      return Status::not_found("no HNSW index at " + path);
    }
    return Status::io_error("reading " + path + ": " + ec.message());
  }
  File f(std::fopen(path.c_str(), "rb"));
  if (!f) return Status::io_error("reading " + path + ": " + std::strerror(errno));
  if (file_bytes < kHeaderBytes + 8) return corrupt(path, "truncated (no header)");
  ChecksumReader in(f.get(), file_bytes - 8);
  char header[kHeaderBytes];
  if (!in.read(header, sizeof header)) return Status::io_error("reading " + path);
  if (std::memcmp(header, kMagic, sizeof kMagic) != 0) return corrupt(path, "not an HNSW index");
  if (get<uint32_t>(header + kVersionAt) != kFormatVersion) {
    return corrupt(path, "format version " + std::to_string(get<uint32_t>(header + kVersionAt)));
  }
  const uint32_t file_dimension = get<uint32_t>(header + kDimensionAt);
  char stamp_bytes[kIndexStampBytes];
  std::memcpy(stamp_bytes, header + kStampAt, kIndexStampBytes);
  Result<IndexStamp> stamp = decode_index_stamp(stamp_bytes);
  if (!stamp.is_ok()) return corrupt(path, stamp.status().message());
  if (file_dimension != dimension) {
    return Status::failed_precondition("HNSW index " + path + " holds " +
                                       std::to_string(file_dimension) + "-dimension vectors; " +
                                       std::to_string(dimension) + " expected");
  }

  auto index = std::make_unique<HnswIndex>(dimension);
  WriterLock lock(index->mu_);
  Impl& impl = *index->impl_;
  const uint64_t m = get<uint64_t>(header + kMAt);
  const uint64_t ef_construction = get<uint64_t>(header + kEfConstructionAt);
  const uint64_t n = get<uint64_t>(header + kCountAt);
  const uint64_t elem = get<uint64_t>(header + kElementBytesAt);
  const uint64_t payload = get<uint64_t>(header + kPayloadBytesAt);
  const size_t data_size = impl.space.get_data_size();
  if (m < 2 || m > kMaxM || ef_construction < 1 || ef_construction > kMaxEfConstruction ||
      elem != element_bytes(data_size, m)) {
    return corrupt(path, "bad parameters");
  }
  if (payload != file_bytes - kHeaderBytes - 8) return corrupt(path, "truncated or extended");
  if (n >= 0xffffffffu || n > payload / (elem + sizeof(int32_t))) {
    return corrupt(path, "bad element count");
  }

  index->params_.m = m;
  index->params_.ef_construction = ef_construction;
  try {
    impl.graph =
        std::make_unique<Graph>(&impl.space, std::max<size_t>(n, kMinCapacity), m, ef_construction);
  } catch (const std::exception& e) {
    return Status::io_error("loading " + path + ": " + e.what());
  }
  Graph& g = *impl.graph;
  g.setEf(index->params_.ef_search);
  std::vector<int32_t> levels(n);
  uint64_t upper_bytes = 0;
  const size_t list_bytes = upper_list_bytes(m);
  if (n > 0 && !in.read(levels.data(), n * sizeof(int32_t))) return corrupt(path, "truncated");
  for (int32_t level : levels) {
    if (level < 0 || level > kMaxLevel) return corrupt(path, "bad level");
    upper_bytes += static_cast<uint64_t>(level) * list_bytes;
  }
  if (payload != n * sizeof(int32_t) + n * elem + upper_bytes) {
    return corrupt(path, "lengths disagree");
  }
  if (n > 0 && !in.read(g.data_level0_memory_, n * elem)) return corrupt(path, "truncated");
  // From here the graph owns what it holds: an element's upper lists are allocated (as hnswlib
  // does, + 1 byte) before its level is set, so the destructor frees exactly those.
  g.cur_element_count = n;
  for (size_t i = 0; i < n; ++i) {
    g.linkLists_[i] = nullptr;
    if (levels[i] == 0) continue;
    size_t bytes = list_bytes * static_cast<size_t>(levels[i]);
    g.linkLists_[i] = static_cast<char*>(std::malloc(bytes + 1));
    if (g.linkLists_[i] == nullptr) return Status::io_error("loading " + path + ": out of memory");
    g.element_levels_[i] = levels[i];
    if (!in.read(g.linkLists_[i], bytes)) return corrupt(path, "truncated");
  }
  if (!in.checksum_matches()) return corrupt(path, "checksum mismatch (damaged or torn)");
  MCP_RETURN_IF_ERROR(validate_graph(g, impl.space.qbytes(), get<int32_t>(header + kMaxLevelAt),
                                     get<uint32_t>(header + kEntryAt), path));
  return std::make_pair(std::move(index), std::move(stamp).value());
}

}  // namespace mcpmem
