// MCP over stdio: newline-delimited JSON-RPC on stdin/stdout, as MCP clients launch servers.
// stdout carries only protocol messages; logs go to stderr. Each line is handled in order;
// a line longer than kMaxMessageBytes is discarded up to its newline and answered with an
// error, so one huge message can neither exhaust memory nor desynchronize the stream.
#pragma once

#include <cstdio>

#include "mcp/mcp_server.h"

namespace mcpmem {

// Serves until `in` reaches end of file. Returns 0, or 1 if writing to `out` failed.
int serve_stdio(McpServer& server, std::FILE* in, std::FILE* out);

}  // namespace mcpmem
