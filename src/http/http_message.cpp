// Request/Response helpers and the URL decoding every route relies on (http_message.h).
#include "http/http_message.h"

#include <algorithm>

#include "core/memory.h"
#include "platform/url.h"

namespace mcpmem {
namespace {

char lower_ascii(char c) { return c >= 'A' && c <= 'Z' ? static_cast<char>(c + 32) : c; }

std::string first_header(const HttpHeaders& headers, std::string_view name) {
  auto it = headers.find(std::string(name));
  return it == headers.end() ? std::string() : it->second;
}

}  // namespace

bool CaseInsensitiveLess::operator()(std::string_view a, std::string_view b) const {
  return std::lexicographical_compare(a.begin(), a.end(), b.begin(), b.end(), [](char x, char y) {
    return lower_ascii(x) < lower_ascii(y);
  });
}

std::string Request::header(std::string_view name) const { return first_header(headers, name); }

std::string Request::param(const std::string& name) const {
  auto it = params.find(name);
  return it == params.end() ? std::string() : it->second;
}

void Response::set_header(const std::string& name, std::string value) {
  headers.erase(name);
  headers.emplace(name, std::move(value));
}

void Response::set_content(std::string content, const std::string& content_type) {
  body = std::move(content);
  set_header("Content-Type", content_type);
}

std::string Response::header(std::string_view name) const { return first_header(headers, name); }

Response json_error(int status, const std::string& detail) {
  Response res;
  res.status = status;
  res.set_content(Json{{"detail", detail}}.dump(-1, ' ', false, Json::error_handler_t::replace),
                  "application/json");
  return res;
}

std::multimap<std::string, std::string> parse_query(std::string_view query) {
  std::multimap<std::string, std::string> params;
  while (!query.empty()) {
    const size_t amp = query.find('&');
    const std::string_view pair = query.substr(0, amp);
    query = amp == std::string_view::npos ? std::string_view() : query.substr(amp + 1);
    if (pair.empty()) continue;
    const size_t eq = pair.find('=');
    std::string key = url_decode(pair.substr(0, eq), true);
    std::string value =
        eq == std::string_view::npos ? std::string() : url_decode(pair.substr(eq + 1), true);
    params.emplace(std::move(key), std::move(value));
  }
  return params;
}

}  // namespace mcpmem
