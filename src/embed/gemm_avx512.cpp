// gemm_xwt on AVX-512: y = x . w^T with w read in place from the weights mapping. For each panel
// of 32 weight rows and 256 columns, the panel is transposed into an L1-resident buffer
// (16x16 in-register transposes), so that one k step is two aligned loads of 32 consecutive
// outputs; a micro-kernel then runs up to 12 tokens at once, each token one broadcast times two
// FMAs into 24 accumulators. No horizontal sums, and the next panel is prefetched a cache line per
// k step while this one is used, which is what makes short sentences (few tokens: the weights
// streamed from memory once per call) fast.
// Only built for x86-64 with GCC or Clang (target attributes); elsewhere cpu_has_avx512() is
// false and gemm_xwt uses OpenBLAS.
#include "embed/bert_kernels.h"

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))

#include <immintrin.h>

#include <algorithm>
#include <cstdint>

#define MCP_AVX512 __attribute__((target("avx512f")))

#if defined(__GNUC__) && !defined(__clang__)
// GCC 12 reports its own _mm512_undefined_ps() idiom inside avx512fintrin.h as (maybe-)
// uninitialized, at -O3 and under the sanitizers at -O1.
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#pragma GCC diagnostic ignored "-Wuninitialized"
#endif

namespace mcpmem::detail {
namespace {

constexpr size_t kPanelRows = 32;      // outputs per panel: two zmm registers
constexpr size_t kPanelDepth = 256;    // k values per panel: 32 KB, in L1 with the token rows
constexpr size_t kMaxTokenBlock = 12;  // 24 accumulators + 2 weight registers of the 32

// dst[k][j] = src[j][k] for a 16x16 tile; src rows `lds` apart, dst rows `ldd` apart.
MCP_AVX512 inline void transpose16(const float* src, size_t lds, float* dst, size_t ldd) {
  __m512 r[16], t[16];
  for (int i = 0; i < 16; ++i) r[i] = _mm512_loadu_ps(src + i * lds);
  for (int i = 0; i < 8; ++i) {
    t[2 * i] = _mm512_unpacklo_ps(r[2 * i], r[2 * i + 1]);
    t[2 * i + 1] = _mm512_unpackhi_ps(r[2 * i], r[2 * i + 1]);
  }
  for (int i = 0; i < 4; ++i) {
    r[4 * i + 0] = _mm512_shuffle_ps(t[4 * i + 0], t[4 * i + 2], _MM_SHUFFLE(1, 0, 1, 0));
    r[4 * i + 1] = _mm512_shuffle_ps(t[4 * i + 0], t[4 * i + 2], _MM_SHUFFLE(3, 2, 3, 2));
    r[4 * i + 2] = _mm512_shuffle_ps(t[4 * i + 1], t[4 * i + 3], _MM_SHUFFLE(1, 0, 1, 0));
    r[4 * i + 3] = _mm512_shuffle_ps(t[4 * i + 1], t[4 * i + 3], _MM_SHUFFLE(3, 2, 3, 2));
  }
  // r[4i + c] now holds, in 128-bit lane L, column 4L + c of rows 4i..4i+3.
  for (int i = 0; i < 2; ++i) {
    for (int c = 0; c < 4; ++c) {
      t[8 * i + c] = _mm512_shuffle_f32x4(r[8 * i + c], r[8 * i + 4 + c], 0x88);
      t[8 * i + 4 + c] = _mm512_shuffle_f32x4(r[8 * i + c], r[8 * i + 4 + c], 0xdd);
    }
  }
  for (int c = 0; c < 4; ++c) {
    r[c] = _mm512_shuffle_f32x4(t[c], t[8 + c], 0x88);
    r[8 + c] = _mm512_shuffle_f32x4(t[c], t[8 + c], 0xdd);
    r[4 + c] = _mm512_shuffle_f32x4(t[4 + c], t[12 + c], 0x88);
    r[12 + c] = _mm512_shuffle_f32x4(t[4 + c], t[12 + c], 0xdd);
  }
  for (int i = 0; i < 16; ++i) _mm512_store_ps(dst + i * ldd, r[i]);
}

// panel[k][j] = w[j][k0 + k] for j < rows (zero for rows <= j < 32), k < depth.
MCP_AVX512 void pack_panel(const float* w, size_t ldw, size_t rows, size_t k0, size_t depth,
                           float* panel) {
  size_t k = 0;
  if (rows == kPanelRows) {
    for (; k + 16 <= depth; k += 16) {
      transpose16(w + k0 + k, ldw, panel + k * kPanelRows, kPanelRows);
      transpose16(w + 16 * ldw + k0 + k, ldw, panel + k * kPanelRows + 16, kPanelRows);
    }
  }
  for (; k < depth; ++k) {
    for (size_t j = 0; j < kPanelRows; ++j) {
      panel[k * kPanelRows + j] = j < rows ? w[j * ldw + k0 + k] : 0.0f;
    }
  }
}

// The cache lines of the panel after this one, handed out one per k step of the micro-kernels
// so that the loads from memory overlap the FMAs (a burst of 512 prefetches stalls on the
// cache's miss buffers instead).
struct PanelPrefetch {
  const char* row = nullptr;  // the next panel's row being fetched
  size_t row_bytes = 0;       // distance between weight rows
  size_t panel_bytes = 0;     // bytes of each row in the panel
  size_t offset = 0;          // in the current row
  size_t rows_left = 0;

  MCP_AVX512 inline void step() {
    if (rows_left == 0) return;
    _mm_prefetch(row + offset, _MM_HINT_T1);
    offset += 64;
    if (offset >= panel_bytes) {
      offset = 0;
      row += row_bytes;
      --rows_left;
    }
  }
};

// y[t][0..31] (+)= sum_k x[t][k] * panel[k][0..31] for TOKENS tokens; `masks` select the
// outputs that exist (the last panel of a layer whose width is not a multiple of 32).
template <size_t TOKENS>
MCP_AVX512 void micro_kernel(const float* panel, size_t depth, const float* x, size_t ldx, float* y,
                             size_t ldy, bool accumulate, __mmask16 mask0, __mmask16 mask1,
                             PanelPrefetch& prefetch) {
  __m512 acc0[TOKENS], acc1[TOKENS];
  // A load under an empty mask reads nothing and gives zeros (no branch, no memset).
  const __mmask16 load0 = accumulate ? mask0 : 0, load1 = accumulate ? mask1 : 0;
  for (size_t t = 0; t < TOKENS; ++t) {
    acc0[t] = _mm512_maskz_loadu_ps(load0, y + t * ldy);
    acc1[t] = _mm512_maskz_loadu_ps(load1, y + t * ldy + 16);
  }
  for (size_t k = 0; k < depth; ++k) {
    prefetch.step();
    const __m512 w0 = _mm512_load_ps(panel + k * kPanelRows);
    const __m512 w1 = _mm512_load_ps(panel + k * kPanelRows + 16);
    for (size_t t = 0; t < TOKENS; ++t) {
      const __m512 xt = _mm512_set1_ps(x[t * ldx + k]);
      acc0[t] = _mm512_fmadd_ps(w0, xt, acc0[t]);
      acc1[t] = _mm512_fmadd_ps(w1, xt, acc1[t]);
    }
  }
  for (size_t t = 0; t < TOKENS; ++t) {
    _mm512_mask_storeu_ps(y + t * ldy, mask0, acc0[t]);
    _mm512_mask_storeu_ps(y + t * ldy + 16, mask1, acc1[t]);
  }
}

using MicroKernel = void (*)(const float*, size_t, const float*, size_t, float*, size_t, bool,
                             __mmask16, __mmask16, PanelPrefetch&);

constexpr MicroKernel kMicroKernels[kMaxTokenBlock + 1] = {
    nullptr,          micro_kernel<1>,  micro_kernel<2>, micro_kernel<3>, micro_kernel<4>,
    micro_kernel<5>,  micro_kernel<6>,  micro_kernel<7>, micro_kernel<8>, micro_kernel<9>,
    micro_kernel<10>, micro_kernel<11>, micro_kernel<12>};

__mmask16 first_lanes(size_t n) {
  return n >= 16 ? __mmask16(0xffff) : static_cast<__mmask16>((1u << n) - 1);
}

}  // namespace

bool cpu_has_avx512() {
  static const bool has = __builtin_cpu_supports("avx512f");
  return has;
}

MCP_AVX512 void gemm_xwt_avx512(size_t tokens, size_t out, size_t in, const float* x, size_t ldx,
                                const float* w, float* y, size_t ldy) {
  alignas(64) float panel[kPanelDepth * kPanelRows];
  // Token blocks of equal size (30 tokens: 10 + 10 + 10, not 12 + 12 + 6).
  const size_t blocks = (tokens + kMaxTokenBlock - 1) / kMaxTokenBlock;
  for (size_t o = 0; o < out; o += kPanelRows) {
    const size_t rows = std::min(kPanelRows, out - o);
    const __mmask16 mask0 = first_lanes(rows);
    const __mmask16 mask1 = first_lanes(rows > 16 ? rows - 16 : 0);
    for (size_t k0 = 0; k0 < in; k0 += kPanelDepth) {
      const size_t depth = std::min(kPanelDepth, in - k0);
      pack_panel(w + o * in, in, rows, k0, depth, panel);
      PanelPrefetch prefetch;
      prefetch.row_bytes = in * sizeof(float);
      if (k0 + kPanelDepth < in) {  // the next panel: further along the same rows...
        prefetch.row = reinterpret_cast<const char*>(w + o * in + k0 + kPanelDepth);
        prefetch.panel_bytes = std::min(kPanelDepth, in - k0 - kPanelDepth) * sizeof(float);
        prefetch.rows_left = rows;
      } else if (o + kPanelRows < out) {  // ...or the start of the next rows
        prefetch.row = reinterpret_cast<const char*>(w + (o + kPanelRows) * in);
        prefetch.panel_bytes = std::min(kPanelDepth, in) * sizeof(float);
        prefetch.rows_left = std::min(kPanelRows, out - o - kPanelRows);
      }
      size_t t = 0;
      for (size_t b = 0; b < blocks; ++b) {
        const size_t n = (tokens - t) / (blocks - b);
        kMicroKernels[n](panel, depth, x + t * ldx + k0, ldx, y + t * ldy + o, ldy, k0 > 0, mask0,
                         mask1, prefetch);
        t += n;
      }
    }
  }
}

}  // namespace mcpmem::detail

#else  // not x86-64 with GCC or Clang: OpenBLAS only.

namespace mcpmem::detail {
bool cpu_has_avx512() { return false; }
void gemm_xwt_avx512(size_t, size_t, size_t, const float*, size_t, const float*, float*, size_t) {}
}  // namespace mcpmem::detail

#endif
