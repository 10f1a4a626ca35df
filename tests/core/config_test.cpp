// Config from the environment: the Python service's variable names, defaults, bad values.
#include "core/config.h"

#include <gtest/gtest.h>

namespace mcpmem {
namespace {

TEST(Config, DefaultsUnderHome) {
  Config c = config_from_env({{"HOME", "/home/u"}});
  EXPECT_EQ(c.base_dir, "/home/u/.local/share/mcp-memory");
  EXPECT_EQ(c.db_path, "/home/u/.local/share/mcp-memory/sqlite_vec.db");
  EXPECT_EQ(c.backups_path, "/home/u/.local/share/mcp-memory/backups");
  EXPECT_EQ(c.models_dir, "/home/u/.local/share/mcp-memory/models");
  EXPECT_EQ(c.home_dir, "/home/u");  // where `service install` puts per-user definitions
  EXPECT_EQ(config_from_env({}).home_dir, "");
  EXPECT_TRUE(c.synchronous_full);
  EXPECT_TRUE(c.semantic_dedup_enabled);
  EXPECT_FALSE(c.semantic_dedup_threshold.has_value());  // the model's own
  EXPECT_EQ(c.embedding_model, "");  // the database's, else `model use`, else hash-384
  EXPECT_FALSE(c.node_name.empty());
  EXPECT_EQ(config_from_env({{"HOME", "/home/José"}}).db_path,
            "/home/José/.local/share/mcp-memory/sqlite_vec.db");
}

TEST(Config, EnvironmentOverrides) {
  Config c = config_from_env({{"HOME", "/h"},
                              {"MCP_MEMORY_BASE_DIR", "~/mem"},
                              {"MCP_MEMORY_SQLITEVEC_PATH", "/data/x.db"},
                              {"MCP_SEMANTIC_DEDUP_ENABLED", "false"},
                              {"MCP_SEMANTIC_DEDUP_THRESHOLD", "0.9"},
                              {"MCP_MEMORY_SQLITE_SYNCHRONOUS", "normal"},
                              {"MCP_MEMORY_NODE_NAME", "Work Laptop"}});
  EXPECT_EQ(c.base_dir, "/h/mem");
  EXPECT_EQ(c.db_path, "/data/x.db");
  EXPECT_EQ(c.backups_path, "/h/mem/backups");
  EXPECT_EQ(c.models_dir, "/h/mem/models");  // with the base dir, even when the DB is elsewhere
  EXPECT_FALSE(c.semantic_dedup_enabled);
  EXPECT_DOUBLE_EQ(c.semantic_dedup_threshold.value_or(0), 0.9);
  EXPECT_FALSE(c.synchronous_full);
  EXPECT_EQ(c.node_name, "work-laptop");
  // MCP_MEMORY_SQLITE_PATH wins over its alias.
  EXPECT_EQ(
      config_from_env({{"MCP_MEMORY_SQLITE_PATH", "/a.db"}, {"MCP_MEMORY_SQLITEVEC_PATH", "/b.db"}})
          .db_path,
      "/a.db");
  // The Python service's name for the model is read too; ours wins.
  EXPECT_EQ(config_from_env({{"MCP_EMBEDDING_MODEL", "all-MiniLM-L6-v2"}}).embedding_model,
            "all-MiniLM-L6-v2");
  EXPECT_EQ(config_from_env({{"MCP_EMBEDDING_MODEL", "a/b"}, {"MCP_MEMORY_EMBEDDING_MODEL", "c/d"}})
                .embedding_model,
            "c/d");
}

TEST(Config, BackupsAreEncryptedWhenAPassphraseIsSetUnlessTurnedOff) {
  Config none = config_from_env({{"HOME", "/h"}});
  EXPECT_FALSE(none.backup_encrypt);
  EXPECT_EQ(none.backup_kdf_log2_n, 16);
  Config file = config_from_env({{"HOME", "/h"}, {"MCP_BACKUP_PASSPHRASE_FILE", "~/pass"}});
  EXPECT_TRUE(file.backup_encrypt);
  EXPECT_EQ(file.backup_passphrase_file, "/h/pass");
  Config value = config_from_env({{"MCP_BACKUP_PASSPHRASE", "s3cret words"}});
  EXPECT_TRUE(value.backup_encrypt);
  EXPECT_EQ(value.backup_passphrase, "s3cret words");
  EXPECT_FALSE(config_from_env({{"MCP_BACKUP_PASSPHRASE", "p"}, {"MCP_BACKUP_ENCRYPT", "false"}})
                   .backup_encrypt);
  // Asked for without a passphrase: kept, so Backups::check_settings can refuse it plainly.
  EXPECT_TRUE(config_from_env({{"MCP_BACKUP_ENCRYPT", "true"}}).backup_encrypt);
  // scrypt's cost: 15..20 only; anything else keeps the default.
  EXPECT_EQ(config_from_env({{"MCP_BACKUP_KDF_COST", "18"}}).backup_kdf_log2_n, 18);
  EXPECT_EQ(config_from_env({{"MCP_BACKUP_KDF_COST", "12"}}).backup_kdf_log2_n, 16);
  EXPECT_EQ(config_from_env({{"MCP_BACKUP_KDF_COST", "40"}}).backup_kdf_log2_n, 16);
}

TEST(Config, HubSettingsUseDesignNamesAndAcceptTheOldOnes) {
  Config none = config_from_env({{"HOME", "/h"}});
  EXPECT_EQ(none.hub_url, "");
  EXPECT_EQ(none.hub_ca_file, "");
  EXPECT_EQ(none.hub_api_key, "");

  Config design = config_from_env({{"HOME", "/h"},
                                   {"MCP_MEMORY_HUB_URL", "https://hub.local:8443"},
                                   {"MCP_MEMORY_HUB_CA", "~/hub-cert.pem"}});
  EXPECT_EQ(design.hub_url, "https://hub.local:8443");
  EXPECT_EQ(design.hub_ca_file, "/h/hub-cert.pem");

  Config old = config_from_env({{"HOME", "/h"},
                                {"MCP_SYNC_HUB_URL", "https://old.local:8443"},
                                {"MCP_SYNC_HUB_CA", "/etc/old.pem"}});
  EXPECT_EQ(old.hub_url, "https://old.local:8443");
  EXPECT_EQ(old.hub_ca_file, "/etc/old.pem");

  // Both set: the MCP_MEMORY_ name wins; an empty one counts as unset.
  Config both = config_from_env({{"MCP_MEMORY_HUB_URL", "https://new.local:8443"},
                                 {"MCP_SYNC_HUB_URL", "https://old.local:8443"},
                                 {"MCP_MEMORY_HUB_CA", ""},
                                 {"MCP_SYNC_HUB_CA", "/etc/old.pem"}});
  EXPECT_EQ(both.hub_url, "https://new.local:8443");
  EXPECT_EQ(both.hub_ca_file, "/etc/old.pem");
}

TEST(Config, HubApiKeyIsTheSyncKeyElseTheServerKey) {
  EXPECT_EQ(config_from_env({{"MCP_API_KEY", "server"}}).hub_api_key, "server");
  EXPECT_EQ(config_from_env({{"MCP_SYNC_API_KEY", "sync"}, {"MCP_API_KEY", "server"}}).hub_api_key,
            "sync");
}

TEST(Config, InvalidValuesKeepDefaults) {
  Config c = config_from_env({{"HOME", "/h"},
                              {"MCP_SEMANTIC_DEDUP_THRESHOLD", "high"},
                              {"MCP_MEMORY_MAX_CONTENT_BYTES", "-5"},
                              {"MCP_SEMANTIC_DEDUP_ENABLED", "maybe"}});
  EXPECT_FALSE(c.semantic_dedup_threshold.has_value());
  EXPECT_EQ(c.max_content_bytes, size_t{1} << 20);
  EXPECT_TRUE(c.semantic_dedup_enabled);
}

TEST(Config, TheMachineNameComesFromTheVariablesThePythonExporterReads) {
  EXPECT_EQ(config_from_env(
                {{"HOME", "/h"}, {"COMPUTERNAME", "DESKTOP-7Q2 Office"}, {"HOSTNAME", "ignored"}})
                .node_name,
            "desktop-7q2-office");
  EXPECT_EQ(config_from_env({{"HOME", "/h"}, {"HOSTNAME", "MacBook-Pro"}}).node_name,
            "macbook-pro");
  EXPECT_EQ(
      config_from_env(
          {{"HOME", "/h"}, {"MCP_MEMORY_NODE_NAME", "windows-pc"}, {"COMPUTERNAME", "DESKTOP-7Q2"}})
          .node_name,
      "windows-pc");
}

}  // namespace
}  // namespace mcpmem
