// The BERT forward pass: see bert_model.h. Per layer, over the T tokens of a chunk (H hidden,
// I intermediate), with HF's operation order so results round as PyTorch's do:
//   q, k, v  = x Wq^T + bq, x Wk^T + bk, x Wv^T + bv      three GEMMs into one T x 3H matrix
//   ctx      = per sequence, per head: softmax(q k^T / sqrt(head size)) v
//   x        = LayerNorm((ctx Wo^T + bo) + x)
//   x        = LayerNorm((gelu(x Wi^T + bi) Wo2^T + bo2) + x)
// after the embeddings x = LayerNorm((word[id] + token_type[0]) + position[p]).
#include "embed/bert_model.h"

#include <cblas.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <system_error>
#include <thread>

#include "embed/bert_kernels.h"
#include "embed/safetensors.h"

namespace mcpmem {
namespace {

// An embedding table read a row at a time, in place: tokens touch few rows of the 30k x 384
// word table, so an F16 table is converted row by row as tokens look it up instead of whole.
struct EmbeddingTable {
  const uint8_t* data = nullptr;
  TensorDtype dtype = TensorDtype::kF32;
  size_t width = 0;

  void read_row(size_t row, float* out) const {
    const size_t bytes = width * dtype_size(dtype);
    convert_to_f32(dtype, data + row * bytes, width, out);
  }
};

struct LayerWeights {
  const float *query_w, *query_b, *key_w, *key_b, *value_w, *value_b;
  const float *attention_out_w, *attention_out_b, *attention_norm_gamma, *attention_norm_beta;
  const float *intermediate_w, *intermediate_b, *output_w, *output_b;
  const float *output_norm_gamma, *output_norm_beta;
};

// Where one call puts its results: the hidden states themselves (forward) or pooled rows (embed).
struct Output {
  float* states = nullptr;  // forward: offsets.back() x H, chunks computed in place
  Pooling pooling = Pooling::kMean;
  bool normalize = false;
  float* pooled = nullptr;  // embed: batch x H
};

// The scratch memory of one thread, sized for its largest chunk and reused for the next.
struct Workspace {
  std::vector<float> x, qkv, ctx, dense, intermediate, attention;
};

std::string sequence_error(size_t index, const std::string& what) {
  return "token sequence " + std::to_string(index) + ": " + what;
}

}  // namespace

struct BertModel::Impl {
  BertConfig config;
  SafetensorsFile weights;
  std::string prefix;  // of every tensor name: "" or "bert."
  detail::GemmPath gemm = detail::GemmPath::kOpenBlas;
  int threads = 1;
  // F16/BF16 tensors converted to float32 at load (the vectors' buffers never move).
  std::vector<std::vector<float>> converted;

  EmbeddingTable word_embeddings;
  const float* position_embeddings = nullptr;  // max_position_embeddings x H
  const float* token_type_embeddings = nullptr;
  const float* embedding_norm_gamma = nullptr;
  const float* embedding_norm_beta = nullptr;
  std::vector<LayerWeights> layers;

  explicit Impl(SafetensorsFile file) : weights(std::move(file)) {}

  Status bind_weights();
  // The float32 values of tensor prefix + name, checked to have `shape`: in place, or converted
  // into `converted`.
  Result<const float*> tensor(const std::string& name, std::vector<int64_t> shape);

  void embed_tokens(std::span<const std::vector<int32_t>> sequences, float* x) const;
  void run_layer(const LayerWeights& w, std::span<const std::vector<int32_t>> sequences,
                 size_t tokens, float* x, Workspace& workspace) const;
  void run_chunk(std::span<const std::vector<int32_t>> sequences, float* x,
                 Workspace& workspace) const;
  void run_range(std::span<const std::vector<int32_t>> batch, std::span<const size_t> offsets,
                 size_t first, size_t last, const Output& output) const;
  void run(std::span<const std::vector<int32_t>> batch, std::span<const size_t> offsets,
           const Output& output) const;
};

Result<const float*> BertModel::Impl::tensor(const std::string& name, std::vector<int64_t> shape) {
  std::vector<float> storage;
  MCP_ASSIGN_OR_RETURN(auto values, weights.read_f32(prefix + name, shape, &storage));
  if (!storage.empty()) converted.push_back(std::move(storage));
  return values.data();
}

Status BertModel::Impl::bind_weights() {
  const std::string kWord = "embeddings.word_embeddings.weight";
  if (weights.find(kWord) == nullptr && weights.find("bert." + kWord) != nullptr) prefix = "bert.";
  const int64_t h = config.hidden_size, inter = config.intermediate_size;

  MCP_ASSIGN_OR_RETURN(const TensorInfo* word,
                       weights.expect_float(prefix + kWord, std::vector{config.vocab_size, h}));
  word_embeddings = {weights.data(*word).data(), word->dtype, static_cast<size_t>(h)};
  MCP_ASSIGN_OR_RETURN(position_embeddings, tensor("embeddings.position_embeddings.weight",
                                                   {config.max_position_embeddings, h}));
  MCP_ASSIGN_OR_RETURN(token_type_embeddings, tensor("embeddings.token_type_embeddings.weight",
                                                     {config.type_vocab_size, h}));
  MCP_ASSIGN_OR_RETURN(embedding_norm_gamma, tensor("embeddings.LayerNorm.weight", {h}));
  MCP_ASSIGN_OR_RETURN(embedding_norm_beta, tensor("embeddings.LayerNorm.bias", {h}));

  for (int64_t i = 0; i < config.num_hidden_layers; ++i) {
    const std::string l = "encoder.layer." + std::to_string(i) + ".";
    LayerWeights w{};
    MCP_ASSIGN_OR_RETURN(w.query_w, tensor(l + "attention.self.query.weight", {h, h}));
    MCP_ASSIGN_OR_RETURN(w.query_b, tensor(l + "attention.self.query.bias", {h}));
    MCP_ASSIGN_OR_RETURN(w.key_w, tensor(l + "attention.self.key.weight", {h, h}));
    MCP_ASSIGN_OR_RETURN(w.key_b, tensor(l + "attention.self.key.bias", {h}));
    MCP_ASSIGN_OR_RETURN(w.value_w, tensor(l + "attention.self.value.weight", {h, h}));
    MCP_ASSIGN_OR_RETURN(w.value_b, tensor(l + "attention.self.value.bias", {h}));
    MCP_ASSIGN_OR_RETURN(w.attention_out_w, tensor(l + "attention.output.dense.weight", {h, h}));
    MCP_ASSIGN_OR_RETURN(w.attention_out_b, tensor(l + "attention.output.dense.bias", {h}));
    MCP_ASSIGN_OR_RETURN(w.attention_norm_gamma,
                         tensor(l + "attention.output.LayerNorm.weight", {h}));
    MCP_ASSIGN_OR_RETURN(w.attention_norm_beta, tensor(l + "attention.output.LayerNorm.bias", {h}));
    MCP_ASSIGN_OR_RETURN(w.intermediate_w, tensor(l + "intermediate.dense.weight", {inter, h}));
    MCP_ASSIGN_OR_RETURN(w.intermediate_b, tensor(l + "intermediate.dense.bias", {inter}));
    MCP_ASSIGN_OR_RETURN(w.output_w, tensor(l + "output.dense.weight", {h, inter}));
    MCP_ASSIGN_OR_RETURN(w.output_b, tensor(l + "output.dense.bias", {h}));
    MCP_ASSIGN_OR_RETURN(w.output_norm_gamma, tensor(l + "output.LayerNorm.weight", {h}));
    MCP_ASSIGN_OR_RETURN(w.output_norm_beta, tensor(l + "output.LayerNorm.bias", {h}));
    layers.push_back(w);
  }
  // A checkpoint with more layers than config.json says is a mismatched pair of files.
  const std::string extra = prefix + "encoder.layer." + std::to_string(config.num_hidden_layers) +
                            ".attention.self.query.weight";
  if (weights.find(extra) != nullptr) {
    return Status::invalid_argument(weights.path() + ": tensor '" + extra +
                                    "' is beyond num_hidden_layers " +
                                    std::to_string(config.num_hidden_layers) + " of config.json");
  }
  return Status::ok();
}

// Embeddings: x = LayerNorm((word[id] + token_type[0]) + position[p]).
void BertModel::Impl::embed_tokens(std::span<const std::vector<int32_t>> sequences,
                                   float* x) const {
  const size_t h = static_cast<size_t>(config.hidden_size);
  for (const auto& s : sequences) {
    for (size_t p = 0; p < s.size(); ++p) {
      word_embeddings.read_row(static_cast<size_t>(s[p]), x + p * h);
    }
    detail::add_bias_residual_layer_norm(x, s.size(), h, token_type_embeddings, position_embeddings,
                                         embedding_norm_gamma, embedding_norm_beta,
                                         config.layer_norm_eps, x);
    x += s.size() * h;
  }
}

// One encoder layer over the `tokens` rows of x, in place.
void BertModel::Impl::run_layer(const LayerWeights& w,
                                std::span<const std::vector<int32_t>> sequences, size_t tokens,
                                float* x, Workspace& ws) const {
  const size_t h = static_cast<size_t>(config.hidden_size);
  const size_t inter = static_cast<size_t>(config.intermediate_size);
  const size_t heads = static_cast<size_t>(config.num_attention_heads);
  float* qkv = ws.qkv.data();
  detail::gemm_xwt(gemm, tokens, h, h, x, h, w.query_w, qkv, 3 * h);
  detail::gemm_xwt(gemm, tokens, h, h, x, h, w.key_w, qkv + h, 3 * h);
  detail::gemm_xwt(gemm, tokens, h, h, x, h, w.value_w, qkv + 2 * h, 3 * h);
  detail::add_bias(qkv, tokens, h, 3 * h, w.query_b);
  detail::add_bias(qkv + h, tokens, h, 3 * h, w.key_b);
  detail::add_bias(qkv + 2 * h, tokens, h, 3 * h, w.value_b);
  size_t row = 0;
  for (const auto& s : sequences) {
    const float* q = qkv + row * 3 * h;
    detail::attention(s.size(), heads, h / heads, q, q + h, q + 2 * h, 3 * h,
                      ws.ctx.data() + row * h, h, ws.attention.data());
    row += s.size();
  }
  detail::gemm_xwt(gemm, tokens, h, h, ws.ctx.data(), h, w.attention_out_w, ws.dense.data(), h);
  detail::add_bias_residual_layer_norm(ws.dense.data(), tokens, h, w.attention_out_b, x,
                                       w.attention_norm_gamma, w.attention_norm_beta,
                                       config.layer_norm_eps, x);
  detail::gemm_xwt(gemm, tokens, inter, h, x, h, w.intermediate_w, ws.intermediate.data(), inter);
  detail::add_bias_gelu(ws.intermediate.data(), tokens, inter, inter, w.intermediate_b);
  detail::gemm_xwt(gemm, tokens, h, inter, ws.intermediate.data(), inter, w.output_w,
                   ws.dense.data(), h);
  detail::add_bias_residual_layer_norm(ws.dense.data(), tokens, h, w.output_b, x,
                                       w.output_norm_gamma, w.output_norm_beta,
                                       config.layer_norm_eps, x);
}

// The encoder over a chunk of whole sequences whose token rows are x (tokens x H), in place.
void BertModel::Impl::run_chunk(std::span<const std::vector<int32_t>> sequences, float* x,
                                Workspace& ws) const {
  const size_t h = static_cast<size_t>(config.hidden_size);
  size_t tokens = 0, longest = 0;
  for (const auto& s : sequences) {
    tokens += s.size();
    longest = std::max(longest, s.size());
  }
  ws.qkv.resize(tokens * 3 * h);
  ws.ctx.resize(tokens * h);
  ws.dense.resize(tokens * h);
  ws.intermediate.resize(tokens * static_cast<size_t>(config.intermediate_size));
  ws.attention.resize(detail::attention_scratch_floats(longest, h / config.num_attention_heads));
  embed_tokens(sequences, x);
  for (const LayerWeights& w : layers) run_layer(w, sequences, tokens, x, ws);
}

// Sequences [first, last) of the batch on this thread, chunk after chunk.
void BertModel::Impl::run_range(std::span<const std::vector<int32_t>> batch,
                                std::span<const size_t> offsets, size_t first, size_t last,
                                const Output& output) const {
  const size_t h = static_cast<size_t>(config.hidden_size);
  Workspace ws;
  while (first < last) {
    size_t end = first + 1;  // at least one sequence, however long
    while (end < last && offsets[end + 1] - offsets[first] <= kChunkTokens) ++end;
    const auto chunk = batch.subspan(first, end - first);
    if (output.states != nullptr) {
      run_chunk(chunk, output.states + offsets[first] * h, ws);
    } else {
      ws.x.resize((offsets[end] - offsets[first]) * h);
      run_chunk(chunk, ws.x.data(), ws);
      for (size_t i = first; i < end; ++i) {
        const size_t row = offsets[i] - offsets[first];
        pool_hidden_states({ws.x.data() + row * h, batch[i].size() * h}, output.pooling,
                           output.normalize, {output.pooled + i * h, h});
      }
    }
    first = end;
  }
}

// Splits the batch between up to `threads` threads, contiguous ranges of about equal tokens.
void BertModel::Impl::run(std::span<const std::vector<int32_t>> batch,
                          std::span<const size_t> offsets, const Output& output) const {
  const size_t parts = std::min(batch.size(), static_cast<size_t>(threads));
  if (parts <= 1) {
    run_range(batch, offsets, 0, batch.size(), output);
    return;
  }
  const size_t total = offsets[batch.size()];
  std::vector<size_t> bounds{0};
  for (size_t p = 1; p < parts; ++p) {
    const size_t target = total * p / parts;
    size_t i = std::lower_bound(offsets.begin(), offsets.end(), target) - offsets.begin();
    bounds.push_back(std::clamp(i, bounds.back(), batch.size()));
  }
  bounds.push_back(batch.size());
  std::vector<std::thread> helpers;
  size_t ran_here = 0;  // ranges the calling thread runs itself (a thread could not start)
  for (size_t p = 1; p < parts; ++p) {
    try {
      helpers.emplace_back([&, p] { run_range(batch, offsets, bounds[p], bounds[p + 1], output); });
    } catch (const std::system_error&) {
      ran_here = p;
      break;
    }
  }
  run_range(batch, offsets, bounds[0], bounds[1], output);
  if (ran_here != 0) {
    for (size_t p = ran_here; p < parts; ++p) {
      run_range(batch, offsets, bounds[p], bounds[p + 1], output);
    }
  }
  for (auto& t : helpers) t.join();
}

BertModel::BertModel(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
BertModel::BertModel(BertModel&&) noexcept = default;
BertModel& BertModel::operator=(BertModel&&) noexcept = default;
BertModel::~BertModel() = default;

const BertConfig& BertModel::config() const { return impl_->config; }
const char* BertModel::gemm_name() const {
  return impl_->gemm == detail::GemmPath::kAvx512 ? "avx512" : "openblas";
}

Result<BertModel> BertModel::load(const std::string& model_dir, const BertOptions& options) {
  if (options.threads < 1 || options.threads > kMaxThreads) {
    return Status::invalid_argument("BERT threads " + std::to_string(options.threads) +
                                    " is outside 1.." + std::to_string(kMaxThreads));
  }
  const std::filesystem::path dir(model_dir);
  MCP_ASSIGN_OR_RETURN(BertConfig config, BertConfig::load((dir / "config.json").string()));
  MCP_ASSIGN_OR_RETURN(SafetensorsFile file,
                       SafetensorsFile::open((dir / "model.safetensors").string()));
  auto impl = std::make_unique<Impl>(std::move(file));
  impl->config = config;
  impl->threads = options.threads;
  impl->gemm = options.force_openblas ? detail::GemmPath::kOpenBlas : detail::best_gemm_path();
  MCP_RETURN_IF_ERROR(impl->bind_weights());
  openblas_set_num_threads(1);
  return BertModel(std::move(impl));
}

namespace {

Result<std::vector<size_t>> check_batch(std::span<const std::vector<int32_t>> batch,
                                        const BertConfig& config) {
  std::vector<size_t> offsets{0};
  offsets.reserve(batch.size() + 1);
  for (size_t i = 0; i < batch.size(); ++i) {
    const auto& s = batch[i];
    if (s.empty()) return Status::invalid_argument(sequence_error(i, "is empty"));
    if (static_cast<int64_t>(s.size()) > config.max_position_embeddings) {
      return Status::invalid_argument(sequence_error(
          i, "has " + std::to_string(s.size()) + " tokens; the model takes at most " +
                 std::to_string(config.max_position_embeddings)));
    }
    for (size_t p = 0; p < s.size(); ++p) {
      if (s[p] < 0 || s[p] >= config.vocab_size) {
        return Status::invalid_argument(sequence_error(
            i, "token " + std::to_string(p) + " is id " + std::to_string(s[p]) +
                   ", outside the vocabulary of " + std::to_string(config.vocab_size)));
      }
    }
    offsets.push_back(offsets.back() + s.size());
  }
  return offsets;
}

}  // namespace

Result<HiddenStates> BertModel::forward(std::span<const std::vector<int32_t>> batch) const {
  MCP_ASSIGN_OR_RETURN(auto offsets, check_batch(batch, impl_->config));
  HiddenStates states;
  states.hidden_size = hidden_size();
  states.values.resize(offsets.back() * states.hidden_size);
  Output output;
  output.states = states.values.data();
  impl_->run(batch, offsets, output);
  states.offsets = std::move(offsets);
  return states;
}

Status BertModel::embed(std::span<const std::vector<int32_t>> batch, Pooling pooling,
                        bool normalize, std::span<float> out) const {
  if (out.size() != batch.size() * hidden_size()) {
    return Status::invalid_argument("embedding output holds " + std::to_string(out.size()) +
                                    " floats, not " + std::to_string(batch.size()) + " x " +
                                    std::to_string(hidden_size()));
  }
  MCP_ASSIGN_OR_RETURN(auto offsets, check_batch(batch, impl_->config));
  Output output;
  output.pooling = pooling;
  output.normalize = normalize;
  output.pooled = out.data();
  impl_->run(batch, offsets, output);
  return Status::ok();
}

void pool_hidden_states(std::span<const float> states, Pooling pooling, bool normalize,
                        std::span<float> out) {
  const size_t h = out.size();
  const size_t length = states.size() / h;
  switch (pooling) {
    case Pooling::kCls:
      std::copy_n(states.begin(), h, out.begin());
      break;
    case Pooling::kMax:
      std::copy_n(states.begin(), h, out.begin());
      for (size_t t = 1; t < length; ++t) {
        for (size_t c = 0; c < h; ++c) out[c] = std::max(out[c], states[t * h + c]);
      }
      break;
    case Pooling::kMean:
      std::fill(out.begin(), out.end(), 0.0f);
      for (size_t t = 0; t < length; ++t) {
        for (size_t c = 0; c < h; ++c) out[c] += states[t * h + c];
      }
      for (float& v : out) v /= static_cast<float>(length);
      break;
  }
  if (normalize) {
    double squares = 0;
    for (float v : out) squares += double{v} * v;
    const float norm = std::max(static_cast<float>(std::sqrt(squares)), 1e-12f);
    for (float& v : out) v /= norm;
  }
}

}  // namespace mcpmem
