// Export files: see export_file.h. Layout and number format follow Python's
// json.dump(indent=2, ensure_ascii=False), so our files read like the Python exporter's.
#include "sync/export_file.h"

#ifndef _WIN32
#include <sys/utsname.h>
#endif

#include <deque>
#include <future>
#include <sstream>
#include <utility>

#include "core/tags.h"
#include "core/time_format.h"
#include "core/version.h"
#include "service/version_json.h"

namespace mcpmem {
namespace {

constexpr const char* kExporterVersion = "5.0.1";  // the Python exporter's; readers check it
constexpr size_t kRowsPerBatch = 256;
constexpr size_t kBatchesInFlight = 4;  // batches being rendered at once (bounds memory)

struct Row {
  Memory memory;
  std::vector<float> vector;
  std::string before;  // the separator (and array change) that precedes the record
};

// Python's platform.system(): "Linux", "Darwin", "Windows".
std::string platform_name() {
#ifdef _WIN32
  return "Windows";
#else
  utsname u{};
  if (uname(&u) != 0) return "Linux";
  return u.sysname;
#endif
}

// `j` dumped with indent 2, every line after the first indented by `depth` more spaces.
void write_indented(std::ostream& out, const OJson& j, int depth) {
  const std::string text = j.dump(2, ' ', false, OJson::error_handler_t::replace);
  const std::string pad(static_cast<size_t>(depth), ' ');
  size_t start = 0;
  for (size_t nl = text.find('\n'); nl != std::string::npos; nl = text.find('\n', start)) {
    out.write(text.data() + start, static_cast<std::streamsize>(nl + 1 - start));
    out << pad;
    start = nl + 1;
  }
  out.write(text.data() + start, static_cast<std::streamsize>(text.size() - start));
}

// Ends the memories array (after `records` of them) and opens the tombstones array.
const char* start_tombstones(size_t records) {
  return records ? "\n  ],\n  \"tombstones\": [" : "],\n  \"tombstones\": [";
}

// The text of a batch of records, each after its separator.
std::string render(const std::vector<Row>& rows, const std::string& source_machine) {
  std::ostringstream text;
  for (const Row& row : rows) {
    const Memory& m = row.memory;
    OJson j = version_json(m);
    if (m.is_deleted()) {
      j.erase("content");  // a tombstone travels without it: a delete should not spread it
    } else {
      j["export_source"] = source_machine;
      if (!row.vector.empty()) j["embedding"] = row.vector;
    }
    text << row.before << "    ";
    write_indented(text, j, 4);
  }
  return std::move(text).str();
}

}  // namespace

Result<ExportSummary> write_export(MemoryService& service, const ExportOptions& o,
                                   std::ostream& out) {
  ScanOptions scan;
  MCP_ASSIGN_OR_RETURN(scan.filter.tags, normalize_tag_filter(o.filter_tags));
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
    meta["exporter"] = std::string("mcp-memory ") + kVersion;
    meta["embedding_model"] = service.embedder().model_id();
    meta["embedding_dimension"] = service.embedder().dimension();
    meta["node"] = service.node_name();
    if (o.include_deleted) meta["total_tombstones"] = tombstones;
    out << "{\n  \"export_metadata\": ";
    write_indented(out, meta, 2);
    out << ",\n  \"memories\": [";
  };
  // This thread reads the rows and writes the text; turning rows into JSON (most of the work)
  // runs on other threads, a batch each, and batches are written in order.
  std::deque<std::future<std::string>> pending;  // at most kBatchesInFlight
  auto write_oldest = [&] {
    const std::string text = pending.front().get();
    pending.pop_front();
    out.write(text.data(), static_cast<std::streamsize>(text.size()));
    return static_cast<bool>(out);
  };
  std::vector<Row> batch;
  size_t in_array = 0;
  auto on_row = [&](const Memory& m, std::span<const float> vec) {
    std::string before;
    if (m.is_deleted() && !in_tombstones) {
      before = start_tombstones(in_array);
      in_tombstones = true;
      in_array = 0;
    }
    before += in_array++ ? ",\n" : "\n";
    ++(m.is_deleted() ? summary.tombstones : summary.memories);
    batch.push_back(Row{m, std::vector<float>(vec.begin(), vec.end()), std::move(before)});
    if (batch.size() < kRowsPerBatch) return true;
    pending.push_back(std::async(std::launch::async, render, std::exchange(batch, {}),
                                 std::cref(o.source_machine)));
    return pending.size() < kBatchesInFlight || write_oldest();
  };
  auto scanned = service.scan_memories(scan, on_row, on_totals);
  if (!batch.empty())
    pending.push_back(
        std::async(std::launch::deferred, render, std::move(batch), std::cref(o.source_machine)));
  while (!pending.empty()) write_oldest();
  if (!scanned.is_ok()) return scanned.status();
  if (!in_tombstones && o.include_deleted) {
    out << start_tombstones(in_array);
    in_array = 0;
  }
  out << (in_array ? "\n  ]\n}\n" : "]\n}\n");
  out.flush();
  if (!out) return Status::io_error("writing the export failed (disk full?)");
  return summary;
}

}  // namespace mcpmem
