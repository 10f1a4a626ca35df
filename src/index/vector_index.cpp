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
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <limits>
#include <mutex>
#include <queue>
#include <unordered_map>

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
  ~AlignedArray() { std::free(data); }

  void grow(size_t elements, size_t used) {
    if (elements <= capacity) return;
    size_t bytes = round_up(elements * sizeof(T), kAlign);
    T* fresh = static_cast<T*>(std::aligned_alloc(kAlign, bytes));
    if (fresh == nullptr) throw std::bad_alloc();
    std::memset(static_cast<void*>(fresh), 0, bytes);
    if (data != nullptr && used > 0) std::memcpy(fresh, data, used * sizeof(T));
    std::free(data);
    data = fresh;
    capacity = bytes / sizeof(T);
  }
  void release() {
    std::free(data);
    data = nullptr;
    capacity = 0;
  }
};

// ---- kernels ----

float dot_f32_scalar(const float* a, const float* b, size_t n) {
  float s = 0;
  for (size_t i = 0; i < n; ++i) s += a[i] * b[i];
  return s;
}

int32_t dot_i8_scalar(const int8_t* a, const int8_t* b, size_t n) {
  int32_t s = 0;
  for (size_t i = 0; i < n; ++i) s += static_cast<int32_t>(a[i]) * b[i];
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

__attribute__((target("avx2"))) int32_t hsum_epi32(__m256i v) {
  __m128i s = _mm_add_epi32(_mm256_castsi256_si128(v), _mm256_extracti128_si256(v, 1));
  s = _mm_hadd_epi32(s, s);
  s = _mm_hadd_epi32(s, s);
  return _mm_cvtsi128_si32(s);
}

// Integer dots of the query against 1 row; n is a multiple of 32. Values are in [-127, 127],
// so |a|*b pairs sum to at most 2*127*127 < 32767: maddubs never saturates and the result
// equals dot_i8_scalar exactly.
__attribute__((target("avx2"))) int32_t dot_i8_avx2(const int8_t* q, const int8_t* row, size_t n) {
  const __m256i ones = _mm256_set1_epi16(1);
  __m256i acc = _mm256_setzero_si256();
  for (size_t i = 0; i < n; i += 32) {
    __m256i vq = _mm256_load_si256(reinterpret_cast<const __m256i*>(q + i));
    __m256i vr = _mm256_load_si256(reinterpret_cast<const __m256i*>(row + i));
    __m256i p = _mm256_maddubs_epi16(_mm256_sign_epi8(vq, vq), _mm256_sign_epi8(vr, vq));
    acc = _mm256_add_epi32(acc, _mm256_madd_epi16(p, ones));
  }
  return hsum_epi32(acc);
}

struct Quantized {
  float scale = 0;     // v^ = scale * q
  float err = 0;       // |v - v^|
  float norm_hat = 0;  // |v^|
};

Quantized quantize(const float* v, size_t dim, int8_t* out) {
  float max_abs = 0;
  for (size_t i = 0; i < dim; ++i) max_abs = std::max(max_abs, std::fabs(v[i]));
  Quantized r;
  if (max_abs == 0) return r;
  r.scale = max_abs / 127.0f;
  double err2 = 0, hat2 = 0;
  for (size_t i = 0; i < dim; ++i) {
    long q = std::lrintf(v[i] / r.scale);
    q = std::clamp(q, -127L, 127L);
    out[i] = static_cast<int8_t>(q);
    double rec = static_cast<double>(r.scale) * q;
    err2 += (v[i] - rec) * (v[i] - rec);
    hat2 += rec * rec;
  }
  r.err = static_cast<float>(std::sqrt(err2));
  r.norm_hat = static_cast<float>(std::sqrt(hat2));
  return r;
}

bool better(const Neighbor& a, const Neighbor& b) {
  return a.cosine != b.cosine ? a.cosine > b.cosine : a.id < b.id;
}

}  // namespace

struct VectorIndex::Impl {
  size_t dim = 0;
  size_t fstride = 0;  // floats per row (multiple of 8)
  size_t qstride = 0;  // bytes per sketch row (multiple of 32)
  size_t rows = 0;
  AlignedArray<float> vecs;
  AlignedArray<int8_t> sketch;
  std::vector<Quantized> quant;
  std::vector<int64_t> ids;                      // row -> id
  std::unordered_map<int64_t, uint32_t> row_of;  // id -> row
  SimdLevel level = SimdLevel::kScalar;

  float dot_f32(const float* a, const float* b) const {
    return level == SimdLevel::kAvx2 ? dot_f32_avx2(a, b, fstride) : dot_f32_scalar(a, b, fstride);
  }
  int32_t dot_i8(const int8_t* a, const int8_t* b) const {
    return level == SimdLevel::kAvx2 ? dot_i8_avx2(a, b, qstride) : dot_i8_scalar(a, b, qstride);
  }
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
    quant[row] = quantize(dst, dim, q);
  }
};

VectorIndex::VectorIndex(size_t dimension) : dimension_(dimension), impl_(new Impl) {
  impl_->dim = dimension;
  impl_->fstride = round_up(std::max<size_t>(dimension, 1), 8);
  impl_->qstride = round_up(std::max<size_t>(dimension, 1), 32);
  impl_->level = best_simd_level();
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
}

SimdLevel VectorIndex::simd_level() const {
  ReaderLock lock(mu_);
  return impl_->level;
}

size_t VectorIndex::size() const {
  ReaderLock lock(mu_);
  return impl_->rows;
}

bool VectorIndex::contains(int64_t id) const {
  ReaderLock lock(mu_);
  return impl_->row_of.count(id) != 0;
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
  if (it == m.row_of.end()) return;
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
  m.rows = 0;
  m.quant.clear();
  m.ids.clear();
  m.row_of.clear();
  m.vecs.release();
  m.sketch.release();
}

size_t VectorIndex::memory_bytes() const {
  ReaderLock lock(mu_);
  const Impl& m = *impl_;
  return m.vecs.capacity * sizeof(float) + m.sketch.capacity +
         m.quant.capacity() * sizeof(Quantized) + m.ids.capacity() * sizeof(int64_t) +
         m.row_of.size() * (sizeof(int64_t) + sizeof(uint32_t) + 2 * sizeof(void*));
}

std::vector<Neighbor> VectorIndex::search(std::span<const float> query, size_t k,
                                          const std::vector<int64_t>* candidates) const {
  std::vector<Neighbor> result;
  if (k == 0 || query.size() != dimension_) return result;
  ReaderLock lock(mu_);
  const Impl& m = *impl_;
  if (m.rows == 0) return result;

  // The query, padded and quantized like a row.
  thread_local AlignedArray<float> qf;
  thread_local AlignedArray<int8_t> qq;
  qf.grow(m.fstride, 0);
  qq.grow(m.qstride, 0);
  std::memcpy(qf.data, query.data(), m.dim * sizeof(float));
  std::fill(qf.data + m.dim, qf.data + m.fstride, 0.0f);
  std::memset(qq.data, 0, m.qstride);
  Quantized qz = quantize(qf.data, m.dim, qq.data);
  double qnorm2 = 0;
  for (size_t i = 0; i < m.dim; ++i) qnorm2 += static_cast<double>(qf.data[i]) * qf.data[i];
  const float qnorm = static_cast<float>(std::sqrt(qnorm2));

  // The rows to look at: all, or the candidates' rows (deduplicated).
  thread_local std::vector<uint32_t> rows;
  rows.clear();
  const bool all_rows = candidates == nullptr;
  if (!all_rows) {
    rows.reserve(candidates->size());
    for (int64_t id : *candidates) {
      auto it = m.row_of.find(id);
      if (it != m.row_of.end()) rows.push_back(it->second);
    }
    std::sort(rows.begin(), rows.end());
    rows.erase(std::unique(rows.begin(), rows.end()), rows.end());
  }
  const size_t n = all_rows ? m.rows : rows.size();
  if (n == 0) return result;
  k = std::min(k, n);

  // Pass 1: upper bounds for every row, and the k-th best lower bound.
  thread_local std::vector<float> upper;
  upper.resize(n);
  std::priority_queue<float, std::vector<float>, std::greater<float>> lows;  // min-heap of size k
  for (size_t i = 0; i < n; ++i) {
    size_t row = all_rows ? i : rows[i];
    const Quantized& rz = m.quant[row];
    float approx = qz.scale * rz.scale *
                   static_cast<float>(m.dot_i8(qq.data, m.sketch.data + row * m.qstride));
    float bound = qnorm * rz.err + qz.err * rz.norm_hat + kBoundSlack;
    upper[i] = approx + bound;
    float low = approx - bound;
    if (lows.size() < k) {
      lows.push(low);
    } else if (low > lows.top()) {
      lows.pop();
      lows.push(low);
    }
  }
  const float floor = lows.top();

  // Pass 2: exact float32 scores for every row that can still make the top-k.
  auto worse = [](const Neighbor& a, const Neighbor& b) { return better(a, b); };
  std::priority_queue<Neighbor, std::vector<Neighbor>, decltype(worse)> top(worse);
  for (size_t i = 0; i < n; ++i) {
    if (upper[i] < floor) continue;
    size_t row = all_rows ? i : rows[i];
    Neighbor cand{m.ids[row], m.dot_f32(qf.data, m.vecs.data + row * m.fstride)};
    if (top.size() < k) {
      top.push(cand);
    } else if (better(cand, top.top())) {
      top.pop();
      top.push(cand);
    }
  }
  result.resize(top.size());
  for (size_t i = result.size(); i-- > 0;) {
    result[i] = top.top();
    top.pop();
  }
  return result;
}

}  // namespace mcpmem
