// mirror_replica against a real HTTPS server (our HttpServer with a self-signed certificate made
// by the same code as `serve --https`) serving a replica directory with mount_replica_files:
// only new files are fetched, files the hub dropped are removed, names that are not
// Litestream's are skipped, and a missing key or an untrusted certificate writes nothing.
#include "replication/replica_mirror.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <thread>

#include "http/http_server.h"
#include "http/replica_files.h"
#include "http/tls_certificate.h"

namespace mcpmem {
namespace {

namespace fs = std::filesystem;
constexpr const char* kKey = "mirror-key-7d2e";
constexpr const char* kGen = "generations/00112233aabbccdd";

class ReplicaMirrorTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/mcpmem-mirror-XXXXXX";
    dir_ = mkdtemp(tmpl);
    served_ = dir_ + "/served";
    replica_ = served_ + "/mcp-memory";
    fs::create_directories(replica_ + "/" + kGen + "/snapshots");
    fs::create_directories(replica_ + "/" + kGen + "/wal");
    auto tls = ensure_self_signed_certificate(dir_ + "/tls", {{"localhost"}, {"127.0.0.1"}});
    ASSERT_TRUE(tls.is_ok()) << tls.status().message();
    ca_ = tls->cert_file;
    HttpOptions o;
    o.port = 0;
    o.cert_file = tls->cert_file;
    o.key_file = tls->key_file;
    o.api_key = kKey;
    server_ = std::move(HttpServer::create(o)).value();
    ASSERT_TRUE(mount_replica_files(*server_, served_).is_ok());
    thread_ = std::thread([this] { (void)server_->run(); });
    while (!server_->running()) std::this_thread::sleep_for(std::chrono::milliseconds(1));
    url_ = server_->url() + "/litestream/mcp-memory";
  }
  void TearDown() override {
    server_->stop();
    thread_.join();
    fs::remove_all(dir_);
  }
  void put(const std::string& relative, const std::string& bytes) {
    std::ofstream(replica_ + "/" + relative, std::ios::binary) << bytes;
  }
  MirrorOptions options() const {
    MirrorOptions o;
    o.ca_file = ca_;
    o.api_key = kKey;
    return o;
  }
  std::string read(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    return std::string(std::istreambuf_iterator<char>(in), {});
  }

  std::string dir_, served_, replica_, ca_, url_;
  std::unique_ptr<HttpServer> server_;
  std::thread thread_;
};

TEST_F(ReplicaMirrorTest, FetchesOnlyNewFilesAndDropsWhatTheHubNoLongerLists) {
  put(std::string(kGen) + "/snapshots/00000000.snapshot.lz4", std::string(5000, 's'));
  put(std::string(kGen) + "/wal/00000000_00000000.wal.lz4", "wal-0");
  put(std::string(kGen) + "/wal/00000000_00001000.wal.lz4", "wal-1!");
  put(std::string(kGen) + "/wal/notes.txt", "not litestream's");  // skipped: not a WAL name
  fs::create_directories(replica_ + "/generations/not-a-generation");
  const std::string cache = dir_ + "/cache";

  auto first = mirror_replica(url_, cache, options());
  ASSERT_TRUE(first.is_ok()) << first.status().message();
  EXPECT_EQ(first->files_fetched, 3);
  EXPECT_EQ(first->bytes_fetched, 5000 + 5 + 6);
  EXPECT_EQ(first->local_dir, fs::absolute(cache).string());
  EXPECT_EQ(read(cache + "/" + kGen + "/wal/00000000_00001000.wal.lz4"), "wal-1!");
  EXPECT_EQ(read(cache + "/" + kGen + "/snapshots/00000000.snapshot.lz4"), std::string(5000, 's'));
  EXPECT_FALSE(fs::exists(cache + "/" + kGen + "/wal/notes.txt"));
  EXPECT_FALSE(fs::exists(cache + "/generations/not-a-generation"));

  // The hub's retention drops a WAL file, and one more arrives: one fetch, one removal.
  fs::remove(replica_ + "/" + kGen + "/wal/00000000_00000000.wal.lz4");
  put(std::string(kGen) + "/wal/00000000_00002000.wal.lz4", "wal-2");
  auto second = mirror_replica(url_, cache, options());
  ASSERT_TRUE(second.is_ok()) << second.status().message();
  EXPECT_EQ(second->files_fetched, 1);
  EXPECT_EQ(second->fetched,
            std::vector<std::string>{std::string(kGen) + "/wal/00000000_00002000.wal.lz4"});
  EXPECT_EQ(second->files_kept, 2);
  EXPECT_EQ(second->files_removed, 1);
  EXPECT_FALSE(fs::exists(cache + "/" + kGen + "/wal/00000000_00000000.wal.lz4"));

  // Nothing new: nothing fetched.
  auto third = mirror_replica(url_, cache, options());
  ASSERT_TRUE(third.is_ok());
  EXPECT_EQ(third->files_fetched, 0);
  EXPECT_EQ(third->files_removed, 0);
}

TEST_F(ReplicaMirrorTest, AWholeGenerationTheHubDroppedIsRemoved) {
  put(std::string(kGen) + "/wal/00000000_00000000.wal.lz4", "old");
  const std::string cache = dir_ + "/cache";
  ASSERT_TRUE(mirror_replica(url_, cache, options()).is_ok());
  fs::remove_all(replica_ + "/" + kGen);
  fs::create_directories(replica_ + "/generations/ffeeddccbbaa9988/snapshots");
  put("generations/ffeeddccbbaa9988/snapshots/00000000.snapshot.lz4", "new generation");
  auto next = mirror_replica(url_, cache, options());
  ASSERT_TRUE(next.is_ok()) << next.status().message();
  EXPECT_FALSE(fs::exists(cache + "/" + kGen));
  EXPECT_EQ(read(cache + "/generations/ffeeddccbbaa9988/snapshots/00000000.snapshot.lz4"),
            "new generation");
}

TEST_F(ReplicaMirrorTest, WithoutTheKeyTheHubRefusesAndNothingIsWritten) {
  put(std::string(kGen) + "/wal/00000000_00000000.wal.lz4", "wal");
  MirrorOptions o = options();
  o.api_key.clear();
  auto r = mirror_replica(url_, dir_ + "/cache", o);
  ASSERT_FALSE(r.is_ok());
  EXPECT_EQ(r.status().code(), StatusCode::kFailedPrecondition);
  EXPECT_NE(r.status().message().find("401"), std::string::npos) << r.status().message();
  EXPECT_FALSE(fs::exists(dir_ + "/cache/generations"));
}

TEST_F(ReplicaMirrorTest, AnUntrustedCertificateIsRefusedAndNothingIsWritten) {
  put(std::string(kGen) + "/wal/00000000_00000000.wal.lz4", "wal");
  MirrorOptions o = options();
  o.ca_file.clear();  // the system's CAs do not know a self-signed hub
  auto r = mirror_replica(url_, dir_ + "/cache", o);
  ASSERT_FALSE(r.is_ok());
  EXPECT_NE(r.status().message().find("certificate"), std::string::npos) << r.status().message();
  EXPECT_FALSE(fs::exists(dir_ + "/cache/generations"));
}

TEST_F(ReplicaMirrorTest, AReplicaNotYetSyncedIsEmptyAndAMissingOneIsNamed) {
  fs::remove_all(replica_ + "/generations");
  auto empty = mirror_replica(url_, dir_ + "/cache", options());
  ASSERT_TRUE(empty.is_ok()) << empty.status().message();
  EXPECT_EQ(empty->files_fetched, 0);
  auto missing =
      mirror_replica(server_->url() + "/litestream/no-such-db", dir_ + "/cache2", options());
  ASSERT_FALSE(missing.is_ok());
  EXPECT_NE(missing.status().message().find("no replica at"), std::string::npos)
      << missing.status().message();
}

}  // namespace
}  // namespace mcpmem
