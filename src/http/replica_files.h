// The hub's Litestream replica directory served read-only over HTTP(S) at /litestream/, behind
// the API key like every route (DESIGN §5.3): what makes the sync guide's
// `http://hub/litestream/mcp-memory` real without nginx. `replica follow` and `restore --from
// https://...` mirror it (replication/replica_mirror.h).
// A GET of a regular file answers its bytes (application/octet-stream); a GET of a directory
// answers a JSON listing {"entries":[{"name","type":"file"|"dir","size","mtime"}]} sorted by
// name. It faces a hostile network: a path with "..", ".", an empty segment, NUL, a backslash,
// a leading "/" or more than kMaxReplicaPathBytes bytes is refused (400) before the disk is
// touched; a symlink is followed only when its canonical target stays inside the directory; a
// name that is neither a regular file nor a directory is 403; a file larger than
// kMaxReplicaFileBytes is refused (403) rather than buffered. Only GET (and HEAD) are routed.
// Thread-safety: the handlers keep no state; safe from many threads.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "core/status.h"
#include "http/http_message.h"

namespace mcpmem {

class HttpServer;

// The route prefix; the directory's root is "/litestream/".
inline constexpr std::string_view kReplicaRoutePrefix = "/litestream";
// Longest relative path accepted. Litestream's longest name is
// "<name>/generations/<16 hex>/wal/<8 hex>_<8 hex>.wal.lz4" (about 70 bytes plus the db name).
inline constexpr size_t kMaxReplicaPathBytes = 1024;
// Largest file sent. Replies are buffered whole (the server's streams are for events, with a
// 1 MiB backlog), so this bounds the memory one request can take. A snapshot is the
// LZ4-compressed database: 256 MiB holds a store of several hundred thousand memories with
// their vectors; WAL segments are far smaller. Beyond it, replicate to S3/SFTP instead.
inline constexpr int64_t kMaxReplicaFileBytes = int64_t{256} << 20;
// Entries of one directory listed at most (a generation's wal/ directory holds one file per
// sync until retention removes them: 10,000 is about 3 hours of a sync a second).
inline constexpr size_t kMaxReplicaListingEntries = 10'000;

// Mounts GET /litestream/ and GET /litestream/<path> serving `dir`. InvalidArgument when `dir`
// is not an existing directory (a typo must not start a server that answers 404 forever).
Status mount_replica_files(HttpServer& server, const std::string& dir);

// The answer for `relative` (the part of the request path after "/litestream/", already
// percent-decoded; "" is the root) under `canonical_root` (an absolute path with no symlinks):
// what the route returns, exposed for tests.
Response replica_file_response(const std::string& canonical_root, std::string_view relative);

}  // namespace mcpmem
