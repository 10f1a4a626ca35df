// The commands that move memories between machines: export and import (files in the Python
// service's format, DESIGN §5.1) and, in sync_client_command.cpp, live sync with a hub.

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iostream>

#include "cli/cli_context.h"
#include "core/hlc.h"
#include "core/tags.h"
#include "core/time_format.h"
#include "core/time_grammar.h"
#include "platform/secret_file.h"
#include "service/version_json.h"
#include "sync/export_file.h"
#include "sync/import_file.h"

namespace mcpmem::cli {
namespace {

// The Python exporter's default name: {host}_memories_export_{YYYYmmdd_HHMMSS}.json.
std::string default_export_name(const std::string& machine) {
  std::time_t t = std::time(nullptr);
  const std::tm local = local_calendar(t);
  char stamp[32];
  std::strftime(stamp, sizeof stamp, "%Y%m%d_%H%M%S", &local);
  return machine + "_memories_export_" + stamp + ".json";
}

Result<double> parse_since(const std::string& text) {
  if (auto t = parse_iso_time(text, /*naive_is_local=*/true)) return *t;
  if (auto r = parse_time_expression(text, unix_now())) return r->start;
  return Status::invalid_argument(
      "--since '" + text + "' is not a time (try 2026-01-31, \"yesterday\", \"3 days ago\")");
}

void add_export(CLI::App& app, CliContext& ctx, std::vector<Command>& out) {
  struct Opts {
    std::string output, since;
    std::vector<std::string> filter_tags;
    bool embeddings = false, deleted = false;
  };
  auto o = std::make_shared<Opts>();
  CLI::App* cmd = app.add_subcommand(
      "export", "Write memories to a JSON file in the Python service's export format");
  cmd->add_option("--output,-o", o->output,
                  "File to write ('-' = stdout; default <machine>_memories_export_<time>.json)")
      ->type_name("FILE");
  cmd->add_flag("--include-embeddings", o->embeddings, "Include each memory's embedding");
  cmd->add_option("--filter-tags", o->filter_tags,
                  "Only memories with any of these tags (comma or space separated)")
      ->expected(0, -1);
  cmd->add_option("--since", o->since,
                  "Only memories changed since this time (ISO date or words: \"last week\")");
  cmd->add_flag("--include-deleted", o->deleted,
                "Also write tombstones, so deletes reach the machines that import the file");
  out.push_back(
      {cmd, [&ctx, o]() -> int {
         ExportOptions eo;
         eo.include_embeddings = o->embeddings;
         eo.include_deleted = o->deleted;
         for (const std::string& t : o->filter_tags) {
           for (std::string& piece : split_tag_list(t)) eo.filter_tags.push_back(std::move(piece));
         }
         if (!o->since.empty()) {
           auto since = parse_since(o->since);
           if (!since.is_ok()) return usage_error(since.status().message());
           eo.since = *since;
         }
         auto service = ctx.open_service();
         if (!service.is_ok()) return report_error(service.status());
         eo.source_machine = (*service)->node_name();
         eo.database_path = std::filesystem::absolute((*service)->config().db_path).string();
         const std::string path =
             o->output.empty() ? default_export_name(eo.source_machine) : o->output;
         Result<ExportSummary> summary = ExportSummary{};
         if (path == "-") {
           std::ios::sync_with_stdio(false);
           summary = write_export(**service, eo, std::cout);
         } else {
           // Written beside and renamed when complete: an interrupted export leaves no half file
           // that an import could mistake for a whole one.
           const std::string partial = path + ".partial";
           {
             // Owner-only from its first byte: an export holds every memory.
             std::error_code ec;
             std::filesystem::remove(partial, ec);
             if (Status made = create_secret_file(partial, ""); !made.is_ok()) {
               return report_error(made);
             }
             std::ofstream file(partial, std::ios::binary | std::ios::trunc);
             if (!file) return report_error(Status::io_error("cannot write " + partial));
             std::vector<char> buffer(1 << 20);
             file.rdbuf()->pubsetbuf(buffer.data(), static_cast<std::streamsize>(buffer.size()));
             summary = write_export(**service, eo, file);
             file.close();
             if (summary.is_ok() && !file)
               summary = Status::io_error("writing " + partial + " failed");
           }
           std::error_code ec;
           if (summary.is_ok()) std::filesystem::rename(partial, path, ec);
           if (!summary.is_ok() || ec) {
             std::filesystem::remove(partial, ec);
             return report_error(summary.is_ok() ? Status::io_error("cannot rename to " + path)
                                                 : summary.status());
           }
         }
         if (!summary.is_ok()) return report_error(summary.status());
         if (path != "-") {
           if (ctx.json) {
             OJson j = {{"success", true},
                        {"output", path},
                        {"memories", summary->memories},
                        {"tombstones", summary->tombstones},
                        {"source_machine", eo.source_machine}};
             std::cout << j.dump(2) << "\n";
           } else {
             std::cout << "Exported " << summary->memories << " memories";
             if (o->deleted) std::cout << " and " << summary->tombstones << " tombstones";
             std::cout << " from " << eo.source_machine << " to " << path << "\n";
           }
         }
         return kExitOk;
       }});
}

std::string counts_text(const ApplyCounts& c) {
  return "new " + std::to_string(c.added) + ", updated " + std::to_string(c.updated) +
         ", unchanged (duplicates skipped) " + std::to_string(c.unchanged) +
         ", kept local (ours newer) " + std::to_string(c.kept_local) + ", merged " +
         std::to_string(c.merged) + ", deleted " + std::to_string(c.deleted) + ", tombstones " +
         std::to_string(c.tombstones) + ", conflicts " + std::to_string(c.conflicts);
}

void add_import(CLI::App& app, CliContext& ctx, std::vector<Command>& out) {
  struct Opts {
    std::vector<std::string> files;
    bool dry_run = false, no_dedup = false, no_source_tags = false, trust_hashes = false;
  };
  auto o = std::make_shared<Opts>();
  CLI::App* cmd = app.add_subcommand(
      "import",
      "Merge JSON exports (Python service CLI or dashboard format, or ours) into the database");
  cmd->add_option("files", o->files, "Export files ('-' = stdin)")->required()->type_name("FILE");
  cmd->add_flag("--dry-run", o->dry_run,
                "Do everything, then roll back: prints exactly what a real import would do");
  cmd->add_flag("--no-deduplicate", o->no_dedup,
                "Accepted for the Python tool's scripts; a memory is its content hash, so a "
                "second copy of the same content is never stored either way");
  cmd->add_flag("--no-source-tags", o->no_source_tags, "Do not add source:<machine> tags");
  cmd->add_flag("--trust-hashes", o->trust_hashes,
                "Accept content_hash values that do not match the content");
  out.push_back({cmd, [&ctx, o]() -> int {
                   auto service = ctx.open_service();
                   if (!service.is_ok()) return report_error(service.status());
                   ImportOptions io;
                   io.dry_run = o->dry_run;
                   io.source_tags = !o->no_source_tags;
                   io.trust_hashes = o->trust_hashes;
                   bool failed = false;
                   ApplyCounts total;
                   OJson files = OJson::array();
                   std::vector<ImportReport> reports;
                   const std::vector<Status> results =
                       import_files(**service, o->files, io, reports);
                   for (size_t i = 0; i < o->files.size(); ++i) {
                     const std::string& path = o->files[i];
                     const ImportReport& report = reports[i];
                     const Status& st = results[i];
                     failed = failed || !st.is_ok();
                     if (st.is_ok()) total += report.counts;
                     if (ctx.json) {
                       OJson f = {{"file", path},
                                  {"format", report.format},
                                  {"source_machine", report.source_machine},
                                  {"records", report.records},
                                  {"committed", report.committed},
                                  {"invalid", report.invalid}};
                       f["counts"] = apply_counts_json(report.counts);
                       OJson by = OJson::object();
                       for (const auto& [src, c] : report.by_source) by[src] = apply_counts_json(c);
                       f["by_source"] = by;
                       f["errors"] = report.errors;
                       if (!st.is_ok()) f["error"] = st.message();
                       files.push_back(f);
                       continue;
                     }
                     std::cout << (o->dry_run ? "[dry run] " : "") << path << " (" << report.format
                               << ", from " << report.source_machine << "): " << report.records
                               << " records\n";
                     if (st.is_ok()) {
                       std::cout << "  " << counts_text(report.counts) << ", invalid "
                                 << report.invalid << "\n";
                       if (report.by_source.size() > 1) {
                         for (const auto& [src, c] : report.by_source) {
                           std::cout << "  " << src << ": " << counts_text(c) << "\n";
                         }
                       }
                     } else {
                       std::cout << "  not imported: " << st.message() << "\n";
                       for (const std::string& e : report.errors) std::cout << "    " << e << "\n";
                       if (report.invalid > static_cast<int64_t>(report.errors.size())) {
                         std::cout << "    ... and "
                                   << report.invalid - static_cast<int64_t>(report.errors.size())
                                   << " more\n";
                       }
                     }
                   }
                   if (ctx.json) {
                     OJson j = {{"success", !failed}, {"dry_run", o->dry_run}, {"files", files}};
                     j["total"] = apply_counts_json(total);
                     std::cout << j.dump(2) << "\n";
                   } else if (o->files.size() > 1) {
                     std::cout << (o->dry_run ? "[dry run] " : "")
                               << "total: " << counts_text(total) << "\n";
                   }
                   if (failed && !ctx.json)
                     std::cerr << "error: some files were not imported (see above)\n";
                   return failed ? kExitError : kExitOk;
                 }});
}

}  // namespace

void add_file_sync_commands(CLI::App& app, CliContext& ctx, std::vector<Command>& out) {
  add_export(app, ctx, out);
  add_import(app, ctx, out);
}

}  // namespace mcpmem::cli
