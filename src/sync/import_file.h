// Import files: the Python service's CLI export format ({export_metadata, memories}), its
// dashboard export ({export_date, memories}), a bare array of memories, and ours (the CLI
// format plus sync keys and "tombstones"). Read as a stream (records one at a time, so any
// size takes bounded memory), never rewritten, never prompted for.
//
// Each file is one transaction: every record is validated (a record whose content_hash is
// not its content's hash is invalid unless trust_hashes) and applied by the sync rule
// (MemoryService::apply_versions); if any record is invalid, or the JSON is broken, the file
// changes nothing and the report names the record and field. A dry run does all the work
// and rolls back, so its counts are exactly those of a real run.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "service/memory_service.h"

namespace mcpmem {

struct ImportOptions {
  bool dry_run = false;
  bool source_tags = true;              // add "source:<machine>" (the file's source machine)
  bool trust_hashes = false;            // accept content_hash values that do not match the content
  size_t max_record_bytes = 64u << 20;  // one record larger than this fails the file
};

struct ImportReport {
  std::string path;
  std::string format;          // "mcp-memory", "python-cli", "python-dashboard", "array"
  std::string source_machine;  // export_metadata.source_machine, or what stands for it
  int64_t records = 0;
  ApplyCounts counts;
  int64_t invalid = 0;
  std::map<std::string, ApplyCounts> by_source;  // by each record's source machine
  std::vector<std::string> errors;               // the first few, each naming record and field
  bool committed = false;                        // false on a dry run or an error
};

// Imports one file ("-" reads standard input). A non-ok Status means nothing was committed;
// `report` is filled as far as the file was read either way. Called inside a write
// transaction, the file is a step of it: a failed file undoes only itself.
Status import_file(MemoryService& service, const std::string& path, const ImportOptions& options,
                   ImportReport& report);

// Imports files one after the other; a dry run applies them all in one transaction that is
// then rolled back, so each file's counts are exactly what it would do after the ones before
// it. Returns one Status per file.
std::vector<Status> import_files(MemoryService& service, const std::vector<std::string>& paths,
                                 const ImportOptions& options, std::vector<ImportReport>& reports);

}  // namespace mcpmem
