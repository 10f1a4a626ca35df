// Tag normalization as the Python service's MemoryService.normalize_tags: trim, lowercase
// (Python's str.lower), ',' -> '-', drop empties, de-duplicate keeping the first, "untagged"
// when nothing is left; plus the CSV column format and user-input splitting.
#include "core/tags.h"

#include <nlohmann/json.hpp>
#include <unordered_set>

#include "core/content_hash.h"
#include "core/json_parse.h"

namespace mcpmem {
namespace {

bool is_ascii_space(char c) {
  return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f';
}

std::string_view trim_ascii(std::string_view s) {
  while (!s.empty() && is_ascii_space(s.front())) s.remove_prefix(1);
  while (!s.empty() && is_ascii_space(s.back())) s.remove_suffix(1);
  return s;
}

}  // namespace

Result<std::vector<std::string>> normalize_tag_filter(const std::vector<std::string>& raw) {
  std::vector<std::string> out;
  std::unordered_set<std::string> seen;
  for (const std::string& tag : raw) {
    if (!is_valid_utf8(tag)) return Status::invalid_argument("a tag is not valid UTF-8");
    std::string t = python_strip_lower(tag);
    for (char& c : t) {
      if (c == ',') c = '-';
    }
    if (t.empty()) continue;
    if (t.size() > kMaxTagLength) {
      return Status::invalid_argument("tag '" + t.substr(0, 20) + "...' is longer than " +
                                      std::to_string(kMaxTagLength) + " bytes");
    }
    if (seen.insert(t).second) out.push_back(std::move(t));
  }
  if (out.size() > kMaxTags) {
    return Status::invalid_argument("too many tags: " + std::to_string(out.size()) +
                                    " (the limit is " + std::to_string(kMaxTags) + ")");
  }
  return out;
}

Result<std::vector<std::string>> normalize_tags(const std::vector<std::string>& raw) {
  auto out = normalize_tag_filter(raw);
  if (out.is_ok() && out->empty()) out->push_back("untagged");
  return out;
}

std::vector<std::string> split_tag_list(std::string_view text) {
  std::vector<std::string> out;
  std::string_view trimmed = trim_ascii(text);
  if (!trimmed.empty() && trimmed.front() == '[') {
    auto j = parse_json(trimmed, "the tag list");
    if (j.is_ok() && j->is_array()) {
      for (const auto& item : *j) {
        if (item.is_string()) out.push_back(item.get<std::string>());
      }
      return out;
    }
  }
  std::string current;
  for (char c : text) {
    if (c == ',' || is_ascii_space(c)) {
      if (!current.empty()) out.push_back(std::move(current));
      current.clear();
    } else {
      current.push_back(c);
    }
  }
  if (!current.empty()) out.push_back(std::move(current));
  return out;
}

std::string join_tags_csv(const std::vector<std::string>& tags) {
  std::string out;
  for (const std::string& t : tags) {
    if (!out.empty()) out.push_back(',');
    out += t;
  }
  return out;
}

std::vector<std::string> parse_tags_csv(std::string_view csv) {
  std::vector<std::string> out;
  size_t start = 0;
  while (start <= csv.size()) {
    size_t comma = csv.find(',', start);
    if (comma == std::string_view::npos) comma = csv.size();
    std::string_view piece = trim_ascii(csv.substr(start, comma - start));
    if (!piece.empty()) out.emplace_back(piece);
    start = comma + 1;
  }
  return out;
}

}  // namespace mcpmem
