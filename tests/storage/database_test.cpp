// Database on real files, one connection: schema and reopen, reads, filters and paging,
// tombstones (#644), keyword and substring search, the change log, stats, transactions and
// rollback, embeddings, schema versions, and files that are not databases.
#include "storage/database.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <fstream>
#include <map>
#include <random>
#include <sstream>
#include <stdexcept>

#include "core/time_format.h"
#include "storage_test_util.h"

namespace mcpmem {
namespace {

namespace fs = std::filesystem;
using testing_util::RawConnection;
using testing_util::tombstone_hashes;

class DatabaseTest : public testing_util::StorageTest {};

TEST_F(DatabaseTest, CreatesSchemaAndReopensIdempotently) {
  {
    auto db = open();
    ASSERT_TRUE(db);
    ASSERT_TRUE(db->insert_memory(memory("first", {"a"}, 1), {}).is_ok());
  }
  RawConnection raw(path_);
  const int64_t objects = raw.one("SELECT COUNT(*) FROM sqlite_master");
  auto db = open();
  ASSERT_TRUE(db);
  EXPECT_EQ(raw.one("PRAGMA user_version"), 5);
  EXPECT_EQ(raw.text("PRAGMA journal_mode"), "wal");
  EXPECT_EQ(raw.one("SELECT COUNT(*) FROM sqlite_master"), objects);  // nothing added twice
  EXPECT_EQ(raw.one("SELECT COUNT(*) FROM sqlite_master WHERE name IN ('memories','meta',"
                    "'memory_vectors','memory_tags','memories_fts','changes','metadata')"),
            7);
  EXPECT_EQ(raw.one("SELECT COUNT(*) FROM pragma_table_info('memories') WHERE name IN "
                    "('parent_id','version','confidence','last_accessed','superseded_by','hlc',"
                    "'origin','deleted_at')"),
            8);
  // What the Python service needs to open our file, and nothing that would mislead it.
  EXPECT_EQ(raw.text("SELECT group_concat(key || '=' || value) FROM metadata"),
            "distance_metric=cosine");
  EXPECT_EQ(*db->last_change_seq(), 1);  // reopening wrote no change entries
  ASSERT_TRUE(db->set_meta("embedding_model", "hash-384").is_ok());
  EXPECT_EQ(**db->get_meta("embedding_model"), "hash-384");
  EXPECT_FALSE(db->get_meta("nothing")->has_value());
  EXPECT_EQ(*db->integrity_check(), "ok");
}

TEST_F(DatabaseTest, InsertThenReadEveryField) {
  auto db = open();
  Memory m = memory("Postgres 16 needs pgvector 0.7", {"infra", "postgres"}, 1795574951.304647);
  m.updated_at = 1795574960.5;
  m.metadata = {{"source", "laptop"}, {"n", 3}};
  auto id = db->insert_memory(m, std::vector<float>{0.25f, -1.5f});
  ASSERT_TRUE(id.is_ok()) << id.status().message();
  EXPECT_EQ(db->insert_memory(memory("POSTGRES 16 needs pgvector 0.7 ", {}, 2), {}).status().code(),
            StatusCode::kAlreadyExists);  // same content hash

  auto got = db->get_by_hash(m.content_hash);
  ASSERT_TRUE(got.is_ok() && got->has_value());
  const Memory& r = **got;
  EXPECT_EQ(r.id, *id);
  EXPECT_EQ(r.content, m.content);
  EXPECT_EQ(r.tags, (std::vector<std::string>{"infra", "postgres"}));
  EXPECT_EQ(r.memory_type, "note");
  EXPECT_EQ(r.metadata, m.metadata);
  EXPECT_DOUBLE_EQ(r.created_at, 1795574951.304647);
  EXPECT_DOUBLE_EQ(r.updated_at, 1795574960.5);
  EXPECT_FALSE(r.deleted_at.has_value());
  EXPECT_EQ(r.hlc, m.hlc);
  EXPECT_EQ(r.origin, "test-node");
  RawConnection raw(path_);
  EXPECT_EQ(raw.text("SELECT created_at_iso || ' ' || updated_at_iso || ' ' || tags FROM memories"),
            "2026-11-25T02:49:11.304647Z 2026-11-25T02:49:20.500000Z infra,postgres");
  EXPECT_EQ(**db->get_embedding(*id, 2), (std::vector<float>{0.25f, -1.5f}));
}

TEST_F(DatabaseTest, TagFiltersMatchWholeTagsOnly) {
  auto db = open();
  ASSERT_TRUE(db->insert_memory(memory("alpha", {"test", "a"}, 100), {}).is_ok());
  ASSERT_TRUE(db->insert_memory(memory("beta", {"testing"}, 200, "decision"), {}).is_ok());
  ASSERT_TRUE(db->insert_memory(memory("gamma", {"my-test-tag", "a"}, 300), {}).is_ok());
  auto count = [&](std::vector<std::string> tags, bool all) {
    MemoryFilter f;
    f.tags = std::move(tags);
    f.match_all_tags = all;
    return *db->count(f);
  };
  EXPECT_EQ(count({"test"}, false), 1);  // not "testing", not "my-test-tag"
  EXPECT_EQ(count({"testing"}, false), 1);
  EXPECT_EQ(count({"tes"}, false), 0);
  EXPECT_EQ(count({"test", "testing"}, false), 2);
  EXPECT_EQ(count({"a", "test"}, true), 1);
  EXPECT_EQ(count({"a", "test", "test"}, true), 1);  // a repeated tag counts once
  EXPECT_EQ(count({"a", "missing"}, true), 0);
  EXPECT_EQ(count({" Test "}, false), 1);  // matched as stored: trimmed, ASCII-lowercased
  EXPECT_EQ(count({""}, false), 0);
  MemoryFilter both;
  both.tags = {"a"};
  both.memory_type = "note";
  EXPECT_EQ(db->ids_matching(both)->size(), 2u);
  EXPECT_EQ((*db->tag_counts())[0].tag, "a");
  EXPECT_EQ((*db->tag_counts())[0].count, 2);
}

TEST_F(DatabaseTest, TypeAndTimeFiltersWithInclusiveBounds) {
  auto db = open();
  for (int i = 1; i <= 5; ++i) {
    ASSERT_TRUE(
        db->insert_memory(
              memory("row " + std::to_string(i), {"t"}, i * 100.0, i % 2 ? "note" : "decision"), {})
            .is_ok());
  }
  MemoryFilter window;
  window.created_after = 200;
  window.created_before = 400;
  EXPECT_EQ(*db->count(window), 3);  // 200, 300, 400
  window.created_after = 200.000001;
  EXPECT_EQ(*db->count(window), 2);
  MemoryFilter type;
  type.memory_type = "decision";
  EXPECT_EQ(*db->count(type), 2);
  type.created_before = 200;
  auto rows = db->list(type, ListOrder::kCreatedDesc, 0, 10);
  ASSERT_EQ(rows->size(), 1u);
  EXPECT_EQ((*rows)[0].content, "row 2");
}

TEST_F(DatabaseTest, PagingVisitsEveryFilteredRowOnceInOrder) {
  auto db = open();
  std::vector<Memory> batch;
  for (int i = 0; i < 25; ++i) {
    Memory m = memory("page row " + std::to_string(i), {i % 5 == 0 ? "fifth" : "other"}, 1000 + i);
    m.updated_at = 5000 - i;
    batch.push_back(m);
  }
  auto ids = db->insert_memories(batch, {});
  ASSERT_TRUE(ids.is_ok());
  EXPECT_EQ(std::count(ids->begin(), ids->end(), 0), 0);
  for (ListOrder order :
       {ListOrder::kCreatedDesc, ListOrder::kCreatedAsc, ListOrder::kUpdatedDesc}) {
    std::vector<std::string> seen;
    for (int64_t offset = 0;; offset += 10) {
      auto page = db->list(MemoryFilter{}, order, offset, 10);
      ASSERT_TRUE(page.is_ok());
      for (const Memory& m : *page) seen.push_back(m.content);
      if (page->size() < 10) break;
    }
    ASSERT_EQ(seen.size(), 25u);
    const bool oldest_first = order != ListOrder::kCreatedDesc;  // updated_at falls with i
    EXPECT_EQ(seen.front(), oldest_first ? "page row 0" : "page row 24");
    EXPECT_EQ(seen.back(), oldest_first ? "page row 24" : "page row 0");
  }
  MemoryFilter fifth;
  fifth.tags = {"fifth"};
  auto page = db->list(fifth, ListOrder::kCreatedDesc, 1, 2);  // filtered before the limit
  ASSERT_EQ(page->size(), 2u);
  EXPECT_EQ((*page)[0].content, "page row 15");
  EXPECT_EQ((*page)[1].content, "page row 10");
  EXPECT_EQ(db->hashes_matching(fifth)->front().second, hash("page row 20"));
}

TEST_F(DatabaseTest, TombstonesAreHiddenFromEveryRead) {
  auto db = open();
  std::vector<float> v(4, 0.5f);
  ASSERT_TRUE(db->insert_memory(memory("keep this", {"x"}, 1), v).is_ok());
  auto dropped = db->insert_memory(memory("drop this", {"x", "gone"}, 2), v);
  ASSERT_TRUE(dropped.is_ok());
  EXPECT_EQ(*tombstone_hashes(*db, {hash("drop this"), hash("never stored")}, 10, "h2", "n2"), 1);
  EXPECT_EQ(*tombstone_hashes(*db, {hash("drop this")}, 11, "h3", "n3"), 0);  // already a tombstone

  EXPECT_FALSE(db->get_by_hash(hash("drop this"))->has_value());
  auto tomb = db->get_by_hash(hash("drop this"), /*include_deleted=*/true);
  ASSERT_TRUE(tomb->has_value());
  EXPECT_DOUBLE_EQ(*(*tomb)->deleted_at, 10);
  EXPECT_DOUBLE_EQ((*tomb)->updated_at, 2);  // a delete is not an edit
  EXPECT_EQ((*tomb)->hlc, "h2");
  EXPECT_EQ((*tomb)->origin, "n2");
  EXPECT_EQ(db->list(MemoryFilter{}, ListOrder::kCreatedDesc, 0, 10)->size(), 1u);
  EXPECT_EQ(*db->count(MemoryFilter{}), 1);
  MemoryFilter with_deleted;
  with_deleted.include_deleted = true;
  EXPECT_EQ(*db->count(with_deleted), 2);
  EXPECT_EQ(db->ids_matching(MemoryFilter{})->size(), 1u);
  EXPECT_EQ(db->hashes_matching(MemoryFilter{})->size(), 1u);
  EXPECT_TRUE(db->keyword_search("drop", MemoryFilter{}, 10)->empty());
  EXPECT_TRUE(db->substring_search("drop", MemoryFilter{}, 10)->empty());
  ASSERT_EQ(db->tag_counts()->size(), 1u);
  EXPECT_EQ((*db->tag_counts())[0].count, 1);
  EXPECT_TRUE(db->memories_without_embedding(10)->empty());
  EXPECT_FALSE(db->get_embedding(*dropped, 4)->has_value());
  int scanned = 0;
  ASSERT_TRUE(db->scan_embeddings(4, [&](int64_t, std::span<const float>) {
                  ++scanned;
                  return true;
                }).is_ok());
  EXPECT_EQ(scanned, 1);
  auto st = db->stats();
  EXPECT_EQ(st->total_memories, 1);
  EXPECT_EQ(st->deleted_memories, 1);
  EXPECT_EQ(st->unique_tags, 1);
  // get_by_ids returns what it is asked for, tombstones included, marked as deleted.
  auto byid = db->get_by_ids({*dropped});
  ASSERT_EQ(byid->size(), 1u);
  EXPECT_TRUE((*byid)[0].is_deleted());
  expect_fts_matches_alive_rows();
}

TEST_F(DatabaseTest, StoringDeletedContentAgainLeavesOneRow_Issue644) {
  auto db = open();
  ASSERT_TRUE(db->insert_memory(memory("drop me", {"x"}, 2), {}).is_ok());
  ASSERT_EQ(*tombstone_hashes(*db, {hash("drop me")}, 10, "h", "n"), 1);
  auto again = db->insert_memory(memory("drop me", {"y"}, 20), std::vector<float>{1, 2});
  ASSERT_TRUE(again.is_ok()) << again.status().message();
  RawConnection raw(path_);
  EXPECT_EQ(raw.one("SELECT COUNT(*) FROM memories WHERE content_hash = '" + hash("drop me") + "'"),
            1);
  auto got = db->get_by_hash(hash("drop me"));
  ASSERT_TRUE(got->has_value());
  EXPECT_EQ((*got)->tags, std::vector<std::string>{"y"});
  auto changes = db->changes_since(0, 10);
  std::vector<std::string> ops;
  for (const Change& c : *changes) ops.push_back(c.op);
  EXPECT_EQ(ops, (std::vector<std::string>{"upsert", "delete", "purge", "upsert"}));
  expect_tag_index(std::to_string(*again) + ":y");
  expect_fts_matches_alive_rows();
}

// Version 1 left tombstones stored directly (imports, sync) out of the FTS index but issued an
// FTS 'delete' for them when they were replaced: "database disk image is malformed".
TEST_F(DatabaseTest, ReplacingAnImportedTombstoneKeepsTheFullTextIndexSound) {
  auto db = open();
  Memory tomb = memory("ghost words here", {"g"}, 1);
  tomb.deleted_at = 2;
  Memory alive = memory("living words", {"l"}, 3);
  auto ids = db->insert_memories({tomb, alive}, {{1, 1}, {2, 2}});
  ASSERT_TRUE(ids.is_ok());
  EXPECT_FALSE(db->get_embedding((*ids)[0], 2)->has_value());  // tombstones keep no vector
  expect_fts_matches_alive_rows();
  Memory back = memory("ghost words here", {"g2"}, 4);
  ASSERT_TRUE(db->insert_memory(back, {}).is_ok());
  EXPECT_EQ(db->keyword_search("ghost", MemoryFilter{}, 10)->size(), 1u);
  ASSERT_EQ(*tombstone_hashes(*db, {back.content_hash, alive.content_hash}, 5, "h", "n"), 2);
  EXPECT_TRUE(db->keyword_search("ghost words living", MemoryFilter{}, 10)->empty());
  ASSERT_TRUE(db->insert_memory(back, {}).is_ok());
  expect_fts_matches_alive_rows();
}

TEST_F(DatabaseTest, KeywordSearchRanksMatchesAndIgnoresFtsSyntax) {
  auto db = open();
  auto both = db->insert_memory(memory("postgres replication with litestream", {"db"}, 1), {});
  auto one = db->insert_memory(memory("litestream keeps copies of the wal", {"ops"}, 2), {});
  ASSERT_TRUE(db->insert_memory(memory("nothing related here", {"db"}, 3), {}).is_ok());
  ASSERT_TRUE(db->insert_memory(memory("Die Brücke ist gesperrt", {"de"}, 4), {}).is_ok());

  auto hits = db->keyword_search("Postgres, litestream?", MemoryFilter{}, 10);
  ASSERT_TRUE(hits.is_ok());
  ASSERT_EQ(hits->size(), 2u);
  EXPECT_EQ((*hits)[0].id, *both);  // has both words
  EXPECT_EQ((*hits)[1].id, *one);
  EXPECT_LT((*hits)[0].score, (*hits)[1].score);  // bm25: lower is better
  EXPECT_LT((*hits)[1].score, 0);

  MemoryFilter ops;
  ops.tags = {"ops"};
  auto filtered = db->keyword_search("postgres litestream", ops, 1);  // filter before limit
  ASSERT_EQ(filtered->size(), 1u);
  EXPECT_EQ((*filtered)[0].id, *one);

  for (const char* evil : {"AND OR NEAR( * \" -", "\"unbalanced", "col:thing", "^x", "a*",
                           "NOT litestream", "litestream)"}) {
    auto r = db->keyword_search(evil, MemoryFilter{}, 10);
    EXPECT_TRUE(r.is_ok()) << evil << ": " << r.status().message();
  }
  EXPECT_EQ(db->keyword_search("NEAR(litestream", MemoryFilter{}, 10)->size(), 2u);
  EXPECT_TRUE(db->keyword_search("  ?!* ", MemoryFilter{}, 10)->empty());
  EXPECT_TRUE(db->keyword_search("", MemoryFilter{}, 10)->empty());
  EXPECT_EQ(db->keyword_search("brucke", MemoryFilter{}, 10)->size(), 1u);  // diacritics folded
  EXPECT_EQ(db->keyword_search("BRÜCKE", MemoryFilter{}, 10)->size(), 1u);
}

TEST_F(DatabaseTest, SubstringSearchFoldsAsciiCaseAndTakesWildcardsLiterally) {
  auto db = open();
  auto a = db->insert_memory(memory("Litestream cut our restore time by 50%", {"x"}, 1), {});
  auto b = db->insert_memory(memory("litestream_v2 ships soon", {"y"}, 2), {});
  ASSERT_TRUE(db->insert_memory(memory("nothing here at 50 percent", {"x"}, 3), {}).is_ok());
  ASSERT_TRUE(db->insert_memory(memory("ÉCOLE normale", {"x"}, 4), {}).is_ok());
  EXPECT_EQ(*db->substring_search("LITESTREAM", MemoryFilter{}, 10),
            (std::vector<int64_t>{*b, *a}));  // newest first
  EXPECT_EQ(*db->substring_search("50%", MemoryFilter{}, 10), std::vector<int64_t>{*a});
  EXPECT_EQ(*db->substring_search("m_v", MemoryFilter{}, 10), std::vector<int64_t>{*b});
  EXPECT_EQ(*db->substring_search("litestream", MemoryFilter{}, 1), std::vector<int64_t>{*b});
  MemoryFilter x;
  x.tags = {"x"};
  EXPECT_EQ(*db->substring_search("litestream", x, 1), std::vector<int64_t>{*a});
  // ASCII-only case folding, as documented (and as the Python service's LIKE).
  EXPECT_EQ(db->substring_search("ÉCOLE", MemoryFilter{}, 10)->size(), 1u);
  EXPECT_TRUE(db->substring_search("école", MemoryFilter{}, 10)->empty());
}

TEST_F(DatabaseTest, ChangeLogHasOneEntryPerChangeInOrder) {
  auto db = open();
  Memory m = memory("versioned", {"a"}, 5);
  auto id = db->insert_memory(m, std::vector<float>{1});
  ASSERT_TRUE(id.is_ok());
  m.tags = {"b"};
  m.updated_at = 6;
  m.hlc = "000000000000002-00000000-test";
  ASSERT_TRUE(db->update_memory(m).is_ok());
  ASSERT_EQ(*tombstone_hashes(*db, {m.content_hash}, 7, "000000000000003-00000000-test", "n"), 1);
  EXPECT_EQ(db->update_memory(m).code(), StatusCode::kNotFound);  // tombstones are not edited
  auto changes = db->changes_since(0, 100);
  ASSERT_EQ(changes->size(), 3u);
  std::vector<std::string> ops, hlcs;
  for (const Change& c : *changes) {
    ops.push_back(c.op);
    hlcs.push_back(c.hlc);
    EXPECT_EQ(c.memory_id, *id);
    EXPECT_EQ(c.content_hash, m.content_hash);
  }
  EXPECT_EQ(ops, (std::vector<std::string>{"upsert", "upsert", "delete"}));
  EXPECT_EQ(hlcs.back(), "000000000000003-00000000-test");
  EXPECT_LT((*changes)[0].seq, (*changes)[1].seq);
  EXPECT_LT((*changes)[1].seq, (*changes)[2].seq);
  EXPECT_EQ(db->changes_since((*changes)[1].seq, 100)->size(), 1u);
  EXPECT_EQ(db->changes_since(0, 2)->size(), 2u);
  EXPECT_EQ(*db->last_change_seq(), (*changes)[2].seq);
}

TEST_F(DatabaseTest, UpdateRewritesTagsTypeAndMetadataButNotContent) {
  auto db = open();
  Memory m = memory("editable", {"old", "keep"}, 5);
  auto id = db->insert_memory(m, {});
  m.tags = {"keep", "new"};
  m.memory_type = "";
  m.metadata = {{"edited", true}};
  m.updated_at = 50;
  m.content = "ignored by update";
  m.created_at = 1;
  ASSERT_TRUE(db->update_memory(m).is_ok());
  auto got = **db->get_by_hash(m.content_hash);
  EXPECT_EQ(got.content, "editable");
  EXPECT_DOUBLE_EQ(got.created_at, 5);
  EXPECT_DOUBLE_EQ(got.updated_at, 50);
  EXPECT_EQ(got.memory_type, "");
  EXPECT_EQ(got.metadata, (Json{{"edited", true}}));
  expect_tag_index(std::to_string(*id) + ":keep " + std::to_string(*id) + ":new");
  RawConnection raw(path_);
  EXPECT_EQ(raw.one("SELECT memory_type IS NULL FROM memories"), 1);
  EXPECT_EQ(raw.text("SELECT updated_at_iso FROM memories"), "1970-01-01T00:00:50Z");
}

TEST_F(DatabaseTest, StatsCountWhatUsersSee) {
  auto db = open();
  EXPECT_DOUBLE_EQ(db->stats()->last_modified, 0);
  const double now = unix_now();
  ASSERT_TRUE(db->insert_memory(memory("new one", {"a", "b"}, now - 60), {}).is_ok());
  ASSERT_TRUE(db->insert_memory(memory("new two", {"b"}, now - 6 * 86400), {}).is_ok());
  ASSERT_TRUE(db->insert_memory(memory("old one", {"c"}, now - 8 * 86400), {}).is_ok());
  ASSERT_TRUE(db->insert_memory(memory("new gone", {"d"}, now), {}).is_ok());
  ASSERT_EQ(*tombstone_hashes(*db, {hash("new gone")}, now, "", ""), 1);
  auto st = db->stats();
  ASSERT_TRUE(st.is_ok());
  EXPECT_EQ(st->total_memories, 3);
  EXPECT_EQ(st->deleted_memories, 1);
  EXPECT_EQ(st->unique_tags, 3);  // a, b, c: the tombstone's tag does not count
  EXPECT_EQ(st->memories_this_week, 2);
  RawConnection raw(path_);
  EXPECT_EQ(st->database_size_bytes, raw.one("PRAGMA page_count") * raw.one("PRAGMA page_size"));
  EXPECT_NEAR(st->last_modified, unix_now(), 5.0);  // the time of the last write
}

TEST_F(DatabaseTest, FailedTransactionLeavesNothing) {
  auto db = open();
  Status s = db->write_transaction([&]() -> Status {
    EXPECT_TRUE(db->insert_memory(memory("one", {"t"}, 1), std::vector<float>{1}).is_ok());
    // A nested transaction joins the outer one.
    EXPECT_TRUE(db->write_transaction([&] { return db->set_meta("k", "v"); }).is_ok());
    EXPECT_TRUE(db->insert_memory(memory("two", {}, 2), {}).is_ok());
    return Status::invalid_argument("record 2 is bad");
  });
  EXPECT_EQ(s.code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(s.message(), "record 2 is bad");
  EXPECT_EQ(*db->count(MemoryFilter{}), 0);
  EXPECT_EQ(*db->last_change_seq(), 0);
  EXPECT_FALSE(db->get_meta("k")->has_value());
  RawConnection raw(path_);
  EXPECT_EQ(raw.one("SELECT (SELECT COUNT(*) FROM memory_tags) + (SELECT COUNT(*) FROM "
                    "memory_vectors)"),
            0);
  // And a body that succeeds commits everything at once.
  ASSERT_TRUE(db->write_transaction([&]() -> Status {
                  MCP_RETURN_IF_ERROR(db->insert_memory(memory("one", {}, 1), {}).status());
                  return db->insert_memory(memory("two", {}, 2), {}).status();
                }).is_ok());
  EXPECT_EQ(*db->count(MemoryFilter{}), 2);
}

TEST_F(DatabaseTest, AThrowingBodyRollsBackAndTheDatabaseStaysUsable) {
  auto db = open();
  Status s = db->write_transaction([&]() -> Status {
    EXPECT_TRUE(db->insert_memory(memory("lost", {}, 1), {}).is_ok());
    throw std::runtime_error("bad record");
  });
  EXPECT_EQ(s.code(), StatusCode::kInternal);
  EXPECT_NE(s.message().find("bad record"), std::string::npos);
  EXPECT_EQ(*db->count(MemoryFilter{}), 0);
  EXPECT_TRUE(db->insert_memory(memory("kept", {}, 2), {}).is_ok());
  EXPECT_EQ(*db->count(MemoryFilter{}), 1);
}

TEST_F(DatabaseTest, EmbeddingsScanWithSnapshotSeq) {
  auto db = open();
  std::vector<float> v = {1, 2, 3, 4};
  auto a = db->insert_memory(memory("a", {}, 1), v);
  ASSERT_TRUE(db->insert_memory(memory("b", {}, 2), v).is_ok());
  auto c = db->insert_memory(memory("c", {}, 3), {});
  ASSERT_TRUE(db->put_embedding(*c, std::vector<float>{1, 2, 3}).is_ok());  // another model
  ASSERT_EQ(*tombstone_hashes(*db, {hash("b")}, 3, "", ""), 1);
  std::vector<int64_t> ids;
  auto seq = db->scan_embeddings(4, [&](int64_t id, std::span<const float> got) {
    ids.push_back(id);
    EXPECT_EQ(got[3], 4.0f);
    return true;
  });
  ASSERT_TRUE(seq.is_ok());
  EXPECT_EQ(ids, std::vector<int64_t>{*a});
  EXPECT_EQ(*seq, *db->last_change_seq());
  auto stopped = db->scan_embeddings(4, [&](int64_t, std::span<const float>) { return false; });
  EXPECT_EQ(stopped.status().code(), StatusCode::kFailedPrecondition);
  EXPECT_TRUE(db->get_embedding(*a, 4)->has_value());
  EXPECT_FALSE(db->get_embedding(*a, 8)->has_value());  // wrong dimension reads as missing
  EXPECT_TRUE(db->memories_without_embedding(10)->empty());
}

TEST_F(DatabaseTest, MostlyZeroVectorsAreStoredSparseAndReadBackBitForBit) {
  auto db = open();
  std::vector<float> sparse(384, 0.0f), dense(384), zero(384, 0.0f);
  std::mt19937 rng(3);
  std::uniform_real_distribution<float> u(-1.0f, 1.0f);
  for (int i = 0; i < 70; ++i) sparse[rng() % 384] = u(rng);
  sparse[383] = -0.0f;  // a negative zero is a zero: it reads back as +0
  sparse[0] = 1e-38f;   // a denormal-adjacent value keeps its bits
  for (float& x : dense) x = u(rng);
  auto s_id = db->insert_memory(memory("sparse", {}, 1), sparse);
  auto d_id = db->insert_memory(memory("dense", {}, 2), dense);
  auto z_id = db->insert_memory(memory("no features", {}, 3), zero);
  ASSERT_TRUE(s_id.is_ok() && d_id.is_ok() && z_id.is_ok());
  sparse[383] = 0.0f;
  EXPECT_EQ(**db->get_embedding(*s_id, 384), sparse);
  EXPECT_EQ(**db->get_embedding(*d_id, 384), dense);
  EXPECT_EQ(**db->get_embedding(*z_id, 384), zero);
  std::map<int64_t, std::vector<float>> scanned;
  ASSERT_TRUE(db->scan_embeddings(384, [&](int64_t id, std::span<const float> v) {
                  scanned[id].assign(v.begin(), v.end());
                  return true;
                }).is_ok());
  EXPECT_EQ(scanned[*s_id], sparse);
  EXPECT_EQ(scanned[*d_id], dense);

  RawConnection raw(path_);
  auto size_of = [&](int64_t id) {
    return raw.ints("SELECT length(vec) FROM memory_vectors WHERE memory_id = " +
                    std::to_string(id));
  };
  EXPECT_LT(size_of(*s_id).front(), 4 + 6 * 72);
  EXPECT_EQ(size_of(*d_id).front(), 384 * 4);
  EXPECT_EQ(size_of(*z_id).front(), 4);
  // A sparse blob naming an element past the dimension is another model's: it reads as missing.
  ASSERT_EQ(raw.exec("UPDATE memory_vectors SET vec = X'53505631' || X'9001' || X'0000803F'"
                     " WHERE memory_id = " +
                     std::to_string(*z_id)),
            "");
  EXPECT_FALSE(db->get_embedding(*z_id, 384)->has_value());
  EXPECT_TRUE(db->get_embedding(*z_id, 401)->has_value());
}

TEST_F(DatabaseTest, PurgingRemovesOnlyOldSettledTombstonesAndReportsTheirLastSeq) {
  auto db = open();
  for (const char* c : {"old and settled", "old but unsettled", "recent", "alive"}) {
    ASSERT_TRUE(db->insert_memory(memory(c, {}, 1), {}).is_ok());
  }
  ASSERT_EQ(*tombstone_hashes(*db, {hash("old and settled")}, 100, "h1", "n"), 1);
  const int64_t settled = *db->last_change_seq();
  ASSERT_EQ(*tombstone_hashes(*db, {hash("old but unsettled")}, 100, "h2", "n"), 1);
  ASSERT_EQ(*tombstone_hashes(*db, {hash("recent")}, 500, "h3", "n"), 1);
  EXPECT_EQ(*db->purge_tombstones(50, INT64_MAX), (std::pair<int64_t, int64_t>{0, 0}));
  EXPECT_EQ(*db->purge_tombstones(200, settled), (std::pair<int64_t, int64_t>{1, settled}));
  EXPECT_FALSE(db->get_by_hash(hash("old and settled"), true)->has_value());
  EXPECT_TRUE(db->get_by_hash(hash("old but unsettled"), true)->has_value());
  EXPECT_TRUE(db->get_by_hash(hash("recent"), true)->has_value());
  EXPECT_TRUE(db->get_by_hash(hash("alive"))->has_value());
  EXPECT_EQ(db->changes_since(*db->last_change_seq() - 1, 10)->front().op, "purge");
}

TEST_F(DatabaseTest, DataVersionMovesWhenAnotherConnectionCommits) {
  auto db = open();
  auto before = db->data_version();
  ASSERT_TRUE(before.is_ok());
  ASSERT_TRUE(db->insert_memory(memory("own write", {}, 1), {}).is_ok());
  EXPECT_EQ(*db->data_version(), *before);  // own commits do not count
  RawConnection raw(path_);
  ASSERT_EQ(raw.exec("INSERT INTO meta(key, value) VALUES ('x', 'y')"), "");
  EXPECT_NE(*db->data_version(), *before);
}

TEST_F(DatabaseTest, AFileThatIsNotADatabaseIsRefusedAndUntouched) {
  std::mt19937 rng(42);
  std::string junk(8192, '\0');
  for (char& c : junk) c = static_cast<char>(rng());
  std::ofstream(path_, std::ios::binary) << junk;
  auto db = Database::open(path_, OpenOptions{});
  ASSERT_FALSE(db.is_ok());
  EXPECT_EQ(db.status().code(), StatusCode::kCorruption);
  EXPECT_NE(db.status().message().find("not an mcp-memory database, or damaged: " + path_),
            std::string::npos)
      << db.status().message();
  std::ifstream in(path_, std::ios::binary);
  std::stringstream back;
  back << in.rdbuf();
  EXPECT_EQ(back.str(), junk);
  EXPECT_FALSE(fs::exists(path_ + "-wal"));
  EXPECT_FALSE(fs::exists(path_ + "-journal"));
}

TEST_F(DatabaseTest, SchemaVersionsNewerThanOursAreRefused) {
  { auto db = open(); }
  {
    RawConnection raw(path_);
    ASSERT_EQ(raw.exec("PRAGMA user_version = 99"), "");
  }
  auto db = Database::open(path_, OpenOptions{});
  ASSERT_FALSE(db.is_ok());
  EXPECT_EQ(db.status().code(), StatusCode::kFailedPrecondition);
  EXPECT_NE(db.status().message().find("newer mcp-memory"), std::string::npos);
}

TEST_F(DatabaseTest, AMissingDirectoryIsNamedInTheError) {
  auto db = Database::open(dir_ / "no/such/dir/x.db", OpenOptions{});
  ASSERT_FALSE(db.is_ok());
  EXPECT_EQ(db.status().code(), StatusCode::kIoError);
  EXPECT_NE(db.status().message().find(dir_ / "no/such/dir/x.db"), std::string::npos);
  EXPECT_NE(db.status().message().find("directory exists"), std::string::npos);
}

TEST_F(DatabaseTest, ReadOnlyOpenReadsButDoesNotWrite) {
  {
    auto db = open();
    ASSERT_TRUE(db->insert_memory(memory("readable", {"r"}, 1), {}).is_ok());
  }
  OpenOptions ro;
  ro.read_only = true;
  auto db = open(ro);
  ASSERT_TRUE(db);
  EXPECT_EQ(*db->count(MemoryFilter{}), 1);
  auto w = db->insert_memory(memory("write", {}, 2), {});
  EXPECT_FALSE(w.is_ok());
  EXPECT_NE(w.status().message().find(path_), std::string::npos) << w.status().message();
}

// A file written by version 1 (tombstones in the FTS index) is rebuilt on open.
TEST_F(DatabaseTest, SchemaVersion1IsMigrated) {
  {
    auto db = open();
    ASSERT_TRUE(db->insert_memory(memory("alive words", {"a"}, 1), {}).is_ok());
    ASSERT_TRUE(db->insert_memory(memory("dead words", {"d"}, 2), {}).is_ok());
    ASSERT_EQ(*tombstone_hashes(*db, {hash("dead words")}, 3, "", ""), 1);
  }
  {
    RawConnection raw(path_);
    ASSERT_EQ(raw.exec("INSERT INTO memories_fts(rowid, content) SELECT id, content FROM memories "
                       "WHERE deleted_at IS NOT NULL;"
                       "CREATE TRIGGER mcpmem_memories_au_content AFTER UPDATE OF content ON "
                       "memories BEGIN SELECT 1; END;"
                       "PRAGMA user_version = 1;"),
              "");
  }
  auto db = open();
  ASSERT_TRUE(db);
  RawConnection raw(path_);
  EXPECT_EQ(raw.one("PRAGMA user_version"), 5);
  EXPECT_EQ(raw.one("SELECT COUNT(*) FROM sqlite_master WHERE name = 'sync_conflicts'"), 1);
  EXPECT_EQ(raw.one("SELECT COUNT(*) FROM pragma_table_info('memories') WHERE name = "
                    "'field_versions'"),
            1);
  EXPECT_EQ(raw.one("SELECT COUNT(*) FROM pragma_table_info('sync_conflicts') WHERE name = "
                    "'fields'"),
            1);
  EXPECT_EQ(raw.one("SELECT COUNT(*) FROM sqlite_master WHERE name = 'mcpmem_memories_au_content'"),
            0);
  expect_fts_matches_alive_rows();
  ASSERT_TRUE(db->insert_memory(memory("dead words", {"d"}, 4), {}).is_ok());
  EXPECT_EQ(db->keyword_search("words", MemoryFilter{}, 10)->size(), 2u);
  expect_fts_matches_alive_rows();
}

// Conflicts sync by a uid every node gives them alike (schema 5). A version-4 file gets them
// from the loser it kept; one lost edit recorded twice (re-imports did that) keeps the uid on
// the first. Recording a known uid again adds nothing; recording and resolving log a change.
TEST_F(DatabaseTest, ConflictsGetOneUidAndLogTheirChanges) {
  {
    auto db = open();
    ASSERT_TRUE(db);
  }
  {
    RawConnection raw(path_);
    ASSERT_EQ(
        raw.exec("DROP INDEX idx_sync_conflicts_uid;"
                 "ALTER TABLE sync_conflicts DROP COLUMN uid;"
                 "ALTER TABLE sync_conflicts DROP COLUMN resolved_by;"
                 "INSERT INTO sync_conflicts(content_hash, detected_at, source, winner, loser)"
                 " VALUES ('h1', 1, 's', '{}', '{\"hlc\": \"v1\"}'),"
                 "        ('h1', 2, 's', '{}', '{\"hlc\": \"v1\"}'),"
                 "        ('h2', 3, 's', '{}', '{}');"
                 "PRAGMA user_version = 4;"),
        "");
  }
  auto db = open();
  ASSERT_TRUE(db);
  auto all = db->conflicts(true, 10);
  ASSERT_TRUE(all.is_ok());
  std::vector<std::string> uids;
  for (const ConflictRecord& c : *all) uids.push_back(c.uid);
  EXPECT_EQ(uids, (std::vector<std::string>{"h2:row-3", "h1:v1#2", "h1:v1"}));

  const int64_t head = *db->last_change_seq();
  ConflictRecord again = all->back();
  again.detected_at = 99;
  auto added = db->add_conflict(again);
  ASSERT_TRUE(added.is_ok());
  EXPECT_EQ(*added, std::make_pair(all->back().id, false));
  EXPECT_EQ(*db->last_change_seq(), head);

  ConflictRecord fresh;
  fresh.uid = "h3:v7";
  fresh.content_hash = "h3";
  fresh.winner = fresh.loser = "{}";
  added = db->add_conflict(fresh);
  ASSERT_TRUE(added.is_ok());
  EXPECT_TRUE(added->second);
  ASSERT_TRUE(db->set_conflict_resolution(added->first, 5, "kept-winner", "laptop").is_ok());
  auto changes = db->changes_since(head, 10);
  ASSERT_EQ(changes->size(), 2u);
  for (const Change& c : *changes) {
    EXPECT_EQ(c.op, "conflict");
    EXPECT_EQ(c.hlc, "h3:v7");
  }
  auto stored = db->conflicts_by_uid({"h3:v7", "unknown"});
  ASSERT_EQ(stored->size(), 1u);
  EXPECT_EQ(stored->front().resolved_by, "laptop");
  EXPECT_EQ(stored->front().resolution, "kept-winner");
  EXPECT_EQ(db->set_conflict_resolution(12345, 5, "kept-winner", "x").code(),
            StatusCode::kNotFound);
}

}  // namespace
}  // namespace mcpmem
