// BertModel: a BERT encoder (the transformer of sentence-transformers models such as
// all-MiniLM-L6-v2) computed natively: config.json + model.safetensors in, last hidden states and
// pooled sentence embeddings out, matching PyTorch / transformers' BertModel within float32
// rounding (tests: 1e-5 of a float64 reference).
//
// Weights are read in place from the read-only mapping of model.safetensors (F32: no copy; F16
// and BF16 tensors are converted to float32 once at load, except the word embedding table, which
// is converted a row at a time as tokens look it up). The dense layers run on OpenBLAS, or on our
// AVX-512 kernel where the CPU has it; the rest are vectorised loops. docs/bert_encoder.md explains
// the choices and figures.
//
// A batch is packed, not padded: all tokens of all sequences go through the dense layers as one
// matrix, and attention runs per sequence over its own tokens, which is what the attention mask
// of a padded batch computes, without the padded work. A sequence's result does not depend on
// what it is batched with: the same bits on the AVX-512 path, the same to ~1e-6 with OpenBLAS
// (which picks kernels by matrix size).
//
// Immutable after load: safe from many threads (each call uses its own scratch memory).
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "core/status.h"
#include "embed/bert_config.h"

namespace mcpmem {

// How a sequence's token states become one vector, as sentence-transformers' Pooling module:
// the mean of the tokens' states (pooling_mode_mean_tokens), the [CLS] token's state
// (pooling_mode_cls_token), or the per-dimension maximum (pooling_mode_max_tokens).
enum class Pooling { kMean, kCls, kMax };

struct BertOptions {
  // Threads one call runs on: a batch's sequences are split between them by token count (each
  // sequence runs whole on one thread), so one sentence uses one thread. 1..kMaxThreads.
  int threads = 1;
  // Run the dense layers on OpenBLAS even where the AVX-512 kernel would be used (tests check
  // both paths; benchmarks compare them).
  bool force_openblas = false;
};

// The last hidden states of a batch, packed: sequence i's tokens are rows offsets[i] ..
// offsets[i + 1] - 1 of a (total tokens x hidden_size) row-major matrix. No padding rows.
struct HiddenStates {
  size_t hidden_size = 0;
  std::vector<size_t> offsets;  // sequences() + 1 entries, offsets[0] == 0
  std::vector<float> values;

  size_t sequences() const { return offsets.empty() ? 0 : offsets.size() - 1; }
  size_t length(size_t i) const { return offsets[i + 1] - offsets[i]; }
  // length(i) * hidden_size floats, token after token.
  std::span<const float> sequence(size_t i) const {
    return {values.data() + offsets[i] * hidden_size, length(i) * hidden_size};
  }
};

class BertModel {
 public:
  static constexpr int kMaxThreads = 64;
  // Tokens one thread runs through the layers at a time (sequences are never split): bounds the
  // scratch memory of a call to ~15 KB per token of this, per thread, for MiniLM-L6 ~8 MB,
  // whatever the batch size.
  static constexpr size_t kChunkTokens = 512;

  // Loads <model_dir>/config.json (BertConfig) and <model_dir>/model.safetensors, whose tensors
  // are named as transformers' BertModel names them, with or without a "bert." prefix, and must
  // have the shapes config.json implies. Errors name the file and the tensor: NotFound (a file or
  // tensor missing), Corruption (a damaged file), InvalidArgument (a setting this encoder does
  // not compute, a tensor of the wrong shape or dtype, options out of range).
  // Sets OpenBLAS to one thread for the whole process: parallelism comes from `threads`.
  static Result<BertModel> load(const std::string& model_dir, const BertOptions& options = {});

  BertModel(BertModel&&) noexcept;
  BertModel& operator=(BertModel&&) noexcept;
  ~BertModel();

  const BertConfig& config() const;
  size_t hidden_size() const { return static_cast<size_t>(config().hidden_size); }
  // "avx512" or "openblas": what computes the dense layers.
  const char* gemm_name() const;

  // Runs the encoder on a batch of token-id sequences, each already [CLS] ... [SEP], with
  // token_type_ids 0 and attention over all of its tokens. InvalidArgument naming the sequence
  // when one is empty, longer than max_position_embeddings, or holds an id outside the
  // vocabulary. An empty batch gives empty states.
  Result<HiddenStates> forward(std::span<const std::vector<int32_t>> batch) const;

  // The pooled (and, when `normalize`, L2-normalised) embedding of each sequence, written to
  // `out` row after row: out.size() must be batch.size() * hidden_size(). Hidden states are
  // pooled chunk by chunk and never held for the whole batch. Errors as forward().
  Status embed(std::span<const std::vector<int32_t>> batch, Pooling pooling, bool normalize,
               std::span<float> out) const;

 private:
  struct Impl;
  explicit BertModel(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

// Pools the states of one sequence (`states`: length x out.size() floats, length >= 1) into
// `out`; with `normalize`, divides by the L2 norm (at least 1e-12, as torch's F.normalize).
void pool_hidden_states(std::span<const float> states, Pooling pooling, bool normalize,
                        std::span<float> out);

}  // namespace mcpmem
