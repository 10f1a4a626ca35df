// The typed field readers of json_fields.h.
#include "core/json_fields.h"

#include <cmath>

#include "core/tags.h"

namespace mcpmem {
namespace {

// The field's value, or null when absent.
const Json* find_field(const Json& object, std::string_view name) {
  if (!object.is_object()) return nullptr;
  auto it = object.find(name);
  if (it == object.end() || it->is_null()) return nullptr;
  return &*it;
}

}  // namespace

Status field_error(std::string_view name, std::string_view must_be) {
  return Status::invalid_argument("'" + std::string(name) + "' must be " + std::string(must_be));
}

bool has_field(const Json& object, std::string_view name) {
  return find_field(object, name) != nullptr;
}

Result<std::string> string_field(const Json& object, std::string_view name, std::string fallback) {
  const Json* v = find_field(object, name);
  if (v == nullptr) return fallback;
  if (!v->is_string()) return field_error(name, "a string");
  return v->get<std::string>();
}

Result<int64_t> int_field(const Json& object, std::string_view name, int64_t fallback, int64_t lo,
                          int64_t hi) {
  const Json* v = find_field(object, name);
  if (v == nullptr) return fallback;
  // One message for a wrong type and a wrong value: it says what would be accepted. A uint64
  // beyond int64 is out of range, not a wrapped negative number.
  const bool in_range =
      v->is_number_integer() &&
      !(v->is_number_unsigned() && v->get<uint64_t>() > static_cast<uint64_t>(INT64_MAX)) &&
      v->get<int64_t>() >= lo && v->get<int64_t>() <= hi;
  if (!in_range) {
    return field_error(name, "an integer from " + std::to_string(lo) + " to " + std::to_string(hi));
  }
  return v->get<int64_t>();
}

Result<double> number_field(const Json& object, std::string_view name, double fallback, double lo,
                            double hi) {
  const Json* v = find_field(object, name);
  if (v == nullptr) return fallback;
  if (!v->is_number()) return field_error(name, "a number");
  const double x = v->get<double>();
  if (!std::isfinite(x) || x < lo || x > hi) {
    Json range = {lo, hi};
    return field_error(name, "a number between " + range[0].dump() + " and " + range[1].dump());
  }
  return x;
}

Result<bool> bool_field(const Json& object, std::string_view name, bool fallback) {
  const Json* v = find_field(object, name);
  if (v == nullptr) return fallback;
  if (!v->is_boolean()) return field_error(name, "true or false");
  return v->get<bool>();
}

Result<Json> object_field(const Json& object, std::string_view name) {
  const Json* v = find_field(object, name);
  if (v == nullptr) return Json::object();
  if (!v->is_object()) return field_error(name, "an object");
  return *v;
}

Result<std::vector<std::string>> tags_field(const Json& object, std::string_view name) {
  const Json* v = find_field(object, name);
  if (v == nullptr) return std::vector<std::string>();
  if (v->is_string()) return split_tag_list(v->get<std::string>());
  if (!v->is_array()) return field_error(name, "a list or a string");
  std::vector<std::string> out;
  for (const Json& x : *v) {
    if (!x.is_string()) return field_error(name, "a list of strings");
    out.push_back(x.get<std::string>());
  }
  return out;
}

}  // namespace mcpmem
