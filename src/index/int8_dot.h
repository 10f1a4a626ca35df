// Integer dot products of int8 vectors (sketches: values in [-127, 127]), for the exact scan's
// first pass and the HNSW graph's distance. Every kernel gives exactly dot_i8_scalar's integer.
// Lengths are multiples of 32 bytes; pointers need no alignment. Safe from many threads.
#pragma once

#include <cstddef>
#include <cstdint>

namespace mcpmem {

int32_t dot_i8_scalar(const int8_t* a, const int8_t* b, size_t n);
// Needs AVX2 (cpu_has_avx2()).
int32_t dot_i8_avx2(const int8_t* a, const int8_t* b, size_t n);
// The dots of `q` with `count` consecutive rows of n bytes each, into out[0..count), with AVX-512
// VNNI (cpu_has_avx512_vnni()). `q_sum` is the sum of q's n bytes (the kernel's correction).
void dot_i8_run_vnni(const int8_t* q, const int8_t* rows, size_t count, size_t n, int32_t q_sum,
                     int32_t* out);

bool cpu_has_avx2();
bool cpu_has_avx512_vnni();

}  // namespace mcpmem
