// The integer dot products of int8 sketches (VectorIndex's first pass, HNSW's distance). Every
// kernel returns the same integer as dot_i8_scalar; the fastest the CPU has is chosen at run time
// by the callers (cpu_has_*).
#include "index/int8_dot.h"

#include <immintrin.h>

namespace mcpmem {

namespace {

__attribute__((target("avx2"))) int32_t hsum_epi32(__m256i v) {
  __m128i s = _mm_add_epi32(_mm256_castsi256_si128(v), _mm256_extracti128_si256(v, 1));
  s = _mm_hadd_epi32(s, s);
  s = _mm_hadd_epi32(s, s);
  return _mm_cvtsi128_si32(s);
}

}  // namespace

int32_t dot_i8_scalar(const int8_t* a, const int8_t* b, size_t n) {
  int32_t s = 0;
  for (size_t i = 0; i < n; ++i) s += static_cast<int32_t>(a[i]) * b[i];
  return s;
}

// Values are in [-127, 127], so |a|*b pairs sum to at most 2*127*127 < 32767: maddubs never
// saturates and the result equals dot_i8_scalar exactly. Unaligned loads: HNSW elements sit at
// hnswlib's offsets (on aligned rows they cost the same as aligned ones).
__attribute__((target("avx2"))) int32_t dot_i8_avx2(const int8_t* q, const int8_t* row, size_t n) {
  const __m256i ones = _mm256_set1_epi16(1);
  __m256i acc = _mm256_setzero_si256();
  for (size_t i = 0; i < n; i += 32) {
    __m256i vq = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(q + i));
    __m256i vr = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(row + i));
    __m256i p = _mm256_maddubs_epi16(_mm256_sign_epi8(vq, vq), _mm256_sign_epi8(vr, vq));
    acc = _mm256_add_epi32(acc, _mm256_madd_epi16(p, ones));
  }
  return hsum_epi32(acc);
}

// AVX-512 VNNI: vpdpbusd multiplies unsigned by signed bytes and sums four products into 32 bits
// without saturating. Each row byte v is made unsigned as v + 128 (xor 0x80), so a row's sum is
// q.v + 128 * sum(q), and q_sum takes that back out: the same integer as dot_i8_scalar. Works a
// run of `rows` consecutive rows with the query held in registers; n is a multiple of 32 (a last
// half block is loaded masked: zero bytes on both sides add nothing once corrected).
// GCC 12's AVX-512 headers pass an undefined vector as the mask source of unmasked shuffles,
// which -Wmaybe-uninitialized reports inside them (GCC bug 105593): silenced here only.
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wuninitialized"
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#endif
__attribute__((target("avx512f,avx512bw,avx512vnni,avx2"))) void dot_i8_run_vnni(
    const int8_t* q, const int8_t* rows, size_t count, size_t n, int32_t q_sum, int32_t* out) {
  const __m512i bias = _mm512_set1_epi8(static_cast<char>(0x80));
  const size_t full = n / 64;
  const bool half = n % 64 != 0;
  constexpr __mmask64 kHalf = 0xffffffffULL;
  for (size_t r = 0; r < count; ++r) {
    const int8_t* row = rows + r * n;
    __m512i acc = _mm512_setzero_si512();
    for (size_t b = 0; b < full; ++b) {
      __m512i v = _mm512_xor_si512(_mm512_loadu_si512(row + b * 64), bias);
      acc = _mm512_dpbusd_epi32(acc, v, _mm512_loadu_si512(q + b * 64));
    }
    if (half) {
      __m512i v = _mm512_maskz_mov_epi8(
          kHalf, _mm512_xor_si512(_mm512_maskz_loadu_epi8(kHalf, row + full * 64), bias));
      acc = _mm512_dpbusd_epi32(acc, v, _mm512_maskz_loadu_epi8(kHalf, q + full * 64));
    }
    __m256i halves =
        _mm256_add_epi32(_mm512_castsi512_si256(acc), _mm512_extracti64x4_epi64(acc, 1));
    out[r] = hsum_epi32(halves) - 128 * q_sum;
  }
}
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic pop
#endif

bool cpu_has_avx512_vnni() {
  __builtin_cpu_init();
  return __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
         __builtin_cpu_supports("avx512vnni");
}

bool cpu_has_avx2() {
  __builtin_cpu_init();
  return __builtin_cpu_supports("avx2");
}

}  // namespace mcpmem
