// `mcp-memory sync`: a spoke's live sync with its hub (one round with --once, else a loop that
// syncs every --interval seconds and within a second of a local change, backing off on
// errors), and `sync status` / `sync conflicts` to see and settle what happened.
#include <spdlog/spdlog.h>

#include <atomic>
#include <fstream>
#include <iostream>

#include "cli/cli_context.h"
#include "platform/shutdown_signal.h"
#include "service/version_json.h"
#include "service/wire_json.h"
#include "sync/sync_client.h"
#include "sync/sync_loop.h"
#include "sync/sync_state.h"

namespace mcpmem::cli {
namespace {

struct SyncFlags {
  HubFlags hub;
  bool once = false;
  double interval = 30;
};

int run_sync(CliContext& ctx, const SyncFlags& flags) {
  auto options = hub_client_options(flags.hub, ctx.config);
  if (!options.is_ok()) return usage_error(options.status().message());
  if (flags.once) {
    auto service = ctx.open_service();
    if (!service.is_ok()) return report_error(service.status());
    auto round = sync_once(**service, *options);
    if (!round.is_ok()) return report_error(round.status());
    if (ctx.json) {
      OJson j = {{"success", true},
                 {"pushed", round->pushed},
                 {"pulled", round->pulled},
                 {"conflicts", round->applied.conflicts + round->hub_applied.conflicts}};
      std::cout << j.dump(2) << "\n";
    } else {
      std::cout << "synced with " << options->hub_url << ": " << describe(*round) << "\n";
    }
    return kExitOk;
  }
  // Signals first: every thread made after this inherits the blocked mask.
  std::atomic<bool> stop_requested{false};
  std::atomic<SyncLoop*> live{nullptr};
  ShutdownSignal on_signal([&](int) {
    stop_requested = true;
    if (SyncLoop* loop = live.load()) loop->stop();
  });
  auto service = ctx.open_service();
  if (!service.is_ok()) return report_error(service.status());
  SyncLoop loop(**service, {*options, flags.interval});
  live = &loop;
  spdlog::set_level(spdlog::level::info);
  if (!stop_requested) loop.run();
  live = nullptr;
  spdlog::info("stopped");
  return kExitOk;
}

int show_status(CliContext& ctx) {
  auto service = ctx.open_service();
  if (!service.is_ok()) return report_error(service.status());
  auto status = sync_status_json(**service);
  if (!status.is_ok()) return report_error(status.status());
  if (ctx.json) {
    std::cout << status->dump(2) << "\n";
    return kExitOk;
  }
  const OJson& s = *status;
  std::cout << "node:                 " << s["node"].get<std::string>() << "\n"
            << "memories:             " << s["memory_count"] << " (" << s["tombstones"]
            << " tombstones)\n"
            << "change log head:      " << s["head_seq"] << "\n"
            << "unresolved conflicts: " << s["conflicts_unresolved"] << "\n";
  auto text = [](const OJson& v) {
    return v.is_null() ? std::string("never") : v.get<std::string>();
  };
  if (s["hub"].is_null()) {
    std::cout << "hub:                  none (mcp-memory sync --hub https://HUB:8443)\n";
  } else {
    const OJson& h = s["hub"];
    std::cout << "hub:                  " << h["url"].get<std::string>();
    if (!h["hub_node"].get<std::string>().empty())
      std::cout << " (" << h["hub_node"].get<std::string>() << ")";
    std::cout << "\n  last push:          " << text(h["last_push_at"])
              << "\n  last pull:          " << text(h["last_pull_at"])
              << "\n  pending changes:    " << h["pending_changes"] << "\n  lag:                "
              << (h["lag_seconds"].is_null()
                      ? std::string("never synced")
                      : std::to_string(h["lag_seconds"].get<double>()) + " s")
              << "\n  last error:         "
              << (h["last_error"].is_null() ? std::string("none")
                                            : h["last_error"].get<std::string>())
              << "\n";
  }
  if (!s["peers"].empty()) {
    std::cout << "nodes syncing here:\n";
    for (const OJson& p : s["peers"]) {
      std::cout << "  " << p["node"].get<std::string>() << ": last push " << text(p["last_push_at"])
                << ", last pull " << text(p["last_pull_at"]) << ", " << p["behind"]
                << " changes behind\n";
    }
  }
  return kExitOk;
}

// "memory_type: decision; metadata.env: \"prod\"": the current values of the fields a conflict
// is about, as a version record (version_json) holds them.
std::string current_values(const OJson& memory, const OJson& fields) {
  std::string out;
  for (const OJson& f : fields) {
    const std::string name = f.get<std::string>();
    std::string value;
    if (name == "deleted") {
      value = memory.contains("deleted_at") ? "yes" : "no";
    } else if (name.rfind("metadata.", 0) == 0) {
      const OJson meta = memory.value("metadata", OJson::object());
      const std::string key = name.substr(9);
      value = meta.contains(key) ? meta[key].dump() : "(none)";
    } else if (name == "content") {
      value = OJson(memory.value("content", "").substr(0, 60)).dump();
    } else {
      const OJson v = memory.value(name, OJson());
      value = v.is_string() ? v.get<std::string>() : v.dump();
    }
    out += (out.empty() ? "" : "; ") + name + ": " + value;
  }
  return out;
}

int conflicts_command(CliContext& ctx, bool all, int64_t show, int64_t resolve,
                      const std::string& keep) {
  auto service = ctx.open_service();
  if (!service.is_ok()) return report_error(service.status());
  if (resolve > 0) {
    if (keep.empty()) return usage_error("--resolve needs --keep winner or --keep loser");
    Status st = (*service)->resolve_conflict(resolve, keep);
    if (!st.is_ok()) return report_error(st);
    // What the memory holds now, in the fields the two versions differ in: that is what
    // "kept" means, whatever happened to the memory since the conflict.
    auto c = (*service)->conflict(resolve);
    if (!c.is_ok() || !c->has_value()) return report_error(c.status());
    const OJson record = conflict_record_json(**c);
    auto current = (*service)->get(record["content_hash"].get<std::string>());
    if (!current.is_ok()) return report_error(current.status());
    std::cout << "conflict " << resolve << " resolved everywhere it syncs: kept the " << keep
              << (keep == "loser" ? " (its values written back as a new edit)" : "") << "\n";
    if (!current->has_value()) {
      std::cout << "the memory is deleted now\n";
    } else if (!record["differs"].empty()) {
      std::cout << "the memory now holds: "
                << current_values(version_json(**current), record["differs"]) << "\n";
    }
    return kExitOk;
  }
  std::vector<ConflictRecord> list;
  if (show > 0) {
    auto c = (*service)->conflict(show);
    if (!c.is_ok()) return report_error(c.status());
    if (!c->has_value())
      return report_error(Status::not_found("no conflict " + std::to_string(show)));
    list.push_back(**c);
  } else {
    auto c = (*service)->conflicts(all, 1000);
    if (!c.is_ok()) return report_error(c.status());
    list = std::move(c).value();
  }
  OJson out = OJson::array();
  for (const ConflictRecord& c : list) {
    out.push_back(conflict_record_json(c));  // the same JSON as GET /api/sync/conflicts
  }
  if (ctx.json || show > 0) {
    std::cout << out.dump(2) << "\n";
    return kExitOk;
  }
  if (out.empty()) {
    std::cout << (all ? "no sync conflicts\n" : "no unresolved sync conflicts\n");
    return kExitOk;
  }
  for (const OJson& c : out) {
    auto tags = [](const OJson& m) { return m.value("tags", OJson::array()).dump(); };
    std::string differs;
    for (const OJson& f : c["differs"])
      differs += (differs.empty() ? "" : ", ") + f.get<std::string>();
    std::cout << "#" << c["id"] << " " << c["content_hash"].get<std::string>().substr(0, 12) << " "
              << c["detected_at"].get<std::string>() << " from " << c["source"].get<std::string>()
              << ": differs in " << (differs.empty() ? "nothing now" : differs)
              << (c["resolution"].is_null() ? std::string()
                                            : " (" + c["resolution"].get<std::string>() + " on " +
                                                  c["resolved_by"].get<std::string>() + ")")
              << "\n  kept:     " << c["winner"].value("hlc", "") << " tags " << tags(c["winner"])
              << (c["winner"].contains("deleted_at") ? " (deleted)" : "")
              << "\n  replaced: " << c["loser"].value("hlc", "") << " tags " << tags(c["loser"])
              << (c["loser"].contains("deleted_at") ? " (deleted)" : "") << "\n";
  }
  std::cout << "show both versions: mcp-memory sync conflicts --show ID; keep the other one: "
               "mcp-memory sync conflicts --resolve ID --keep loser\n";
  return kExitOk;
}

// Hub failover (docs/sync_protocol.md): `promote` on the node that takes over, `join` on an
// old hub that comes back, `forget-hub` on a node that will never see its hub again.
int forget_hub_command(CliContext& ctx, bool promote) {
  auto service = ctx.open_service();
  if (!service.is_ok()) return report_error(service.status());
  auto cursor = load_hub_cursor(**service);
  if (!cursor.is_ok()) return report_error(cursor.status());
  auto pending = (*service)->count_changes_after(cursor->push_seq);
  if (!pending.is_ok()) return report_error(pending.status());
  auto forgot = forget_hub(**service);
  if (!forgot.is_ok()) return report_error(forgot.status());
  if (ctx.json) {
    OJson j = {{"success", true},
               {"forgot_hub", *forgot ? OJson(cursor->url) : OJson()},
               {"unpushed_changes", *forgot ? *pending : 0}};
    if (promote) j["node"] = (*service)->node_name();
    std::cout << j.dump(2) << "\n";
  } else if (*forgot) {
    std::cout << "forgot the hub " << cursor->url << "; " << *pending
              << " changes never pushed to it stay here and go to the next hub\n";
  } else {
    std::cout << "no hub to forget\n";
  }
  if (!ctx.config.hub_url.empty()) {
    std::cerr << "warning: MCP_MEMORY_HUB_URL is still " << ctx.config.hub_url
              << ": unset it, or `serve` and `sync` will sync with it again\n";
  }
  if (promote && !ctx.json) {
    std::cout << "this node (" << (*service)->node_name()
              << ") is the hub now. Next:\n"
                 "  here:             mcp-memory serve --https --host 0.0.0.0\n"
                 "  on the others:    mcp-memory sync --hub https://THIS-MACHINE:8443 --hub-ca "
                 "cert.pem   (cert.pem: "
              << ctx.config.base_dir
              << "/tls/cert.pem, made by serve --https)\n"
                 "  old hub, back:    mcp-memory sync join --hub https://THIS-MACHINE:8443 "
                 "--hub-ca cert.pem\n";
  }
  return kExitOk;
}

// An old hub comes back as a spoke: it forgets the nodes that synced with it and its own hub,
// then syncs one round with the new hub (everything it holds goes there; the merge keeps what
// the new hub already has and resurrects nothing it deleted).
int join_command(CliContext& ctx, const HubFlags& hub) {
  auto options = hub_client_options(hub, ctx.config);
  if (!options.is_ok()) return usage_error(options.status().message());
  if (Status st = check_options(*options); !st.is_ok()) return usage_error(st.message());
  auto service = ctx.open_service();
  if (!service.is_ok()) return report_error(service.status());
  auto peers = forget_peers(**service);
  if (!peers.is_ok()) return report_error(peers.status());
  if (auto forgot = forget_hub(**service); !forgot.is_ok()) return report_error(forgot.status());
  auto round = sync_once(**service, *options);
  if (!round.is_ok()) return report_error(round.status());
  if (ctx.json) {
    OJson j = {{"success", true},
               {"hub", options->hub_url},
               {"forgot_nodes", *peers},
               {"pushed", round->pushed},
               {"pulled", round->pulled},
               {"conflicts", round->applied.conflicts + round->hub_applied.conflicts}};
    std::cout << j.dump(2) << "\n";
  } else {
    std::cout << "joined " << options->hub_url << " as a spoke (forgot " << *peers
              << " nodes that synced here): " << describe(*round)
              << "\nkeep it in step with: mcp-memory sync --hub " << options->hub_url
              << " (or serve --hub-url)\n";
  }
  return kExitOk;
}

}  // namespace

Result<SyncClientOptions> hub_client_options(const HubFlags& f, const Config& config) {
  SyncClientOptions o;
  o.hub_url = f.url.empty() ? config.hub_url : f.url;
  if (o.hub_url.empty()) {
    return Status::invalid_argument("no hub: give --hub https://HUB:8443 (or MCP_MEMORY_HUB_URL)");
  }
  o.ca_file = f.ca_file.empty() ? config.hub_ca_file : f.ca_file;
  if (!f.key_file.empty()) {
    std::ifstream in(f.key_file);
    if (!in) return Status::io_error("cannot read " + f.key_file);
    std::getline(in, o.api_key);
  } else {
    o.api_key = config.hub_api_key;
  }
  return o;
}

void add_sync_command(CLI::App& app, CliContext& ctx, std::vector<Command>& out) {
  auto flags = std::make_shared<SyncFlags>();
  CLI::App* cmd = app.add_subcommand(
      "sync", "Sync with a hub (mcp-memory serve --https on the hub machine); status; conflicts");
  cmd->add_option("--hub", flags->hub.url,
                  "Hub URL, e.g. https://hub.local:8443 (MCP_MEMORY_HUB_URL)");
  cmd->add_option(
         "--hub-ca", flags->hub.ca_file,
         "Trust this certificate for the hub (its self-signed cert.pem; MCP_MEMORY_HUB_CA)")
      ->type_name("FILE");
  cmd->add_option("--api-key-file", flags->hub.key_file,
                  "File with the hub's API key (else MCP_SYNC_API_KEY or MCP_API_KEY)")
      ->type_name("FILE");
  cmd->add_flag("--once", flags->once, "One round (push, then pull), then exit");
  cmd->add_option("--interval", flags->interval, "Seconds between rounds (default 30)")
      ->check(CLI::Range(1.0, 86400.0));
  cmd->require_subcommand(0, 1);
  CLI::App* status =
      cmd->add_subcommand("status", "Sync state: hub, last push/pull, pending, lag, errors, nodes");
  auto conflicts =
      std::make_shared<std::tuple<bool, int64_t, int64_t, std::string>>(false, 0, 0, "");
  CLI::App* conf = cmd->add_subcommand("conflicts", "Versions that lost to concurrent edits");
  conf->add_flag("--all", std::get<0>(*conflicts), "Include resolved ones");
  conf->add_option("--show", std::get<1>(*conflicts), "Show both versions of one conflict");
  conf->add_option("--resolve", std::get<2>(*conflicts), "Settle one conflict (with --keep)");
  conf->add_option("--keep", std::get<3>(*conflicts), "winner (as is) or loser (make it current)")
      ->check(CLI::IsMember({"winner", "loser"}));
  CLI::App* promote = cmd->add_subcommand(
      "promote", "Make this node the hub: forget its hub, keep its data and pending changes");
  CLI::App* forget =
      cmd->add_subcommand("forget-hub", "Forget the hub (its cursors, status and last error)");
  CLI::App* join = cmd->add_subcommand(
      "join",
      "Join a new hub as a spoke (an old hub that comes back): forget the nodes that "
      "synced here, sync one round with --hub");
  join->fallthrough();  // --hub, --hub-ca, --api-key-file are the sync command's
  out.push_back({cmd, [&ctx, flags, status, conf, conflicts, promote, forget, join]() -> int {
                   if (status->parsed()) return show_status(ctx);
                   if (promote->parsed()) return forget_hub_command(ctx, /*promote=*/true);
                   if (forget->parsed()) return forget_hub_command(ctx, /*promote=*/false);
                   if (join->parsed()) return join_command(ctx, flags->hub);
                   if (conf->parsed()) {
                     auto& [all, show, resolve, keep] = *conflicts;
                     return conflicts_command(ctx, all, show, resolve, keep);
                   }
                   return run_sync(ctx, *flags);
                 }});
}

}  // namespace mcpmem::cli
