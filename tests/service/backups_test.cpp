// Backups: complete and consistent while another writer keeps writing, never overwritten,
// pruned by count (the newest always kept), and the schedule's status.
#include "service/backups.h"

#include <gtest/gtest.h>

#include <atomic>
#include <filesystem>
#include <fstream>
#include <thread>

#include "../temp_dir.h"

namespace mcpmem {
namespace {

namespace fs = std::filesystem;

class BackupsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    config_ = config_from_env({{"HOME", dir_.path()}});
    config_.db_path = dir_ / "live.db";
    config_.backups_path = dir_ / "backups";
    config_.synchronous_full = false;
    config_.semantic_dedup_enabled = false;
    service_ = std::move(MemoryService::open(config_)).value();
  }
  void TearDown() override { service_.reset(); }
  TempDir dir_{"backup"};
  Config config_;
  std::unique_ptr<MemoryService> service_;
};

TEST_F(BackupsTest, ABackupTakenDuringWritesIsACompleteConsistentDatabase) {
  for (int i = 0; i < 200; ++i) {
    StoreRequest r;
    r.content = "before the backup " + std::to_string(i);
    ASSERT_TRUE(service_->store(r)->success);
  }
  // Another process writes throughout.
  std::atomic<bool> done{false};
  std::thread writer([&] {
    auto other = std::move(MemoryService::open(config_)).value();
    for (int i = 0; !done; ++i) {
      StoreRequest r;
      r.content = "during the backup " + std::to_string(i);
      ASSERT_TRUE(other->store(r).is_ok());
    }
  });
  Backups backups(*service_, config_);
  auto made = backups.create();
  done = true;
  writer.join();
  ASSERT_TRUE(made.is_ok()) << made.status().message();
  EXPECT_FALSE(fs::exists(made->path + ".partial"));
  EXPECT_FALSE(fs::exists(made->path + "-wal"));

  auto db = Database::open(made->path, OpenOptions{});
  ASSERT_TRUE(db.is_ok());
  EXPECT_EQ(*(*db)->integrity_check(), "ok");
  auto stats = (*db)->stats();
  EXPECT_GE(stats->total_memories, 200);
  // Consistent: the change log and the rows agree (no half-copied transaction).
  auto last = (*db)->last_change_seq();
  EXPECT_EQ(*last, stats->total_memories);
}

TEST_F(BackupsTest, NamesNeverCollideAndPruningKeepsTheNewest) {
  config_.backup_max_count = 3;
  Backups backups(*service_, config_);
  std::vector<std::string> names;
  for (int i = 0; i < 5; ++i) {
    auto b = backups.create();
    ASSERT_TRUE(b.is_ok()) << b.status().message();
    names.push_back(b->filename);
  }
  auto list = backups.list();
  ASSERT_EQ(list.size(), 3u);
  EXPECT_EQ(list[0].filename, names[4]);
  EXPECT_EQ(list[2].filename, names[2]);
  BackupStatus s = backups.status();
  EXPECT_EQ(s.backup_count, 3u);
  EXPECT_FALSE(s.scheduler_running);
  backups.start_schedule();
  EXPECT_TRUE(backups.status().scheduler_running);
  EXPECT_GT(*backups.status().next_backup_at, *s.last_backup_time);
  backups.stop();
  // Files that are not our backups are left alone.
  std::ofstream(config_.backups_path + "/notes.txt") << "mine";
  ASSERT_TRUE(backups.create().is_ok());
  EXPECT_TRUE(fs::exists(config_.backups_path + "/notes.txt"));
}

TEST_F(BackupsTest, AnExistingFileIsNeverOverwritten) {
  fs::create_directories(config_.backups_path);
  const std::string target = config_.backups_path + "/taken.db";
  std::ofstream(target) << "precious";
  EXPECT_EQ(service_->backup_to(target).code(), StatusCode::kAlreadyExists);
  std::ifstream in(target);
  std::string text;
  in >> text;
  EXPECT_EQ(text, "precious");
}

}  // namespace
}  // namespace mcpmem
