// Reads newline-delimited messages with a bounded buffer and writes one response per line.
#include "mcp/stdio_transport.h"

#include <string>

namespace mcpmem {
namespace {

bool write_line(std::FILE* out, const std::string& text) {
  if (std::fwrite(text.data(), 1, text.size(), out) != text.size()) return false;
  if (std::fputc('\n', out) == EOF) return false;
  return std::fflush(out) == 0;
}

}  // namespace

int serve_stdio(McpServer& server, std::FILE* in, std::FILE* out) {
  std::string line;
  bool oversized = false;
  char buf[65536];
  auto finish_line = [&]() -> bool {
    std::optional<std::string> reply;
    if (oversized) {
      reply = Json{{"jsonrpc", "2.0"},
                   {"id", nullptr},
                   {"error",
                    {{"code", -32600},
                     {"message", "message exceeds the limit of " +
                                     std::to_string(kMaxMessageBytes) + " bytes"}}}}
                  .dump();
    } else {
      if (!line.empty() && line.back() == '\r') line.pop_back();
      if (line.find_first_not_of(" \t") == std::string::npos) {
        line.clear();
        return true;  // blank lines are ignored
      }
      reply = server.handle(line);
    }
    line.clear();
    oversized = false;
    return !reply || write_line(out, *reply);
  };
  while (std::fgets(buf, sizeof buf, in) != nullptr) {
    std::string_view chunk(buf);
    bool complete = !chunk.empty() && chunk.back() == '\n';
    if (complete) chunk.remove_suffix(1);
    if (!oversized) {
      if (line.size() + chunk.size() > kMaxMessageBytes) {
        oversized = true;
        line.clear();
        line.shrink_to_fit();
      } else {
        line.append(chunk);
      }
    }
    if (complete && !finish_line()) return 1;
  }
  if ((!line.empty() || oversized) && !finish_line()) return 1;  // last line without newline
  return 0;
}

}  // namespace mcpmem
