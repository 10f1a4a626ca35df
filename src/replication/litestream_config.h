// The Litestream configuration (litestream.yml) as the Litestream we ship reads it (0.3.13):
// read and checked strictly, or made for one database. Litestream itself ignores unknown keys
// without a word and takes a duration without a unit as nanoseconds; a typo there silently
// changes nothing or replicates every nanosecond. Here an unknown key, a duration without a
// unit, a replica it cannot reach (an http:// URL) or a relative path is an error naming the
// key and what to write instead; a key another Litestream version knows (wal-retention) is a
// warning. Pure functions of their inputs; safe from many threads.
#pragma once

#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "core/status.h"

namespace mcpmem {

inline constexpr const char* kLitestreamVersion = "v0.3.13";

struct LitestreamReplica {
  std::string type;  // file, s3, gcs, abs, sftp ("" when `url` says it)
  std::string path;  // a file replica's directory
  std::string url;   // file:///dir, s3://bucket/path, sftp://host/path, ...
  std::map<std::string, std::string> settings;  // sync-interval, retention, ... as written
};

struct LitestreamDb {
  std::string path;
  std::vector<LitestreamReplica> replicas;
  std::map<std::string, std::string> settings;  // checkpoint-interval, ... as written
};

struct LitestreamConfig {
  std::vector<LitestreamDb> dbs;
  std::map<std::string, std::string> logging;  // level, type, stderr
  std::string addr;                            // Prometheus metrics, e.g. 127.0.0.1:9099
  std::vector<std::string> warnings;           // what is valid but has no effect
};

// Reads and checks `yaml`; `source` names it in messages (a file path). InvalidArgument with
// every problem found, one per line.
Result<LitestreamConfig> parse_litestream_config(std::string_view yaml, const std::string& source);

// A configuration replicating `db_path` to each of `replicas` (a directory, or a URL:
// file://, s3://, gcs://, abs://, sftp://), every `sync_interval`, with a snapshot a day and
// three days of retention, logging to stderr. Paths are made absolute (Litestream resolves
// relative ones against its working directory, not the file's).
Result<LitestreamConfig> litestream_config_for(const std::string& db_path,
                                               const std::vector<std::string>& replicas,
                                               const std::string& sync_interval = "1s");

// The configuration as YAML that Litestream reads (and parse_litestream_config accepts).
std::string litestream_config_yaml(const LitestreamConfig& config);

// True for a Go duration with units ("1s", "1m30s", "500ms", "24h").
bool is_litestream_duration(std::string_view text);

}  // namespace mcpmem
