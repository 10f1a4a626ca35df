// `mcp-memory model`: sentence-embedding models on this machine. `pull` downloads one from a
// Hugging Face-compatible endpoint (HF_ENDPOINT, default the Hugging Face hub; HF_TOKEN for
// gated repositories; proxies from HTTPS_PROXY) into <base_dir>/models/<owner>/<repo>/;
// `list` shows what is there; `remove` deletes one. Nothing else ever downloads.
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <iostream>

#include "cli/cli_context.h"
#include "embed/embedder.h"
#include "embed/model_store.h"
#include "service/reindex.h"
#include "service/wire_json.h"

namespace mcpmem::cli {
namespace {

namespace fs = std::filesystem;

fs::path models_dir(const Config& config) { return config.models_dir; }

std::string megabytes(int64_t bytes) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.1f MB", static_cast<double>(bytes) / 1e6);
  return buf;
}

std::string env_or(const char* name, const std::string& fallback) {
  const char* v = std::getenv(name);
  return v != nullptr && *v != '\0' ? v : fallback;
}

int pull_command(CliContext& ctx, const std::string& name, const std::string& revision) {
  auto repo = model_repo(name);
  if (!repo.is_ok()) return usage_error(repo.status().message());
  PullOptions o;
  o.endpoint = env_or("HF_ENDPOINT", o.endpoint);
  o.token = env_or("HF_TOKEN", "");
  o.revision = revision;
  const bool bar = !ctx.json && isatty(STDERR_FILENO) != 0;
  if (bar) {
    o.progress = [](const std::string& file, int64_t got, int64_t total) {
      std::fprintf(stderr, "\r%-34s %10s", file.c_str(), megabytes(got).c_str());
      if (total > 0) {
        std::fprintf(stderr, " / %s %3d%%", megabytes(total).c_str(),
                     static_cast<int>(100 * got / total));
      }
      std::fflush(stderr);
    };
  }
  const fs::path dir = model_dir(models_dir(ctx.config), *repo);
  if (!ctx.json) std::cerr << "pulling " << *repo << " from " << o.endpoint << "\n";
  auto pulled = pull_model(*repo, dir, o);
  if (bar) std::cerr << "\n";
  if (!pulled.is_ok()) return report_error(pulled.status());
  int64_t bytes = 0;
  OJson files = OJson::array();
  for (const PulledFile& f : *pulled) {
    bytes += f.bytes;
    files.push_back({{"path", f.path}, {"bytes", f.bytes}, {"sha256_checked", f.verified}});
  }
  if (ctx.json) {
    std::cout << OJson{{"success", true}, {"repo", *repo}, {"dir", dir.string()}, {"files", files}}
                     .dump(2)
              << "\n";
  } else {
    std::cout << "pulled " << *repo << " into " << dir.string() << " (" << pulled->size()
              << " files, " << megabytes(bytes) << ")\n";
  }
  return kExitOk;
}

int list_command(CliContext& ctx) {
  auto models = installed_models(models_dir(ctx.config));
  if (ctx.json) {
    OJson out = OJson::array();
    for (const InstalledModel& m : models) {
      out.push_back({{"repo", m.repo},
                     {"dir", m.dir.string()},
                     {"bytes", m.bytes},
                     {"complete", m.complete}});
    }
    std::cout << out.dump(2) << "\n";
    return kExitOk;
  }
  if (!ctx.config.embedding_model.empty()) {
    std::cout << "embedding model: " << ctx.config.embedding_model
              << " (MCP_MEMORY_EMBEDDING_MODEL)\n";
  }
  if (auto chosen = default_model(models_dir(ctx.config)); chosen.is_ok() && chosen->has_value()) {
    std::cout << "default model (model use): " << **chosen << "\n";
  }
  std::error_code ec;
  if (std::filesystem::exists(ctx.config.db_path, ec)) {
    if (auto db = vector_model_status(ctx.config); db.is_ok()) {
      std::cout << "vectors of " << ctx.config.db_path << ": "
                << (db->model.empty() ? "none yet" : db->model) << " (" << db->vectors
                << " memories)\n";
      if (!db->reindex_to.empty()) {
        std::cout << "reindex to " << db->reindex_to << " in progress: " << db->reindex_done
                  << " of " << db->reindex_total << " (mcp-memory reindex resumes it)\n";
      }
    }
  }
  if (models.empty()) {
    std::cout << "no models in " << models_dir(ctx.config).string()
              << " (mcp-memory model pull all-MiniLM-L6-v2)\n";
  }
  for (const InstalledModel& m : models) {
    std::cout << "  " << m.repo << "  " << megabytes(m.bytes)
              << (m.complete ? "" : "  (incomplete: pull it again to finish)") << "\n";
  }
  return kExitOk;
}

int remove_command(CliContext& ctx, const std::string& name) {
  auto repo = model_repo(name);
  if (!repo.is_ok()) return usage_error(repo.status().message());
  const fs::path dir = model_dir(models_dir(ctx.config), *repo);
  std::error_code ec;
  if (!fs::exists(dir, ec)) return report_error(Status::not_found(*repo + " is not installed"));
  fs::remove_all(dir, ec);
  if (ec) return report_error(Status::io_error("removing " + dir.string() + ": " + ec.message()));
  std::cout << "removed " << *repo << "\n";
  return kExitOk;
}

int use_command(CliContext& ctx, const std::string& name) {
  auto embedder = make_embedder(
      name, embedder_options(ctx.config));  // loads it: a model that cannot run is not chosen
  if (!embedder.is_ok()) return report_error(embedder.status());
  const std::string spec = storable_model_spec(name);
  if (Status s = set_default_model(models_dir(ctx.config), spec); !s.is_ok()) {
    return report_error(s);
  }
  const std::string& id = (*embedder)->model_id();
  VectorModelStatus db;
  std::error_code ec;
  if (std::filesystem::exists(ctx.config.db_path, ec)) {
    auto status = vector_model_status(ctx.config);
    if (!status.is_ok()) return report_error(status.status());
    db = *status;
  }
  const bool must_reindex = db.vectors > 0 && db.model != id;
  if (ctx.json) {
    std::cout << OJson{{"success", true},
                       {"default_model", spec},
                       {"model_id", id},
                       {"database_model", db.model},
                       {"reindex_needed", must_reindex}}
                     .dump(2)
              << "\n";
    return kExitOk;
  }
  std::cout << id << " is the default embedding model now\n";
  if (!ctx.config.embedding_model.empty()) {
    std::cout << "(MCP_MEMORY_EMBEDDING_MODEL=" << ctx.config.embedding_model
              << " is set and wins over it)\n";
  }
  if (must_reindex) {
    std::cout << "the " << db.vectors << " memories of " << ctx.config.db_path
              << " were embedded with " << db.model << ", which stays in use until you run:\n"
              << "  mcp-memory reindex\n";
  }
  return kExitOk;
}

int reindex_command(CliContext& ctx, const std::string& model, bool force) {
  ReindexOptions o;
  o.model = model;
  o.force = force;
  const bool bar = !ctx.json && isatty(STDERR_FILENO) != 0;
  if (bar) {
    o.progress = [](int64_t done, int64_t total) {
      std::fprintf(stderr, "\rre-embedding %lld of %lld memories (%d%%)",
                   static_cast<long long>(done), static_cast<long long>(total),
                   total > 0 ? static_cast<int>(100 * done / total) : 100);
      std::fflush(stderr);
    };
  }
  auto report = reindex(ctx.config, o);
  if (bar) std::cerr << "\n";
  if (!report.is_ok()) return report_error(report.status());
  if (ctx.json) {
    std::cout << OJson{{"success", true},
                       {"from_model", report->from_model},
                       {"to_model", report->to_model},
                       {"total", report->total},
                       {"embedded", report->embedded},
                       {"resumed", report->resumed},
                       {"seconds", report->seconds},
                       {"already", report->already}}
                     .dump(2)
              << "\n";
    return kExitOk;
  }
  if (report->already) {
    std::cout << "the vectors are " << report->to_model << "'s already (--force re-embeds them)\n";
    return kExitOk;
  }
  char rate[64];
  std::snprintf(rate, sizeof rate, "%.1f s, %.0f memories/s", report->seconds,
                report->seconds > 0 ? static_cast<double>(report->embedded) / report->seconds : 0);
  std::cout << "re-embedded " << report->embedded << " memories with " << report->to_model << " ("
            << rate << ")";
  if (report->resumed > 0) std::cout << "; " << report->resumed << " were done by an earlier run";
  std::cout << "\n";
  if (!report->from_model.empty() && report->from_model != report->to_model) {
    std::cout << "searches now use " << report->to_model << " (was " << report->from_model
              << "); restart servers that were running\n";
  }
  return kExitOk;
}

}  // namespace

void add_model_commands(CLI::App& app, CliContext& ctx, std::vector<Command>& out) {
  CLI::App* cmd = app.add_subcommand("model", "Sentence-embedding models: pull, list, use, remove");
  cmd->require_subcommand(1);
  auto name = std::make_shared<std::string>();
  auto revision = std::make_shared<std::string>("main");
  CLI::App* pull = cmd->add_subcommand(
      "pull",
      "Download a model (all-MiniLM-L6-v2, bge-small-en-v1.5, e5-small-v2, gte-small, "
      "or OWNER/REPO) from HF_ENDPOINT (default https://huggingface.co)");
  pull->add_option("name", *name, "Model name or Hugging Face repository")->required();
  pull->add_option("--revision", *revision, "Branch, tag or commit (default main)");
  CLI::App* list = cmd->add_subcommand("list", "Models on this machine, and the one in use");
  CLI::App* remove = cmd->add_subcommand("remove", "Delete a downloaded model");
  remove->add_option("name", *name, "Model name or Hugging Face repository")->required();
  CLI::App* use = cmd->add_subcommand(
      "use", "Make a model the default (databases embedded with another switch on reindex)");
  use->add_option("name", *name, "Model name, OWNER/REPO, bert:<dir>, ollama:..., openai:...")
      ->required();
  out.push_back({cmd, [&ctx, name, revision, pull, list, remove, use]() -> int {
                   if (pull->parsed()) return pull_command(ctx, *name, *revision);
                   if (list->parsed()) return list_command(ctx);
                   if (remove->parsed()) return remove_command(ctx, *name);
                   if (use->parsed()) return use_command(ctx, *name);
                   return kExitUsage;
                 }});

  auto target = std::make_shared<std::string>();
  auto force = std::make_shared<bool>(false);
  CLI::App* reindex_cmd = app.add_subcommand(
      "reindex",
      "Re-embed every memory with another model (resumable; searches keep working meanwhile)");
  reindex_cmd->add_option(
      "--model", *target,
      "The model to re-embed with (default MCP_MEMORY_EMBEDDING_MODEL, else `model use`'s)");
  reindex_cmd->add_flag("--force", *force, "Re-embed even when the vectors are that model's");
  out.push_back({reindex_cmd,
                 [&ctx, target, force]() -> int { return reindex_command(ctx, *target, *force); }});
}

}  // namespace mcpmem::cli
