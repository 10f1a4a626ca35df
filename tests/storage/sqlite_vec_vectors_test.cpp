// Reading the Python service's sqlite-vec vectors without sqlite-vec, on a file the real
// extension (0.1.9) wrote (tests/fixtures/python-vec, scripts/make-python-vec-fixture.py): the
// reader yields exactly the live vectors of alive rows, bit for bit; a deleted slot, a reused
// slot, an alive row without a vec0 vector and a tombstone with one are handled; and damaged
// shadow tables are errors naming the damage, never wrong vectors.
#include <gtest/gtest.h>

#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>

#include "core/memory.h"
#include "storage/database.h"
#include "storage_test_util.h"

namespace mcpmem {
namespace {

namespace fs = std::filesystem;
using testing_util::RawConnection;

const std::string kFixture = std::string(MCP_TEST_FIXTURES) + "/python-vec";

struct Expected {
  size_t dimension = 0;
  std::map<int64_t, std::vector<float>> adopted;
  std::vector<int64_t> not_adopted;
};

Expected read_expected() {
  std::ifstream in(kFixture + "/expected.json");
  const Json j = Json::parse(in);
  Expected e;
  e.dimension = j["dimension"].get<size_t>();
  for (const auto& [id, row] : j["adopted"].items()) {
    std::vector<float> v;
    for (const Json& x : row["vector"]) v.push_back(static_cast<float>(x.get<double>()));
    e.adopted[std::stoll(id)] = v;
  }
  for (const auto& [id, why] : j["not_adopted"].items()) e.not_adopted.push_back(std::stoll(id));
  return e;
}

bool bit_equal(std::span<const float> a, const std::vector<float>& b) {
  return a.size() == b.size() && std::memcmp(a.data(), b.data(), a.size_bytes()) == 0;
}

class SqliteVecVectorsTest : public testing_util::StorageTest {
 protected:
  void SetUp() override {
    StorageTest::SetUp();
    fs::copy_file(kFixture + "/python_service_vec.db", path_);
    expected_ = read_expected();
  }
  Result<std::map<int64_t, std::vector<float>>> scan_all(Database& db) {
    std::map<int64_t, std::vector<float>> out;
    Database::SqliteVecScan scan;
    scan.dimension = expected_.dimension;
    auto last = db.scan_sqlite_vec_vectors(scan, [&](int64_t id, std::span<const float> v) {
      out[id] = std::vector<float>(v.begin(), v.end());
      return Status::ok();
    });
    if (!last.is_ok()) return last.status();
    return out;
  }
  // The scan and the count both refuse, with `says` in the message.
  void expect_refused(const std::string& says) {
    auto db = open();
    ASSERT_NE(db, nullptr);
    auto count = db->count_sqlite_vec_vectors(expected_.dimension);
    ASSERT_FALSE(count.is_ok());
    EXPECT_EQ(count.status().code(), StatusCode::kFailedPrecondition);
    EXPECT_NE(count.status().message().find(says), std::string::npos) << count.status().message();
    auto all = scan_all(*db);
    EXPECT_FALSE(all.is_ok());
  }

  Expected expected_;
};

TEST_F(SqliteVecVectorsTest, YieldsExactlyTheLiveVectorsOfAliveRowsBitForBit) {
  ASSERT_EQ(expected_.dimension, 32u);
  ASSERT_EQ(expected_.adopted.size(), 21u);
  auto db = open();
  ASSERT_NE(db, nullptr);
  auto count = db->count_sqlite_vec_vectors(32);
  ASSERT_TRUE(count.is_ok()) << count.status().message();
  EXPECT_EQ(*count, 21);
  auto all = scan_all(*db);
  ASSERT_TRUE(all.is_ok()) << all.status().message();
  ASSERT_EQ(all->size(), expected_.adopted.size());
  for (const auto& [id, v] : expected_.adopted) {
    ASSERT_TRUE(all->count(id)) << id;
    EXPECT_TRUE(bit_equal(all->at(id), v)) << id;
  }
  // Soft-deleted the Python service's way (slot cleared and reused by id 7), alive without a
  // vec0 row, a tombstone whose vec0 row stayed.
  for (int64_t id : expected_.not_adopted) EXPECT_EQ(all->count(id), 0u) << id;
}

TEST_F(SqliteVecVectorsTest, PagesAndStridesWalkTheRowsInIdOrder) {
  auto db = open();
  ASSERT_NE(db, nullptr);
  Database::SqliteVecScan scan;
  scan.dimension = 32;
  scan.limit = 4;
  scan.stride = 3;
  std::vector<int64_t> ids;
  auto last = db->scan_sqlite_vec_vectors(scan, [&](int64_t id, std::span<const float>) {
    ids.push_back(id);
    return Status::ok();
  });
  ASSERT_TRUE(last.is_ok()) << last.status().message();
  // Candidates 1 2 3 4 5 7 8 9 11 12 ...: every third, four of them.
  EXPECT_EQ(ids, (std::vector<int64_t>{1, 4, 8, 12}));
  EXPECT_EQ(*last, 12);
  scan.after_id = 12;
  scan.stride = 1;
  scan.limit = 2;
  ids.clear();
  ASSERT_TRUE(db->scan_sqlite_vec_vectors(scan, [&](int64_t id, std::span<const float>) {
                  ids.push_back(id);
                  return Status::ok();
                }).is_ok());
  EXPECT_EQ(ids, (std::vector<int64_t>{13, 15}));
}

TEST_F(SqliteVecVectorsTest, StoredVectorsAreKeptAndRowsWithOursAreNoLongerOffered) {
  auto db = open();
  ASSERT_NE(db, nullptr);
  const std::vector<float> ours(32, 0.25f);
  ASSERT_TRUE(db->put_embedding(1, ours).is_ok());
  auto count = db->count_sqlite_vec_vectors(32);
  ASSERT_TRUE(count.is_ok());
  EXPECT_EQ(*count, 20);

  std::vector<std::pair<int64_t, std::vector<float>>> rows;
  for (const auto& [id, v] : expected_.adopted) rows.emplace_back(id, v);
  rows.emplace_back(14, std::vector<float>(32, 0.5f));  // a tombstone: never given a vector
  auto stored = db->put_embeddings_if_absent(rows);
  ASSERT_TRUE(stored.is_ok()) << stored.status().message();
  EXPECT_EQ(*stored, 20);
  EXPECT_TRUE(bit_equal(**db->get_embedding(1, 32), ours));  // not overwritten
  EXPECT_TRUE(bit_equal(**db->get_embedding(2, 32), expected_.adopted.at(2)));
  RawConnection raw(path_);
  EXPECT_EQ(raw.one("SELECT count(*) FROM memory_vectors WHERE memory_id = 14"), 0);
  EXPECT_EQ(*db->count_sqlite_vec_vectors(32), 0);
}

TEST_F(SqliteVecVectorsTest, AFileWithoutTheTableHasNothingAndAnotherDimensionIsRefused) {
  {
    auto db = open();
    ASSERT_NE(db, nullptr);
    auto other = db->count_sqlite_vec_vectors(384);
    ASSERT_FALSE(other.is_ok());
    EXPECT_NE(other.status().message().find("FLOAT[32]"), std::string::npos);
  }
  fs::remove(path_);
  auto db = open();  // a new file of ours
  ASSERT_NE(db, nullptr);
  auto none = db->count_sqlite_vec_vectors(32);
  ASSERT_TRUE(none.is_ok());
  EXPECT_EQ(*none, 0);
}

TEST_F(SqliteVecVectorsTest, ATruncatedVectorBlobIsRefused) {
  {
    RawConnection raw(path_);
    ASSERT_EQ(raw.exec("UPDATE memory_embeddings_vector_chunks00 SET vectors = "
                       "substr(vectors, 1, 1000)"),
              "");
  }
  expect_refused("blob sizes");
}

TEST_F(SqliteVecVectorsTest, AnOffsetOutsideItsChunkIsRefused) {
  {
    RawConnection raw(path_);
    ASSERT_EQ(raw.exec("UPDATE memory_embeddings_rowids SET chunk_offset = 5000 WHERE rowid = 3"),
              "");
  }
  expect_refused("outside their chunks");
}

TEST_F(SqliteVecVectorsTest, AMissingShadowTableIsRefused) {
  {
    RawConnection raw(path_);
    ASSERT_EQ(raw.exec("DROP TABLE memory_embeddings_chunks"), "");
  }
  expect_refused("shadow tables");
}

TEST_F(SqliteVecVectorsTest, ASlotNotMarkedLiveOrNamingAnotherRowIsNeverRead) {
  {
    RawConnection raw(path_);  // row 3's slot (offset 2): validity bit cleared
    ASSERT_EQ(raw.exec("UPDATE memory_embeddings_chunks SET validity = CAST(x'FB' || "
                       "substr(validity, 2) AS BLOB)"),
              "");
  }
  {
    auto db = open();
    ASSERT_NE(db, nullptr);
    auto all = scan_all(*db);
    ASSERT_FALSE(all.is_ok());
    EXPECT_NE(all.status().message().find("row 3: its slot is not marked live"), std::string::npos)
        << all.status().message();
  }
  {
    RawConnection raw(path_);  // valid again, but two rows point at one slot
    ASSERT_EQ(raw.exec("UPDATE memory_embeddings_chunks SET validity = CAST(x'FF' || "
                       "substr(validity, 2) AS BLOB)"),
              "");
    ASSERT_EQ(raw.exec("UPDATE memory_embeddings_rowids SET chunk_offset = 0 WHERE rowid = 2"), "");
  }
  auto db = open();
  ASSERT_NE(db, nullptr);
  auto all = scan_all(*db);
  ASSERT_FALSE(all.is_ok());
  EXPECT_NE(all.status().message().find("row 2: its slot names row 1"), std::string::npos)
      << all.status().message();
}

TEST_F(SqliteVecVectorsTest, AVectorTableOfAnotherKindIsRefused) {
  {
    RawConnection raw(path_);
    ASSERT_EQ(raw.exec("PRAGMA writable_schema = ON; UPDATE sqlite_master SET sql = "
                       "'CREATE VIRTUAL TABLE memory_embeddings USING vec0(e int8[32])' "
                       "WHERE name = 'memory_embeddings'; PRAGMA writable_schema = OFF;"),
              "");
  }
  expect_refused("one FLOAT[N] column");
}

}  // namespace
}  // namespace mcpmem
