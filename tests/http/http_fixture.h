// A real HttpServer on a free loopback port with the MCP endpoint, the REST API and the sync
// routes mounted (as `serve --http` does) on a temporary database, and a client for it
// (test_client.h): the fixture of the http tests.
#pragma once

#include <gtest/gtest.h>

#include <filesystem>
#include <mutex>
#include <thread>
#include <vector>

#include "../temp_dir.h"
#include "http/dashboard.h"
#include "http/event_stream.h"
#include "http/http_server.h"
#include "http/mcp_endpoint.h"
#include "http/rest_api.h"
#include "http/sync_api.h"
#include "test_client.h"

namespace mcpmem {

namespace fs = std::filesystem;
constexpr const char* kKey = "test-key-5f1c2a9b";
constexpr const char* kInitialize =
    R"({"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-11-25",)"
    R"("capabilities":{},"clientInfo":{"name":"t","version":"1"}}})";

class HttpTest : public ::testing::Test {
 protected:
  void SetUp() override {
    Config c = config_from_env({{"HOME", dir_.path()}});
    c.db_path = dir_ / "http.db";
    c.synchronous_full = false;
    c.semantic_dedup_enabled = false;  // these tests store look-alike memories on purpose
    service_ = std::move(MemoryService::open(c)).value();
  }
  void TearDown() override {
    stop();
    rest_.reset();
    stream_.reset();
    backups_.reset();
    service_.reset();
  }
  void start(HttpOptions o = {}) {
    o.port = 0;
    if (o.api_key.empty() && !o.allow_anonymous) o.api_key = kKey;
    server_ = std::move(HttpServer::create(o)).value();
    endpoint_ = std::make_unique<McpHttpEndpoint>(*service_, session_key_);
    endpoint_->mount(*server_);
    stream_ = std::make_unique<EventStream>(*service_);
    backups_ = std::make_unique<Backups>(*service_, service_->config());
    stream_->mount(*server_);
    rest_ = std::make_unique<RestApi>(
        *service_, "test",
        [this](const std::string& type, const Json& data) {
          {
            std::lock_guard<std::mutex> lock(events_mu_);
            events_.push_back(type);
          }
          stream_->publish(type, data);
        },
        backups_.get());
    rest_->mount(*server_);
    mount_sync_api(*server_, *service_);
    mount_dashboard(*server_, dashboard_);
    stream_->start();
    thread_ = std::thread([this] { (void)server_->run(); });
    while (!server_->running()) std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  void stop() {
    if (!server_) return;
    stream_->close();
    server_->stop();
    thread_.join();
    server_.reset();
  }
  TestClient client() { return TestClient(server_->port()); }
  static TestHeaders with_key(TestHeaders h = {}) {
    h.emplace("X-API-Key", kKey);
    return h;
  }
  // POSTs a JSON-RPC message to /mcp with the key and, when given, a session.
  TestResult mcp_post(const std::string& body, const std::string& session = "") {
    TestHeaders h = with_key({{"Accept", "application/json, text/event-stream"}});
    if (!session.empty()) h.emplace("Mcp-Session-Id", session);
    return client().Post("/mcp", h, body, "application/json");
  }
  std::string open_session() {
    auto r = mcp_post(kInitialize);
    EXPECT_EQ(r->status, 200);
    return r->get_header_value("Mcp-Session-Id");
  }
  int64_t memory_count() { return service_->stats().value().storage.total_memories; }

  TempDir dir_{"http"};
  std::unique_ptr<MemoryService> service_;
  std::unique_ptr<HttpServer> server_;
  std::unique_ptr<McpHttpEndpoint> endpoint_;
  std::unique_ptr<RestApi> rest_;
  std::unique_ptr<EventStream> stream_;
  std::unique_ptr<Backups> backups_;
  DashboardOptions dashboard_;  // what start() mounts the dashboard with
  std::string session_key_ = "test-session-key-0123456789";  // what start() signs MCP sessions with
  std::mutex events_mu_;
  std::vector<std::string> events_;  // event types the REST handlers emitted
  std::thread thread_;
};

}  // namespace mcpmem
