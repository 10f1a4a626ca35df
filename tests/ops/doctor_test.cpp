// doctor's checks on real database files: a healthy one passes, a database other users can
// read is reported and tightened by --fix, a rollback-journal database is switched to WAL, a
// damaged file fails clearly, and a Litestream file replica without a generation is a warning.
#include "ops/doctor.h"

#include <gtest/gtest.h>
#include <sqlite3.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "core/config.h"
#include "platform/file_modes.h"
#include "storage/database.h"

namespace mcpmem {
namespace {

namespace fs = std::filesystem;

class DoctorTest : public ::testing::Test {
 protected:
  void SetUp() override {
    make_new_files_private();  // as main() does: files made here are 0600 like the product's
    char tmpl[] = "/tmp/mcpmem-doctor-XXXXXX";
    dir_ = mkdtemp(tmpl);
    config_ = config_from_env({{"MCP_MEMORY_BASE_DIR", dir_}});
  }
  void TearDown() override { fs::remove_all(dir_); }

  // A database with `n` memories, each with a vector, made the way the service makes it.
  void make_database(int n) {
    auto db = Database::open(config_.db_path, {});
    ASSERT_TRUE(db.is_ok()) << db.status().message();
    for (int i = 0; i < n; ++i) {
      Memory m;
      m.content = "memory " + std::to_string(i);
      m.content_hash = "hash" + std::to_string(i);
      m.tags = {"t"};
      m.created_at = m.updated_at = 1733500000 + i;
      std::vector<float> v(4, 0.5f);
      ASSERT_TRUE((*db)->insert_memory(m, v).is_ok());
    }
  }

  const DoctorCheck& find(const std::vector<DoctorCheck>& checks, const std::string& name) {
    for (const DoctorCheck& c : checks) {
      if (c.name == name) return c;
    }
    static DoctorCheck none{"(missing)", CheckOutcome::kFail, "", false};
    ADD_FAILURE() << "no check " << name;
    return none;
  }

  static DoctorOptions fix_options() {
    DoctorOptions o;
    o.fix = true;
    return o;
  }

  static unsigned mode_of(const std::string& path) {
    struct stat st {};
    return ::stat(path.c_str(), &st) == 0 ? (st.st_mode & 0777) : 0;
  }

  std::string dir_;
  Config config_;
};

TEST_F(DoctorTest, AHealthyDatabasePassesEveryCheck) {
  make_database(3);
  auto checks = run_doctor(config_, {});
  for (const DoctorCheck& c : checks) {
    EXPECT_NE(c.outcome, CheckOutcome::kFail) << c.name << ": " << c.detail;
  }
  EXPECT_EQ(find(checks, "database").detail, config_.db_path + ": 3 memories");
  EXPECT_EQ(find(checks, "wal_mode").outcome, CheckOutcome::kOk);
  EXPECT_EQ(find(checks, "integrity").detail, "integrity_check: ok");
  EXPECT_EQ(find(checks, "file_modes").outcome, CheckOutcome::kOk);
  EXPECT_EQ(find(checks, "index").detail, "3 memories, 3 with a vector");
  EXPECT_EQ(find(checks, "index").outcome, CheckOutcome::kOk);
  EXPECT_NE(find(checks, "replication").detail.find("not replicated"), std::string::npos);
}

TEST_F(DoctorTest, AWorldReadableDatabaseFailsAndFixTightensIt) {
  make_database(1);
  fs::permissions(config_.db_path, fs::perms(0644));
  fs::permissions(dir_, fs::perms(0755));
  auto before = run_doctor(config_, {});
  const DoctorCheck& modes = find(before, "file_modes");
  EXPECT_EQ(modes.outcome, CheckOutcome::kFail);
  EXPECT_NE(modes.detail.find(config_.db_path + " is 0644 (want 0600)"), std::string::npos)
      << modes.detail;
  EXPECT_NE(modes.detail.find(dir_ + " is 0755 (want 0700)"), std::string::npos) << modes.detail;
  EXPECT_EQ(mode_of(config_.db_path), 0644u);  // without --fix nothing changes

  auto fixed = run_doctor(config_, fix_options());
  EXPECT_EQ(find(fixed, "file_modes").outcome, CheckOutcome::kOk);
  EXPECT_TRUE(find(fixed, "file_modes").fixed);
  EXPECT_EQ(mode_of(config_.db_path), 0600u);
  EXPECT_EQ(mode_of(dir_), 0700u);
  EXPECT_EQ(find(run_doctor(config_, {}), "file_modes").outcome, CheckOutcome::kOk);
}

TEST_F(DoctorTest, ARollbackJournalDatabaseIsSwitchedToWalByFix) {
  make_database(2);
  {
    // Another program set it back to a rollback journal.
    sqlite3* db = nullptr;
    ASSERT_EQ(sqlite3_open(config_.db_path.c_str(), &db), SQLITE_OK);
    ASSERT_EQ(sqlite3_exec(db, "PRAGMA journal_mode=DELETE", nullptr, nullptr, nullptr), SQLITE_OK);
    sqlite3_close(db);
  }
  auto before = run_doctor(config_, {});
  EXPECT_EQ(find(before, "wal_mode").outcome, CheckOutcome::kFail);
  EXPECT_NE(find(before, "wal_mode").detail.find("journal_mode is delete, not WAL"),
            std::string::npos);
  auto after = run_doctor(config_, fix_options());
  EXPECT_EQ(find(after, "wal_mode").outcome, CheckOutcome::kOk);
  EXPECT_TRUE(find(after, "wal_mode").fixed);
  EXPECT_EQ(find(run_doctor(config_, {}), "wal_mode").detail, "journal_mode is WAL");
}

TEST_F(DoctorTest, ADamagedFileFailsClearlyAndSkipsTheChecksThatReadIt) {
  fs::create_directories(dir_);
  std::ofstream(config_.db_path, std::ios::binary) << std::string(8192, 'x');
  fs::permissions(config_.db_path, fs::perms(0600));
  auto checks = run_doctor(config_, {});
  const DoctorCheck& db = find(checks, "database");
  EXPECT_EQ(db.outcome, CheckOutcome::kFail);
  EXPECT_NE(db.detail.find("not a database"), std::string::npos) << db.detail;
  for (const DoctorCheck& c : checks) EXPECT_NE(c.name, "integrity");
}

TEST_F(DoctorTest, LitestreamTablesAreExpectedNotDamage) {
  make_database(1);
  {
    // What Litestream 0.3 adds to a database it replicates.
    sqlite3* db = nullptr;
    ASSERT_EQ(sqlite3_open(config_.db_path.c_str(), &db), SQLITE_OK);
    ASSERT_EQ(sqlite3_exec(db,
                           "CREATE TABLE _litestream_seq (id INTEGER PRIMARY KEY, seq INTEGER);"
                           "CREATE TABLE _litestream_lock (id INTEGER);"
                           "INSERT INTO _litestream_seq VALUES (1, 7);",
                           nullptr, nullptr, nullptr),
              SQLITE_OK);
    sqlite3_close(db);
  }
  const auto checks = run_doctor(config_, {});
  const DoctorCheck& integrity = find(checks, "integrity");
  EXPECT_EQ(integrity.outcome, CheckOutcome::kOk);
  EXPECT_EQ(integrity.detail,
            "integrity_check: ok (Litestream's _litestream_seq, _litestream_lock present, as "
            "expected)");
  EXPECT_EQ(find(checks, "index").outcome, CheckOutcome::kOk);
}

TEST_F(DoctorTest, AMissingVectorIsAWarningNamingTheCount) {
  make_database(2);
  {
    sqlite3* db = nullptr;
    ASSERT_EQ(sqlite3_open(config_.db_path.c_str(), &db), SQLITE_OK);
    ASSERT_EQ(sqlite3_exec(db,
                           "DELETE FROM memory_vectors WHERE memory_id = (SELECT MIN(id) FROM "
                           "memories)",
                           nullptr, nullptr, nullptr),
              SQLITE_OK);
    sqlite3_close(db);
  }
  const auto checks = run_doctor(config_, {});
  const DoctorCheck& index = find(checks, "index");
  EXPECT_EQ(index.outcome, CheckOutcome::kWarn);
  EXPECT_NE(index.detail.find("2 memories, 1 with a vector"), std::string::npos) << index.detail;
}

TEST_F(DoctorTest, AFileReplicaWithoutAGenerationIsAWarning) {
  make_database(1);
  const std::string replica = dir_ + "/replica";
  const std::string yml = dir_ + "/litestream.yml";
  std::ofstream(yml) << "dbs:\n  - path: " << config_.db_path << "\n    replicas:\n"
                     << "      - type: file\n        path: " << replica << "\n";
  config_.litestream = MCP_LITESTREAM;
  const auto first = run_doctor(config_, {});
  const DoctorCheck& empty = find(first, "replication");
  EXPECT_EQ(empty.outcome, CheckOutcome::kWarn) << empty.detail;
  EXPECT_NE(empty.detail.find("no generation yet in " + replica), std::string::npos)
      << empty.detail;
  fs::create_directories(replica + "/generations/0123456789abcdef/snapshots");
  const auto second = run_doctor(config_, {});
  const DoctorCheck& has = find(second, "replication");
  EXPECT_EQ(has.outcome, CheckOutcome::kOk) << has.detail;
  EXPECT_NE(has.detail.find(replica + " has a generation"), std::string::npos) << has.detail;
}

}  // namespace
}  // namespace mcpmem
