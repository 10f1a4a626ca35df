// parse_json: nlohmann's parser with a callback that sees the nesting depth of every container
// as it opens. The parser itself keeps its stack on the heap; at the first container past the
// limit the callback throws, so at most kMaxJsonDepth levels were ever built, and the partial
// tree is freed (nlohmann's destructor is iterative). The exception never leaves this file.
#include "core/json_parse.h"

#include <string>

namespace mcpmem {
namespace {

struct NestedTooDeep {};

template <typename J>
Result<J> parse_with_depth_limit(std::string_view text, std::string_view what) {
  // `depth` is the number of containers already open around the one that starts.
  typename J::parser_callback_t limit = [](int depth, nlohmann::json::parse_event_t event, J&) {
    if ((event == nlohmann::json::parse_event_t::array_start ||
         event == nlohmann::json::parse_event_t::object_start) &&
        depth >= kMaxJsonDepth) {
      throw NestedTooDeep{};
    }
    return true;
  };
  try {
    J j = J::parse(text, limit, /*allow_exceptions=*/true);
    return j;
  } catch (const NestedTooDeep&) {
    return Status::invalid_argument(std::string(what) + " is " + std::string(kJsonTooDeep));
  } catch (const nlohmann::json::exception& e) {
    // e.what() is "[json.exception.parse_error.101] parse error at line 1, column 7: syntax
    // error ...; last read: '<input>'". The input part goes: it may be invalid UTF-8, which
    // would make the error itself unprintable as JSON.
    std::string detail = e.what();
    if (auto at = detail.find("] "); at != std::string::npos) detail.erase(0, at + 2);
    if (auto at = detail.find("; last read"); at != std::string::npos) detail.erase(at);
    return Status::invalid_argument(std::string(what) + " is not valid JSON (" + detail + ")");
  }
}

}  // namespace

Result<nlohmann::json> parse_json(std::string_view text, std::string_view what) {
  return parse_with_depth_limit<nlohmann::json>(text, what);
}

Result<nlohmann::ordered_json> parse_ordered_json(std::string_view text, std::string_view what) {
  return parse_with_depth_limit<nlohmann::ordered_json>(text, what);
}

bool is_json_too_deep(const Status& s) {
  return s.code() == StatusCode::kInvalidArgument &&
         s.message().find(kJsonTooDeep) != std::string::npos;
}

}  // namespace mcpmem
