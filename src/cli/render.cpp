// Table rendering of memories, search results, lists and stats for people. (JSON output is
// service/wire_json.h, shared with the other front ends.)
#include "cli/render.h"

#include <cstdio>
#include <sstream>

#include "core/time_format.h"

namespace mcpmem::cli {
namespace {

std::string short_hash(const std::string& h) { return h.substr(0, 12); }

std::string tags_joined(const std::vector<std::string>& tags) {
  std::string out;
  for (const auto& t : tags) {
    if (!out.empty()) out += ", ";
    out += t;
  }
  return out;
}

std::string date_minutes(double t) {
  // "2026-11-25 14:03" (UTC, from the ISO form).
  std::string iso = iso_utc(t);
  return iso.substr(0, 10) + " " + iso.substr(11, 5);
}

size_t columns(const std::string& s) {
  size_t n = 0;
  for (unsigned char c : s) n += (c & 0xC0) != 0x80;
  return n;
}

// one_line() padded with spaces to exactly `width` columns.
std::string fit(const std::string& text, size_t width) {
  std::string out = one_line(text, width);
  out.append(width - std::min(width, columns(out)), ' ');
  return out;
}

}  // namespace

std::string one_line(const std::string& text, size_t width) {
  std::string out;
  size_t columns = 0;
  for (size_t i = 0; i < text.size();) {
    unsigned char c = static_cast<unsigned char>(text[i]);
    size_t len = c < 0x80 ? 1 : (c >> 5) == 6 ? 2 : (c >> 4) == 14 ? 3 : (c >> 3) == 30 ? 4 : 1;
    if (columns + 1 > width) {
      // Replace the last column with an ellipsis.
      while (!out.empty() && (static_cast<unsigned char>(out.back()) & 0xC0) == 0x80)
        out.pop_back();
      if (!out.empty()) out.pop_back();
      out += "…";
      return out;
    }
    if (c == '\n' || c == '\r' || c == '\t') {
      out += ' ';
    } else {
      out.append(text, i, len);
    }
    i += len;
    ++columns;
  }
  return out;
}

std::string memory_text(const Memory& m) {
  std::ostringstream out;
  out << "hash:     " << m.content_hash << "\n"
      << "created:  " << iso_utc(m.created_at) << "\n"
      << "updated:  " << iso_utc(m.updated_at) << "\n"
      << "type:     " << (m.memory_type.empty() ? "-" : m.memory_type) << "\n"
      << "tags:     " << tags_joined(m.tags) << "\n";
  if (!m.metadata.empty()) out << "metadata: " << m.metadata.dump() << "\n";
  out << "\n" << m.content << "\n";
  return out.str();
}

std::string search_text(const SearchResponse& r) {
  std::ostringstream out;
  if (r.results.empty()) {
    out << "No memories found (" << r.search_type << ")\n";
    return out.str();
  }
  out << "Found " << r.results.size() << " memories (" << r.search_type << ", "
      << static_cast<int>(std::lround(r.processing_time_ms)) << " ms)\n\n";
  int i = 0;
  for (const SearchHit& h : r.results) {
    char score[16];
    std::snprintf(score, sizeof score, "%.3f", h.similarity_score);
    out << ++i << ". [" << score << "] " << one_line(h.memory.content, 100) << "\n"
        << "   " << short_hash(h.memory.content_hash) << "  " << date_minutes(h.memory.created_at)
        << "  " << tags_joined(h.memory.tags) << "\n";
  }
  return out.str();
}

std::string list_text(const ListResponse& r) {
  std::ostringstream out;
  out << fit("HASH", 12) << "  " << fit("CREATED", 16) << "  " << fit("TYPE", 12) << "  "
      << fit("TAGS", 24) << "  CONTENT\n";
  for (const Memory& m : r.memories) {
    out << short_hash(m.content_hash) << "  " << date_minutes(m.created_at) << "  "
        << fit(m.memory_type.empty() ? "-" : m.memory_type, 12) << "  "
        << fit(tags_joined(m.tags), 24) << "  " << one_line(m.content, 60) << "\n";
  }
  int64_t pages = (r.total + r.page_size - 1) / r.page_size;
  out << "\npage " << r.page << " of " << std::max<int64_t>(pages, 1) << " (" << r.total
      << " memories)\n";
  return out.str();
}

std::string stats_text(const ServiceStats& s, const std::string& db_path, bool by_source) {
  std::ostringstream out;
  char size[32];
  std::snprintf(size, sizeof size, "%.2f MB",
                static_cast<double>(s.storage.database_size_bytes) / 1048576.0);
  out << "database:         " << db_path << "\n"
      << "memories:         " << s.storage.total_memories << "\n"
      << "deleted:          " << s.storage.deleted_memories << "\n"
      << "unique tags:      " << s.storage.unique_tags << "\n"
      << "this week:        " << s.storage.memories_this_week << "\n"
      << "size:             " << size << "\n"
      << "embedding model:  " << s.embedding_model << " (" << s.embedding_dimension << " dims)\n"
      << "last modified:    "
      << (s.storage.last_modified > 0 ? iso_utc(s.storage.last_modified) : "-") << "\n";
  if (by_source) {
    out << "\nby source:\n";
    if (s.sources.empty()) out << "  (no source:<machine> tags)\n";
    for (const TagCount& t : s.sources) {
      char row[160];
      std::snprintf(row, sizeof row, "  %-30s %8lld\n", t.tag.c_str(),
                    static_cast<long long>(t.count));
      out << row;
    }
  }
  return out.str();
}

std::string tags_text(const std::vector<TagCount>& tags) {
  std::ostringstream out;
  if (tags.empty()) out << "No tags\n";
  for (const TagCount& t : tags) {
    char row[32];
    std::snprintf(row, sizeof row, "%8lld  ", static_cast<long long>(t.count));
    out << row << t.tag << "\n";
  }
  return out.str();
}

}  // namespace mcpmem::cli
