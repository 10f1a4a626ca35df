// Export and import on real databases: round trips to the microsecond, the Python service's
// formats (written by hand following its exporter and dashboard), the merge rule (updates,
// concurrent updates with the loser kept, tombstones that old files cannot undo), dry runs
// that count exactly, and bad files that change nothing and name the record and field.
#include <gtest/gtest.h>
#include <sys/resource.h>

#include <filesystem>
#include <fstream>
#include <latch>
#include <sstream>
#include <thread>

#include "../deep_json.h"
#include "../temp_dir.h"
#include "core/content_hash.h"
#include "service/version_json.h"
#include "sync/export_file.h"
#include "sync/import_file.h"
#include "sync_test_util.h"

namespace mcpmem {
namespace {

namespace fs = std::filesystem;

class SyncFilesTest : public ::testing::Test {
 protected:
  std::unique_ptr<MemoryService> node(const std::string& name) {
    return testing_util::open_node(dir_.path(), name);
  }

  std::string store(MemoryService& s, const std::string& content, std::vector<std::string> tags,
                    const std::string& type = "", Json meta = Json::object()) {
    StoreRequest r;
    r.content = content;
    r.tags = std::move(tags);
    r.memory_type = type;
    r.metadata = std::move(meta);
    r.allow_duplicate = true;
    auto out = s.store(r);
    EXPECT_TRUE(out.is_ok() && out->success);
    return out.is_ok() ? out->content_hash : "";
  }

  std::string export_to(MemoryService& s, const std::string& file, bool deleted = true) {
    ExportOptions o;
    o.include_deleted = deleted;
    o.source_machine = s.node_name();
    std::ofstream out(dir_ / file);
    auto r = write_export(s, o, out);
    EXPECT_TRUE(r.is_ok()) << r.status().message();
    return dir_ / file;
  }

  std::string write_file(const std::string& name, const std::string& text) {
    std::ofstream(dir_ / name) << text;
    return dir_ / name;
  }

  ImportReport import(MemoryService& s, const std::string& path, ImportOptions o = {},
                      bool expect_ok = true) {
    ImportReport report;
    Status st = import_file(s, path, o, report);
    EXPECT_EQ(st.is_ok(), expect_ok) << st.message();
    last_error_ = st.message();
    return report;
  }

  // Every row, tombstones too, by hash.
  std::map<std::string, Memory> rows(MemoryService& s) {
    std::map<std::string, Memory> out;
    ScanOptions o;
    o.tombstones = true;
    EXPECT_TRUE(s.scan_memories(o, [&](const Memory& m, std::span<const float>) {
                   out[m.content_hash] = m;
                   return true;
                 }).is_ok());
    return out;
  }

  TempDir dir_{"sync"};
  std::string last_error_;
};

TEST_F(SyncFilesTest, ExportThenImportIntoAnEmptyDatabaseGivesIdenticalRows) {
  auto a = node("laptop");
  store(*a, "Deploy on Fridays is banned", {"ops", "deploy"}, "decision",
        {{"priority", 2}, {"nested", {{"k", "v"}}}});
  const std::string h2 = store(*a, "Unicode: Grüße, 東京, emoji 🙂", {"intl"});
  const std::string h3 = store(*a, "to be deleted", {"tmp"});
  UpdateRequest u;
  u.content_hash = h2;
  u.tags = std::vector<std::string>{"intl", "edited"};
  ASSERT_TRUE(a->update(u).is_ok());
  DeleteRequest d;
  d.content_hash = h3;
  ASSERT_TRUE(a->remove(d).is_ok());
  const std::string file = export_to(*a, "a.json");

  auto b = node("hub");
  ImportOptions o;
  o.source_tags = false;
  ImportReport r = import(*b, file, o);
  EXPECT_EQ(r.format, "mcp-memory");
  EXPECT_EQ(r.counts.added, 2);
  EXPECT_EQ(r.counts.tombstones, 1);
  auto want = rows(*a), got = rows(*b);
  ASSERT_EQ(want.size(), 3u);
  ASSERT_EQ(got.size(), want.size());
  for (const auto& [hash, m] : want) {
    const Memory& g = got[hash];
    if (!m.is_deleted()) {
      EXPECT_EQ(g.content, m.content);
    }
    EXPECT_EQ(g.tags, m.tags);
    EXPECT_EQ(g.memory_type, m.memory_type);
    EXPECT_EQ(g.metadata, m.metadata);
    EXPECT_EQ(g.created_at, m.created_at);  // exact: the JSON numbers round-trip
    EXPECT_EQ(g.updated_at, m.updated_at);
    EXPECT_EQ(g.deleted_at, m.deleted_at);
    EXPECT_EQ(g.hlc, m.hlc);
    EXPECT_EQ(g.origin, m.origin);
  }
  // Searchable on the importing side.
  SearchRequest q;
  q.query = "deploy fridays";
  auto hits = b->search(q);
  ASSERT_TRUE(hits.is_ok());
  ASSERT_FALSE(hits->results.empty());
  EXPECT_EQ(hits->results[0].memory.content, "Deploy on Fridays is banned");
  // Importing again changes nothing.
  ImportReport again = import(*b, file, o);
  EXPECT_EQ(again.counts.unchanged, 3);
  EXPECT_EQ(again.counts.added + again.counts.updated + again.counts.conflicts, 0);
}

TEST_F(SyncFilesTest, EmbeddingsInAnExportAreTheStoredVectors) {
  auto a = node("laptop");
  const std::string hash = store(*a, "exported with its vector", {"x"});
  ExportOptions o;
  o.include_embeddings = true;
  std::ostringstream out;
  ASSERT_TRUE(write_export(*a, o, out).is_ok());
  Json file = Json::parse(out.str());
  ASSERT_EQ(file["memories"].size(), 1u);
  const Json& embedding = file["memories"][0]["embedding"];
  ASSERT_TRUE(embedding.is_array()) << file["memories"][0].dump();
  EXPECT_EQ(embedding.get<std::vector<float>>(), a->embedder().embed("exported with its vector"));
  EXPECT_EQ(file["export_metadata"]["embedding_model"], "hash-384");
  EXPECT_EQ(file["memories"][0]["content_hash"], hash);
}

TEST_F(SyncFilesTest, ExportHasEveryKeyThePythonImporterReads) {
  auto a = node("laptop");
  store(*a, "one memory", {"x"});
  std::ifstream in(export_to(*a, "a.json", /*deleted=*/false));
  Json j = Json::parse(in);
  for (const char* key : {"source_machine", "export_timestamp", "total_memories", "database_path",
                          "platform", "include_embeddings", "filter_tags", "exporter_version"}) {
    EXPECT_TRUE(j["export_metadata"].contains(key)) << key;
  }
  EXPECT_EQ(j["export_metadata"]["total_memories"], 1);
  ASSERT_EQ(j["memories"].size(), 1u);
  for (const char* key : {"content", "content_hash", "tags", "created_at", "updated_at",
                          "memory_type", "metadata", "export_source"}) {
    EXPECT_TRUE(j["memories"][0].contains(key)) << key;
  }
  EXPECT_TRUE(j["memories"][0]["tags"].is_array());
  EXPECT_TRUE(j["memories"][0]["created_at"].is_number_float());
  EXPECT_FALSE(j.contains("tombstones"));
}

TEST_F(SyncFilesTest, PythonCliExportImportsWithSourceTagsAndTimestamps) {
  const std::string content = "Python service memory about the release train";
  const std::string hash = *content_hash(content);
  // As scripts/sync/export_memories.py writes it (json.dump(indent=2, ensure_ascii=False)).
  const std::string file = write_file("windows_memories.json", R"({
  "export_metadata": {
    "source_machine": "windows-pc",
    "export_timestamp": "2025-08-12T10:15:30.123456",
    "total_memories": 1,
    "database_path": "C:\\Users\\me\\AppData\\Local\\mcp-memory\\sqlite_vec.db",
    "platform": "Windows",
    "python_version": "3.12.3",
    "include_embeddings": false,
    "filter_tags": null,
    "exporter_version": "5.0.1"
  },
  "memories": [
    {
      "content": ")" + content + R"(",
      "content_hash": ")" + hash + R"(",
      "tags": ["release", "claude-code"],
      "created_at": 1754993730.25,
      "updated_at": 1754993799.5,
      "memory_type": "note",
      "metadata": {"source_type": "conversation"},
      "export_source": "windows-pc"
    }
  ]
})");
  auto hub = node("hub");
  ImportReport r = import(*hub, file);
  EXPECT_EQ(r.format, "python-cli");
  EXPECT_EQ(r.source_machine, "windows-pc");
  EXPECT_EQ(r.counts.added, 1);
  auto got = hub->get(hash);
  ASSERT_TRUE(got.is_ok() && got->has_value());
  const Memory& m = **got;
  EXPECT_EQ(m.tags, (std::vector<std::string>{"release", "claude-code", "source:windows-pc"}));
  EXPECT_EQ(m.created_at, 1754993730.25);
  EXPECT_EQ(m.updated_at, 1754993799.5);
  EXPECT_EQ(m.memory_type, "note");
  EXPECT_EQ(m.metadata["source_type"], "conversation");
  auto stats = hub->stats(/*by_source=*/true);
  ASSERT_EQ(stats->sources.size(), 1u);
  EXPECT_EQ(stats->sources[0].tag, "windows-pc");
  // Imported twice (say, on the hub and on a laptop), the same file gives the same version.
  auto laptop = node("laptop");
  import(*laptop, file);
  EXPECT_EQ((*laptop->get(hash))->hlc, m.hlc);
}

TEST_F(SyncFilesTest, DashboardExportAndBareArrayImport) {
  const std::string c1 = "from the dashboard", c2 = "from an emergency export";
  const std::string dash =
      write_file("dash.json", R"({"export_date": "2025-08-12T10:15:30.000Z",
    "total_memories": 1, "exported_memories": 1, "memories": [{"content": ")" +
                                  c1 + R"(", "content_hash": ")" + *content_hash(c1) +
                                  R"(", "tags": ["ui"], "memory_type": null,
    "metadata": {}, "created_at": 1754993730.0, "created_at_iso": "2025-08-12T10:15:30Z",
    "updated_at": 1754993730.0, "updated_at_iso": "2025-08-12T10:15:30Z"}]})");
  const std::string array =
      write_file("array.json", R"([{"hash": ")" + *content_hash(c2) + R"(", "content": ")" + c2 +
                                   R"(", "created_at": 1754993730.5, "metadata": "{\"a\": 1}",
    "tags": "x,y"}])");
  std::ifstream orig(dash);
  std::string original((std::istreambuf_iterator<char>(orig)), {});
  auto hub = node("hub");
  ImportReport r1 = import(*hub, dash);
  EXPECT_EQ(r1.format, "python-dashboard");
  EXPECT_EQ(r1.counts.added, 1);
  ImportReport r2 = import(*hub, array);
  EXPECT_EQ(r2.format, "array");
  EXPECT_EQ(r2.counts.added, 1);
  auto m2 = hub->get(*content_hash(c2));
  ASSERT_TRUE(m2.is_ok() && m2->has_value());
  EXPECT_EQ((*m2)->metadata["a"], 1);
  // Unlike the Python importer, the input file is never rewritten.
  std::ifstream after(dash);
  EXPECT_EQ(std::string((std::istreambuf_iterator<char>(after)), {}), original);
}

TEST_F(SyncFilesTest, NewerVersionsWinAndConcurrentLosersAreKept) {
  auto a = node("alpha"), b = node("beta");
  const std::string h = store(*a, "shared memory", {"t0"});
  ImportOptions no_tags;
  no_tags.source_tags = false;
  import(*b, export_to(*a, "v1.json"), no_tags);

  // A sequential edit on alpha fast-forwards beta: no conflict.
  UpdateRequest u;
  u.content_hash = h;
  u.tags = std::vector<std::string>{"t1"};
  ASSERT_TRUE(a->update(u).is_ok());
  ImportReport ff = import(*b, export_to(*a, "v2.json"), no_tags);
  EXPECT_EQ(ff.counts.updated, 1);
  EXPECT_EQ(ff.counts.conflicts, 0);

  // Concurrent edits: tags on both sides merge; the type set on both sides conflicts, and the
  // later edit (alpha's) wins everywhere.
  UpdateRequest ub = u, ua = u;
  ub.tags = std::vector<std::string>{"t1", "beta-edit"};
  ub.memory_type = "beta-type";
  ASSERT_TRUE(b->update(ub).is_ok());
  std::this_thread::sleep_for(std::chrono::milliseconds(5));
  ua.tags = std::vector<std::string>{"alpha-edit"};  // t1 removed: beta never saw that
  ua.memory_type = "alpha-type";
  ASSERT_TRUE(a->update(ua).is_ok());
  const std::string from_a = export_to(*a, "a3.json"), from_b = export_to(*b, "b3.json");
  ImportReport on_b = import(*b, from_a, no_tags);
  ImportReport on_a = import(*a, from_b, no_tags);
  EXPECT_EQ(on_b.counts.merged, 1);
  EXPECT_EQ(on_b.counts.conflicts, 1);
  EXPECT_EQ(on_a.counts.merged, 1);
  EXPECT_EQ(on_a.counts.conflicts, 1);
  for (MemoryService* s : {a.get(), b.get()}) {
    auto m = s->get(h);
    EXPECT_EQ((*m)->tags, (std::vector<std::string>{"alpha-edit", "beta-edit"}));
    EXPECT_EQ((*m)->memory_type, "alpha-type");
    auto c = s->conflicts(false, 10);
    ASSERT_EQ(c->size(), 1u);
    EXPECT_EQ(c->front().fields, "memory_type");
    EXPECT_NE(c->front().loser.find("beta-type"), std::string::npos);
    EXPECT_NE(c->front().winner.find("alpha-type"), std::string::npos);
  }
  EXPECT_EQ((*a->get(h))->hlc, (*b->get(h))->hlc);
  // Merged once: the same files again change nothing and log nothing.
  for (auto [target, file] : {std::pair{b.get(), from_a}, std::pair{a.get(), from_b}}) {
    ApplyCounts again = import(*target, file, no_tags).counts;
    EXPECT_EQ(again.kept_local, 1);  // the merged version has seen the file's
    EXPECT_EQ(again.conflicts, 0);
  }
  EXPECT_EQ(*a->count_conflicts(false) + *b->count_conflicts(false), 2);

  // Keeping the loser makes it a new edit, which wins once it travels. Two resolves at once
  // (two processes on beta's file): exactly one happens, the other is told it was done.
  auto c = b->conflicts(false, 10);
  auto b2 = node("beta");
  Status first, second;
  std::latch go(2);
  std::thread other([&] {
    go.arrive_and_wait();
    second = b2->resolve_conflict(c->front().id, "loser");
  });
  go.arrive_and_wait();
  first = b->resolve_conflict(c->front().id, "loser");
  other.join();
  EXPECT_NE(first.is_ok(), second.is_ok()) << first.message() << " / " << second.message();
  const Status& refused = first.is_ok() ? second : first;
  EXPECT_EQ(refused.code(), StatusCode::kFailedPrecondition) << refused.message();
  b2.reset();
  EXPECT_EQ((*b->get(h))->memory_type, "beta-type");
  EXPECT_EQ(*b->count_conflicts(true), 0);
  ImportReport back = import(*a, export_to(*b, "b4.json"), no_tags);
  EXPECT_EQ(back.counts.updated, 1);
  EXPECT_EQ(back.counts.conflicts, 0);
  EXPECT_EQ((*a->get(h))->memory_type, "beta-type");
  EXPECT_EQ((*a->get(h))->tags, (std::vector<std::string>{"alpha-edit", "beta-edit"}));
}

TEST_F(SyncFilesTest, DeletesTravelAndOldExportsDoNotResurrect) {
  auto a = node("alpha"), b = node("beta");
  const std::string h = store(*a, "soon gone", {"x"});
  store(*a, "stays", {"x"});
  const std::string old_export = export_to(*a, "old.json", /*deleted=*/false);
  import(*b, old_export);
  DeleteRequest d;
  d.content_hash = h;
  ASSERT_TRUE(a->remove(d).is_ok());
  ImportReport r = import(*b, export_to(*a, "new.json"));
  EXPECT_EQ(r.counts.deleted, 1);
  EXPECT_FALSE(b->get(h)->has_value());
  ImportReport replay = import(*b, old_export);
  EXPECT_EQ(replay.counts.kept_local, 1);
  EXPECT_FALSE(b->get(h)->has_value());
  // Nor does a Python-format copy of it (no version: its updated_at is older than the delete).
  auto empty = node("gamma");
  import(*empty, old_export);
  import(*empty, export_to(*a, "new2.json"));
  EXPECT_FALSE(empty->get(h)->has_value());
}

TEST_F(SyncFilesTest, DryRunCountsExactlyWhatARealRunDoes) {
  auto a = node("alpha"), b = node("beta");
  for (int i = 0; i < 50; ++i) store(*a, "memory number " + std::to_string(i), {"n"});
  store(*b, "memory number 7", {"n"});
  const std::string file = export_to(*a, "a.json");
  ImportOptions dry;
  dry.dry_run = true;
  ImportReport would = import(*b, file, dry);
  EXPECT_FALSE(would.committed);
  EXPECT_EQ(b->stats()->storage.total_memories, 1);
  ImportReport did = import(*b, file);
  EXPECT_TRUE(did.committed);
  EXPECT_EQ(would.counts.added, did.counts.added);
  EXPECT_EQ(would.counts.updated, did.counts.updated);
  EXPECT_EQ(would.counts.kept_local, did.counts.kept_local);
  EXPECT_EQ(would.counts.conflicts, did.counts.conflicts);
  EXPECT_EQ(did.counts.total(), 50);
  EXPECT_EQ(b->stats()->storage.total_memories, 50);
}

// Issue 13: a dry run over several files counted each against the unchanged database ("new 55,
// conflicts 0"; the real run then did "new 52, updated 3, conflicts 3"). Now the files apply one
// after the other inside one transaction that is rolled back. Re-importing then changes nothing,
// and records that already name a source get no second source tag.
TEST_F(SyncFilesTest, ADryRunOverSeveralFilesCountsExactlyWhatTheRealRunDoes) {
  auto hub = node("hub");
  auto python_file = [&](const std::string& name, const std::string& machine, int from, int to,
                         const std::string& tag) {
    std::string text =
        R"({"export_metadata": {"source_machine": ")" + machine + R"("}, "memories": [)";
    for (int i = from; i < to; ++i) {
      if (i > from) text += ",";
      text += R"({"content": "shared memory )" + std::to_string(i) + R"(", "tags": [")" + tag +
              R"("], "created_at": )" + std::to_string(1765000000 + i) + "}";
    }
    return write_file(name, text + "]}");
  };
  const std::vector<std::string> files = {
      python_file("windows.json", "windows-pc", 0, 30, "from-windows"),
      dir_ / "missing.json",  // fails on its own; the others still count
      python_file("macbook.json", "macbook", 25, 55, "from-mac"),  // 5 overlap
      python_file("windows-again.json", "windows-pc", 0, 30, "from-windows")};
  ImportOptions dry;
  dry.dry_run = true;
  std::vector<ImportReport> would, did;
  std::vector<Status> would_st = import_files(*hub, files, dry, would);
  EXPECT_EQ(hub->stats()->storage.total_memories, 0);
  std::vector<Status> did_st = import_files(*hub, files, {}, did);
  for (size_t i = 0; i < files.size(); ++i) {
    SCOPED_TRACE(files[i]);
    EXPECT_EQ(would_st[i].is_ok(), did_st[i].is_ok());
    EXPECT_FALSE(would[i].committed);
    EXPECT_EQ(apply_counts_json(would[i].counts), apply_counts_json(did[i].counts));
  }
  EXPECT_FALSE(did_st[1].is_ok());
  EXPECT_EQ(did[0].counts.added, 30);
  EXPECT_EQ(did[2].counts.added, 25);
  EXPECT_EQ(did[2].counts.merged, 5);  // the same text from two machines: merged, no conflict
  EXPECT_EQ(did[2].counts.conflicts, 0);
  EXPECT_EQ(did[3].counts.unchanged, 25);  // the same file again changes nothing
  EXPECT_EQ(did[3].counts.kept_local, 5);  // (the merged five have seen its versions)
  EXPECT_EQ(did[3].counts.added + did[3].counts.updated + did[3].counts.merged, 0);
  EXPECT_EQ(*hub->count_conflicts(false), 0);
  auto overlap = hub->get(*content_hash("shared memory 27"));
  EXPECT_EQ((*overlap)->tags, (std::vector<std::string>{"from-mac", "from-windows",
                                                        "source:macbook", "source:windows-pc"}));
  EXPECT_EQ((*overlap)->created_at, 1765000027);

  // The hub's own export, imported on a laptop: every record already names its source.
  auto laptop = node("laptop");
  ImportReport from_hub = import(*laptop, export_to(*hub, "hub.json"));
  EXPECT_EQ(from_hub.counts.added, 55);
  auto stats = laptop->stats(/*by_source=*/true);
  int64_t source_tags = 0;
  for (const TagCount& t : stats->sources) source_tags += t.count;
  EXPECT_EQ(source_tags, 60);  // 55 memories, 5 of them from both machines; no "source:hub"
}

TEST_F(SyncFilesTest, NodesHoldingTheSameDataReportTheSameDigestAndLastModified) {
  auto a = node("alpha"), b = node("beta");
  const std::string h = store(*a, "kept on both", {"x"});
  store(*a, "deleted on both", {"x"});
  DeleteRequest d;
  d.content_hash = *content_hash("deleted on both");
  ASSERT_TRUE(a->remove(d).is_ok());
  std::this_thread::sleep_for(std::chrono::milliseconds(20));  // b applies later than a wrote
  import(*b, export_to(*a, "a.json", /*deleted=*/true));
  auto da = a->data_digest(), db = b->data_digest();
  ASSERT_TRUE(da.is_ok() && db.is_ok());
  EXPECT_EQ(da->alive, 1);
  EXPECT_EQ(da->tombstones, 1);
  EXPECT_EQ(da->hash, db->hash);
  EXPECT_EQ(a->stats()->storage.last_modified, b->stats()->storage.last_modified);
  EXPECT_GT(b->stats()->storage.last_applied, a->stats()->storage.last_applied);
  UpdateRequest u;
  u.content_hash = h;
  u.tags = std::vector<std::string>{"y"};
  ASSERT_TRUE(b->update(u).is_ok());
  EXPECT_NE(b->data_digest()->hash, da->hash);
}

TEST_F(SyncFilesTest, BadFilesChangeNothingAndNameTheRecordAndField) {
  auto b = node("beta");
  const std::string good = R"({"content": "fine", "content_hash": ")" + *content_hash("fine") +
                           R"(", "tags": [], "created_at": 1.5})";
  struct Case {
    std::string name, text, expect;
  };
  const std::vector<Case> cases = {
      {"truncated", R"({"export_metadata": {}, "memories": [)" + good + R"(, {"content": "x)",
       "malformed JSON"},
      {"wrong type",
       R"({"memories": [)" + good +
           R"(, {"content": "y", "tags": [], "created_at": "yesterday"}]})",
       "memories[1]: field 'created_at'"},
      {"tags not strings", R"({"memories": [{"content": "z", "tags": [1], "created_at": 1}]})",
       "memories[0]: field 'tags'"},
      {"hash mismatch",
       R"({"memories": [{"content": "abc", "content_hash": ")" + std::string(64, 'a') +
           R"(", "created_at": 1}]})",
       "memories[0]: field 'content_hash': does not match"},
      {"duplicate hash", R"({"memories": [)" + good + "," + good + "]}",
       "memories[1]: field 'content_hash'"},
      {"not an export", R"({"something": []})", "no \"memories\" array"},
      {"garbage", "\x01\x02 not json", "malformed JSON"},
      {"empty file", "", "malformed JSON"},
  };
  for (const Case& c : cases) {
    ImportReport r = import(*b, write_file("bad.json", c.text), {}, /*expect_ok=*/false);
    EXPECT_NE(last_error_.find(c.expect), std::string::npos) << c.name << ": " << last_error_;
    EXPECT_FALSE(r.committed) << c.name;
    EXPECT_EQ(b->stats()->storage.total_memories, 0) << c.name;
  }
  // --trust-hashes takes the file's word for it.
  ImportOptions trust;
  trust.trust_hashes = true;
  import(*b, write_file("trusted.json", cases[3].text), trust);
  EXPECT_EQ(b->stats()->storage.total_memories, 1);
}

// Issue 15: JSON 60,000 levels deep overflowed the stack once a record was copied or printed.
// The streaming reader stops at the 65th level, names the file, and imports nothing.
TEST_F(SyncFilesTest, JsonNestedHundredThousandDeepIsRefusedNamingTheFile_Issue15) {
  auto b = node("beta");
  const std::string arrays = testing_json::deep_arrays(100'000);
  const std::string objects = testing_json::deep_objects(100'000);
  const std::string good = R"({"content": "fine", "content_hash": ")" + *content_hash("fine") +
                           R"(", "tags": [], "created_at": 1.5})";
  const std::vector<std::string> files = {
      arrays,   // the whole file
      objects,  // the whole file
      R"({"memories": [)" + good + R"(, {"content": "x", "created_at": 1, "metadata": )" + objects +
          "}]}",
      R"({"export_metadata": {"note": )" + arrays + R"(}, "memories": []})",
  };
  for (size_t i = 0; i < files.size(); ++i) {
    const std::string path = write_file("deep" + std::to_string(i) + ".json", files[i]);
    ImportReport r = import(*b, path, {}, /*expect_ok=*/false);
    EXPECT_EQ(last_error_.rfind(path + ": JSON nested deeper than 64 levels", 0), 0u)
        << i << ": " << last_error_;
    EXPECT_FALSE(r.committed);
    EXPECT_EQ(b->stats()->storage.total_memories, 0);
  }
}

TEST_F(SyncFilesTest, AOneGigabyteFileWithAHugeRecordFailsInBoundedMemoryAndChangesNothing) {
  auto b = node("beta");
  const std::string path = dir_ / "1gb.json";
  {
    // Two good records, then one whose content runs to the end of a 1 GiB file.
    std::ofstream out(path);
    out << R"({"export_metadata": {"source_machine": "big"}, "memories": [)";
    for (const char* c : {"first good record", "second good record"}) {
      out << R"({"content": ")" << c << R"(", "content_hash": ")" << *content_hash(c)
          << R"(", "created_at": 1, "updated_at": 1},)";
    }
    out << R"({"content": ")";
    const std::string chunk(1 << 20, 'a');
    while (out.tellp() < (std::streamoff{1} << 30)) out << chunk;
    out << R"(", "created_at": 1}]})";
  }
  ASSERT_GE(fs::file_size(path), uintmax_t{1} << 30);
  import(*b, path, {}, /*expect_ok=*/false);  // the default cap: 64 MiB per record
  EXPECT_NE(last_error_.find("record 2 is larger than the limit"), std::string::npos)
      << last_error_;
  EXPECT_NE(last_error_.find("nothing from this file was imported"), std::string::npos);
  EXPECT_EQ(b->stats()->storage.total_memories, 0);  // not even the two good ones
#ifndef MCP_SANITIZED  // a sanitizer's shadow memory counts in the peak RSS
  rusage usage{};
  getrusage(RUSAGE_SELF, &usage);
  EXPECT_LT(usage.ru_maxrss, 512 * 1024) << "KiB: the record was read into memory";
#endif
  fs::remove(path);
}

}  // namespace
}  // namespace mcpmem
