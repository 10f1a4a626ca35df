// `index status` and `index rebuild`: the persisted vector index beside the database
// (`<db>.index`, and `<db>.index.hnsw` for large stores). Both are caches: removing them loses
// nothing, and every process rebuilds what is missing or does not match the database. `rebuild`
// is for scripts that want the first search after an import to be instant, and for benchmarks.
#include <chrono>
#include <filesystem>
#include <fstream>
#include <iostream>

#include "cli/cli_context.h"
#include "service/wire_json.h"

namespace mcpmem::cli {
namespace {

std::string size_text(uint64_t bytes) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.1f MB", static_cast<double>(bytes) / 1e6);
  return buf;
}

uint64_t file_size_or_zero(const std::string& path) {
  std::error_code ec;
  auto size = std::filesystem::file_size(path, ec);
  return ec ? 0 : size;
}

void print_state(const CliContext& ctx, const IndexState& s, double seconds) {
  const std::string hnsw_path = s.file_path.empty() ? "" : s.file_path + ".hnsw";
  const uint64_t hnsw_bytes = hnsw_path.empty() ? 0 : file_size_or_zero(hnsw_path);
  if (ctx.json) {
    OJson j{{"database", ctx.config.db_path},
            {"rows", s.rows},
            {"rows_changed_since_file", s.rows_in_memory},
            {"file", s.file_path},
            {"file_mapped", s.file_mapped},
            {"file_bytes", s.file_bytes},
            {"file_seq", s.file_seq},
            {"hnsw_file", hnsw_path},
            {"hnsw_file_bytes", hnsw_bytes},
            {"hnsw_threshold", ctx.config.hnsw_threshold},
            {"hnsw_verdict", s.hnsw_verdict},
            {"memory_bytes", s.memory_bytes}};
    if (seconds >= 0) j["seconds"] = seconds;
    std::cout << j.dump(2) << "\n";
    return;
  }
  std::cout << "vector index of " << ctx.config.db_path << ": " << s.rows << " rows\n";
  if (s.file_path.empty()) {
    std::cout << "file: none (MCP_MEMORY_INDEX_FILE=0, or an in-memory database)\n";
  } else if (s.file_mapped) {
    std::cout << "file: " << s.file_path << " (" << size_text(s.file_bytes)
              << ", change-log position " << s.file_seq << "; " << s.rows_in_memory
              << " rows changed since it was written)\n";
  } else {
    std::cout << "file: " << s.file_path << " could not be written (see the warning above)\n";
  }
  // `<hnsw>.refused` holds "<model> <rows> <why>" (service/index_maintenance.cpp).
  std::string refused;
  if (!hnsw_path.empty()) {
    std::ifstream in(hnsw_path + ".refused");
    std::string model, rows;
    if (in >> model >> rows) {
      std::getline(in >> std::ws, refused);
      refused = "at " + rows + " rows: " + refused;
    }
  }
  if (ctx.config.hnsw_threshold == 0) {
    std::cout << "hnsw: off (MCP_MEMORY_HNSW_THRESHOLD=0)\n";
  } else if (!refused.empty()) {
    std::cout << "hnsw: refused " << refused
              << "; searches scan exactly (`index rebuild` measures again)\n";
  } else if (hnsw_bytes > 0) {
    std::cout << "hnsw: " << hnsw_path << " (" << size_text(hnsw_bytes)
              << "); servers search it once the store holds " << ctx.config.hnsw_threshold
              << " memories\n";
  } else {
    std::cout << "hnsw: none yet; servers build it once the store holds "
              << ctx.config.hnsw_threshold << " memories\n";
  }
  if (seconds >= 0) std::printf("rebuilt in %.1f s\n", seconds);
}

int index_command(CliContext& ctx, bool rebuild) {
  auto service = ctx.open_service();
  if (!service.is_ok()) return report_error(service.status());
  double seconds = -1;
  if (rebuild) {
    const auto started = std::chrono::steady_clock::now();
    if (Status st = (*service)->rebuild_index(); !st.is_ok()) return report_error(st);
    seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  } else if (Status st = (*service)->wait_for_index(); !st.is_ok()) {
    return report_error(st);
  }
  print_state(ctx, (*service)->index_state(), seconds);
  return kExitOk;
}

}  // namespace

void add_index_commands(CLI::App& app, CliContext& ctx, std::vector<Command>& out) {
  CLI::App* cmd = app.add_subcommand(
      "index", "The persisted vector index beside the database (a cache: safe to delete)");
  cmd->require_subcommand(1);
  cmd->add_subcommand(
      "status", "Rows, the index file and the HNSW graph (writes the file when it is missing)");
  CLI::App* rebuild = cmd->add_subcommand(
      "rebuild",
      "Rewrite the index file from the database, and the HNSW graph when the store is large");
  out.push_back({cmd, [&ctx, rebuild]() -> int { return index_command(ctx, rebuild->parsed()); }});
}

}  // namespace mcpmem::cli
