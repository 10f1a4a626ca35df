// API key resolution. The key file holds the key and a newline; surrounding whitespace is
// ignored when read, so a key pasted into the file by hand works too.
#include "http/api_key.h"

#include <openssl/rand.h>

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
  static constexpr char kAlphabet[] =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
  std::string out;
  uint32_t acc = 0;
  int bits = 0;
  for (unsigned char c : raw) {
    acc = (acc << 8) | c;
    bits += 8;
    while (bits >= 6) {
      bits -= 6;
      out.push_back(kAlphabet[(acc >> bits) & 63]);
    }
  }
  if (bits > 0) out.push_back(kAlphabet[(acc << (6 - bits)) & 63]);
  return out;
}

std::string api_key_file(const Config& config) {
  return config.api_key.empty() ? config.base_dir + "/api_key" : "";
}

Result<ApiKey> resolve_api_key(const Config& config) {
  ApiKey result;
  if (!config.api_key.empty()) {
    result.key = config.api_key;
    return result;
  }
  result.file = api_key_file(config);
  auto existing = read_secret_file(result.file, &result.file_too_open);
  if (existing.is_ok()) {
    result.key = trim(*existing);
    if (result.key.empty()) return Status::invalid_argument(result.file + " is empty");
    return result;
  }
  if (existing.status().code() != StatusCode::kNotFound) return existing.status();
  MCP_ASSIGN_OR_RETURN(auto token, random_token());
  Status made = create_secret_file(result.file, token + "\n");
  if (made.code() == StatusCode::kAlreadyExists) return resolve_api_key(config);  // a racing start
  MCP_RETURN_IF_ERROR(made);
  result.key = token;
  result.generated = true;
  return result;
}

}  // namespace mcpmem
