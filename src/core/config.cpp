// Config from defaults and the environment. The one place that interprets environment variables;
// invalid values (a threshold that is not a number, ...) keep the default rather than fail,
// since a typo in a shell profile must not stop an agent's memory from starting.
#include "core/config.h"

#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <string_view>

#include "core/hlc.h"

namespace mcpmem {
namespace {

using Env = std::map<std::string, std::string>;

const std::string* get(const Env& env, const char* name) {
  auto it = env.find(name);
  return it == env.end() || it->second.empty() ? nullptr : &it->second;
}

// The value of `name`, else of its older alias `alias` (the current name wins when both are set).
const std::string* get_either(const Env& env, const char* name, const char* alias) {
  const std::string* v = get(env, name);
  return v ? v : get(env, alias);
}

// The user's home: HOME, or on Windows USERPROFILE (C:\Users\<name>), which wins there because
// a HOME set by a POSIX shell (Git Bash, MSYS) may be a path only that shell understands.
const std::string* home_of(const Env& env) {
#ifdef _WIN32
  if (const std::string* profile = get(env, "USERPROFILE")) return profile;
#endif
  return get(env, "HOME");
}

std::string expand_home(const std::string& path, const Env& env) {
  if (path == "~" || path.rfind("~/", 0) == 0 || path.rfind("~\\", 0) == 0) {
    if (const std::string* home = home_of(env)) {
      return path.size() > 2 ? join_path(*home, path.substr(2)) : *home;
    }
  }
  return path;
}

void read_bool(const Env& env, const char* name, bool& out) {
  const std::string* v = get(env, name);
  if (!v) return;
  std::string s;
  for (char c : *v) s.push_back(static_cast<char>(c >= 'A' && c <= 'Z' ? c + 32 : c));
  if (s == "1" || s == "true" || s == "yes" || s == "on") out = true;
  if (s == "0" || s == "false" || s == "no" || s == "off") out = false;
}

template <typename T>
void read_number(const Env& env, const char* name, T& out) {
  const std::string* v = get(env, name);
  if (!v) return;
  char* end = nullptr;
  double d = std::strtod(v->c_str(), &end);
  if (end == v->c_str() || *end != '\0' || !(d >= 0)) return;
  out = static_cast<T>(d);
}

// The machine's name: what the Python exporter records (socket.gethostname(); on Windows the
// NetBIOS name, COMPUTERNAME).
std::string host_name(const Env& env) {
#ifdef _WIN32
  if (const std::string* name = get(env, "COMPUTERNAME")) return *name;
  return "local";
#else
  (void)env;
  char buf[256] = {};
  if (gethostname(buf, sizeof buf - 1) != 0) return "local";
  return buf;
#endif
}

}  // namespace

std::string join_path(const std::string& dir, const std::string& name) {
  // Through char8_t: on Windows the C++ library reads a std::string as Latin-1 but writes
  // string() as UTF-8, so a folder outside ASCII would come back encoded twice.
  auto utf8 = [](const std::string& s) { return std::u8string(s.begin(), s.end()); };
  const std::u8string joined =
      (std::filesystem::path(utf8(dir)) / utf8(name)).make_preferred().u8string();
  return std::string(joined.begin(), joined.end());
}

Config config_from_env(const Env& env) {
  Config c;
  if (const std::string* home = home_of(env)) c.home_dir = *home;
  if (const std::string* base = get(env, "MCP_MEMORY_BASE_DIR")) {
    c.base_dir = expand_home(*base, env);
  } else if (const std::string* home = home_of(env)) {
    c.base_dir = join_path(*home, ".local/share/mcp-memory");
  } else {
    c.base_dir = ".mcp-memory";
  }
  if (const std::string* p = get(env, "MCP_MEMORY_SQLITE_PATH")) {
    c.db_path = expand_home(*p, env);
  } else if (const std::string* q = get(env, "MCP_MEMORY_SQLITEVEC_PATH")) {
    c.db_path = expand_home(*q, env);
  } else {
    c.db_path = join_path(c.base_dir, "sqlite_vec.db");
  }
  if (const std::string* b = get(env, "MCP_MEMORY_BACKUPS_PATH")) {
    c.backups_path = expand_home(*b, env);
  } else {
    c.backups_path = join_path(c.base_dir, "backups");
  }
  c.models_dir = join_path(c.base_dir, "models");
  if (const std::string* l = get(env, "MCP_MEMORY_LITESTREAM")) c.litestream = expand_home(*l, env);
  if (const std::string* s = get(env, "MCP_MEMORY_SQLITE_SYNCHRONOUS")) {
    if (*s == "normal" || *s == "NORMAL") c.synchronous_full = false;
    if (*s == "full" || *s == "FULL") c.synchronous_full = true;
  }
  if (const std::string* m = get_either(env, "MCP_MEMORY_EMBEDDING_MODEL", "MCP_EMBEDDING_MODEL")) {
    c.embedding_model = *m;
  }
  if (const std::string* k = get(env, "MCP_EMBEDDING_API_KEY")) c.embedding_api_key = *k;
  read_bool(env, "MCP_BACKUP_ENABLED", c.backup_enabled);
  if (const std::string* i = get(env, "MCP_BACKUP_INTERVAL")) {
    if (*i == "hourly" || *i == "daily" || *i == "weekly") c.backup_interval = *i;
  }
  read_number(env, "MCP_BACKUP_RETENTION", c.backup_retention_days);
  read_number(env, "MCP_BACKUP_MAX_COUNT", c.backup_max_count);
  if (const std::string* p = get(env, "MCP_BACKUP_PASSPHRASE")) c.backup_passphrase = *p;
  if (const std::string* f = get(env, "MCP_BACKUP_PASSPHRASE_FILE")) {
    c.backup_passphrase_file = expand_home(*f, env);
  }
  c.backup_encrypt = !c.backup_passphrase.empty() || !c.backup_passphrase_file.empty();
  read_bool(env, "MCP_BACKUP_ENCRYPT", c.backup_encrypt);
  int kdf_cost = c.backup_kdf_log2_n;
  read_number(env, "MCP_BACKUP_KDF_COST", kdf_cost);
  if (kdf_cost >= 15 && kdf_cost <= 20) c.backup_kdf_log2_n = kdf_cost;
  read_bool(env, "MCP_SEMANTIC_DEDUP_ENABLED", c.semantic_dedup_enabled);
  double dedup_threshold = -1;
  read_number(env, "MCP_SEMANTIC_DEDUP_THRESHOLD", dedup_threshold);
  if (dedup_threshold >= 0) c.semantic_dedup_threshold = dedup_threshold;
  read_number(env, "MCP_SEMANTIC_DEDUP_TIME_WINDOW_HOURS", c.semantic_dedup_window_hours);
  read_number(env, "MCP_MEMORY_MAX_CONTENT_BYTES", c.max_content_bytes);
  read_number(env, "SESSION_CHUNK_SIZE", c.session_chunk_chars);
  read_bool(env, "MCP_MEMORY_INDEX_FILE", c.index_file);
  read_number(env, "MCP_MEMORY_HNSW_THRESHOLD", c.hnsw_threshold);
  read_number(env, "MCP_MEMORY_HNSW_MIN_RECALL", c.hnsw_min_recall);
  if (const std::string* h = get(env, "MCP_HTTP_HOST")) c.http_host = *h;
  read_number(env, "MCP_HTTP_PORT", c.http_port);
  read_bool(env, "MCP_HTTPS_ENABLED", c.https_enabled);
  read_number(env, "MCP_HTTPS_PORT", c.https_port);
  read_number(env, "MCP_HTTP_MAX_CONNECTIONS", c.http_max_connections);
  read_number(env, "MCP_HTTP_MAX_CONNECTIONS_PER_IP", c.http_max_connections_per_ip);
  read_number(env, "MCP_HTTP_WORKERS", c.http_workers);
  if (const std::string* f = get(env, "MCP_SSL_CERT_FILE")) c.ssl_cert_file = expand_home(*f, env);
  if (const std::string* f = get(env, "MCP_SSL_KEY_FILE")) c.ssl_key_file = expand_home(*f, env);
  if (const std::string* k = get(env, "MCP_API_KEY")) c.api_key = *k;
  read_bool(env, "MCP_ALLOW_ANONYMOUS_ACCESS", c.allow_anonymous);
  if (const std::string* h = get(env, "MCP_ALLOWED_HOSTS")) c.allowed_hosts = *h;
  if (const std::string* h = get(env, "MCP_SSL_ADDITIONAL_HOSTNAMES")) c.ssl_extra_hostnames = *h;
  if (const std::string* h = get(env, "MCP_SSL_ADDITIONAL_IPS")) c.ssl_extra_ips = *h;
  read_number(env, "MCP_SYNC_TOMBSTONE_RETENTION_DAYS", c.tombstone_retention_days);
  read_number(env, "MCP_SYNC_MAX_SKEW", c.max_sync_skew_s);
  if (const std::string* u = get_either(env, "MCP_MEMORY_HUB_URL", "MCP_SYNC_HUB_URL")) {
    c.hub_url = *u;
  }
  if (const std::string* ca = get_either(env, "MCP_MEMORY_HUB_CA", "MCP_SYNC_HUB_CA")) {
    c.hub_ca_file = expand_home(*ca, env);
  }
  if (const std::string* k = get_either(env, "MCP_SYNC_API_KEY", "MCP_API_KEY")) {
    c.hub_api_key = *k;
  }
  c.host_name = host_name(env);
  // The Python exporter's machine name: COMPUTERNAME (Windows), else HOSTNAME, else the host
  // name; ours lets MCP_MEMORY_NODE_NAME name it first. Lower-cased, spaces become '-'.
  const std::string* node = get(env, "MCP_MEMORY_NODE_NAME");
  if (node == nullptr) node = get(env, "COMPUTERNAME");
  if (node == nullptr) node = get(env, "HOSTNAME");
  c.node_name = sanitize_node_name(node ? *node : c.host_name);
  return c;
}

}  // namespace mcpmem
