// Config: every setting of mcp-memory in one struct, each field with its default and meaning.
// Built once (defaults, then environment, then command-line flags) and passed explicitly;
// nothing else reads the environment. Environment names follow the Python service.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>

namespace mcpmem {

// The default of Config::max_client_results (what the MCP tools' schemas advertise).
inline constexpr int kMaxClientResults = 100;

struct Config {
  // --- paths ---
  std::string base_dir;      // MCP_MEMORY_BASE_DIR, default ~/.local/share/mcp-memory
  std::string db_path;       // MCP_MEMORY_SQLITE_PATH (alias MCP_MEMORY_SQLITEVEC_PATH),
                             // default <base_dir>/sqlite_vec.db
  std::string backups_path;  // MCP_MEMORY_BACKUPS_PATH, default <base_dir>/backups
  std::string litestream;    // MCP_MEMORY_LITESTREAM: the litestream binary ("" = look for it)
  std::string home_dir;      // HOME: where per-user service definitions go (`service install`:
                             // ~/.config/systemd/user, ~/Library/LaunchAgents); "" when unset
  std::string models_dir;    // where `model pull` puts models and named models are found:
                             // <base_dir>/models (no variable of its own; a program that keeps
                             // its database elsewhere, as bench/quality_bench, still finds them)

  // --- backups (serve --http runs the schedule; /api/backup/now any time) ---
  bool backup_enabled = true;             // MCP_BACKUP_ENABLED
  std::string backup_interval = "daily";  // MCP_BACKUP_INTERVAL: hourly, daily or weekly
  int backup_retention_days = 7;          // MCP_BACKUP_RETENTION: older backups are removed
  int backup_max_count = 10;              // MCP_BACKUP_MAX_COUNT: and beyond this many
  // MCP_BACKUP_ENCRYPT: backups (scheduled, /api/backup/now, `backup`) are encrypted
  // (memory_backup_*.db.enc, docs/backup_format.md). Default: true when a passphrase is set
  // below, so setting one never leaves plaintext backups behind; true without one is an error.
  bool backup_encrypt = false;
  // MCP_BACKUP_PASSPHRASE: the passphrase of encrypted backups (to make and to restore them),
  // else MCP_BACKUP_PASSPHRASE_FILE: a file holding it (trailing newline dropped), which keeps
  // it out of the environment of every process. Never a command-line flag value (ps shows those).
  std::string backup_passphrase;
  std::string backup_passphrase_file;
  // MCP_BACKUP_KDF_COST: scrypt's N = 2^this for new encrypted backups (15..20, default 16:
  // ~0.5 s and 64 MiB per backup and per restore; each file records its own).
  int backup_kdf_log2_n = 16;

  // --- storage ---
  bool synchronous_full = true;  // PRAGMA synchronous=FULL (MCP_MEMORY_SQLITE_SYNCHRONOUS=normal
                                 // trades the last commit on power loss for speed)
  int busy_timeout_ms = 15000;   // how long a writer waits for another process's lock
  int write_retry_ms = 60000;    // total time a write retries on SQLITE_BUSY before failing

  // --- embedding and index ---
  // MCP_MEMORY_EMBEDDING_MODEL (or the Python service's MCP_EMBEDDING_MODEL). Empty: the model
  // the database's vectors were made with, else the `model use` default, else hash-384.
  std::string embedding_model;
  std::string embedding_api_key;  // MCP_EMBEDDING_API_KEY (remote embedders)
  size_t bulk_batch_size = 5000;  // memories per transaction in bulk stores
  // MCP_MEMORY_INDEX_FILE=0: no persisted index beside the database (`<db>.index`); every
  // process then reads all vectors out of SQLite when it first searches.
  bool index_file = true;
  // MCP_MEMORY_HNSW_THRESHOLD: servers search an HNSW graph (`<db>.index.hnsw`) once the store
  // holds this many memories (0: never); below it, and in one-shot CLI commands, exact scans.
  size_t hnsw_threshold = 200000;
  // MCP_MEMORY_HNSW_MIN_RECALL: a built graph is searched only when, on this store's own
  // vectors, its recall@10 against exact scans reaches this and it answers at least 1.25 times
  // as fast as they do;
  // otherwise searches stay exact. 0: always search the graph (approximate, never checked).
  double hnsw_min_recall = 0.95;

  // --- write-time dedup (MemoryService::store) ---
  // MCP_SEMANTIC_DEDUP_ENABLED: refuse near-duplicates of recent memories. Exact duplicates
  // (the same content hash) are always refused.
  bool semantic_dedup_enabled = true;
  // MCP_SEMANTIC_DEDUP_THRESHOLD (cosine). Unset (default): near-exact dedup, the model's own
  // bar (Embedder::duplicate_cosine) and the same wording up to typos. Set: semantic dedup at
  // this cosine, as the Python service's 0.85. Either way the numbers and negations of the two
  // texts must agree (service/duplicate_rule.h), so a corrected fact is never refused.
  std::optional<double> semantic_dedup_threshold;
  double semantic_dedup_window_hours = 24;  // MCP_SEMANTIC_DEDUP_TIME_WINDOW_HOURS

  // --- MCP ---
  size_t session_chunk_chars = 1500;  // SESSION_CHUNK_SIZE: memory_store_session splits longer
                                      // sessions at turn boundaries (0 = never split)

  // --- limits (each hit by a test) ---
  size_t max_content_bytes = 1 << 20;    // MCP_MEMORY_MAX_CONTENT_BYTES: 1 MiB per memory
  size_t max_metadata_bytes = 64 << 10;  // serialized metadata JSON per memory
  int max_search_limit = 1000;           // largest `limit` a search accepts
  int max_page_size = 1000;              // largest page a list accepts
  // The most results a client of REST, MCP and MCP resources may ask for in one request
  // (n_results, limit, page_size, memory://recent/{n}), as the Python service: more floods
  // an agent's context. The service's own caps above bound what code inside asks for.
  int max_client_results = kMaxClientResults;

  // --- HTTP server (serve --http) ---
  std::string http_host = "127.0.0.1";  // MCP_HTTP_HOST; loopback unless asked otherwise
  int http_port = 8000;                 // MCP_HTTP_PORT
  bool https_enabled = false;           // MCP_HTTPS_ENABLED
  int https_port = 8443;                // MCP_HTTPS_PORT
  std::string ssl_cert_file;            // MCP_SSL_CERT_FILE (PEM)
  std::string ssl_key_file;             // MCP_SSL_KEY_FILE (PEM)
  std::string api_key;                  // MCP_API_KEY; else kept in <base_dir>/api_key (0600)
  bool allow_anonymous = false;         // MCP_ALLOW_ANONYMOUS_ACCESS (loopback binds only)
  std::string allowed_hosts;            // MCP_ALLOWED_HOSTS: extra Host names, comma separated
  std::string ssl_extra_hostnames;      // MCP_SSL_ADDITIONAL_HOSTNAMES: extra names in the
  std::string ssl_extra_ips;            // MCP_SSL_ADDITIONAL_IPS:  self-signed certificate
  // MCP_HTTP_MAX_CONNECTIONS: open client connections at most (then new ones are refused);
  // bounds the server's memory and descriptors. serve raises the open-file limit to match.
  size_t http_max_connections = 10'000;
  // MCP_HTTP_MAX_CONNECTIONS_PER_IP: per client address (loopback exempt: a reverse proxy on
  // this machine is one address for all its clients).
  size_t http_max_connections_per_ip = 256;
  // MCP_HTTP_WORKERS: threads that run request handlers; 0 = four per core (at least 8). Raise
  // it when handlers wait on something slow (a remote embedder).
  size_t http_workers = 0;

  // --- sync ---
  // MCP_SYNC_TOMBSTONE_RETENTION_DAYS: deletes are kept as tombstones this long so they reach
  // every node, then purged; a node that last synced before a purge gets a full resync.
  // 0 keeps them forever.
  double tombstone_retention_days = 90;
  // MCP_SYNC_MAX_SKEW (seconds): a version from another node more than this far ahead of this
  // machine's clock is refused (the whole push or file), so one machine with a wild clock, or
  // a key holder, cannot drag every node's versions into the future. Default 1 hour.
  double max_sync_skew_s = 3600;
  // MCP_MEMORY_HUB_URL (DESIGN §7; MCP_SYNC_HUB_URL, the earlier name, is read when it is
  // unset): the hub `sync` uses when no --hub flag names one. `serve` syncs only when given
  // --hub-url. Default none.
  std::string hub_url;
  // MCP_MEMORY_HUB_CA (alias MCP_SYNC_HUB_CA): a certificate to trust for the hub (its
  // self-signed cert.pem) when no --hub-ca flag gives one. Default none: the system's CAs.
  std::string hub_ca_file;
  // MCP_SYNC_API_KEY, default MCP_API_KEY: the key a spoke sends to its hub when no
  // --api-key-file / --hub-api-key-file flag gives one.
  std::string hub_api_key;

  // --- identity ---
  std::string host_name;  // this machine's host name, as the system reports it
  // MCP_MEMORY_NODE_NAME, else COMPUTERNAME, else HOSTNAME, else the host name; sanitized
  // (sanitize_node_name: "Windows PC" -> "windows-pc").
  std::string node_name;
};

// `dir` and `name` joined with the platform's separator ("C:\Users\me" + ".local" ->
// "C:\Users\me\.local"; "/home/me" + ".local" -> "/home/me/.local").
std::string join_path(const std::string& dir, const std::string& name);

// Defaults overlaid with the environment (platform/console.h's process_environment(), or a
// test's). Relative or "~" paths are expanded against $HOME.
Config config_from_env(const std::map<std::string, std::string>& env);

}  // namespace mcpmem
