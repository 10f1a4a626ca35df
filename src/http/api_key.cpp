// API key resolution. The key file holds the key and a newline; surrounding whitespace is
// ignored when read, so a key pasted into the file by hand works too.
#include "http/api_key.h"

#include <openssl/rand.h>

#include "core/base64.h"
#include "platform/secret_file.h"

namespace mcpmem {
namespace {

std::string trim(std::string s) {
  auto space = [](char c) { return c == ' ' || c == '\n' || c == '\r' || c == '\t'; };
  while (!s.empty() && space(s.back())) s.pop_back();
  size_t i = 0;
  while (i < s.size() && space(s[i])) ++i;
  return s.substr(i);
}

}  // namespace

Result<std::string> random_token(size_t bytes) {
  std::string raw(bytes, '\0');
  if (RAND_bytes(reinterpret_cast<unsigned char*>(raw.data()), static_cast<int>(bytes)) != 1) {
    return Status::internal("the system random generator failed");
  }
  return base64url(raw);
}

std::string api_key_file(const Config& config) {
  return config.api_key.empty() ? join_path(config.base_dir, "api_key") : "";
}

Result<std::string> kept_token(const std::string& file, bool* generated, bool* too_open) {
  auto existing = read_secret_file(file, too_open);
  if (existing.is_ok()) {
    std::string token = trim(*existing);
    if (token.empty()) return Status::invalid_argument(file + " is empty");
    return token;
  }
  if (existing.status().code() != StatusCode::kNotFound) return existing.status();
  MCP_ASSIGN_OR_RETURN(auto token, random_token());
  Status made = create_secret_file(file, token + "\n");
  if (made.code() == StatusCode::kAlreadyExists) {  // a racing start made it first
    return kept_token(file, generated, too_open);
  }
  MCP_RETURN_IF_ERROR(made);
  if (generated != nullptr) *generated = true;
  return token;
}

Result<ApiKey> resolve_api_key(const Config& config) {
  ApiKey result;
  if (!config.api_key.empty()) {
    result.key = config.api_key;
    return result;
  }
  result.file = api_key_file(config);
  MCP_ASSIGN_OR_RETURN(result.key,
                       kept_token(result.file, &result.generated, &result.file_too_open));
  return result;
}

}  // namespace mcpmem
