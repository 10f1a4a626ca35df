// The memory operations as commands: store, search, list, get, update, delete, stats, tags.
// Each parses its flags into a typed request, calls MemoryService, and renders the result as
// a table or (with --json) in the Python service's JSON shapes. Flag values that cannot be
// understood (bad JSON, unknown mode, bad date) are usage errors (exit 2) and touch nothing.
#include <cstdio>
#include <iostream>
#include <iterator>

#include "cli/cli_context.h"
#include "cli/render.h"
#include "core/json_parse.h"
#include "core/tags.h"
#include "core/time_format.h"

namespace mcpmem::cli {
namespace {

void print_json(const OJson& j) {
  std::cout << j.dump(2, ' ', false, OJson::error_handler_t::replace) << "\n";
}

// Reads all of stdin, refusing more than `limit` bytes (so a huge pipe fails fast).
Result<std::string> read_stdin(size_t limit) {
  std::string data;
  char buf[65536];
  size_t n;
  while ((n = std::fread(buf, 1, sizeof buf, stdin)) > 0) {
    data.append(buf, n);
    if (data.size() > limit) {
      return Status::invalid_argument("content on stdin exceeds the limit of " +
                                      std::to_string(limit) + " bytes");
    }
  }
  if (std::ferror(stdin)) return Status::io_error("cannot read stdin");
  return data;
}

Result<Json> parse_metadata_flag(const std::string& text) {
  auto parsed = parse_json(text, "--metadata");
  if (!parsed.is_ok()) return parsed.status();
  Json j = std::move(*parsed);
  if (!j.is_object()) return Status::invalid_argument("--metadata must be a JSON object");
  return j;
}

Result<double> parse_date_flag(const std::string& flag, const std::string& text) {
  auto t = parse_iso_time(text, /*naive_is_local=*/true);
  if (!t) {
    return Status::invalid_argument(flag + " '" + text +
                                    "' is not a date (use YYYY-MM-DD or YYYY-MM-DDTHH:MM:SS)");
  }
  return *t;
}

struct TagOptions {
  std::string tags;
  std::string match = "any";
  void add(CLI::App* cmd, const char* help) {
    cmd->add_option("--tags", tags, help);
    cmd->add_option("--tag-match", match, "Match any or all of the tags")
        ->check(CLI::IsMember({"any", "all"}));
  }
  std::vector<std::string> list() const { return split_tag_list(tags); }
  bool all() const { return match == "all"; }
};

// Runs `body` with an open service, turning failures into an exit code.
int with_service(CliContext& ctx, const std::function<int(MemoryService&)>& body) {
  auto service = ctx.open_service();
  if (!service.is_ok()) return report_error(service.status());
  return body(**service);
}

void add_store(CLI::App& app, CliContext& ctx, std::vector<Command>& out) {
  struct Opts {
    std::string content, tags, type, metadata;
  };
  auto o = std::make_shared<Opts>();
  CLI::App* cmd = app.add_subcommand("store", "Store a memory");
  cmd->add_option("content", o->content, "The text to remember ('-' reads stdin)")->required();
  cmd->add_option("--tags", o->tags, "Tags, comma or space separated");
  cmd->add_option("--type", o->type, "Memory type (note, decision, reference, ...)");
  cmd->add_option("--metadata", o->metadata, "Metadata as a JSON object");
  out.push_back({cmd, [&ctx, o]() -> int {
                   StoreRequest req;
                   if (o->content == "-") {
                     auto data = read_stdin(ctx.config.max_content_bytes);
                     if (!data.is_ok()) return report_error(data.status());
                     req.content = std::move(data).value();
                   } else {
                     req.content = o->content;
                   }
                   if (!o->metadata.empty()) {
                     auto meta = parse_metadata_flag(o->metadata);
                     if (!meta.is_ok()) return usage_error(meta.status().message());
                     req.metadata = std::move(meta).value();
                   }
                   req.tags = split_tag_list(o->tags);
                   req.memory_type = o->type;
                   return with_service(ctx, [&](MemoryService& service) {
                     auto r = service.store(req);
                     if (!r.is_ok()) return report_error(r.status());
                     if (ctx.json) {
                       print_json({{"success", r->success},
                                   {"content_hash", r->content_hash},
                                   {"message", r->message}});
                     } else if (r->success) {
                       std::cout << "Memory stored successfully (hash: " << r->content_hash
                                 << ")\n";
                     } else {
                       std::cout << r->message << " (hash: " << r->content_hash << ")\n";
                     }
                     return r->success ? kExitOk : kExitDuplicate;
                   });
                 }});
}

void add_search(CLI::App& app, CliContext& ctx, std::vector<Command>& out) {
  struct Opts {
    std::string query, mode = "semantic", time, type;
    int limit = 10;
    TagOptions tags;
  };
  auto o = std::make_shared<Opts>();
  CLI::App* cmd = app.add_subcommand("search", "Search memories");
  cmd->add_option("query", o->query, "What to look for ('' with --time or --tags to browse)")
      ->required();
  cmd->add_option("--limit,-n", o->limit, "Most results to return")->check(CLI::Range(1, 1000));
  cmd->add_option("--mode", o->mode, "semantic, exact, keyword or hybrid")
      ->check(CLI::IsMember({"semantic", "exact", "keyword", "hybrid"}));
  o->tags.add(cmd, "Only memories with these tags (comma or space separated)");
  cmd->add_option("--time", o->time, "Only memories from this time ('last week', '3 days ago')");
  cmd->add_option("--type", o->type, "Only memories of this type");
  out.push_back({cmd, [&ctx, o]() -> int {
                   SearchRequest req;
                   req.query = o->query;
                   req.mode = *parse_search_mode(o->mode);
                   req.limit = o->limit;
                   req.tags = o->tags.list();
                   req.match_all_tags = o->tags.all();
                   req.time_expr = o->time;
                   if (!o->type.empty()) req.memory_type = o->type;
                   return with_service(ctx, [&](MemoryService& service) {
                     auto r = service.search(req);
                     if (!r.is_ok()) return report_error(r.status());
                     if (ctx.json) {
                       print_json(search_json(*r));
                     } else {
                       std::cout << search_text(*r);
                     }
                     return kExitOk;
                   });
                 }});
}

void add_list(CLI::App& app, CliContext& ctx, std::vector<Command>& out) {
  struct Opts {
    int64_t page = 1, page_size = 10;
    std::string type;
    TagOptions tags;
  };
  auto o = std::make_shared<Opts>();
  CLI::App* cmd = app.add_subcommand("list", "List memories, newest first");
  cmd->add_option("--page", o->page, "Page number (from 1)")->check(CLI::PositiveNumber);
  cmd->add_option("--page-size", o->page_size, "Memories per page")->check(CLI::Range(1, 1000));
  o->tags.add(cmd, "Only memories with these tags");
  cmd->add_option("--type", o->type, "Only memories of this type");
  out.push_back({cmd, [&ctx, o]() -> int {
                   ListRequest req;
                   req.page = o->page;
                   req.page_size = o->page_size;
                   req.tags = o->tags.list();
                   req.match_all_tags = o->tags.all();
                   if (!o->type.empty()) req.memory_type = o->type;
                   return with_service(ctx, [&](MemoryService& service) {
                     auto r = service.list(req);
                     if (!r.is_ok()) return report_error(r.status());
                     if (ctx.json) {
                       print_json(list_json(*r));
                     } else {
                       std::cout << list_text(*r);
                     }
                     return kExitOk;
                   });
                 }});
}

void add_get(CLI::App& app, CliContext& ctx, std::vector<Command>& out) {
  auto hash = std::make_shared<std::string>();
  CLI::App* cmd = app.add_subcommand("get", "Show one memory by its content hash");
  cmd->add_option("hash", *hash, "Content hash (64 hex characters)")->required();
  out.push_back({cmd, [&ctx, hash]() -> int {
                   return with_service(ctx, [&](MemoryService& service) {
                     auto r = service.get(*hash);
                     if (!r.is_ok()) return report_error(r.status());
                     if (!r->has_value())
                       return report_error(Status::not_found("no memory with hash " + *hash));
                     if (ctx.json) {
                       print_json(memory_json(**r));
                     } else {
                       std::cout << memory_text(**r);
                     }
                     return kExitOk;
                   });
                 }});
}

void add_update(CLI::App& app, CliContext& ctx, std::vector<Command>& out) {
  struct Opts {
    std::string hash, tags, type, metadata;
  };
  auto o = std::make_shared<Opts>();
  CLI::App* cmd = app.add_subcommand("update", "Change the tags, type or metadata of a memory");
  cmd->add_option("hash", o->hash, "Content hash")->required();
  CLI::Option* tags = cmd->add_option("--tags", o->tags, "Replace the tags");
  CLI::Option* type = cmd->add_option("--type", o->type, "Set the memory type");
  CLI::Option* meta = cmd->add_option("--metadata", o->metadata, "Merge this JSON object");
  out.push_back({cmd, [&ctx, o, tags, type, meta]() -> int {
                   UpdateRequest req;
                   req.content_hash = o->hash;
                   if (tags->count() == 0 && type->count() == 0 && meta->count() == 0) {
                     return usage_error("nothing to update: give --tags, --type or --metadata");
                   }
                   if (tags->count()) req.tags = split_tag_list(o->tags);
                   if (type->count()) req.memory_type = o->type;
                   if (meta->count()) {
                     auto m = parse_metadata_flag(o->metadata);
                     if (!m.is_ok()) return usage_error(m.status().message());
                     req.metadata = std::move(m).value();
                   }
                   return with_service(ctx, [&](MemoryService& service) {
                     auto r = service.update(req);
                     if (!r.is_ok()) return report_error(r.status());
                     if (ctx.json) {
                       print_json({{"success", true},
                                   {"message", "Memory updated"},
                                   {"content_hash", r->content_hash},
                                   {"memory", memory_json(*r)}});
                     } else {
                       std::cout << "Memory updated (hash: " << r->content_hash << ")\n";
                     }
                     return kExitOk;
                   });
                 }});
}

void add_delete(CLI::App& app, CliContext& ctx, std::vector<Command>& out) {
  struct Opts {
    std::string hash, before, after;
    TagOptions tags;
    bool dry_run = false;
  };
  auto o = std::make_shared<Opts>();
  CLI::App* cmd = app.add_subcommand(
      "delete", "Delete memories by hash, tags or time window (tombstoned, so deletes sync)");
  cmd->add_option("hash", o->hash, "Content hash of one memory");
  o->tags.add(cmd, "Delete memories with these tags");
  cmd->add_option("--before", o->before, "Delete memories created before this date");
  cmd->add_option("--after", o->after, "Delete memories created on or after this date");
  cmd->add_flag("--dry-run", o->dry_run, "Show what would be deleted, change nothing");
  out.push_back({cmd, [&ctx, o]() -> int {
                   DeleteRequest req;
                   req.dry_run = o->dry_run;
                   bool has_filter =
                       !o->tags.tags.empty() || !o->before.empty() || !o->after.empty();
                   if (!o->hash.empty() && has_filter) {
                     return usage_error(
                         "give either a hash or filters (--tags, --before, --after), not both");
                   }
                   if (o->hash.empty() && !has_filter) {
                     return usage_error(
                         "refusing to delete without a filter: give a hash, --tags, --before or "
                         "--after");
                   }
                   if (!o->hash.empty()) req.content_hash = o->hash;
                   req.tags = o->tags.list();
                   req.match_all_tags = o->tags.all();
                   if (!o->before.empty()) {
                     auto t = parse_date_flag("--before", o->before);
                     if (!t.is_ok()) return usage_error(t.status().message());
                     req.before = *t;
                   }
                   if (!o->after.empty()) {
                     auto t = parse_date_flag("--after", o->after);
                     if (!t.is_ok()) return usage_error(t.status().message());
                     req.after = *t;
                   }
                   return with_service(ctx, [&](MemoryService& service) {
                     auto r = service.remove(req);
                     if (!r.is_ok()) return report_error(r.status());
                     if (ctx.json) {
                       print_json({{"success", true},
                                   {"dry_run", r->dry_run},
                                   {"deleted", r->dry_run ? 0 : r->count},
                                   {"matched", r->content_hashes.size()},
                                   {"content_hashes", r->content_hashes}});
                     } else if (r->dry_run) {
                       std::cout << "Would delete " << r->content_hashes.size() << " memories\n";
                       for (const auto& h : r->content_hashes) std::cout << "  " << h << "\n";
                     } else {
                       std::cout << "Deleted " << r->count << " memories\n";
                     }
                     return kExitOk;
                   });
                 }});
}

void add_stats(CLI::App& app, CliContext& ctx, std::vector<Command>& out) {
  auto by_source = std::make_shared<bool>(false);
  CLI::App* cmd = app.add_subcommand("stats", "Database statistics");
  cmd->add_flag("--by-source", *by_source, "Count memories per source:<machine> tag");
  out.push_back({cmd, [&ctx, by_source]() -> int {
                   return with_service(ctx, [&](MemoryService& service) {
                     auto r = service.stats(*by_source);
                     if (!r.is_ok()) return report_error(r.status());
                     if (ctx.json) {
                       print_json(stats_json(*r, ctx.config.db_path, *by_source));
                     } else {
                       std::cout << stats_text(*r, ctx.config.db_path, *by_source);
                     }
                     return kExitOk;
                   });
                 }});
}

void add_tags(CLI::App& app, CliContext& ctx, std::vector<Command>& out) {
  CLI::App* cmd = app.add_subcommand("tags", "All tags with how many memories carry each");
  out.push_back({cmd, [&ctx]() -> int {
                   return with_service(ctx, [&](MemoryService& service) {
                     auto r = service.tags();
                     if (!r.is_ok()) return report_error(r.status());
                     if (ctx.json) {
                       OJson tags = OJson::array();
                       for (const TagCount& t : *r)
                         tags.push_back({{"tag", t.tag}, {"count", t.count}});
                       print_json({{"tags", tags}});
                     } else {
                       std::cout << tags_text(*r);
                     }
                     return kExitOk;
                   });
                 }});
}

}  // namespace

void add_memory_commands(CLI::App& app, CliContext& ctx, std::vector<Command>& out) {
  add_store(app, ctx, out);
  add_search(app, ctx, out);
  add_list(app, ctx, out);
  add_get(app, ctx, out);
  add_update(app, ctx, out);
  add_delete(app, ctx, out);
  add_stats(app, ctx, out);
  add_tags(app, ctx, out);
}

}  // namespace mcpmem::cli
