// `mcp-memory serve`: the MCP server on stdio, as Claude Desktop, Claude Code, Codex and other
// MCP clients launch it. The vector index loads in the background, so `initialize` is
// answered at once; a search issued while it loads waits for it.
#include <cstdio>

#include "cli/cli_context.h"
#include "mcp/stdio_transport.h"

namespace mcpmem::cli {

void add_serve_command(CLI::App& app, CliContext& ctx, std::vector<Command>& out) {
  CLI::App* cmd = app.add_subcommand("serve", "Run the MCP server on stdin/stdout");
  out.push_back({cmd, [&ctx]() -> int {
                   if (!ctx.db_path_flag.empty()) ctx.config.db_path = ctx.db_path_flag;
                   ServiceOptions options;
                   options.load_index_in_background = true;
                   auto service = MemoryService::open(ctx.config, options);
                   if (!service.is_ok()) return report_error(service.status());
                   McpServer server(**service);
                   return serve_stdio(server, stdin, stdout);
                 }});
}

}  // namespace mcpmem::cli
