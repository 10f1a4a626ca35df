// Tag normalization and the comma-joined form the database stores (as the Python service).
// A normalized tag set: each tag trimmed of whitespace, lowercased, commas replaced by '-',
// empty tags dropped, duplicates removed keeping the first, order kept; an empty set becomes
// {"untagged"}. Limits: kMaxTagLength characters per tag, kMaxTags tags.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "core/status.h"

namespace mcpmem {

inline constexpr size_t kMaxTagLength = 100;  // bytes of UTF-8 per tag
inline constexpr size_t kMaxTags = 100;       // tags per memory

// Normalizes as described above. InvalidArgument when a tag is invalid UTF-8, longer than
// kMaxTagLength, or there are more than kMaxTags.
Result<std::vector<std::string>> normalize_tags(const std::vector<std::string>& raw);

// Like normalize_tags but returns an empty list for empty input (for filters, not for storing).
Result<std::vector<std::string>> normalize_tag_filter(const std::vector<std::string>& raw);

// Splits user input that is a comma- or whitespace-separated list ("a,b c"), or a JSON array
// string ("[\"a\",\"b\"]"), into raw tags (not yet normalized).
std::vector<std::string> split_tag_list(std::string_view text);

// "a,b,c" <-> {"a","b","c"} (the database column format). Parsing trims each piece and drops
// empty pieces; it does not lowercase (rows written by other programs are read as they are).
std::string join_tags_csv(const std::vector<std::string>& tags);
std::vector<std::string> parse_tags_csv(std::string_view csv);

}  // namespace mcpmem
