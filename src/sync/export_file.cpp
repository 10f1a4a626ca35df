// Export files: see export_file.h. Layout and number format follow Python's
// json.dump(indent=2, ensure_ascii=False), so our files read like the Python exporter's.
#include "sync/export_file.h"

#include <sys/utsname.h>

#include "core/tags.h"
#include "core/time_format.h"
#include "service/version_json.h"

namespace mcpmem {
namespace {

constexpr const char* kExporterVersion = "5.0.1";  // the Python exporter's; readers check it

std::string platform_name() {
  utsname u{};
  if (uname(&u) != 0) return "Linux";
  return u.sysname;
}

// `j` dumped with indent 2, every line after the first indented by `depth` more spaces.
void write_indented(std::ostream& out, const OJson& j, int depth) {
  const std::string text = j.dump(2, ' ', false, OJson::error_handler_t::replace);
  const std::string pad(static_cast<size_t>(depth), ' ');
  out << pad;
  size_t start = 0;
  for (size_t nl = text.find('\n'); nl != std::string::npos; nl = text.find('\n', start)) {
    out.write(text.data() + start, static_cast<std::streamsize>(nl + 1 - start));
    out << pad;
    start = nl + 1;
  }
  out.write(text.data() + start, static_cast<std::streamsize>(text.size() - start));
}

}  // namespace

Result<ExportSummary> write_export(MemoryService& service, const ExportOptions& o,
                                   std::ostream& out) {
  ScanOptions scan;
  auto tags = normalize_tag_filter(o.filter_tags);
  if (!tags.is_ok()) return tags.status();
  scan.filter.tags = std::move(tags).value();
  scan.changed_since = o.since;
  scan.tombstones = o.include_deleted;
  if (o.include_embeddings) scan.vector_dimension = service.embedder().dimension();

  ExportSummary summary;
  bool in_tombstones = false;
  auto on_totals = [&](int64_t alive, int64_t tombstones) {
    OJson meta = OJson::object();
    meta["source_machine"] = o.source_machine;
    meta["export_timestamp"] = local_iso_now();
    meta["total_memories"] = alive;
    meta["database_path"] = o.database_path;
    meta["platform"] = platform_name();
    meta["include_embeddings"] = o.include_embeddings;
    meta["filter_tags"] = o.filter_tags.empty() ? OJson() : OJson(o.filter_tags);
    meta["exporter_version"] = kExporterVersion;
    // Ours: what the embeddings are (an importer uses them only when its model is the same),
    // and the tombstone count.
    meta["exporter"] = std::string("mcp-memory ") + MCP_MEMORY_VERSION;
    meta["embedding_model"] = service.embedder().model_id();
    meta["embedding_dimension"] = service.embedder().dimension();
    meta["node"] = service.node_name();
    if (o.include_deleted) meta["total_tombstones"] = tombstones;
    out << "{\n  \"export_metadata\": ";
    const std::string text = meta.dump(2, ' ', false, OJson::error_handler_t::replace);
    for (char c : text) {
      out.put(c);
      if (c == '\n') out << "  ";
    }
    out << ",\n  \"memories\": [";
  };
  size_t in_array = 0;
  auto on_row = [&](const Memory& m, std::span<const float> vec) {
    if (m.is_deleted() && !in_tombstones) {
      out << (in_array ? "\n  ],\n  \"tombstones\": [" : "],\n  \"tombstones\": [");
      in_tombstones = true;
      in_array = 0;
    }
    OJson j = version_json(m);
    if (m.is_deleted()) {
      // A tombstone travels without its content: a delete should not spread what was deleted.
      j.erase("content");
      ++summary.tombstones;
    } else {
      j["export_source"] = o.source_machine;
      if (!vec.empty()) j["embedding"] = std::vector<float>(vec.begin(), vec.end());
      ++summary.memories;
    }
    out << (in_array++ ? ",\n" : "\n");
    write_indented(out, j, 4);
    return static_cast<bool>(out);
  };
  auto scanned = service.scan_memories(scan, on_row, on_totals);
  if (!scanned.is_ok()) return scanned.status();
  if (!in_tombstones && o.include_deleted) {
    out << (in_array ? "\n  ],\n  \"tombstones\": [" : "],\n  \"tombstones\": [");
    in_array = 0;
  }
  out << (in_array ? "\n  ]\n}\n" : "]\n}\n");
  out.flush();
  if (!out) return Status::io_error("writing the export failed (disk full?)");
  return summary;
}

}  // namespace mcpmem
