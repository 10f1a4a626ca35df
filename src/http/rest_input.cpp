// REST input and answers: see rest_input.h. The messages name the field and what it must be,
// so a client can fix its request from the detail alone.
#include "http/rest_input.h"

#include <cstdlib>

#include "core/json_fields.h"
#include "core/json_parse.h"
#include "core/tags.h"
#include "core/time_format.h"
#include "http/http_server.h"

namespace mcpmem::rest_detail {
namespace {

std::string quoted(const char* name) { return std::string("'") + name + "'"; }

[[noreturn]] void fail_range(const char* name, int64_t lo, int64_t hi) {
  fail(422, quoted(name) + " must be an integer from " + std::to_string(lo) + " to " +
                std::to_string(hi));
}

bool absent(const Json& j, const char* name) { return !j.contains(name) || j[name].is_null(); }

}  // namespace

void fail(int status, std::string detail) { throw RestError{status, std::move(detail)}; }

void fail(const Status& s) { fail(http_status(s), s.message()); }

Response json_response(const OJson& body, int status) {
  Response res;
  res.status = status;
  res.set_content(body.dump(-1, ' ', false, OJson::error_handler_t::replace), "application/json");
  return res;
}

Json body_object(const Request& req) {
  auto parsed = parse_json(req.body, "the request body");
  if (!parsed.is_ok()) fail(400, parsed.status().message());
  Json j = std::move(*parsed);
  if (!j.is_object()) fail(400, "the request body must be a JSON object");
  return j;
}

std::string text_field(const Json& j, const char* name, const std::string& fallback) {
  return value_or_fail(string_field(j, name, fallback));
}

std::optional<std::string> optional_text(const Json& j, const char* name) {
  if (!has_field(j, name)) return std::nullopt;
  return text_field(j, name);
}

int64_t int_field(const Json& j, const char* name, int64_t fallback, int64_t lo, int64_t hi) {
  return value_or_fail(mcpmem::int_field(j, name, fallback, lo, hi));
}

bool bool_field(const Json& j, const char* name, bool fallback) {
  return value_or_fail(mcpmem::bool_field(j, name, fallback));
}

std::vector<std::string> tags_field(const Json& j, const char* name) {
  return value_or_fail(mcpmem::tags_field(j, name));
}

std::optional<Json> metadata_field(const Json& j) {
  if (absent(j, "metadata")) return std::nullopt;
  if (!j["metadata"].is_object()) fail(422, "'metadata' must be an object");
  return j["metadata"];
}

int64_t query_int(const Request& req, const char* name, int64_t fallback, int64_t lo, int64_t hi) {
  if (!req.has_param(name)) return fallback;
  const std::string v = req.param(name);
  char* end = nullptr;
  const long long n = std::strtoll(v.c_str(), &end, 10);
  if (v.empty() || *end != '\0' || n < lo || n > hi) fail_range(name, lo, hi);
  return n;
}

bool tag_match_all(const std::string& mode) {
  if (mode != "any" && mode != "all") fail(422, "'tag_match' must be any or all");
  return mode == "all";
}

OJson iso_or_null(double unix_seconds) {
  return unix_seconds > 0 ? OJson(iso_utc(unix_seconds)) : OJson(nullptr);
}

OJson iso_or_null(const std::optional<double>& unix_seconds) {
  return unix_seconds ? OJson(iso_utc(*unix_seconds)) : OJson(nullptr);
}

}  // namespace mcpmem::rest_detail
