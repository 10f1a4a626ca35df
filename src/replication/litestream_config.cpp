// litestream.yml: the keys of Litestream 0.3.13's config.go, checked with yaml-cpp.
#include "replication/litestream_config.h"

#include <yaml-cpp/yaml.h>

#include <filesystem>
#include <regex>
#include <set>
#include <sstream>

namespace mcpmem {
namespace {

namespace fs = std::filesystem;

const std::set<std::string> kTopKeys = {"dbs",  "addr",          "logging",
                                        "exec", "access-key-id", "secret-access-key"};
const std::set<std::string> kLoggingKeys = {"level", "type", "stderr"};
const std::set<std::string> kDbKeys = {"path",
                                       "meta-path",
                                       "replicas",
                                       "monitor-interval",
                                       "checkpoint-interval",
                                       "min-checkpoint-page-count",
                                       "max-checkpoint-page-count"};
const std::set<std::string> kReplicaKeys = {"type",
                                            "name",
                                            "path",
                                            "url",
                                            "retention",
                                            "retention-check-interval",
                                            "snapshot-interval",
                                            "sync-interval",
                                            "validation-interval",
                                            "access-key-id",
                                            "secret-access-key",
                                            "region",
                                            "bucket",
                                            "endpoint",
                                            "force-path-style",
                                            "skip-verify",
                                            "host",
                                            "user",
                                            "password",
                                            "key-path",
                                            "account-name",
                                            "account-key",
                                            "age"};
const std::set<std::string> kDurationKeys = {
    "monitor-interval",  "checkpoint-interval", "retention",          "retention-check-interval",
    "snapshot-interval", "sync-interval",       "validation-interval"};
const std::set<std::string> kReplicaTypes = {"file", "s3", "gcs", "abs", "sftp"};
// Keys other Litestream versions know; 0.3.13 reads past them. The guide's hub config has
// wal-retention.
const std::map<std::string, std::string> kOtherVersionKeys = {
    {"wal-retention", "replica retention (e.g. retention: 24h)"}};

std::string where(const std::string& source, const YAML::Node& node) {
  return source + ":" + std::to_string(node.Mark().line + 1);
}

std::string scheme_of(const std::string& url) {
  const size_t colon = url.find("://");
  return colon == std::string::npos ? "" : url.substr(0, colon);
}

class Checker {
 public:
  explicit Checker(std::string source) : source_(std::move(source)) {}

  // Checks the keys of `map` (at `what`, e.g. "dbs[0]") against `known`; returns false when
  // `map` is not a map.
  bool keys(const YAML::Node& map, const std::set<std::string>& known, const std::string& what,
            LitestreamConfig& out) {
    if (!map.IsMap()) {
      problem(map, what + " must be a map of keys");
      return false;
    }
    for (const auto& kv : map) {
      const std::string key = kv.first.as<std::string>();
      if (known.contains(key)) continue;
      if (auto other = kOtherVersionKeys.find(key); other != kOtherVersionKeys.end()) {
        out.warnings.push_back(where(source_, kv.first) + ": " + what + "." + key +
                               " has no effect in Litestream " + kLitestreamVersion +
                               "; what it does there: " + other->second);
        continue;
      }
      problem(kv.first,
              what + "." + key + " is not a Litestream " + kLitestreamVersion +
                  " key (Litestream would ignore it silently); known here: " + join(known));
    }
    return true;
  }

  // Copies the scalar settings of `map` (other than `skip`) into `out`, checking durations.
  void settings(const YAML::Node& map, const std::set<std::string>& skip, const std::string& what,
                std::map<std::string, std::string>& out) {
    for (const auto& kv : map) {
      const std::string key = kv.first.as<std::string>();
      if (skip.contains(key)) continue;
      if (!kv.second.IsScalar()) {
        if (key != "age") problem(kv.second, what + "." + key + " must be a single value");
        continue;
      }
      const std::string value = kv.second.as<std::string>();
      if (kDurationKeys.contains(key) && value.find('$') == std::string::npos &&
          !is_litestream_duration(value)) {
        problem(kv.second, what + "." + key + ": '" + value +
                               "' is not a duration with a unit (Litestream reads a bare number "
                               "as nanoseconds); write e.g. 1s, 10m or 24h");
      }
      out[key] = value;
    }
  }

  void problem(const YAML::Node& node, const std::string& text) {
    problems_ << (problems_.tellp() > 0 ? "\n" : "") << where(source_, node) << ": " << text;
  }
  std::string problems() const { return problems_.str(); }

 private:
  static std::string join(const std::set<std::string>& keys) {
    std::string out;
    for (const auto& k : keys) out += (out.empty() ? "" : ", ") + k;
    return out;
  }

  std::string source_;
  std::ostringstream problems_;
};

void check_replica(Checker& check, const YAML::Node& node, const std::string& what,
                   LitestreamReplica& replica) {
  if (node["type"]) replica.type = node["type"].as<std::string>();
  if (node["path"]) replica.path = node["path"].as<std::string>();
  if (node["url"]) replica.url = node["url"].as<std::string>();
  const std::string scheme = scheme_of(replica.url);
  if (scheme == "http" || scheme == "https") {
    check.problem(node["url"],
                  what + ".url: Litestream cannot replicate to or restore from " + scheme +
                      "://; a laptop keeps in step with a hub by live sync (mcp-memory sync "
                      "--hub URL) or restores the hub's replica from a directory it can read");
    return;
  }
  const std::string type = replica.type.empty() ? scheme : replica.type;
  if (type.empty()) {
    check.problem(node, what + " needs a type (file, s3, gcs, abs, sftp) or a url");
  } else if (!kReplicaTypes.contains(type)) {
    check.problem(node, what + ": unknown replica type '" + type + "' (file, s3, gcs, abs, sftp)");
  }
  if (type == "file" && replica.url.empty()) {
    if (replica.path.empty()) {
      check.problem(node, what + ": a file replica needs a path");
    } else if (!fs::path(replica.path).is_absolute() &&
               replica.path.find('$') == std::string::npos) {
      check.problem(node["path"], what + ".path: '" + replica.path +
                                      "' is relative, which Litestream resolves against its "
                                      "working directory; write an absolute path");
    }
  }
  check.settings(node, {"type", "path", "url"}, what, replica.settings);
}

}  // namespace

bool is_litestream_duration(std::string_view text) {
  static const std::regex kDuration(R"(^([0-9]+(\.[0-9]+)?(ns|us|µs|ms|s|m|h))+$)");
  return std::regex_match(std::string(text), kDuration);
}

Result<LitestreamConfig> parse_litestream_config(std::string_view yaml, const std::string& source) {
  YAML::Node root;
  try {
    root = YAML::Load(std::string(yaml));
  } catch (const YAML::Exception& e) {
    return Status::invalid_argument(source + ":" + std::to_string(e.mark.line + 1) +
                                    ": not YAML: " + e.msg);
  }
  LitestreamConfig out;
  Checker check(source);
  if (!check.keys(root, kTopKeys, "the file", out))
    return Status::invalid_argument(check.problems());
  if (root["addr"]) out.addr = root["addr"].as<std::string>();
  if (const YAML::Node logging = root["logging"]) {
    if (check.keys(logging, kLoggingKeys, "logging", out)) {
      check.settings(logging, {}, "logging", out.logging);
    }
  }
  const YAML::Node dbs = root["dbs"];
  if (!dbs || !dbs.IsSequence() || dbs.size() == 0) {
    check.problem(root, "dbs must list at least one database (- path: ..., replicas: [...])");
    return Status::invalid_argument(check.problems());
  }
  for (size_t i = 0; i < dbs.size(); ++i) {
    const std::string what = "dbs[" + std::to_string(i) + "]";
    const YAML::Node db_node = dbs[i];
    if (!check.keys(db_node, kDbKeys, what, out)) continue;
    LitestreamDb db;
    if (db_node["path"]) db.path = db_node["path"].as<std::string>();
    if (db.path.empty()) {
      check.problem(db_node, what + " needs a path");
    } else if (!fs::path(db.path).is_absolute() && db.path.find('$') == std::string::npos) {
      check.problem(db_node["path"],
                    what + ".path: '" + db.path + "' is relative; write an absolute path");
    }
    check.settings(db_node, {"path", "replicas"}, what, db.settings);
    const YAML::Node replicas = db_node["replicas"];
    if (!replicas || !replicas.IsSequence() || replicas.size() == 0) {
      check.problem(db_node, what + " needs replicas: a list of at least one");
    } else {
      for (size_t r = 0; r < replicas.size(); ++r) {
        const std::string rwhat = what + ".replicas[" + std::to_string(r) + "]";
        if (!check.keys(replicas[r], kReplicaKeys, rwhat, out)) continue;
        LitestreamReplica replica;
        check_replica(check, replicas[r], rwhat, replica);
        db.replicas.push_back(std::move(replica));
      }
    }
    out.dbs.push_back(std::move(db));
  }
  if (!check.problems().empty()) return Status::invalid_argument(check.problems());
  return out;
}

Result<LitestreamConfig> litestream_config_for(const std::string& db_path,
                                               const std::vector<std::string>& replicas,
                                               const std::string& sync_interval) {
  if (replicas.empty()) return Status::invalid_argument("name at least one replica (--replica)");
  if (!is_litestream_duration(sync_interval)) {
    return Status::invalid_argument("the sync interval '" + sync_interval +
                                    "' needs a unit, e.g. 1s or 10s");
  }
  LitestreamConfig config;
  config.logging = {{"level", "info"}, {"stderr", "true"}};
  LitestreamDb db;
  db.path = fs::absolute(db_path).lexically_normal().string();
  for (const std::string& target : replicas) {
    LitestreamReplica r;
    const std::string scheme = scheme_of(target);
    if (scheme.empty()) {
      r.type = "file";
      r.path = fs::absolute(target).lexically_normal().string();
    } else if (scheme == "file" || kReplicaTypes.contains(scheme)) {
      r.url = target;
    } else {
      return Status::invalid_argument("replica '" + target +
                                      "': give a directory or a file://, s3://, gcs://, abs:// "
                                      "or sftp:// URL");
    }
    r.settings = {
        {"sync-interval", sync_interval}, {"snapshot-interval", "24h"}, {"retention", "72h"}};
    db.replicas.push_back(std::move(r));
  }
  config.dbs.push_back(std::move(db));
  // Checked as a file would be: what we write, Litestream must read as meant.
  return parse_litestream_config(litestream_config_yaml(config), "the generated configuration");
}

std::string litestream_config_yaml(const LitestreamConfig& config) {
  YAML::Emitter out;
  out << YAML::BeginMap;
  if (!config.addr.empty()) out << YAML::Key << "addr" << YAML::Value << config.addr;
  if (!config.logging.empty()) {
    out << YAML::Key << "logging" << YAML::Value << YAML::BeginMap;
    for (const auto& [k, v] : config.logging) out << YAML::Key << k << YAML::Value << v;
    out << YAML::EndMap;
  }
  out << YAML::Key << "dbs" << YAML::Value << YAML::BeginSeq;
  for (const LitestreamDb& db : config.dbs) {
    out << YAML::BeginMap << YAML::Key << "path" << YAML::Value << db.path;
    for (const auto& [k, v] : db.settings) out << YAML::Key << k << YAML::Value << v;
    out << YAML::Key << "replicas" << YAML::Value << YAML::BeginSeq;
    for (const LitestreamReplica& r : db.replicas) {
      out << YAML::BeginMap;
      if (!r.type.empty()) out << YAML::Key << "type" << YAML::Value << r.type;
      if (!r.path.empty()) out << YAML::Key << "path" << YAML::Value << r.path;
      if (!r.url.empty()) out << YAML::Key << "url" << YAML::Value << r.url;
      for (const auto& [k, v] : r.settings) out << YAML::Key << k << YAML::Value << v;
      out << YAML::EndMap;
    }
    out << YAML::EndSeq << YAML::EndMap;
  }
  out << YAML::EndSeq << YAML::EndMap;
  return std::string("# Litestream ") + kLitestreamVersion +
         " configuration, written by mcp-memory\n" + out.c_str() + "\n";
}

}  // namespace mcpmem
