// Rendering of service results for the CLI: JSON in the Python service's shapes (so scripts
// written for it keep working) and readable tables for people.
#pragma once

#include <string>
#include <vector>

#include "core/memory.h"
#include "service/memory_service.h"

namespace mcpmem::cli {

// Output JSON keeps keys in the order the Python service prints them.
using OJson = nlohmann::ordered_json;

// {content, content_hash, tags, memory_type, metadata, created_at, created_at_iso, updated_at,
// updated_at_iso}: the Python service's MemoryResponse.
OJson memory_json(const Memory& m);
OJson search_json(const SearchResponse& r);
OJson list_json(const ListResponse& r);
OJson stats_json(const ServiceStats& s, const std::string& db_path, bool by_source);

// Human output.
std::string search_text(const SearchResponse& r);
std::string list_text(const ListResponse& r);
std::string memory_text(const Memory& m);
std::string stats_text(const ServiceStats& s, const std::string& db_path, bool by_source);
std::string tags_text(const std::vector<TagCount>& tags);

// One line, at most `width` display columns (UTF-8 aware), newlines shown as spaces.
std::string one_line(const std::string& text, size_t width);

}  // namespace mcpmem::cli
