// Export files: the Python service's export format (export_metadata, memories), written as a
// stream (one memory in memory at a time, so any size takes constant memory), with our
// additions the Python importer ignores: sync keys on each record, the embedding model in
// export_metadata, and a "tombstones" array so deletes travel too.
#pragma once

#include <cstdint>
#include <optional>
#include <ostream>
#include <string>
#include <vector>

#include "service/memory_service.h"

namespace mcpmem {

struct ExportOptions {
  bool include_embeddings = false;
  std::vector<std::string> filter_tags;  // any of them; empty: all memories
  std::optional<double> since;           // changed (updated or deleted) at or after
  bool include_deleted = false;          // write tombstones too
  std::string source_machine;            // export_metadata.source_machine and export_source
  std::string database_path;
};

struct ExportSummary {
  int64_t memories = 0;
  int64_t tombstones = 0;
};

// Writes the file to `out`. The counts in export_metadata and the records come from one
// snapshot of the database.
Result<ExportSummary> write_export(MemoryService& service, const ExportOptions& options,
                                   std::ostream& out);

}  // namespace mcpmem
