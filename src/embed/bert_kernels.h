// The numeric loops of the BERT forward pass (bert_model.cpp), apart so they can be tested one by
// one against plain reference loops. All matrices are row-major float32; `ld*` is the distance
// in floats between two rows. Nothing here allocates or keeps state: safe from many threads.
#pragma once

#include <cstddef>

namespace mcpmem::detail {

// Which GEMM computes the dense layers. OpenBLAS everywhere; on CPUs with AVX-512 our own kernel
// (gemm_avx512.cpp), which packs weight panels straight from the mapping into L1: the whole
// MiniLM forward pass measured 1.9x (one 30-token sentence) and 1.7x (batches) faster than with
// Debian's OpenBLAS 0.3.21, which does not know AMD Zen 4/5 and runs its AVX2 Haswell kernels on
// them. docs/bert_encoder.md has the figures.
enum class GemmPath { kOpenBlas, kAvx512 };

// The fastest path this CPU has.
GemmPath best_gemm_path();
// True when the CPU (and OS) run AVX-512F: gemm_avx512.cpp.
bool cpu_has_avx512();

// y[t][n] = sum_k x[t][k] * w[n][k] for t < tokens, n < out, k < in: a dense layer without its
// bias; `w` is the layer's weight as PyTorch stores it (out x in, rows `in` apart).
void gemm_xwt(GemmPath path, size_t tokens, size_t out, size_t in, const float* x, size_t ldx,
              const float* w, float* y, size_t ldy);
// The AVX-512 kernel of gemm_xwt; only called when cpu_has_avx512().
void gemm_xwt_avx512(size_t tokens, size_t out, size_t in, const float* x, size_t ldx,
                     const float* w, float* y, size_t ldy);

// y[r][c] += bias[c].
void add_bias(float* y, size_t rows, size_t cols, size_t ldy, const float* bias);

// y[r][c] = gelu(y[r][c] + bias[c]) with the exact GELU, x * (1 + erf(x / sqrt 2)) / 2.
void add_bias_gelu(float* y, size_t rows, size_t cols, size_t ldy, const float* bias);

// out[r] = LayerNorm((y[r] + bias) + residual[r]) * gamma + beta, per row of `cols` values,
// with the biased variance and `eps` as PyTorch's LayerNorm; y[r] is left holding the sum.
// `out` may be `residual` (the hidden states updated in place).
void add_bias_residual_layer_norm(float* y, size_t rows, size_t cols, const float* bias,
                                  const float* residual, const float* gamma, const float* beta,
                                  float eps, float* out);

// Self-attention of one sequence of `length` tokens: for each head h, rows of q, k and v hold
// that head's slice at columns h*head_size ... (h+1)*head_size-1, rows `ldqkv` apart;
// ctx[i] = softmax(q_i . k_j / sqrt(head_size) over j) . v. Every token sees every token of its
// own sequence (the attention mask of a padded batch, without the padding). `scratch` holds
// attention_scratch_floats(length, head_size) floats.
void attention(size_t length, size_t heads, size_t head_size, const float* q, const float* k,
               const float* v, size_t ldqkv, float* ctx, size_t ldctx, float* scratch);
size_t attention_scratch_floats(size_t length, size_t head_size);

// erf(x), vectorisable, within 4e-7 of std::erf (3 ulp near 1; tested).
float erf_approx(float x);
// exp(x) for x <= 0 (softmax after subtracting the maximum), within 2 ulp (tested).
float exp_approx(float x);

}  // namespace mcpmem::detail
