// `mcp-memory doctor [--fix]`: runs the checks of ops/doctor.h on this machine's database and
// prints each as ok, warn or fail (JSON with --json). Exits 1 when a check fails, 0 otherwise.
#include <iostream>

#include "cli/cli_context.h"
#include "core/memory.h"
#include "ops/doctor.h"

namespace mcpmem::cli {
namespace {

int doctor_command(CliContext& ctx, const DoctorOptions& options) {
  const std::vector<DoctorCheck> checks = run_doctor(ctx.config, options);
  bool failed = false;
  for (const DoctorCheck& c : checks) failed = failed || c.outcome == CheckOutcome::kFail;
  if (ctx.json) {
    Json list = Json::array();
    for (const DoctorCheck& c : checks) {
      list.push_back({{"check", c.name},
                      {"status", check_outcome_name(c.outcome)},
                      {"detail", c.detail},
                      {"fixed", c.fixed}});
    }
    Json j = {{"database", ctx.config.db_path}, {"ok", !failed}, {"checks", std::move(list)}};
    std::cout << j.dump(2, ' ', false, Json::error_handler_t::replace) << "\n";
  } else {
    for (const DoctorCheck& c : checks) {
      std::string status = check_outcome_name(c.outcome);
      std::string name = c.name;
      status.resize(6, ' ');
      name.resize(std::max<size_t>(name.size() + 1, 13), ' ');
      std::cout << status << name << c.detail << (c.fixed ? " [fixed]" : "") << "\n";
    }
  }
  return failed ? kExitError : kExitOk;
}

}  // namespace

void add_doctor_command(CLI::App& app, CliContext& ctx, std::vector<Command>& out) {
  auto options = std::make_shared<DoctorOptions>();
  CLI::App* cmd = app.add_subcommand(
      "doctor",
      "Check the database and its surroundings (WAL mode, integrity, checkpoints, disk space, "
      "file modes, replication, index); --fix repairs what is safe");
  cmd->add_flag("--fix", options->fix,
                "Repair what is safe: file modes, WAL mode, a passive checkpoint");
  cmd->add_option("--litestream-config", options->litestream_config,
                  "The litestream.yml to check replicas of (default "
                  "$MCP_MEMORY_BASE_DIR/litestream.yml when it exists)")
      ->type_name("FILE");
  out.push_back({cmd, [&ctx, options] { return doctor_command(ctx, *options); }});
}

}  // namespace mcpmem::cli
