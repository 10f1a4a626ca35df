// Adopting the Python service's sqlite-vec vectors at open (tests/fixtures/python-vec: vectors
// made by torch from the tiny BERT of tests/fixtures/bert-tiny): our bert:<dir> of the same
// model adopts them bit for bit and search finds the right memories; another model of the same
// dimension (hash-32) or another dimension (hash-384) adopts nothing and re-embeds; a damaged
// table adopts nothing and the file still opens.
#include <gtest/gtest.h>
#include <sqlite3.h>

#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>

#include "../temp_dir.h"
#include "service/memory_service.h"

namespace mcpmem {
namespace {

namespace fs = std::filesystem;
const std::string kFixtures = MCP_TEST_FIXTURES;

class SqliteVecAdoptionTest : public ::testing::Test {
 protected:
  void SetUp() override {
    // The model the fixture's vectors were made with: bert-tiny and the fixture's vocabulary.
    model_dir_ = dir_ / "bert-tiny-vec";
    fs::create_directories(model_dir_);
    for (const char* f : {"config.json", "model.safetensors"}) {
      fs::copy_file(kFixtures + "/bert-tiny/" + f, model_dir_ + "/" + f);
    }
    fs::copy_file(kFixtures + "/python-vec/vocab.txt", model_dir_ + "/vocab.txt");
    config_ = config_from_env({{"HOME", dir_.path()}});
    config_.db_path = dir_ / "sqlite_vec.db";
    config_.synchronous_full = false;
    fs::copy_file(kFixtures + "/python-vec/python_service_vec.db", config_.db_path);

    std::ifstream in(kFixtures + "/python-vec/expected.json");
    const Json j = Json::parse(in);
    for (const auto& [id, row] : j["adopted"].items()) {
      std::vector<float> v;
      for (const Json& x : row["vector"]) v.push_back(static_cast<float>(x.get<double>()));
      expected_[std::stoll(id)] = v;
    }
  }

  std::unique_ptr<MemoryService> open_service(const std::string& model) {
    config_.embedding_model = model;
    auto s = MemoryService::open(config_, {});
    EXPECT_TRUE(s.is_ok()) << s.status().message();
    return s.is_ok() ? std::move(s).value() : nullptr;
  }
  // memory_vectors as a second connection sees it: id -> raw blob.
  std::map<int64_t, std::string> stored_vectors() {
    std::map<int64_t, std::string> out;
    sqlite3* db = nullptr;
    sqlite3_open_v2(config_.db_path.c_str(), &db, SQLITE_OPEN_READONLY, nullptr);
    sqlite3_stmt* s = nullptr;
    sqlite3_prepare_v2(db, "SELECT memory_id, vec FROM memory_vectors", -1, &s, nullptr);
    while (sqlite3_step(s) == SQLITE_ROW) {
      out[sqlite3_column_int64(s, 0)] =
          std::string(static_cast<const char*>(sqlite3_column_blob(s, 1)),
                      static_cast<size_t>(sqlite3_column_bytes(s, 1)));
    }
    sqlite3_finalize(s);
    sqlite3_close(db);
    return out;
  }
  static std::string raw(const std::vector<float>& v) {
    return std::string(reinterpret_cast<const char*>(v.data()), v.size() * sizeof(float));
  }

  TempDir dir_{"pyvec"};
  std::string model_dir_;
  Config config_;
  std::map<int64_t, std::vector<float>> expected_;
};

TEST_F(SqliteVecAdoptionTest, TheSameModelsVectorsAreAdoptedAsTheyAreAndSearched) {
  auto service = open_service("bert:" + model_dir_);
  ASSERT_NE(service, nullptr);
  // Before the index loads (which would embed what is missing): exactly the Python vectors,
  // byte for byte, so none of them was embedded here.
  auto stored = stored_vectors();
  ASSERT_EQ(stored.size(), expected_.size());
  for (const auto& [id, v] : expected_) EXPECT_EQ(stored[id], raw(v)) << id;

  ASSERT_TRUE(service->wait_for_index().is_ok());
  EXPECT_EQ(stored_vectors().size(), 22u);  // + the alive memory without a vec0 vector
  for (int64_t id : {1, 7, 12, 24}) {
    SearchRequest r;
    auto db = Database::open(config_.db_path, {});
    ASSERT_TRUE(db.is_ok());
    auto m = (*db)->get_by_ids({id});
    ASSERT_TRUE(m.is_ok() && m->size() == 1u);
    r.query = (*m)[0].content;
    r.limit = 3;
    auto out = service->search(r);
    ASSERT_TRUE(out.is_ok()) << out.status().message();
    ASSERT_FALSE(out->results.empty());
    EXPECT_EQ(out->results[0].memory.id, id);
    EXPECT_GT(out->results[0].similarity_score, 0.9999);
  }

  // Opening again finds nothing to do and changes nothing.
  const auto before = stored_vectors();
  service.reset();
  service = open_service("bert:" + model_dir_);
  ASSERT_NE(service, nullptr);
  EXPECT_EQ(stored_vectors(), before);
}

TEST_F(SqliteVecAdoptionTest, AnotherModelOfTheSameDimensionIsDetectedAndReEmbeds) {
  auto service = open_service("hash-32");
  ASSERT_NE(service, nullptr);
  EXPECT_TRUE(stored_vectors().empty());
  ASSERT_TRUE(service->wait_for_index().is_ok());
  auto stored = stored_vectors();
  EXPECT_EQ(stored.size(), 22u);
  for (const auto& [id, v] : expected_) EXPECT_NE(stored[id], raw(v)) << id;
}

TEST_F(SqliteVecAdoptionTest, AnotherDimensionAdoptsNothing) {
  auto service = open_service("hash-384");
  ASSERT_NE(service, nullptr);
  EXPECT_TRUE(stored_vectors().empty());
  ASSERT_TRUE(service->wait_for_index().is_ok());
  EXPECT_EQ(stored_vectors().size(), 22u);
}

TEST_F(SqliteVecAdoptionTest, DamagedShadowTablesAdoptNothingAndTheFileStillOpens) {
  const char* damage[] = {
      "UPDATE memory_embeddings_vector_chunks00 SET vectors = substr(vectors, 1, 1000)",
      "UPDATE memory_embeddings_rowids SET chunk_offset = 4096 WHERE rowid = 12",
      "UPDATE memory_embeddings_chunks SET rowids = zeroblob(8192)",
      "DROP TABLE memory_embeddings_vector_chunks00",
  };
  for (const char* sql : damage) {
    SCOPED_TRACE(sql);
    fs::copy_file(kFixtures + "/python-vec/python_service_vec.db", config_.db_path,
                  fs::copy_options::overwrite_existing);
    sqlite3* db = nullptr;
    sqlite3_open(config_.db_path.c_str(), &db);
    ASSERT_EQ(sqlite3_exec(db, sql, nullptr, nullptr, nullptr), SQLITE_OK);
    sqlite3_close(db);
    auto service = open_service("bert:" + model_dir_);
    ASSERT_NE(service, nullptr);
    EXPECT_TRUE(stored_vectors().empty());
    ASSERT_TRUE(service->wait_for_index().is_ok());
    EXPECT_EQ(stored_vectors().size(), 22u);  // embedded here instead
  }
}

}  // namespace
}  // namespace mcpmem
