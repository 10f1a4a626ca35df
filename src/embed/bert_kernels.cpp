// The portable loops of the forward pass: written so that GCC and Clang vectorise them at -O2/-O3
// without -ffast-math. Reductions (LayerNorm moments, softmax sums, dot products) go through 16
// fixed lanes instead of one accumulator, so the compiler needs no reassociation to vectorise
// them. erf and exp are polynomial approximations for the same reason: libm calls do not
// vectorise. (Where the CPU has FMA the compiler fuses multiply-adds, so results differ between
// CPUs in the last bits, as PyTorch's do.)
// The project compiles for baseline x86-64 (SSE2); on x86-64 ELF targets each hot loop is also
// built for AVX2 and AVX-512 (target_clones) and the loader picks one for the CPU it runs on.
#include "embed/bert_kernels.h"

#include <cblas.h>

#include <algorithm>
#include <bit>
#include <cmath>
#include <cstdint>

#if defined(__x86_64__) && defined(__ELF__) && (defined(__GNUC__) || defined(__clang__)) && \
    !defined(__SANITIZE_ADDRESS__)
#define MCP_CPU_CLONES __attribute__((target_clones("avx512f", "avx2", "default")))
#else
#define MCP_CPU_CLONES
#endif

namespace mcpmem::detail {
namespace {

constexpr size_t kLanes = 16;

// Adds the lanes pairwise: the same order whatever the vector width.
inline float fold_sum(float* lanes) {
  for (size_t width = kLanes / 2; width > 0; width /= 2) {
    for (size_t l = 0; l < width; ++l) lanes[l] += lanes[l + width];
  }
  return lanes[0];
}

inline float sum(const float* v, size_t n) {
  float lanes[kLanes] = {};
  size_t i = 0;
  for (; i + kLanes <= n; i += kLanes) {
    for (size_t l = 0; l < kLanes; ++l) lanes[l] += v[i + l];
  }
  for (size_t l = 0; i + l < n; ++l) lanes[l] += v[i + l];
  return fold_sum(lanes);
}

inline float sum_squared_deviation(const float* v, size_t n, float mean) {
  float lanes[kLanes] = {};
  size_t i = 0;
  for (; i + kLanes <= n; i += kLanes) {
    for (size_t l = 0; l < kLanes; ++l) {
      const float d = v[i + l] - mean;
      lanes[l] += d * d;
    }
  }
  for (size_t l = 0; i + l < n; ++l) {
    const float d = v[i + l] - mean;
    lanes[l] += d * d;
  }
  return fold_sum(lanes);
}

inline float max_of(const float* v, size_t n) {
  float lanes[kLanes];
  std::fill(lanes, lanes + kLanes, v[0]);
  size_t i = 0;
  for (; i + kLanes <= n; i += kLanes) {
    for (size_t l = 0; l < kLanes; ++l) lanes[l] = std::max(lanes[l], v[i + l]);
  }
  for (size_t l = 0; i + l < n; ++l) lanes[l] = std::max(lanes[l], v[i + l]);
  for (size_t width = kLanes / 2; width > 0; width /= 2) {
    for (size_t l = 0; l < width; ++l) lanes[l] = std::max(lanes[l], lanes[l + width]);
  }
  return lanes[0];
}

// erf as a rational function of x on [-4, 4] (odd numerator of degree 13, even denominator of
// degree 8; the fit Eigen and TensorFlow use); |erf(x)| rounds to 1 in float beyond 4.
inline float erf_inline(float x) {
  x = std::min(4.0f, std::max(-4.0f, x));
  const float x2 = x * x;
  float p = x2 * -2.72614225801306e-10f + 2.77068142495902e-08f;
  p = x2 * p + -2.10102402082508e-06f;
  p = x2 * p + -5.69250639462346e-05f;
  p = x2 * p + -7.34990630326855e-04f;
  p = x2 * p + -2.95459980854025e-03f;
  p = x2 * p + -1.60960333262415e-02f;
  p = x * p;
  float q = x2 * -1.45660718464996e-05f + -2.13374055278905e-04f;
  q = x2 * q + -1.68282697438203e-03f;
  q = x2 * q + -7.37332916720468e-03f;
  q = x2 * q + -1.42647390514189e-02f;
  return p / q;
}

// exp(x) for x <= 0: x = n ln2 + r with |r| <= ln2 / 2 (Cody-Waite split of ln2), e^r by the
// Cephes polynomial, 2^n put in the exponent bits. n is rounded with the 1.5 * 2^23 trick, which
// vectorises on SSE2 (no roundps). Below -87 the result is 0 (float underflow).
inline float exp_inline(float x) {
  x = std::max(x, -87.0f);
  constexpr float kRound = 12582912.0f;  // 1.5 * 2^23
  const float n = (x * 1.44269504088896341f + kRound) - kRound;
  float r = x - n * 0.693359375f;
  r = r - n * -2.12194440e-4f;
  float p = 1.9875691500e-4f;
  p = p * r + 1.3981999507e-3f;
  p = p * r + 8.3334519073e-3f;
  p = p * r + 4.1665795894e-2f;
  p = p * r + 1.6666665459e-1f;
  p = p * r + 5.0000001201e-1f;
  p = p * r * r + r + 1.0f;
  const int32_t exponent = (static_cast<int32_t>(n) + 127) << 23;
  return p * std::bit_cast<float>(exponent);
}

}  // namespace

float erf_approx(float x) { return erf_inline(x); }
float exp_approx(float x) { return exp_inline(x); }

void gemm_xwt(GemmPath path, size_t tokens, size_t out, size_t in, const float* x, size_t ldx,
              const float* w, float* y, size_t ldy) {
  if (tokens == 0 || out == 0) return;
  if (path == GemmPath::kAvx512) {
    gemm_xwt_avx512(tokens, out, in, x, ldx, w, y, ldy);
    return;
  }
  // Our threads split the batch; OpenBLAS's own pool would only wait on them (and works on our
  // buffers from threads ThreadSanitizer cannot follow). Set before the first product, once.
  static const bool single_threaded = [] {
    openblas_set_num_threads(1);
    return true;
  }();
  (void)single_threaded;
  cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, static_cast<int>(tokens),
              static_cast<int>(out), static_cast<int>(in), 1.0f, x, static_cast<int>(ldx), w,
              static_cast<int>(in), 0.0f, y, static_cast<int>(ldy));
}

GemmPath best_gemm_path() { return cpu_has_avx512() ? GemmPath::kAvx512 : GemmPath::kOpenBlas; }

MCP_CPU_CLONES void add_bias(float* y, size_t rows, size_t cols, size_t ldy, const float* bias) {
  for (size_t r = 0; r < rows; ++r) {
    float* __restrict row = y + r * ldy;
    for (size_t c = 0; c < cols; ++c) row[c] += bias[c];
  }
}

MCP_CPU_CLONES void add_bias_gelu(float* y, size_t rows, size_t cols, size_t ldy,
                                  const float* bias) {
  constexpr float kSqrtHalf = 0.70710678118654752f;
  for (size_t r = 0; r < rows; ++r) {
    float* __restrict row = y + r * ldy;
    for (size_t c = 0; c < cols; ++c) {
      const float v = row[c] + bias[c];
      row[c] = 0.5f * v * (1.0f + erf_inline(v * kSqrtHalf));
    }
  }
}

MCP_CPU_CLONES void add_bias_residual_layer_norm(float* y, size_t rows, size_t cols,
                                                 const float* bias, const float* residual,
                                                 const float* gamma, const float* beta, float eps,
                                                 float* out) {
  const float inv_cols = 1.0f / static_cast<float>(cols);
  for (size_t r = 0; r < rows; ++r) {
    float* v = y + r * cols;  // may be `out`: each value is read before it is written
    const float* res = residual + r * cols;
    for (size_t c = 0; c < cols; ++c) v[c] = (v[c] + bias[c]) + res[c];
    const float mean = sum(v, cols) * inv_cols;
    const float variance = sum_squared_deviation(v, cols, mean) * inv_cols;
    const float inv_std = 1.0f / std::sqrt(variance + eps);
    float* o = out + r * cols;
    for (size_t c = 0; c < cols; ++c) o[c] = (v[c] - mean) * inv_std * gamma[c] + beta[c];
  }
}

size_t attention_scratch_floats(size_t length, size_t head_size) {
  const size_t padded = (length + kLanes - 1) / kLanes * kLanes;
  return padded * (head_size + 1);
}

// Scores and context are computed kLanes at a time in local accumulators (registers), never by
// adding into memory: a loop that re-reads what it just stored with a masked vector store stalls
// on store forwarding. Each sum runs as kChains interleaved partial sums, so that consecutive
// multiply-adds do not wait for each other's results (4 cycles each).
constexpr size_t kChains = 4;

// out[l] = scale * sum_r a[r] * b[r * ldb + l] for l < kLanes, r < rows.
inline void weighted_rows(const float* a, const float* b, size_t ldb, size_t rows, float scale,
                          float* out) {
  float acc0[kLanes] = {}, acc1[kLanes] = {}, acc2[kLanes] = {}, acc3[kLanes] = {};
  size_t r = 0;
  for (; r + kChains <= rows; r += kChains) {
    const float a0 = a[r], a1 = a[r + 1], a2 = a[r + 2], a3 = a[r + 3];
    const float* b0 = b + r * ldb;
    const float* b1 = b0 + ldb;
    const float* b2 = b1 + ldb;
    const float* b3 = b2 + ldb;
    for (size_t l = 0; l < kLanes; ++l) {
      acc0[l] += a0 * b0[l];
      acc1[l] += a1 * b1[l];
      acc2[l] += a2 * b2[l];
      acc3[l] += a3 * b3[l];
    }
  }
  for (; r < rows; ++r) {
    const float ar = a[r];
    const float* br = b + r * ldb;
    for (size_t l = 0; l < kLanes; ++l) acc0[l] += ar * br[l];
  }
  for (size_t l = 0; l < kLanes; ++l) out[l] = ((acc0[l] + acc1[l]) + (acc2[l] + acc3[l])) * scale;
}

MCP_CPU_CLONES void attention(size_t length, size_t heads, size_t head_size, const float* q,
                              const float* k, const float* v, size_t ldqkv, float* ctx,
                              size_t ldctx, float* scratch) {
  static_assert(kChains == 4, "weighted_rows adds four chains");
  const size_t padded = (length + kLanes - 1) / kLanes * kLanes;
  const float scale = 1.0f / std::sqrt(static_cast<float>(head_size));
  float* __restrict keys_t = scratch;  // head_size x padded: this head's keys, transposed
  float* __restrict p = scratch + head_size * padded;
  for (size_t h = 0; h < heads; ++h) {
    const size_t col = h * head_size;
    for (size_t d = 0; d < head_size; ++d) {
      float* row = keys_t + d * padded;
      for (size_t j = 0; j < length; ++j) row[j] = k[j * ldqkv + col + d];
      std::fill(row + length, row + padded, 0.0f);
    }
    for (size_t i = 0; i < length; ++i) {
      const float* qi = q + i * ldqkv + col;
      for (size_t j0 = 0; j0 < padded; j0 += kLanes) {
        weighted_rows(qi, keys_t + j0, padded, head_size, scale, p + j0);
      }
      const float max = max_of(p, length);
      for (size_t j = 0; j < length; ++j) p[j] = exp_inline(p[j] - max);
      const float inv_total = 1.0f / sum(p, length);
      float* ci = ctx + i * ldctx + col;
      size_t d0 = 0;
      for (; d0 + kLanes <= head_size; d0 += kLanes) {
        weighted_rows(p, v + col + d0, ldqkv, length, inv_total, ci + d0);
      }
      for (; d0 < head_size; ++d0) {  // head sizes that are not a multiple of kLanes
        float acc = 0;
        for (size_t j = 0; j < length; ++j) acc += p[j] * v[j * ldqkv + col + d0];
        ci[d0] = acc * inv_total;
      }
    }
  }
}

}  // namespace mcpmem::detail
