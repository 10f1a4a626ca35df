// Typed reading of one field of a JSON object, the same for every front end: REST bodies, MCP
// tool arguments and sync records. Each reader returns the value, or the fallback when the
// field is absent or null, or an InvalidArgument naming the field and what it must be:
// "'limit' must be an integer between 1 and 100". Callers that read nested records pass the
// qualified name ("changes[3].content") so the error points at the exact place.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/memory.h"
#include "core/status.h"

namespace mcpmem {

// True when `object` has `name` with a value other than null.
bool has_field(const Json& object, std::string_view name);

Result<std::string> string_field(const Json& object, std::string_view name,
                                 std::string fallback = "");
// An integer within [lo, hi].
Result<int64_t> int_field(const Json& object, std::string_view name, int64_t fallback, int64_t lo,
                          int64_t hi);
// Any number within [lo, hi].
Result<double> number_field(const Json& object, std::string_view name, double fallback, double lo,
                            double hi);
Result<bool> bool_field(const Json& object, std::string_view name, bool fallback);
// An object; absent or null gives an empty object.
Result<Json> object_field(const Json& object, std::string_view name);
// Tags as the Python service takes them: a list of strings, a comma-separated string, or a
// string holding a JSON array.
Result<std::vector<std::string>> tags_field(const Json& object, std::string_view name);

// The error the readers return, for checks of their own ("'mode' must be one of ...").
Status field_error(std::string_view name, std::string_view must_be);

}  // namespace mcpmem
