// litestream.yml checked as strictly as Litestream 0.3.13 is lax: the guide's hub
// configuration reads with one warning (wal-retention does nothing in 0.3.13); a typo, a
// duration without a unit, an http:// replica or a relative path is an error naming the line.
#include "replication/litestream_config.h"

#include <gtest/gtest.h>

namespace mcpmem {
namespace {

// The sync guide's /etc/litestream.yml for the central server, as written there.
const char* kGuideHub = R"(dbs:
  - path: /home/user/.local/share/mcp-memory/sqlite_vec.db
    replicas:
      # HTTP endpoint for replica downloads
      - type: file
        path: /var/www/litestream/mcp-memory
        sync-interval: 10s

      # Local backup
      - type: file
        path: /backup/litestream/mcp-memory
        sync-interval: 1m

    # Performance settings
    checkpoint-interval: 30s
    wal-retention: 10m
)";

TEST(LitestreamConfig, TheGuidesHubConfigurationReadsWithOneWarning) {
  auto c = parse_litestream_config(kGuideHub, "/etc/litestream.yml");
  ASSERT_TRUE(c.is_ok()) << c.status().message();
  ASSERT_EQ(c->dbs.size(), 1u);
  EXPECT_EQ(c->dbs[0].path, "/home/user/.local/share/mcp-memory/sqlite_vec.db");
  ASSERT_EQ(c->dbs[0].replicas.size(), 2u);
  EXPECT_EQ(c->dbs[0].replicas[1].path, "/backup/litestream/mcp-memory");
  EXPECT_EQ(c->dbs[0].replicas[1].settings.at("sync-interval"), "1m");
  EXPECT_EQ(c->dbs[0].settings.at("checkpoint-interval"), "30s");
  ASSERT_EQ(c->warnings.size(), 1u);
  EXPECT_NE(c->warnings[0].find("/etc/litestream.yml:16: dbs[0].wal-retention has no effect"),
            std::string::npos)
      << c->warnings[0];
}

TEST(LitestreamConfig, WhatLitestreamWouldMisreadSilentlyIsAnErrorNamingTheLine) {
  struct Case {
    const char* yaml;
    const char* says;
  } cases[] = {
      {"dbs:\n  - path: /d.db\n    replicas:\n      - path: /r\n        type: file\n"
       "        sync-intervall: 1s\n",
       "f.yml:6: dbs[0].replicas[0].sync-intervall is not a Litestream v0.3.13 key"},
      {"dbs:\n  - path: /d.db\n    replicas:\n      - type: file\n        path: /r\n"
       "        sync-interval: 1\n",
       "f.yml:6: dbs[0].replicas[0].sync-interval: '1' is not a duration with a unit"},
      {"dbs:\n  - path: /d.db\n    replicas:\n      - type: file\n"
       "        url: http://hub/litestream/mcp-memory\n",
       "Litestream cannot replicate to or restore from http://"},
      {"dbs:\n  - path: /d.db\n    replicas:\n      - type: file\n        path: backups/r\n",
       "'backups/r' is relative"},
      {"dbs:\n  - path: /d.db\n    replicas:\n      - type: ftp\n        path: /r\n",
       "unknown replica type 'ftp'"},
      {"dbs:\n  - path: /d.db\n", "dbs[0] needs replicas"},
      {"dbs: [\n", "f.yml:2: not YAML"},
      {"replicas: []\n", "the file.replicas is not a Litestream v0.3.13 key"},
  };
  for (const Case& c : cases) {
    auto r = parse_litestream_config(c.yaml, "f.yml");
    ASSERT_FALSE(r.is_ok()) << c.yaml;
    EXPECT_NE(r.status().message().find(c.says), std::string::npos) << r.status().message();
  }
}

TEST(LitestreamConfig, AMadeConfigurationIsAbsoluteAndReadsBackUnchanged) {
  auto made = litestream_config_for("rel/memory.db", {"replica-dir", "s3://bucket/memory"}, "1s");
  ASSERT_TRUE(made.is_ok()) << made.status().message();
  const LitestreamDb& db = made->dbs.at(0);
  EXPECT_TRUE(db.path.starts_with("/")) << db.path;
  EXPECT_EQ(db.replicas.at(0).type, "file");
  EXPECT_TRUE(db.replicas.at(0).path.starts_with("/"));
  EXPECT_EQ(db.replicas.at(1).url, "s3://bucket/memory");
  EXPECT_EQ(db.replicas.at(1).settings.at("sync-interval"), "1s");
  const std::string yaml = litestream_config_yaml(*made);
  auto again = parse_litestream_config(yaml, "made");
  ASSERT_TRUE(again.is_ok()) << yaml;
  EXPECT_EQ(litestream_config_yaml(*again), yaml);
  EXPECT_TRUE(again->warnings.empty());
  EXPECT_FALSE(litestream_config_for("/d.db", {"/r"}, "1").is_ok());
  EXPECT_FALSE(litestream_config_for("/d.db", {"http://hub/x"}, "1s").is_ok());
  EXPECT_FALSE(litestream_config_for("/d.db", {}, "1s").is_ok());
}

TEST(LitestreamConfig, DurationsNeedUnits) {
  for (const char* ok : {"1s", "10m", "24h", "500ms", "1m30s", "1.5h"}) {
    EXPECT_TRUE(is_litestream_duration(ok)) << ok;
  }
  for (const char* bad : {"1", "", "s", "10 m", "1d", "abc", "-1s"}) {
    EXPECT_FALSE(is_litestream_duration(bad)) << bad;
  }
}

}  // namespace
}  // namespace mcpmem
