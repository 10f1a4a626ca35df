// Embedders served by another program over HTTP: an Ollama server (`ollama:<url>#<model>`,
// POST <url>/api/embed) or an OpenAI-compatible one (`openai:<base-url>#<model>`, POST
// <base-url>/v1/embeddings: llama.cpp's server, LM Studio, vLLM, OpenAI). Texts go in batches;
// each request has a time limit and is retried with backoff when the server is down or answers
// 429/5xx; the key (EmbedderOptions::api_key) goes as a bearer token, over https or to this
// machine only (a keyless server on the network may be plain http). The dimension is learned
// from one probe at start, and every reply is checked (JSON of the right shape, one finite
// vector per text, that dimension) before anything of it is used, so a bad answer is an error
// and never half a batch. Vectors are L2-normalised here. The model id is "<kind>:<model>":
// the same model on another host gives the same vectors.
#pragma once

#include <memory>
#include <string>

#include "embed/embedder.h"

namespace mcpmem {

Result<std::unique_ptr<Embedder>> make_remote_embedder(const std::string& spec,
                                                       const EmbedderOptions& options);

}  // namespace mcpmem
