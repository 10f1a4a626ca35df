// Rendering of service results for the CLI: JSON in the Python service's shapes (so scripts
// written for it keep working) and readable tables for people.
#pragma once

#include <string>
#include <vector>

#include "core/memory.h"
#include "service/memory_service.h"
#include "service/wire_json.h"

namespace mcpmem::cli {

// Human output.
std::string search_text(const SearchResponse& r);
std::string list_text(const ListResponse& r);
std::string memory_text(const Memory& m);
std::string stats_text(const ServiceStats& s, const std::string& db_path, bool by_source);
std::string tags_text(const std::vector<TagCount>& tags);

// One line, at most `width` display columns (UTF-8 aware), newlines shown as spaces.
std::string one_line(const std::string& text, size_t width);

}  // namespace mcpmem::cli
