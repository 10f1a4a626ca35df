// A hub's Litestream replica, served over HTTPS at /litestream/ (http/replica_files.h), copied
// into a local directory that `litestream restore file://DIR` can read: how `replica follow`
// and `restore --from https://...` turn the sync guide's URL into a replica Litestream 0.3.13
// understands (it restores from files, S3 or SFTP, never from HTTP).
// Litestream writes each replica file once and never changes it, so a file the cache already
// holds with the same name and size is kept; only new ones are fetched, each written under a
// temporary name and renamed into place (platform/durable_file.h), and files the hub no longer
// lists (its retention removed them) are removed. Only Litestream's own shapes are accepted:
//   generations/<16 hex>/snapshots/<8 hex>.snapshot.lz4
//   generations/<16 hex>/wal/<8 hex>_<8 hex>.wal.lz4
// anything else the hub lists is skipped. Every listing, entry count, file and exchange is
// bounded (the constants below). Thread-safety: no shared state; one call per cache directory
// at a time.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "core/status.h"

namespace mcpmem {

// A listing reply larger than this is refused (10,000 entries of about 100 bytes each).
inline constexpr int64_t kMaxMirrorListingBytes = 4 << 20;
// Entries in one listing, and generations mirrored, at most.
inline constexpr size_t kMaxMirrorListingEntries = 10'000;
inline constexpr size_t kMaxMirrorGenerations = 64;
// Largest replica file fetched: the server's own cap (http/replica_files.h).
inline constexpr int64_t kMaxMirrorFileBytes = int64_t{256} << 20;

struct MirrorOptions {
  std::string ca_file;  // PEM to trust instead of the system's CAs (a self-signed hub)
  std::string api_key;  // sent as Authorization: Bearer
  int connect_timeout_ms = 10'000;
  int listing_timeout_ms = 30'000;  // each listing
  int file_timeout_ms = 300'000;    // each file (a snapshot may be large)
};

struct MirrorResult {
  std::string local_dir;  // the cache: what `litestream restore file://<local_dir>` reads
  int64_t files_fetched = 0;
  int64_t bytes_fetched = 0;
  int64_t files_removed = 0;         // no longer listed by the hub
  int64_t files_kept = 0;            // already in the cache
  std::vector<std::string> fetched;  // relative paths, "generations/<g>/wal/<f>"
};

// Mirrors the replica at `https_url` (e.g. https://hub:8443/litestream/mcp-memory) into
// `cache_dir` (created when missing). Errors, each naming the URL: InvalidArgument for a URL
// that is not http(s)://; FailedPrecondition when the hub refuses the key (401/403) or serves
// no replica there (404); IoError for an untrusted certificate, a network failure, a listing
// or file over its bound, or a file whose size differs from its listing. Files fetched before
// an error stay in the cache (they are complete), so the next call resumes.
Result<MirrorResult> mirror_replica(const std::string& https_url, const std::string& cache_dir,
                                    const MirrorOptions& options);

// True for http:// and https:// sources (what mirror_replica takes), false for a path.
bool is_remote_replica(const std::string& source);

}  // namespace mcpmem
