// What every REST handler shares: reading a request strictly and answering in the Python
// service's shapes. A field of the wrong type is a 422 naming the field, never a silent default;
// a body that is not a JSON object is a 400. Inside a handler a refusal is thrown as RestError
// (fail(), value_or_fail()) and respond() turns it into {"detail": ...}: no exception leaves
// respond(), so every handler is a plain Response(const Request&) whatever happens.
// Used by rest_*.cpp only (namespace rest_detail); the routes are in rest_api.h.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "core/status.h"
#include "http/http_message.h"
#include "service/wire_json.h"

namespace mcpmem::rest_detail {

// A refusal: the status and the detail a client reads. Thrown inside respond() only.
struct RestError {
  int status;
  std::string detail;
};

[[noreturn]] void fail(int status, std::string detail);
// With the status every route gives `s` (http_status()).
[[noreturn]] void fail(const Status& s);

template <typename T>
T value_or_fail(Result<T> r) {
  if (!r.is_ok()) fail(r.status());
  return std::move(r).value();
}

// Runs `handler` (returning a Response), answering a RestError it throws as {"detail": ...}.
template <typename F>
Response respond(F&& handler) {
  try {
    return handler();
  } catch (const RestError& e) {
    return json_error(e.status, e.detail);
  }
}

// 200 (or `status`) with `body` as application/json; invalid UTF-8 in stored text is replaced,
// never a failure.
Response json_response(const OJson& body, int status = 200);

// The body as a JSON object: 400 when it is not JSON (or nested too deep) or not an object.
Json body_object(const Request& req);

// Typed field access (core/json_fields.h's readers): absent or null -> the fallback; present
// with the wrong type or out of range -> 422 naming the field.
std::string text_field(const Json& j, const char* name, const std::string& fallback = "");
std::optional<std::string> optional_text(const Json& j, const char* name);
int64_t int_field(const Json& j, const char* name, int64_t fallback, int64_t lo, int64_t hi);
bool bool_field(const Json& j, const char* name, bool fallback);
// A list of strings or one comma-separated string.
std::vector<std::string> tags_field(const Json& j, const char* name);
// "metadata": absent or null -> nullopt; an object -> it; anything else -> 422.
std::optional<Json> metadata_field(const Json& j);

// A query parameter that must be an integer in [lo, hi] when present (422 otherwise).
int64_t query_int(const Request& req, const char* name, int64_t fallback, int64_t lo, int64_t hi);
// "any" -> false, "all" -> true, anything else -> 422.
bool tag_match_all(const std::string& mode);

// An ISO time, or null for 0 / nullopt (never happened).
OJson iso_or_null(double unix_seconds);
OJson iso_or_null(const std::optional<double>& unix_seconds);

}  // namespace mcpmem::rest_detail
