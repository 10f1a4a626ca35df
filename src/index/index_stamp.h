// IndexStamp: what a persisted index file (vectors or HNSW graph) reflects, written in its header
// and checked before the file is trusted. The index is a cache of the database: a file whose
// stamp does not match the open database (another model, another database, a change log that was
// restored or rewritten under it) is rebuilt, never used.
#pragma once

#include <cstdint>
#include <string>

#include "core/status.h"

namespace mcpmem {

struct IndexStamp {
  std::string model;        // the embedder's model id: vectors of two models never mix
  uint32_t dimension = 0;   // floats per vector
  std::string database_id;  // the database the vectors came from (its `meta` id)
  // The file holds every change up to `replay_from` and may hold some after it, up to `seq`.
  // An opener checks that the database's change `seq` has `seq_version` (so the database has
  // everything the file may hold: it was not restored to an older state or rewritten), then
  // re-applies the changes after `replay_from` (re-applying one is harmless).
  int64_t seq = 0;
  std::string seq_version;  // the HLC of change `seq` ("" when seq is 0)
  int64_t replay_from = 0;  // <= seq

  bool operator==(const IndexStamp&) const = default;
};

// Fixed-size binary form (kIndexStampBytes), so headers have a fixed layout. Strings longer than
// their field are refused when encoding.
inline constexpr size_t kIndexStampBytes = 512;
Status encode_index_stamp(const IndexStamp& stamp, char (&out)[kIndexStampBytes]);
Result<IndexStamp> decode_index_stamp(const char (&in)[kIndexStampBytes]);

// XXH3-64 of `bytes` (xxhash), the checksum every index file uses.
uint64_t index_checksum(const void* bytes, size_t size, uint64_t seed = 0);

}  // namespace mcpmem
