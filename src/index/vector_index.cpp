// Exact top-k over unit vectors with an int8 sketch to skip hopeless rows.
//
// For a query q and row v with int8 reconstructions q^ = sq*qq and v^ = sv*qv:
//   |q.v - q^.v^| <= |q|*|v - v^| + |q - q^|*|v^|        (Cauchy-Schwarz, twice)
// Pass 1 computes q^.v^ exactly (integer dot, AVX2 or scalar give the same integer) and that
// bound for every row; the k-th best lower bound L is a floor under the true k-th best score.
// Pass 2 rescores in float32 every row whose upper bound reaches L: no row that could be in the
// true top-k is skipped, so the answer equals a full float32 scan (docs/index.md). The sketch
// is a quarter of the float bytes, which is what the scan is bound by.
#include "index/vector_index.h"

#include <immintrin.h>

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <limits>
#include <mutex>
#include <new>
#include <queue>
#include <thread>
#include <unordered_map>

#include "index/int8_dot.h"

namespace mcpmem {
namespace {

constexpr size_t kAlign = 32;
constexpr float kBoundSlack = 1e-5f;  // covers float rounding in the bound arithmetic

size_t round_up(size_t n, size_t m) { return (n + m - 1) / m * m; }

template <typename T>
struct AlignedArray {
  T* data = nullptr;
  size_t capacity = 0;  // elements

  AlignedArray() = default;
  AlignedArray(const AlignedArray&) = delete;
  AlignedArray& operator=(const AlignedArray&) = delete;
  ~AlignedArray() { release(); }

  void grow(size_t elements, size_t used) {
    if (elements <= capacity) return;
    size_t bytes = round_up(elements * sizeof(T), kAlign);
    T* fresh = static_cast<T*>(::operator new(bytes, std::align_val_t(kAlign)));
    std::memset(static_cast<void*>(fresh), 0, bytes);
    if (data != nullptr && used > 0) std::memcpy(fresh, data, used * sizeof(T));
    release();
    data = fresh;
    capacity = bytes / sizeof(T);
  }
  void release() {
    if (data != nullptr) ::operator delete(data, std::align_val_t(kAlign));
    data = nullptr;
    capacity = 0;
  }
};

// The buffers one search needs, kept for the next search rather than reallocated: the upper
// bounds alone are 4 MB at a million rows. A pool, not thread_local: mingw-w64's GCC (before 16)
// frees thread_local storage before it runs the destructors at thread exit, so a thread_local
// that owns memory corrupts the heap on Windows (msys2/MINGW-packages#2519).
struct SearchBuffers {
  AlignedArray<float> query;
  AlignedArray<int8_t> query_sketch;
  std::vector<uint32_t> rows;      // the candidates' global rows
  std::vector<float> upper;        // each row's upper bound
  AlignedArray<float> row_copies;  // a file row per part, read (not mapped) and checked
};

class SearchBufferPool {
 public:
  struct GiveBack {
    SearchBufferPool* pool;
    void operator()(SearchBuffers* buffers) const { pool->give_back(buffers); }
  };
  using Lease = std::unique_ptr<SearchBuffers, GiveBack>;

  Lease take() {
    std::unique_ptr<SearchBuffers> buffers;
    {
      MutexLock lock(mu_);
      if (!spare_.empty()) {
        buffers = std::move(spare_.back());
        spare_.pop_back();
      }
    }
    if (!buffers) buffers = std::make_unique<SearchBuffers>();
    return Lease(buffers.release(), GiveBack{this});
  }

 private:
  static constexpr size_t kMaxSpare = 8;  // as many as searches commonly run at once

  void give_back(SearchBuffers* buffers) {
    std::unique_ptr<SearchBuffers> owned(buffers);
    MutexLock lock(mu_);
    if (spare_.size() < kMaxSpare) spare_.push_back(std::move(owned));
  }

  Mutex mu_;
  std::vector<std::unique_ptr<SearchBuffers>> spare_ MCP_GUARDED_BY(mu_);
};

// ---- kernels ----

float dot_f32_scalar(const float* a, const float* b, size_t n) {
  float s = 0;
  for (size_t i = 0; i < n; ++i) s += a[i] * b[i];
  return s;
}

__attribute__((target("avx2,fma"))) float dot_f32_avx2(const float* a, const float* b, size_t n) {
  // n is a multiple of 8; rows are 32-byte aligned.
  __m256 acc0 = _mm256_setzero_ps(), acc1 = _mm256_setzero_ps();
  size_t i = 0;
  for (; i + 16 <= n; i += 16) {
    acc0 = _mm256_fmadd_ps(_mm256_load_ps(a + i), _mm256_load_ps(b + i), acc0);
    acc1 = _mm256_fmadd_ps(_mm256_load_ps(a + i + 8), _mm256_load_ps(b + i + 8), acc1);
  }
  for (; i < n; i += 8) acc0 = _mm256_fmadd_ps(_mm256_load_ps(a + i), _mm256_load_ps(b + i), acc0);
  __m256 acc = _mm256_add_ps(acc0, acc1);
  __m128 s = _mm_add_ps(_mm256_castps256_ps128(acc), _mm256_extractf128_ps(acc, 1));
  s = _mm_hadd_ps(s, s);
  s = _mm_hadd_ps(s, s);
  return _mm_cvtss_f32(s);
}

bool better(const Neighbor& a, const Neighbor& b) {
  return a.cosine != b.cosine ? a.cosine > b.cosine : a.id < b.id;
}

}  // namespace

// Rows are numbered globally: file rows first [0, file_rows), then rows in RAM.
struct VectorIndex::Impl {
  size_t dim = 0;
  size_t fstride = 0;  // floats per row (multiple of 8)
  size_t qstride = 0;  // bytes per sketch row (multiple of 32)
  SimdLevel level = SimdLevel::kScalar;
  bool vnni = false;  // with kAvx2: the AVX-512 VNNI integer kernel, when the CPU has it
  size_t threads = 1;

  // The mapped file and which of its rows were replaced or removed since.
  std::shared_ptr<const IndexFileView> file;
  size_t file_rows = 0;
  std::vector<uint64_t> dead;  // bitmap over file rows
  size_t dead_count = 0;

  // Rows in RAM.
  size_t rows = 0;
  AlignedArray<float> vecs;
  AlignedArray<int8_t> sketch;
  std::vector<RowQuant> quant;
  std::vector<int64_t> ids;                      // row -> id
  std::unordered_map<int64_t, uint32_t> row_of;  // id -> row

  mutable SearchBufferPool buffers;  // for search(), which only reads the rows

  float dot_f32(const float* a, const float* b) const {
    return level == SimdLevel::kAvx2 ? dot_f32_avx2(a, b, fstride) : dot_f32_scalar(a, b, fstride);
  }
  // The dots of `a` with `rows` consecutive sketch rows from `b`, into out[0..rows).
  void dot_run(const int8_t* a, const int8_t* b, size_t rows, int32_t a_sum, int32_t* out) const {
    if (level != SimdLevel::kAvx2) {
      for (size_t r = 0; r < rows; ++r) out[r] = dot_i8_scalar(a, b + r * qstride, qstride);
    } else if (vnni) {
      dot_i8_run_vnni(a, b, rows, qstride, a_sum, out);
    } else {
      for (size_t r = 0; r < rows; ++r) out[r] = dot_i8_avx2(a, b + r * qstride, qstride);
    }
  }
  // `a_sum` is the sum of a's bytes (the VNNI kernel's correction).
  int32_t dot_i8(const int8_t* a, const int8_t* b, int32_t a_sum) const {
    int32_t out = 0;
    dot_run(a, b, 1, a_sum, &out);
    return out;
  }
  bool file_row_dead(size_t row) const { return (dead[row / 64] >> (row % 64)) & 1; }
  void kill_file_row(size_t row) {
    if (file_row_dead(row)) return;
    dead[row / 64] |= uint64_t{1} << (row % 64);
    ++dead_count;
  }
  // The file row of `id` when it is alive, else -1.
  int64_t live_file_row(int64_t id) const {
    if (!file) return -1;
    int64_t row = file->row_of(id);
    return row >= 0 && !file_row_dead(static_cast<size_t>(row)) ? row : -1;
  }
  // Global row g's parts.
  const int8_t* sketch_of(size_t g) const {
    return g < file_rows ? file->sketch() + g * qstride : sketch.data + (g - file_rows) * qstride;
  }
  const RowQuant& quant_of(size_t g) const {
    return g < file_rows ? file->quant()[g] : quant[g - file_rows];
  }
  const float* vector_of(size_t g) const {
    return g < file_rows ? file->vectors() + g * fstride : vecs.data + (g - file_rows) * fstride;
  }
  int64_t id_of(size_t g) const { return g < file_rows ? file->ids()[g] : ids[g - file_rows]; }

  void ensure_capacity(size_t n) {
    if (n * fstride <= vecs.capacity) return;
    size_t want = std::max<size_t>(n, std::max<size_t>(64, rows * 3 / 2));
    vecs.grow(want * fstride, rows * fstride);
    sketch.grow(want * qstride, rows * qstride);
  }
  void write_row(size_t row, std::span<const float> v) {
    float* dst = vecs.data + row * fstride;
    std::memcpy(dst, v.data(), dim * sizeof(float));
    std::fill(dst + dim, dst + fstride, 0.0f);
    int8_t* q = sketch.data + row * qstride;
    std::memset(q, 0, qstride);
    quant[row] = quantize_row(dst, dim, q);
  }
  void drop_rows_in_memory() {
    rows = 0;
    quant = {};
    ids = {};
    row_of = {};
    vecs.release();
    sketch.release();
  }
};

VectorIndex::VectorIndex(size_t dimension) : dimension_(dimension), impl_(new Impl) {
  impl_->dim = dimension;
  impl_->fstride = float_stride(dimension);
  impl_->qstride = sketch_stride(dimension);
  impl_->level = best_simd_level();
  impl_->vnni = impl_->level == SimdLevel::kAvx2 && cpu_has_avx512_vnni();
  impl_->threads = std::clamp<size_t>(std::thread::hardware_concurrency(), 1, 8);
}

VectorIndex::~VectorIndex() = default;

SimdLevel VectorIndex::best_simd_level() {
  __builtin_cpu_init();
  return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma") ? SimdLevel::kAvx2
                                                                         : SimdLevel::kScalar;
}

void VectorIndex::set_simd_level(SimdLevel level) {
  WriterLock lock(mu_);
  impl_->level = level == SimdLevel::kAvx2 ? best_simd_level() : SimdLevel::kScalar;
  impl_->vnni = impl_->level == SimdLevel::kAvx2 && cpu_has_avx512_vnni();
}

SimdLevel VectorIndex::simd_level() const {
  ReaderLock lock(mu_);
  return impl_->level;
}

void VectorIndex::set_threads(size_t threads) {
  WriterLock lock(mu_);
  impl_->threads = std::max<size_t>(threads, 1);
}

size_t VectorIndex::size() const {
  ReaderLock lock(mu_);
  return impl_->rows + impl_->file_rows - impl_->dead_count;
}

size_t VectorIndex::rows_in_memory() const {
  ReaderLock lock(mu_);
  return impl_->rows;
}

size_t VectorIndex::dead_file_rows() const {
  ReaderLock lock(mu_);
  return impl_->dead_count;
}

std::shared_ptr<const IndexFileView> VectorIndex::file() const {
  ReaderLock lock(mu_);
  return impl_->file;
}

bool VectorIndex::contains(int64_t id) const {
  ReaderLock lock(mu_);
  return impl_->row_of.count(id) != 0 || impl_->live_file_row(id) >= 0;
}

std::optional<std::vector<float>> VectorIndex::get(int64_t id) const {
  ReaderLock lock(mu_);
  const Impl& m = *impl_;
  const float* v = nullptr;
  if (auto it = m.row_of.find(id); it != m.row_of.end()) {
    v = m.vecs.data + it->second * m.fstride;
  } else if (int64_t row = m.live_file_row(id); row >= 0) {
    v = m.vector_of(static_cast<size_t>(row));
  }
  if (v == nullptr) return std::nullopt;
  return std::vector<float>(v, v + m.dim);
}

void VectorIndex::reserve(size_t rows) {
  WriterLock lock(mu_);
  impl_->ensure_capacity(rows);
  impl_->quant.reserve(rows);
  impl_->ids.reserve(rows);
  impl_->row_of.reserve(rows);
}

Status VectorIndex::upsert(int64_t id, std::span<const float> v) {
  if (v.size() != dimension_) {
    return Status::invalid_argument("vector has " + std::to_string(v.size()) +
                                    " dimensions; the index has " + std::to_string(dimension_));
  }
  WriterLock lock(mu_);
  Impl& m = *impl_;
  auto it = m.row_of.find(id);
  if (it != m.row_of.end()) {
    m.write_row(it->second, v);
    return Status::ok();
  }
  if (int64_t row = m.live_file_row(id); row >= 0) m.kill_file_row(static_cast<size_t>(row));
  m.ensure_capacity(m.rows + 1);
  m.quant.emplace_back();
  m.ids.push_back(id);
  m.row_of.emplace(id, static_cast<uint32_t>(m.rows));
  m.write_row(m.rows, v);
  ++m.rows;
  return Status::ok();
}

void VectorIndex::remove(int64_t id) {
  WriterLock lock(mu_);
  Impl& m = *impl_;
  auto it = m.row_of.find(id);
  if (it == m.row_of.end()) {
    if (int64_t row = m.live_file_row(id); row >= 0) m.kill_file_row(static_cast<size_t>(row));
    return;
  }
  size_t row = it->second, last = m.rows - 1;
  m.row_of.erase(it);
  if (row != last) {
    std::memcpy(m.vecs.data + row * m.fstride, m.vecs.data + last * m.fstride,
                m.fstride * sizeof(float));
    std::memcpy(m.sketch.data + row * m.qstride, m.sketch.data + last * m.qstride, m.qstride);
    m.quant[row] = m.quant[last];
    m.ids[row] = m.ids[last];
    m.row_of[m.ids[row]] = static_cast<uint32_t>(row);
  }
  m.quant.pop_back();
  m.ids.pop_back();
  --m.rows;
}

void VectorIndex::clear() {
  WriterLock lock(mu_);
  Impl& m = *impl_;
  m.drop_rows_in_memory();
  m.file.reset();
  m.file_rows = 0;
  m.dead = {};
  m.dead_count = 0;
}

void VectorIndex::adopt_file(std::shared_ptr<const IndexFileView> file) {
  WriterLock lock(mu_);
  Impl& m = *impl_;
  m.drop_rows_in_memory();
  m.file_rows = file ? file->rows() : 0;
  m.file = std::move(file);
  m.dead.assign((m.file_rows + 63) / 64, 0);
  m.dead_count = 0;
}

void VectorIndex::for_each(const std::function<void(int64_t, std::span<const float>)>& fn) const {
  ReaderLock lock(mu_);
  const Impl& m = *impl_;
  for (size_t g = 0; g < m.file_rows + m.rows; ++g) {
    if (g < m.file_rows && m.file_row_dead(g)) continue;
    fn(m.id_of(g), std::span<const float>(m.vector_of(g), m.dim));
  }
}

Status VectorIndex::write_file(const std::string& path, const IndexStamp& stamp) const {
  ReaderLock lock(mu_);
  const Impl& m = *impl_;
  if (stamp.dimension != m.dim) return Status::invalid_argument("index file: stamp dimension");
  MCP_ASSIGN_OR_RETURN(auto writer,
                       IndexFileWriter::create(path, stamp, m.file_rows - m.dead_count + m.rows));
  for (size_t g = 0; g < m.file_rows + m.rows; ++g) {
    if (g < m.file_rows && m.file_row_dead(g)) continue;
    if (g < m.file_rows && !m.file->row_intact(g)) {
      damaged_ = true;
      return Status::corruption(m.file->info().stamp.model + " index file: a row's checksum");
    }
    MCP_RETURN_IF_ERROR(writer->add(m.id_of(g), m.vector_of(g), m.sketch_of(g), &m.quant_of(g)));
  }
  return writer->commit();
}

size_t VectorIndex::memory_bytes() const {
  ReaderLock lock(mu_);
  const Impl& m = *impl_;
  return m.vecs.capacity * sizeof(float) + m.sketch.capacity +
         m.quant.capacity() * sizeof(RowQuant) + m.ids.capacity() * sizeof(int64_t) +
         m.row_of.size() * (sizeof(int64_t) + sizeof(uint32_t) + 2 * sizeof(void*)) +
         m.dead.capacity() * sizeof(uint64_t);
}

namespace {

constexpr size_t kRowsPerThread = 32768;  // a scan smaller than this stays on one thread

// Runs fn(part, begin, end) over `parts` contiguous slices of [0, n), on as many threads.
void split_across_threads(size_t n, size_t parts,
                          const std::function<void(size_t, size_t, size_t)>& fn) {
  if (parts <= 1) {
    fn(0, 0, n);
    return;
  }
  std::vector<std::thread> workers;
  workers.reserve(parts - 1);
  for (size_t p = 1; p < parts; ++p) {
    workers.emplace_back([&, p] { fn(p, n * p / parts, n * (p + 1) / parts); });
  }
  fn(0, 0, n / parts);
  for (auto& w : workers) w.join();
}

}  // namespace

std::vector<Neighbor> VectorIndex::search(std::span<const float> query, size_t k,
                                          const std::vector<int64_t>* candidates) const {
  std::vector<Neighbor> result;
  if (k == 0 || query.size() != dimension_) return result;
  ReaderLock lock(mu_);
  const Impl& m = *impl_;
  const size_t total = m.file_rows + m.rows;
  if (total == 0) return result;

  // The query, padded and quantized like a row.
  SearchBufferPool::Lease buffers = m.buffers.take();
  AlignedArray<float>& qf = buffers->query;
  AlignedArray<int8_t>& qq = buffers->query_sketch;
  qf.grow(m.fstride, 0);
  qq.grow(m.qstride, 0);
  std::memcpy(qf.data, query.data(), m.dim * sizeof(float));
  std::fill(qf.data + m.dim, qf.data + m.fstride, 0.0f);
  std::memset(qq.data, 0, m.qstride);
  const RowQuant qz = quantize_row(qf.data, m.dim, qq.data);
  double qnorm2 = 0;
  for (size_t i = 0; i < m.dim; ++i) qnorm2 += static_cast<double>(qf.data[i]) * qf.data[i];
  const float qnorm = static_cast<float>(std::sqrt(qnorm2));
  const float* qfp = qf.data;
  const int8_t* qqp = qq.data;
  int32_t q_sum = 0;
  for (size_t i = 0; i < m.qstride; ++i) q_sum += qqp[i];

  // The rows to look at: all (dead file rows are skipped as met), or the candidates' live rows
  // (deduplicated), as global rows.
  std::vector<uint32_t>& rows = buffers->rows;
  rows.clear();
  const bool all_rows = candidates == nullptr;
  if (!all_rows) {
    rows.reserve(candidates->size());
    for (int64_t id : *candidates) {
      if (auto it = m.row_of.find(id); it != m.row_of.end()) {
        rows.push_back(static_cast<uint32_t>(m.file_rows + it->second));
      } else if (int64_t row = m.live_file_row(id); row >= 0) {
        rows.push_back(static_cast<uint32_t>(row));
      }
    }
    std::sort(rows.begin(), rows.end());
    rows.erase(std::unique(rows.begin(), rows.end()), rows.end());
  }
  const size_t n = all_rows ? total : rows.size();
  k = std::min(k, all_rows ? total - m.dead_count : n);
  if (k == 0) return result;
  const bool skip_dead = all_rows && m.dead_count > 0;
  const uint32_t* row_list = rows.data();
  const size_t parts = std::clamp<size_t>(n / kRowsPerThread, 1, m.threads);

  // Pass 1: upper bounds for every row, and each part's k best lower bounds.
  std::vector<float>& upper = buffers->upper;
  upper.resize(n);
  float* up = upper.data();
  std::vector<std::vector<float>> lows(parts);
  split_across_threads(n, parts, [&](size_t part, size_t begin, size_t end) {
    std::priority_queue<float, std::vector<float>, std::greater<float>> best;  // min-heap, k
    float worst_kept = -std::numeric_limits<float>::infinity();  // best.top() once it holds k
    auto keep = [&](float low) {
      if (best.size() < k) {
        best.push(low);
        if (best.size() == k) worst_kept = best.top();
      } else if (low > worst_kept) {
        best.pop();
        best.push(low);
        worst_kept = best.top();
      }
    };
    // The integer dots of a run of consecutive rows, chosen once per run (not per row), into
    // `dots`; the bounds follow in a second loop the compiler can keep simple.
    constexpr size_t kRun = 256;
    std::array<int32_t, kRun> dots;
    for (size_t i = begin; i < end;) {
      const size_t g0 = all_rows ? i : row_list[i];
      if (!all_rows) {
        const RowQuant& rz = m.quant_of(g0);
        float approx =
            qz.scale * rz.scale * static_cast<float>(m.dot_i8(qqp, m.sketch_of(g0), q_sum));
        float bound = qnorm * rz.err + qz.err * rz.norm_hat + kBoundSlack;
        up[i] = approx + bound;
        keep(approx - bound);
        ++i;
        continue;
      }
      // A run stays inside one part of the rows (the file's, or those in RAM).
      const size_t segment_end = g0 < m.file_rows ? m.file_rows : total;
      const size_t run = std::min({kRun, end - i, segment_end - g0});
      const int8_t* sketch = m.sketch_of(g0);
      const RowQuant* quant = &m.quant_of(g0);
      m.dot_run(qqp, sketch, run, q_sum, dots.data());
      for (size_t r = 0; r < run; ++r) {
        const size_t g = g0 + r;
        if (skip_dead && g < m.file_rows && m.file_row_dead(g)) {
          up[i + r] = -std::numeric_limits<float>::infinity();
          continue;
        }
        const RowQuant& rz = quant[r];
        float approx = qz.scale * rz.scale * static_cast<float>(dots[r]);
        float bound = qnorm * rz.err + qz.err * rz.norm_hat + kBoundSlack;
        up[i + r] = approx + bound;
        keep(approx - bound);
      }
      i += run;
    }
    for (; !best.empty(); best.pop()) lows[part].push_back(best.top());
  });
  // The k-th best lower bound over all parts.
  std::vector<float> all_lows;
  for (auto& l : lows) all_lows.insert(all_lows.end(), l.begin(), l.end());
  std::nth_element(all_lows.begin(), all_lows.begin() + static_cast<ptrdiff_t>(k - 1),
                   all_lows.end(), std::greater<float>());
  const float floor = all_lows[k - 1];

  // Pass 2: exact float32 scores for every row that can still make the top-k.
  auto worse = [](const Neighbor& a, const Neighbor& b) { return better(a, b); };
  using TopK = std::priority_queue<Neighbor, std::vector<Neighbor>, decltype(worse)>;
  std::vector<std::vector<Neighbor>> tops(parts);
  if (m.file_rows > 0) buffers->row_copies.grow(parts * m.fstride, 0);
  split_across_threads(n, parts, [&](size_t part, size_t begin, size_t end) {
    TopK top(worse);
    float* const row_copy = m.file_rows > 0 ? buffers->row_copies.data + part * m.fstride : nullptr;
    for (size_t i = begin; i < end; ++i) {
      if (up[i] < floor) continue;
      const size_t g = all_rows ? i : row_list[i];
      const float* v = m.vector_of(g);
      if (g < m.file_rows) {
        if (!m.file->read_row(g, row_copy)) {
          damaged_ = true;  // left out; the owner rebuilds from the database
          continue;
        }
        v = row_copy;
      }
      Neighbor cand{m.id_of(g), m.dot_f32(qfp, v)};
      if (top.size() < k) {
        top.push(cand);
      } else if (better(cand, top.top())) {
        top.pop();
        top.push(cand);
      }
    }
    for (; !top.empty(); top.pop()) tops[part].push_back(top.top());
  });
  for (auto& t : tops) result.insert(result.end(), t.begin(), t.end());
  std::sort(result.begin(), result.end(), better);
  if (result.size() > k) result.resize(k);
  return result;
}

}  // namespace mcpmem
