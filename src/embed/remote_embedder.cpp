// Remote embedders: see remote_embedder.h.
#include "embed/remote_embedder.h"

#include <chrono>
#include <cmath>
#include <nlohmann/json.hpp>
#include <thread>

#include "core/json_parse.h"
#include "platform/http_client.h"
#include "platform/url.h"

namespace mcpmem {
namespace {

using Json = nlohmann::json;

constexpr size_t kBatch = 64;            // texts per request
constexpr size_t kMaxDimension = 16384;  // larger than any embedding model's

class RemoteEmbedder final : public Embedder {
 public:
  enum class Kind { kOllama, kOpenAi };

  RemoteEmbedder(Kind kind, std::string url, std::string model, const EmbedderOptions& options)
      : kind_(kind),
        endpoint_(std::move(url)),
        model_(std::move(model)),
        model_id_((kind == Kind::kOllama ? "ollama:" : "openai:") + model_),
        options_(options) {}

  // Learns the dimension from one small request.
  Status probe() {
    std::vector<float> v;
    const std::string_view probe[] = {"dimension probe"};
    MCP_RETURN_IF_ERROR(request(probe, v, /*expected_dim=*/0));
    dimension_ = v.size();
    return Status::ok();
  }

  const std::string& model_id() const override { return model_id_; }
  size_t dimension() const override { return dimension_; }

  Status embed(std::string_view text, std::span<float> out) const override {
    const std::string_view one[] = {text};
    return embed_batch(one, out);
  }

  Status embed_batch(std::span<const std::string_view> texts, std::span<float> out) const override {
    std::vector<float> vectors;
    for (size_t at = 0; at < texts.size(); at += kBatch) {
      const size_t n = std::min(kBatch, texts.size() - at);
      MCP_RETURN_IF_ERROR(request(texts.subspan(at, n), vectors, dimension_));
      std::copy(vectors.begin(), vectors.end(), out.begin() + at * dimension_);
    }
    return Status::ok();
  }

 private:
  // Embeds `texts` into `out` (texts.size() * dim floats); dim 0: learn it.
  Status request(std::span<const std::string_view> texts, std::vector<float>& out,
                 size_t expected_dim) const {
    Json input = Json::array();
    for (std::string_view t : texts) input.push_back(std::string(t));
    HttpRequest r;
    r.method = "POST";
    r.url = endpoint_;
    r.body = Json{{"model", model_}, {"input", std::move(input)}}.dump(
        -1, ' ', false, Json::error_handler_t::replace);
    r.headers = {{"Content-Type", "application/json"}};
    if (!options_.api_key.empty()) {
      r.headers.emplace_back("Authorization", "Bearer " + options_.api_key);
    }
    r.timeout_ms = options_.timeout_ms;
    r.connect_timeout_ms = std::min(options_.timeout_ms, 10'000);
    r.max_response_bytes = 256ll << 20;
    Status last;
    for (int attempt = 0; attempt <= options_.retries; ++attempt) {
      if (attempt > 0) std::this_thread::sleep_for(std::chrono::milliseconds(250 << (attempt - 1)));
      auto reply = http_request(r);
      if (!reply.is_ok()) {
        last = Status::io_error("embedding server " + reply.status().message());
        continue;  // down, refused, timed out: try again
      }
      if (reply->status == 429 || reply->status >= 500) {
        last = Status::io_error("embedding server " + endpoint_ + " answered HTTP " +
                                std::to_string(reply->status) + ": " + excerpt(reply->body));
        continue;
      }
      if (reply->status != 200) {
        return Status::failed_precondition(
            "embedding server " + endpoint_ + " refused the request: HTTP " +
            std::to_string(reply->status) + ": " + excerpt(reply->body) +
            (reply->status == 401 || reply->status == 403 ? " (check MCP_EMBEDDING_API_KEY)" : ""));
      }
      return parse(reply->body, texts.size(), expected_dim, out);
    }
    return last;
  }

  // The vectors of one reply, all checked before any is kept.
  Status parse(const std::string& body, size_t count, size_t expected_dim,
               std::vector<float>& out) const {
    auto parsed = parse_json(body, "the reply");
    if (is_json_too_deep(parsed.status())) {
      return Status::io_error("embedding server " + endpoint_ + ": " + parsed.status().message());
    }
    // Other malformed replies are "not a JSON object" below, with an excerpt of what came.
    const Json j = parsed.is_ok() ? std::move(*parsed) : Json();
    auto bad = [&](const std::string& why) {
      return Status::io_error("embedding server " + endpoint_ + ": " + why + ": " + excerpt(body));
    };
    if (!j.is_object()) return bad("the reply is not a JSON object");
    std::vector<const Json*> rows(count, nullptr);
    if (kind_ == Kind::kOllama) {
      if (!j.contains("embeddings") || !j["embeddings"].is_array()) {
        return bad("the reply has no 'embeddings' list");
      }
      if (j["embeddings"].size() != count) {
        return bad("asked for " + std::to_string(count) + " vectors, got " +
                   std::to_string(j["embeddings"].size()));
      }
      for (size_t i = 0; i < count; ++i) rows[i] = &j["embeddings"][i];
    } else {
      if (!j.contains("data") || !j["data"].is_array()) return bad("the reply has no 'data' list");
      if (j["data"].size() != count) {
        return bad("asked for " + std::to_string(count) + " vectors, got " +
                   std::to_string(j["data"].size()));
      }
      for (size_t i = 0; i < count; ++i) {
        const Json& d = j["data"][i];
        // Each item names its input; servers need not keep the order.
        const size_t index = d.is_object() && d.contains("index") && d["index"].is_number_unsigned()
                                 ? d["index"].get<size_t>()
                                 : i;
        if (!d.is_object() || !d.contains("embedding") || index >= count || rows[index]) {
          return bad("item " + std::to_string(i) + " of 'data' is not an embedding");
        }
        rows[index] = &d["embedding"];
      }
    }
    const size_t dim = expected_dim > 0 ? expected_dim : rows.front()->size();
    if (dim == 0 || dim > kMaxDimension)
      return bad("a vector of " + std::to_string(dim) + " numbers");
    out.assign(count * dim, 0.0f);
    for (size_t i = 0; i < count; ++i) {
      const Json& row = *rows[i];
      if (!row.is_array() || row.size() != dim) {
        return Status::failed_precondition(
            "embedding server " + endpoint_ + " gave a vector of " +
            std::to_string(row.is_array() ? row.size() : 0) + " numbers where " + model_id_ +
            " gives " + std::to_string(dim) +
            " (another model behind the same name? `mcp-memory reindex` after changing models)");
      }
      for (size_t k = 0; k < dim; ++k) {
        if (!row[k].is_number() || !std::isfinite(row[k].get<double>())) {
          return bad("vector " + std::to_string(i) + " holds something that is not a number");
        }
        out[i * dim + k] = row[k].get<float>();
      }
      l2_normalize(std::span<float>(out).subspan(i * dim, dim));
    }
    return Status::ok();
  }

  static std::string excerpt(const std::string& body) {
    return body.size() <= 200 ? body : body.substr(0, 200) + "...";
  }

  Kind kind_;
  std::string endpoint_;
  std::string model_;
  std::string model_id_;
  EmbedderOptions options_;
  size_t dimension_ = 0;
};

}  // namespace

Result<std::unique_ptr<Embedder>> make_remote_embedder(const std::string& spec,
                                                       const EmbedderOptions& options) {
  const size_t colon = spec.find(':');
  const size_t hash = spec.rfind('#');
  const std::string kind = spec.substr(0, colon);
  if (hash == std::string::npos || hash <= colon + 1 || hash + 1 == spec.size()) {
    return Status::invalid_argument(
        "embedding model '" + spec + "': expected " + kind + ":<url>#<model>, e.g. " +
        (kind == "ollama" ? "ollama:http://127.0.0.1:11434#nomic-embed-text"
                          : "openai:http://127.0.0.1:8080#bge-small"));
  }
  std::string base = trim_trailing_slashes(spec.substr(colon + 1, hash - colon - 1));
  if (base.rfind("http://", 0) != 0 && base.rfind("https://", 0) != 0) {
    return Status::invalid_argument("embedding model '" + spec + "': the URL must be http(s)://");
  }
  // The HTTP client would refuse each request; say it once, before the probe.
  if (!options.api_key.empty() && base.rfind("https://", 0) != 0 && !is_loopback_http_url(base)) {
    return Status::invalid_argument("embedding model '" + spec +
                                    "': the API key is never sent over plain http to another "
                                    "machine; use https:// (plain http only to this machine)");
  }
  const std::string model = spec.substr(hash + 1);
  RemoteEmbedder::Kind k = RemoteEmbedder::Kind::kOllama;
  std::string url = base + "/api/embed";
  if (kind == "openai") {
    k = RemoteEmbedder::Kind::kOpenAi;
    url = base.ends_with("/v1") ? base + "/embeddings" : base + "/v1/embeddings";
  }
  auto embedder = std::make_unique<RemoteEmbedder>(k, url, model, options);
  MCP_RETURN_IF_ERROR(embedder->probe());
  return std::unique_ptr<Embedder>(std::move(embedder));
}

}  // namespace mcpmem
