// The forward pass's loops against plain double-precision definitions: GEMM on both paths
// (OpenBLAS, and the AVX-512 kernel where the CPU has it) at shapes that are not multiples of its
// blocks, bias + GELU, bias + residual + LayerNorm, attention, and the erf / exp approximations.
#include "embed/bert_kernels.h"

#include <gtest/gtest.h>

#include <cmath>
#include <random>
#include <vector>

namespace mcpmem::detail {
namespace {

std::vector<float> random_values(size_t n, unsigned seed, float scale = 1.0f) {
  std::mt19937 rng(seed);
  std::uniform_real_distribution<float> dist(-scale, scale);
  std::vector<float> v(n);
  for (float& x : v) x = dist(rng);
  return v;
}

std::vector<GemmPath> paths() {
  std::vector<GemmPath> p{GemmPath::kOpenBlas};
  if (cpu_has_avx512()) p.push_back(GemmPath::kAvx512);
  return p;
}

TEST(BertKernels, GemmMatchesPlainLoopsOnBothPaths) {
  struct Shape {
    size_t tokens, out, in;
  };
  const Shape shapes[] = {{1, 1, 1},     {3, 17, 5},    {13, 33, 17},   {12, 32, 256},
                          {25, 70, 300}, {40, 64, 513}, {30, 384, 384}, {7, 96, 1536}};
  for (GemmPath path : paths()) {
    for (const Shape& s : shapes) {
      const size_t ldx = s.in + 3, ldy = s.out + 5;  // rows wider than the matrices
      auto x = random_values(s.tokens * ldx, 1);
      auto w = random_values(s.out * s.in, 2);
      std::vector<float> y(s.tokens * ldy, 7.0f);
      gemm_xwt(path, s.tokens, s.out, s.in, x.data(), ldx, w.data(), y.data(), ldy);
      for (size_t t = 0; t < s.tokens; ++t) {
        for (size_t n = 0; n < ldy; ++n) {
          if (n >= s.out) {  // outside the result: untouched
            ASSERT_EQ(y[t * ldy + n], 7.0f);
            continue;
          }
          double want = 0;
          for (size_t k = 0; k < s.in; ++k) want += double{x[t * ldx + k]} * w[n * s.in + k];
          ASSERT_NEAR(y[t * ldy + n], want, 1e-6 * static_cast<double>(s.in))
              << (path == GemmPath::kAvx512 ? "avx512 " : "openblas ") << s.tokens << "x" << s.out
              << "x" << s.in << " at " << t << "," << n;
        }
      }
    }
  }
}

TEST(BertKernels, ErfApproximationIsWithinFloatPrecision) {
  double worst = 0;
  for (int i = -70000; i <= 70000; ++i) {
    const float x = static_cast<float>(i) * 1e-4f;
    worst = std::max(worst, std::fabs(double{erf_approx(x)} - std::erf(double{x})));
  }
  EXPECT_LT(worst, 4e-7);  // 3 ulp near 1
  EXPECT_EQ(erf_approx(30.0f), 1.0f);
  EXPECT_EQ(erf_approx(-30.0f), -1.0f);
}

TEST(BertKernels, ExpApproximationIsWithinTwoUlp) {
  double worst = 0;
  for (int i = 0; i <= 870000; ++i) {
    const float x = static_cast<float>(-i) * 1e-4f;
    const double want = std::exp(double{x});
    worst = std::max(worst, std::fabs(exp_approx(x) - want) / want);
  }
  EXPECT_LT(worst, 2.5e-7);  // 2 ulp of float
  EXPECT_EQ(exp_approx(0.0f), 1.0f);
  EXPECT_LT(exp_approx(-1000.0f), 1e-37f);
}

TEST(BertKernels, BiasAndGeluMatchTheExactDefinition) {
  const size_t rows = 3, cols = 37, ld = 40;
  auto y = random_values(rows * ld, 3, 5.0f);
  auto bias = random_values(cols, 4);
  auto before = y;
  add_bias_gelu(y.data(), rows, cols, ld, bias.data());
  for (size_t r = 0; r < rows; ++r) {
    for (size_t c = 0; c < ld; ++c) {
      if (c >= cols) {
        EXPECT_EQ(y[r * ld + c], before[r * ld + c]);
        continue;
      }
      const double v = double{before[r * ld + c]} + bias[c];
      EXPECT_NEAR(y[r * ld + c], 0.5 * v * (1 + std::erf(v / std::sqrt(2.0))), 2e-6);
    }
  }
}

TEST(BertKernels, ResidualLayerNormMatchesTheDefinition) {
  const size_t rows = 4, cols = 45;
  auto y = random_values(rows * cols, 5, 3.0f);
  auto bias = random_values(cols, 6);
  auto residual = random_values(rows * cols, 7);
  auto gamma = random_values(cols, 8);
  auto beta = random_values(cols, 9);
  auto sum_in = y;
  std::vector<float> out(rows * cols);
  add_bias_residual_layer_norm(y.data(), rows, cols, bias.data(), residual.data(), gamma.data(),
                               beta.data(), 1e-12f, out.data());
  for (size_t r = 0; r < rows; ++r) {
    std::vector<double> v(cols);
    double mean = 0, var = 0;
    for (size_t c = 0; c < cols; ++c) {
      v[c] = double{sum_in[r * cols + c]} + bias[c] + residual[r * cols + c];
      mean += v[c] / cols;
    }
    for (double x : v) var += (x - mean) * (x - mean) / cols;
    for (size_t c = 0; c < cols; ++c) {
      EXPECT_NEAR(out[r * cols + c], (v[c] - mean) / std::sqrt(var + 1e-12) * gamma[c] + beta[c],
                  2e-6);
    }
  }
  // In place, as the encoder runs it (out == residual).
  auto residual_copy = residual;
  std::vector<float> y2 = sum_in;
  add_bias_residual_layer_norm(y2.data(), rows, cols, bias.data(), residual_copy.data(),
                               gamma.data(), beta.data(), 1e-12f, residual_copy.data());
  EXPECT_EQ(residual_copy, out);
}

TEST(BertKernels, AttentionMatchesSoftmaxOfScaledDotProducts) {
  for (size_t head_size : {8, 32, 20}) {
    const size_t heads = 3, width = heads * head_size, ld = 3 * width;
    for (size_t length : {1, 2, 5, 37}) {
      auto qkv = random_values(length * ld, 10 + static_cast<unsigned>(length), 2.0f);
      std::vector<float> ctx(length * width), scratch(attention_scratch_floats(length, head_size));
      attention(length, heads, head_size, qkv.data(), qkv.data() + width, qkv.data() + 2 * width,
                ld, ctx.data(), width, scratch.data());
      for (size_t h = 0; h < heads; ++h) {
        for (size_t i = 0; i < length; ++i) {
          std::vector<double> p(length);
          double max = -1e300, total = 0;
          for (size_t j = 0; j < length; ++j) {
            double dot = 0;
            for (size_t d = 0; d < head_size; ++d) {
              dot +=
                  double{qkv[i * ld + h * head_size + d]} * qkv[j * ld + width + h * head_size + d];
            }
            p[j] = dot / std::sqrt(double(head_size));
            max = std::max(max, p[j]);
          }
          for (double& x : p) total += x = std::exp(x - max);
          for (size_t d = 0; d < head_size; ++d) {
            double want = 0;
            for (size_t j = 0; j < length; ++j) {
              want += p[j] / total * qkv[j * ld + 2 * width + h * head_size + d];
            }
            EXPECT_NEAR(ctx[i * width + h * head_size + d], want, 2e-6)
                << "length " << length << " head " << h << " query " << i;
          }
        }
      }
    }
  }
}

}  // namespace
}  // namespace mcpmem::detail
