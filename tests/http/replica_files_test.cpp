// /litestream/: the replica directory served read-only. Every traversal shape a hostile client
// might send is refused before the disk is read, a symlink may not lead out, listings show
// what a client can fetch (and nothing else), and a file over the bound is refused, not
// buffered.
#include "http/replica_files.h"

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

namespace mcpmem {
namespace {

namespace fs = std::filesystem;

class ReplicaFilesTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/mcpmem-replica-files-XXXXXX";
    base_ = mkdtemp(tmpl);
    root_ = fs::canonical(base_).string() + "/served";
    fs::create_directories(root_ + "/mcp-memory/generations/0123456789abcdef/wal");
    write(root_ + "/mcp-memory/generations/0123456789abcdef/wal/00000000_00000000.wal.lz4",
          "wal bytes");
    write(base_ + "/secret.txt", "outside");
  }
  void TearDown() override { fs::remove_all(base_); }
  static void write(const std::string& path, const std::string& text) {
    std::ofstream(path, std::ios::binary) << text;
  }
  Response get(std::string_view relative) { return replica_file_response(root_, relative); }

  std::string base_;
  std::string root_;
};

TEST_F(ReplicaFilesTest, AFileIsServedAsItsBytes) {
  Response r = get("mcp-memory/generations/0123456789abcdef/wal/00000000_00000000.wal.lz4");
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.body, "wal bytes");
  EXPECT_EQ(r.header("Content-Type"), "application/octet-stream");
}

TEST_F(ReplicaFilesTest, ADirectoryIsListedWithNamesTypesAndSizes) {
  write(root_ + "/mcp-memory/generations/0123456789abcdef/wal/00000001_00000000.wal.lz4", "12");
  Response r = get("mcp-memory/generations/0123456789abcdef/wal/");
  ASSERT_EQ(r.status, 200) << r.body;
  auto j = nlohmann::json::parse(r.body);
  ASSERT_EQ(j["entries"].size(), 2u);
  EXPECT_EQ(j["entries"][0]["name"], "00000000_00000000.wal.lz4");
  EXPECT_EQ(j["entries"][0]["type"], "file");
  EXPECT_EQ(j["entries"][0]["size"], 9);
  EXPECT_GT(j["entries"][0]["mtime"].get<double>(), 1.6e9);
  EXPECT_EQ(j["entries"][1]["size"], 2);
  // Without the trailing slash a directory is listed too; the root is "".
  Response root = get("");
  ASSERT_EQ(root.status, 200);
  auto top = nlohmann::json::parse(root.body);
  ASSERT_EQ(top["entries"].size(), 1u);
  EXPECT_EQ(top["entries"][0]["name"], "mcp-memory");
  EXPECT_EQ(top["entries"][0]["type"], "dir");
  EXPECT_EQ(get("mcp-memory/generations").status, 200);
}

TEST_F(ReplicaFilesTest, TraversalShapesAreRefusedBeforeTheDiskIsRead) {
  for (std::string_view bad :
       {"../secret.txt", "mcp-memory/../../secret.txt", "..", "./mcp-memory", "mcp-memory//x",
        "/etc/passwd", "mcp-memory\\..\\..\\secret.txt", "mcp-memory/..", "a/./b"}) {
    Response r = get(bad);
    EXPECT_EQ(r.status, 400) << bad;
    EXPECT_EQ(r.body.find("outside"), std::string::npos) << bad;
  }
  std::string nul("mcp-memory\0/../../secret.txt", 28);
  EXPECT_EQ(get(nul).status, 400);
  EXPECT_EQ(get(std::string(kMaxReplicaPathBytes + 1, 'a')).status, 400);
  EXPECT_EQ(get(std::string(kMaxReplicaPathBytes, 'a')).status, 404);  // at the bound: looked up
}

TEST_F(ReplicaFilesTest, SymlinksLeadingOutsideAreRefusedAndNotListed) {
  fs::create_symlink(base_ + "/secret.txt", root_ + "/mcp-memory/escape");
  fs::create_symlink(base_, root_ + "/mcp-memory/escape-dir");
  fs::create_symlink(root_ + "/mcp-memory/generations", root_ + "/mcp-memory/inside");
  EXPECT_EQ(get("mcp-memory/escape").status, 403);
  EXPECT_EQ(get("mcp-memory/escape-dir/").status, 403);
  EXPECT_EQ(get("mcp-memory/escape-dir/secret.txt").status, 403);
  EXPECT_EQ(get("mcp-memory/inside/").status, 200);  // a link that stays inside is followed
  auto j = nlohmann::json::parse(get("mcp-memory/").body);
  std::vector<std::string> names;
  for (const auto& e : j["entries"]) names.push_back(e["name"]);
  EXPECT_EQ(names, (std::vector<std::string>{"generations", "inside"}));
}

TEST_F(ReplicaFilesTest, WhatIsNeitherAFileNorADirectoryIsRefused) {
  ASSERT_EQ(mkfifo((root_ + "/mcp-memory/pipe").c_str(), 0600), 0);
  EXPECT_EQ(get("mcp-memory/pipe").status, 403);
  EXPECT_EQ(get("mcp-memory/missing").status, 404);
  EXPECT_EQ(get("mcp-memory/generations/0123456789abcdef/wal/00000000_00000000.wal.lz4/").status,
            404);  // a file asked for as a directory
}

TEST_F(ReplicaFilesTest, AFileOverTheBoundIsRefusedNotBuffered) {
  const std::string big = root_ + "/mcp-memory/big.snapshot.lz4";
  write(big, "");
  fs::resize_file(big, kMaxReplicaFileBytes + 1);  // sparse: no disk used
  Response r = get("mcp-memory/big.snapshot.lz4");
  EXPECT_EQ(r.status, 403);
  EXPECT_NE(r.body.find("MiB this server sends"), std::string::npos) << r.body;
}

}  // namespace
}  // namespace mcpmem
