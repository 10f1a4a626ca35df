// Encrypted backups and restores, on real files: a round trip gives back every row; a wrong
// passphrase, a flipped byte or a cut file fails clearly and leaves nothing at the target; a
// backup taken while another connection writes holds everything committed before it; the
// plaintext never reaches the backups folder; retention by age and count covers encrypted and
// plain files alike; a restore over an existing database needs --force, keeps the old one, and
// is refused while another connection has it open.
#include "service/backup_restore.h"

#include <gtest/gtest.h>
#include <sqlite3.h>

#include <atomic>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>

#include "../temp_dir.h"
#include "core/content_hash.h"
#include "core/encrypted_stream.h"
#include "service/backups.h"
#include "storage/database.h"

namespace mcpmem {
namespace {

namespace fs = std::filesystem;
constexpr const char* kPassphrase = "tangerine submarine 42";

std::string slurp(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

void write_file(const std::string& path, const std::string& bytes) {
  std::ofstream(path, std::ios::binary | std::ios::trunc) << bytes;
}

// Every memory row that matters, in id order: equal dumps, equal memories.
std::string dump(const std::string& path) {
  auto db = Database::open(path, OpenOptions{});
  EXPECT_TRUE(db.is_ok()) << db.status().message();
  if (!db.is_ok()) return "";
  MemoryFilter all;
  all.include_deleted = true;
  auto rows = (*db)->list(all, ListOrder::kCreatedAsc, 0, 1'000'000);
  std::string out;
  for (const Memory& m : *rows) {
    out += m.content_hash + "|" + m.content + "|" + m.memory_type + "|" + m.metadata.dump() + "|" +
           std::to_string(m.created_at) + "|" + m.hlc + "\n";
  }
  return out;
}

class BackupRestoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    config_ = config_from_env({{"HOME", dir_.path()}});
    config_.db_path = dir_ / "live.db";
    config_.backups_path = dir_ / "backups";
    config_.synchronous_full = false;
    config_.semantic_dedup_enabled = false;
    config_.backup_encrypt = true;
    config_.backup_passphrase = kPassphrase;
    config_.backup_kdf_log2_n = 12;  // fast; the format records it
    service_ = std::move(MemoryService::open(config_)).value();
  }
  void TearDown() override { service_.reset(); }

  void store(int n, const std::string& prefix, size_t padding = 0) {
    std::vector<StoreRequest> batch;
    for (int i = 0; i < n; ++i) {
      StoreRequest r;
      r.content = prefix + " " + std::to_string(i) + std::string(padding, 'x');
      r.tags = {"t" + std::to_string(i % 7)};
      r.metadata = Json{{"i", i}};
      batch.push_back(std::move(r));
    }
    ASSERT_TRUE(service_->store_batch(batch).is_ok());
  }

  BackupInfo encrypted_backup() {
    Backups backups(*service_, config_);
    auto made = backups.create();
    EXPECT_TRUE(made.is_ok()) << made.status().message();
    return made.is_ok() ? *made : BackupInfo{};
  }

  // Nothing at all at `path`, and nothing of a restore left beside it.
  void expect_nothing_written(const std::string& path) {
    EXPECT_FALSE(fs::exists(path));
    for (const auto& e : fs::directory_iterator(fs::path(path).parent_path())) {
      EXPECT_EQ(e.path().filename().string().find(fs::path(path).filename().string()),
                std::string::npos)
          << e.path();
    }
  }

  TempDir dir_{"restore"};
  Config config_;
  std::unique_ptr<MemoryService> service_;
};

TEST_F(BackupRestoreTest, AnEncryptedRoundTripGivesBackEveryRow) {
  store(300, "round trip");
  BackupInfo b = encrypted_backup();
  EXPECT_TRUE(b.encrypted);
  EXPECT_TRUE(b.filename.ends_with(".db.enc")) << b.filename;
  EXPECT_EQ(b.memory_count, 300);
  EXPECT_TRUE(owner_only(b.path));
  // Only ciphertext in the backups folder; no plaintext snapshot left beside the database.
  const std::string sealed = slurp(b.path);
  EXPECT_EQ(sealed.find("SQLite format 3"), std::string::npos);
  EXPECT_EQ(sealed.find("round trip 1"), std::string::npos);
  for (const auto& e : fs::directory_iterator(dir_.path())) {
    EXPECT_EQ(e.path().string().find("snapshot"), std::string::npos) << e.path();
  }

  const std::string target = dir_ / "restored/memories.db";
  auto report = restore_from_backup(b.path, {target}, std::string(kPassphrase));
  ASSERT_TRUE(report.is_ok()) << report.status().message();
  EXPECT_EQ(report->memories, 300);
  EXPECT_TRUE(report->decrypted);
  EXPECT_TRUE(report->integrity_checked);
  EXPECT_TRUE(report->newest_memory_at.has_value());
  EXPECT_TRUE(report->previous_kept_as.empty());
  EXPECT_EQ(dump(target), dump(config_.db_path));
  EXPECT_FALSE(fs::exists(target + "-wal"));
}

TEST_F(BackupRestoreTest, APlainBackupRestoresToo) {
  store(50, "plain");
  config_.backup_encrypt = false;
  BackupInfo b = encrypted_backup();
  EXPECT_FALSE(b.encrypted);
  EXPECT_EQ(b.memory_count, 50);
  const std::string target = dir_ / "plain.db";
  auto report = restore_from_backup(b.path, {target}, std::nullopt);
  ASSERT_TRUE(report.is_ok()) << report.status().message();
  EXPECT_FALSE(report->decrypted);
  EXPECT_EQ(dump(target), dump(config_.db_path));
  // The backup itself is not changed by being restored from (it is copied, never opened).
  EXPECT_TRUE(describe_backup(b).is_ok());
  EXPECT_EQ(b.memory_count, 50);
}

TEST_F(BackupRestoreTest, AWrongPassphraseSaysSoAndWritesNothing) {
  store(20, "secret");
  BackupInfo b = encrypted_backup();
  const std::string target = dir_ / "wrong.db";
  auto report = restore_from_backup(b.path, {target}, std::string("tangerine submarine 43"));
  ASSERT_FALSE(report.is_ok());
  EXPECT_NE(report.status().message().find("wrong passphrase or damaged file"), std::string::npos)
      << report.status().message();
  expect_nothing_written(target);
  // No passphrase at all: said plainly too.
  auto none = restore_from_backup(b.path, {target}, std::nullopt);
  EXPECT_EQ(none.status().code(), StatusCode::kFailedPrecondition);
  EXPECT_NE(none.status().message().find("MCP_BACKUP_PASSPHRASE"), std::string::npos);
  expect_nothing_written(target);
}

TEST_F(BackupRestoreTest, AFlippedByteOrACutFileFailsAndWritesNothing) {
  store(2500, "a memory long enough to fill more than one chunk", 400);  // > 1 MiB
  BackupInfo b = encrypted_backup();
  const std::string sealed = slurp(b.path);
  const size_t chunk = (1 << 20) + 16;
  ASSERT_GT(sealed.size(), kEncryptedHeaderBytes + chunk);
  const std::string target = dir_ / "damaged.db";
  std::vector<std::pair<std::string, std::string>> cases;
  for (size_t at :
       {size_t{0}, size_t{10}, size_t{30}, size_t{50}, size_t{63}, size_t{64}, size_t{5000},
        kEncryptedHeaderBytes + chunk - 1, kEncryptedHeaderBytes + chunk + 7, sealed.size() - 1}) {
    std::string bad = sealed;
    bad[at] = static_cast<char>(bad[at] ^ 0x20);
    cases.emplace_back("flip at " + std::to_string(at), bad);
  }
  cases.emplace_back("cut between chunks", sealed.substr(0, kEncryptedHeaderBytes + chunk));
  cases.emplace_back("cut inside a chunk", sealed.substr(0, kEncryptedHeaderBytes + chunk + 99));
  cases.emplace_back("cut inside the header", sealed.substr(0, 40));
  cases.emplace_back("cut by one byte", sealed.substr(0, sealed.size() - 1));
  for (const auto& [what, bytes] : cases) {
    const std::string bad_file = dir_ / "bad.db.enc";
    write_file(bad_file, bytes);
    auto report = restore_from_backup(bad_file, {target}, std::string(kPassphrase));
    ASSERT_FALSE(report.is_ok()) << what;
    EXPECT_NE(report.status().message().find("damaged file"), std::string::npos)
        << what << ": " << report.status().message();
    expect_nothing_written(target);
  }
  // The untouched file still restores.
  ASSERT_TRUE(restore_from_backup(b.path, {target}, std::string(kPassphrase)).is_ok());
}

TEST_F(BackupRestoreTest, AnEncryptedBackupDuringWritesHoldsEverythingCommittedBeforeIt) {
  store(100, "before");
  std::atomic<bool> done{false};
  std::atomic<int> committed{0};
  std::thread writer([&] {
    auto other = std::move(MemoryService::open(config_)).value();  // its own connection
    for (int i = 0; !done; ++i) {
      StoreRequest r;
      r.content = "during " + std::to_string(i);
      ASSERT_TRUE(other->store(r).is_ok());
      committed = i + 1;
    }
  });
  while (committed < 20) std::this_thread::yield();
  const int committed_before = committed;
  BackupInfo b = encrypted_backup();
  done = true;
  writer.join();
  const std::string target = dir_ / "during.db";
  auto report = restore_from_backup(b.path, {target}, std::string(kPassphrase));
  ASSERT_TRUE(report.is_ok()) << report.status().message();
  EXPECT_GE(report->memories, 100 + committed_before);
  EXPECT_EQ(report->memories, *b.memory_count);
  auto db = std::move(Database::open(target, OpenOptions{})).value();
  EXPECT_EQ(*db->integrity_check(), "ok");
  for (int i = 0; i < committed_before; ++i) {
    EXPECT_TRUE(db->get_by_hash(*content_hash("during " + std::to_string(i)))->has_value()) << i;
  }
  // Consistent: the change log and the rows agree (no half-copied transaction).
  EXPECT_EQ(*db->last_change_seq(), db->stats()->total_memories);
}

TEST_F(BackupRestoreTest, AnExistingDatabaseIsReplacedOnlyWithForceAndKept) {
  store(10, "new data");
  BackupInfo b = encrypted_backup();
  const std::string target = dir_ / "existing.db";
  {
    Config other = config_;
    other.db_path = target;
    auto old = std::move(MemoryService::open(other)).value();
    StoreRequest r;
    r.content = "the old database's only memory";
    ASSERT_TRUE(old->store(r).is_ok());
    // Open in another "process": refused even with force, and left as it is.
    auto refused = restore_from_backup(b.path, {target, true}, std::string(kPassphrase));
    EXPECT_EQ(refused.status().code(), StatusCode::kFailedPrecondition);
    EXPECT_NE(refused.status().message().find("stop the server"), std::string::npos);
  }
  const std::string before = dump(target);
  auto no_force = restore_from_backup(b.path, {target}, std::string(kPassphrase));
  EXPECT_EQ(no_force.status().code(), StatusCode::kAlreadyExists);
  EXPECT_NE(no_force.status().message().find("--force"), std::string::npos);
  EXPECT_EQ(dump(target), before);

  auto forced = restore_from_backup(b.path, {target, true}, std::string(kPassphrase));
  ASSERT_TRUE(forced.is_ok()) << forced.status().message();
  EXPECT_EQ(dump(target), dump(config_.db_path));
  ASSERT_FALSE(forced->previous_kept_as.empty());
  EXPECT_EQ(dump(forced->previous_kept_as), before);
}

TEST_F(BackupRestoreTest, AFileThatIsNotADatabaseIsRefusedAndWritesNothing) {
  const std::string target = dir_ / "not.db";
  write_file(dir_ / "notes.db", std::string(10000, 'n'));
  auto report = restore_from_backup(dir_ / "notes.db", {target}, std::nullopt);
  EXPECT_EQ(report.status().code(), StatusCode::kCorruption) << report.status().message();
  expect_nothing_written(target);
  // An SQLite database that is not ours (no memories table), and an empty file: refused too.
  sqlite3* other = nullptr;
  ASSERT_EQ(sqlite3_open((dir_ / "other.db").c_str(), &other), SQLITE_OK);
  ASSERT_EQ(sqlite3_exec(other, "CREATE TABLE notes(x)", nullptr, nullptr, nullptr), SQLITE_OK);
  sqlite3_close(other);
  auto foreign = restore_from_backup(dir_ / "other.db", {target}, std::nullopt);
  EXPECT_NE(foreign.status().message().find("no memories table"), std::string::npos)
      << foreign.status().message();
  expect_nothing_written(target);
  write_file(dir_ / "empty.db", "");
  auto empty = restore_from_backup(dir_ / "empty.db", {target}, std::nullopt);
  EXPECT_FALSE(empty.is_ok());
  expect_nothing_written(target);
  EXPECT_EQ(restore_from_backup(dir_ / "missing.db", {target}, std::nullopt).status().code(),
            StatusCode::kNotFound);
}

TEST_F(BackupRestoreTest, RetentionByAgeAndCountCoversEncryptedAndPlainBackups) {
  fs::create_directories(config_.backups_path);
  // Older than MCP_BACKUP_RETENTION (7 days): removed, encrypted or not.
  for (const char* old :
       {"memory_backup_20200101_000000.db", "memory_backup_20200102_000000.db.enc",
        "memory_backup_20200103_000000_2.db.enc"}) {
    write_file(config_.backups_path + "/" + old, "old");
  }
  write_file(config_.backups_path + "/notes.txt", "mine");
  config_.backup_max_count = 3;
  std::vector<std::string> made;
  for (int i = 0; i < 4; ++i) {
    config_.backup_encrypt = i % 2 == 0;  // alternate: the count spans both kinds
    made.push_back(encrypted_backup().filename);
  }
  std::vector<BackupInfo> kept = list_backups(config_.backups_path);
  ASSERT_EQ(kept.size(), 3u);
  EXPECT_EQ(kept[0].filename, made[3]);
  EXPECT_EQ(kept[1].filename, made[2]);
  EXPECT_EQ(kept[2].filename, made[1]);
  EXPECT_FALSE(kept[0].encrypted);
  EXPECT_TRUE(kept[1].encrypted);
  EXPECT_TRUE(fs::exists(config_.backups_path + "/notes.txt"));
  // Age alone: with a 0-day retention only the newest stays.
  config_.backup_retention_days = 0;
  config_.backup_max_count = 100;
  made.push_back(encrypted_backup().filename);
  kept = list_backups(config_.backups_path);
  ASSERT_EQ(kept.size(), 1u);
  EXPECT_EQ(kept[0].filename, made.back());
}

TEST_F(BackupRestoreTest, EncryptionWithoutAPassphraseIsRefusedUpFront) {
  config_.backup_passphrase.clear();
  Backups backups(*service_, config_);
  EXPECT_EQ(backups.check_settings().code(), StatusCode::kFailedPrecondition);
  EXPECT_EQ(backups.create().status().code(), StatusCode::kFailedPrecondition);
  EXPECT_TRUE(list_backups(config_.backups_path).empty());
}

TEST_F(BackupRestoreTest, ThePassphraseFileLosesItsTrailingNewline) {
  config_.backup_passphrase.clear();
  config_.backup_passphrase_file = dir_ / "pass";
  write_file(config_.backup_passphrase_file, std::string(kPassphrase) + "\r\n");
  auto p = backup_passphrase(config_);
  ASSERT_TRUE(p.is_ok());
  EXPECT_EQ(**p, kPassphrase);
  write_file(config_.backup_passphrase_file, "\n");
  EXPECT_EQ(backup_passphrase(config_).status().code(), StatusCode::kInvalidArgument);
  config_.backup_passphrase_file = dir_ / "missing";
  EXPECT_FALSE(backup_passphrase(config_).is_ok());
}

}  // namespace
}  // namespace mcpmem
