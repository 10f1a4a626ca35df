// `mcp-memory serve`: the MCP server. Without flags it speaks stdio, as Claude Desktop, Claude
// Code, Codex and other MCP clients launch it. With --http (or --https) it serves HTTP instead:
// MCP Streamable HTTP at /mcp, the REST API under /api behind the API key, and the dashboard.
// Either way the vector index loads in the background, so `initialize` is answered at once; a
// search issued while it loads waits for it.
#include <spdlog/spdlog.h>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <optional>
#include <thread>

#include "cli/cli_context.h"
#include "core/thread_annotations.h"
#include "core/version.h"
#include "http/api_key.h"
#include "http/dashboard.h"
#include "http/event_stream.h"
#include "http/http_server.h"
#include "http/mcp_endpoint.h"
#include "http/replica_files.h"
#include "http/rest_api.h"
#include "http/sync_api.h"
#include "http/tls_certificate.h"
#include "mcp/stdio_transport.h"
#include "platform/file_modes.h"
#include "platform/open_file_limit.h"
#include "platform/shutdown_signal.h"
#include "replication/replica_status.h"
#include "sync/sync_loop.h"

namespace mcpmem::cli {
namespace {

struct ServeFlags {
  bool http = false;
  bool https = false;
  std::string host;
  int port = -1;
  bool allow_anonymous = false;
  HubFlags hub;  // hub.url set: sync with it in the background
  double sync_interval = 30;
  bool replicate = false;  // Litestream beside the server, started first and stopped last
  ReplicationFlags replication;
  std::string replica_dir;  // served read-only at /litestream/ (http/replica_files.h)
};

// With --hub-url, a background SyncLoop next to the server; nothing otherwise.
Result<std::unique_ptr<SyncLoop>> start_sync(MemoryService& service, const ServeFlags& flags) {
  if (flags.hub.url.empty()) return std::unique_ptr<SyncLoop>();
  MCP_ASSIGN_OR_RETURN(auto client, hub_client_options(flags.hub, service.config()));
  MCP_RETURN_IF_ERROR(check_options(client));
  auto loop = std::make_unique<SyncLoop>(service, SyncLoopOptions{client, flags.sync_interval});
  loop->start();
  std::fprintf(stderr, "mcp-memory: syncing with %s every %.0f s and on local changes\n",
               client.hub_url.c_str(), flags.sync_interval);
  return loop;
}

std::vector<std::string> split_names(const std::string& csv) {
  std::vector<std::string> out;
  size_t start = 0;
  while (start <= csv.size()) {
    size_t comma = csv.find(',', start);
    if (comma == std::string::npos) comma = csv.size();
    std::string name = csv.substr(start, comma - start);
    std::erase(name, ' ');
    if (!name.empty()) out.push_back(name);
    start = comma + 1;
  }
  return out;
}

Result<HttpOptions> http_options(const Config& c, const ServeFlags& f) {
  HttpOptions o;
  const bool https = f.https || c.https_enabled;
  o.host = f.host.empty() ? c.http_host : f.host;
  o.port = f.port >= 0 ? f.port : (https ? c.https_port : c.http_port);
  o.max_connections = c.http_max_connections;
  o.max_connections_per_ip = c.http_max_connections_per_ip;
  o.workers = c.http_workers;
  if (https && (c.ssl_cert_file.empty() != c.ssl_key_file.empty())) {
    return Status::invalid_argument("set both MCP_SSL_CERT_FILE and MCP_SSL_KEY_FILE, or neither");
  }
  if (https && !c.ssl_cert_file.empty()) {
    o.cert_file = c.ssl_cert_file;
    o.key_file = c.ssl_key_file;
  } else if (https) {
    auto names = certificate_names(c.host_name, c.ssl_extra_hostnames, c.ssl_extra_ips);
    MCP_ASSIGN_OR_RETURN(auto tls,
                         ensure_self_signed_certificate(join_path(c.base_dir, "tls"), names));
    o.cert_file = tls.cert_file;
    o.key_file = tls.key_file;
    if (tls.created) {
      std::string all;
      for (const auto& n : names.dns) all += (all.empty() ? "" : ", ") + n;
      for (const auto& n : names.ips) all += ", " + n;
      std::fprintf(stderr,
                   "mcp-memory: made a self-signed certificate for %s, valid %d days:\n  %s\n"
                   "  SHA-256 %s\nClients trust it with e.g. curl --cacert %s (or -k).\n",
                   all.c_str(), kCertificateDays, tls.cert_file.c_str(),
                   tls.sha256_fingerprint.c_str(), tls.cert_file.c_str());
    }
  }
  o.allow_anonymous = f.allow_anonymous || c.allow_anonymous;
  o.allowed_hosts = split_names(c.allowed_hosts);
  if (o.allow_anonymous) return o;
  MCP_ASSIGN_OR_RETURN(auto key, resolve_api_key(c));
  o.api_key = key.key;
  if (key.generated) {
    std::fprintf(stderr,
                 "mcp-memory: generated an API key and kept it in %s (mode 0600):\n  %s\n"
                 "Send it as 'X-API-Key: <key>' or 'Authorization: Bearer <key>', or set "
                 "MCP_API_KEY to use your own.\n",
                 key.file.c_str(), key.key.c_str());
  }
  if (key.file_too_open) {
    if (auto note = tighten_to_owner(key.file)) {
      spdlog::warn("{}", *note);
    } else {
      spdlog::warn("{} can be read by other users: chmod 600 it", key.file);
    }
  }
  return o;
}

// The server a signal stops. The signal's thread touches it only with `mu` held, and
// serve_http() clears it with `mu` held before the server is destroyed, so a signal that
// arrives while the server shuts down for another reason never uses a destroyed server.
struct StopTarget {
  Mutex mu;
  HttpServer* server MCP_GUARDED_BY(mu) = nullptr;
  bool stop_requested MCP_GUARDED_BY(mu) = false;
};

int serve_http(CliContext& ctx, const ServeFlags& flags, const ReplicationMonitor* replication) {
  // Signals first: every thread made after this inherits the blocked mask.
  StopTarget target;
  ShutdownSignal on_signal([&target](int) {
    // stop() only works once the server listens: wait for that (or for it never to happen).
    for (int i = 0; i < 500; ++i) {
      {
        MutexLock lock(target.mu);
        target.stop_requested = true;
        if (target.server != nullptr && target.server->running()) {
          target.server->stop();  // open event streams end when they next wake (within a second)
          return;
        }
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
  });

  auto options = http_options(ctx.config, flags);
  if (!options.is_ok()) return report_error(options.status());
  if (options->allow_anonymous) {
    spdlog::warn(
        "ANONYMOUS ACCESS: anyone on this machine can read and change your memories "
        "through {}:{} without a key (--allow-anonymous is for loopback testing only)",
        options->host, options->port);
  }
  ServiceOptions service_options;
  service_options.load_index_in_background = true;
  auto service = MemoryService::open(ctx.config, service_options);
  if (!service.is_ok()) return report_error(service.status());
  // One descriptor per connection, plus the database, logs and clients of our own.
  const size_t wanted_files = options->max_connections + 1024;
  if (const size_t files = raise_open_file_limit(wanted_files); files < wanted_files) {
    spdlog::warn("the open-file limit is {} (ulimit -n): at most about {} clients at once", files,
                 files > 1024 ? files - 1024 : files / 2);
  }
  auto server = HttpServer::create(*options);
  if (!server.is_ok()) return report_error(server.status());

  auto session_key = kept_token(mcp_session_key_file(ctx.config), nullptr, nullptr);
  if (!session_key.is_ok()) return report_error(session_key.status());
  McpHttpEndpoint mcp(**service, *session_key);
  mcp.mount(**server);
  EventStream events(**service);
  events.mount(**server);
  Backups backups(**service, ctx.config);
  if (Status ok = backups.check_settings(); ctx.config.backup_enabled && !ok.is_ok()) {
    return report_error(ok);
  }
  RestApi rest(
      **service, kVersion,
      [&events](const std::string& type, const Json& data) { events.publish(type, data); },
      &backups, replication);
  rest.mount(**server);
  mount_sync_api(**server, **service);
  mount_dashboard(**server, {.api_key_file = api_key_file(ctx.config)});  // named by the key prompt
  if (!flags.replica_dir.empty()) {
    // Litestream makes DIR/<name> at its first sync, after we start: DIR itself may be new.
    std::error_code made;
    std::filesystem::create_directories(flags.replica_dir, made);
    if (Status ok = mount_replica_files(**server, flags.replica_dir); !ok.is_ok()) {
      return report_error(ok);
    }
    if (!(*server)->tls()) {
      spdlog::warn(
          "serving the replica directory {} over plain HTTP: every memory it holds crosses the "
          "network unencrypted; use --https",
          flags.replica_dir);
    }
    std::fprintf(stderr, "mcp-memory: serving %s read-only at %s/litestream/\n",
                 flags.replica_dir.c_str(), (*server)->url().c_str());
  }
  auto sync = start_sync(**service, flags);
  if (!sync.is_ok()) return report_error(sync.status());
  events.start();
  backups.start_schedule();

  if (!ctx.verbose) spdlog::set_level(spdlog::level::info);  // access log
  std::fprintf(stderr, "mcp-memory: serving %s (MCP at %s/mcp), database %s\n",
               (*server)->url().c_str(), (*server)->url().c_str(), ctx.config.db_path.c_str());
  if (const std::string& model = (*service)->embedder().model_id(); model.rfind("hash-", 0) == 0) {
    std::fprintf(stderr,
                 "mcp-memory: search by meaning uses %s, which matches words, not meaning; for "
                 "real semantic recall: mcp-memory model pull all-MiniLM-L6-v2 && mcp-memory "
                 "model use all-MiniLM-L6-v2 && mcp-memory reindex\n",
                 model.c_str());
  }
  {
    MutexLock lock(target.mu);
    if (target.stop_requested) return kExitOk;
    target.server = server->get();
  }
  Status ran = (*server)->run();
  {
    MutexLock lock(target.mu);
    target.server = nullptr;
  }
  if (*sync) (*sync)->stop();
  events.close();
  backups.stop();
  spdlog::info("stopped; closing the database");
  return ran.is_ok() ? kExitOk : report_error(ran);
}

}  // namespace

void add_serve_command(CLI::App& app, CliContext& ctx, std::vector<Command>& out) {
  CLI::App* cmd = app.add_subcommand(
      "serve", "Run the MCP server: stdio by default, or HTTP with --http/--https");
  auto flags = std::make_shared<ServeFlags>();
  cmd->add_flag("--http", flags->http,
                "Serve HTTP: MCP Streamable HTTP at /mcp and the REST API (HTTPS when "
                "MCP_HTTPS_ENABLED=true)");
  cmd->add_flag("--https", flags->https,
                "Serve HTTPS on MCP_HTTPS_PORT (8443) with MCP_SSL_CERT_FILE/MCP_SSL_KEY_FILE, "
                "or a self-signed certificate kept in the data directory");
  cmd->add_option("--host", flags->host, "Address to bind (env MCP_HTTP_HOST; 127.0.0.1)");
  cmd->add_option("--port", flags->port, "Port (env MCP_HTTP_PORT; 8000; 0 = any free port)")
      ->check(CLI::Range(0, 65535));
  cmd->add_flag("--allow-anonymous", flags->allow_anonymous,
                "Serve without an API key (loopback addresses only)");
  cmd->add_option("--hub-url", flags->hub.url,
                  "Also sync with this hub in the background, e.g. https://hub.local:8443");
  cmd->add_option(
         "--hub-ca", flags->hub.ca_file,
         "Trust this certificate for the hub (its self-signed cert.pem; MCP_MEMORY_HUB_CA)")
      ->type_name("FILE");
  cmd->add_option("--hub-api-key-file", flags->hub.key_file,
                  "File with the hub's API key (else MCP_SYNC_API_KEY or MCP_API_KEY)")
      ->type_name("FILE");
  cmd->add_option("--sync-interval", flags->sync_interval,
                  "Seconds between background sync rounds (default 30)")
      ->check(CLI::Range(1.0, 86400.0));
  cmd->add_flag("--replicate", flags->replicate,
                "Also replicate the database with Litestream (with --litestream-config or "
                "--replica, as `mcp-memory replicate`)");
  cmd->add_option("--litestream-config", flags->replication.config_file,
                  "The litestream.yml --replicate uses; without --replicate, the one of a "
                  "Litestream run as its own service (for /api/replication/status)")
      ->type_name("FILE");
  cmd->add_option("--replica", flags->replication.replicas,
                  "Where --replicate replicates to: a directory or a file://, s3://, sftp://... "
                  "URL (repeatable)")
      ->type_name("URL|DIR");
  cmd->add_option("--replica-dir", flags->replica_dir,
                  "Serve this directory read-only at /litestream/ behind the API key (the "
                  "replica parent of --replica DIR/mcp-memory), for `replica follow --from "
                  "https://HUB/litestream/mcp-memory`; with --https or --http")
      ->type_name("DIR");
  out.push_back({cmd, [&ctx, flags]() -> int {
                   if (!flags->replica_dir.empty() && !flags->http && !flags->https) {
                     return usage_error("--replica-dir needs --https (or --http)");
                   }
                   // Litestream starts before the database is opened and stops after it is
                   // closed, so it never misses the WAL (notes/litestream.md §5).
                   // Without --replicate, --litestream-config names the configuration of a
                   // Litestream run as its own service, for /api/replication/status.
                   std::optional<Replication> replication;
                   if (flags->replicate || !flags->replication.config_file.empty()) {
                     auto prepared = prepare_replication(ctx.config, flags->replication,
                                                         /*start=*/flags->replicate);
                     if (!prepared.is_ok()) return report_error(prepared.status());
                     replication = std::move(*prepared);
                   }
                   if (flags->http || flags->https) {
                     std::optional<ReplicationMonitor> monitor;
                     if (replication) {
                       monitor.emplace(replication->binary, replication->config_path,
                                       replication->config, replication->supervisor.get());
                     }
                     return serve_http(ctx, *flags, monitor ? &*monitor : nullptr);
                   }
                   ServiceOptions options;
                   options.load_index_in_background = true;
                   auto service = MemoryService::open(ctx.config, options);
                   if (!service.is_ok()) return report_error(service.status());
                   auto sync = start_sync(**service, *flags);
                   if (!sync.is_ok()) return report_error(sync.status());
                   McpServer server(**service);
                   return serve_stdio(server, stdin, stdout);
                 }});
}

}  // namespace mcpmem::cli
