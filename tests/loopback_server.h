// A real HttpServer on a free loopback port, served on its own thread, for tests that need a
// peer to talk to (a sync hub, a model hub, an embedding server). Anonymous: loopback only.
// `mount` adds the routes before it starts; the destructor stops it and waits for it.
#pragma once

#include <gtest/gtest.h>

#include <functional>
#include <memory>
#include <string>
#include <thread>

#include "http/http_server.h"

namespace mcpmem {

class LoopbackServer {
 public:
  explicit LoopbackServer(const std::function<void(HttpServer&)>& mount) {
    HttpOptions o;
    o.port = 0;
    o.allow_anonymous = true;
    auto created = HttpServer::create(o);
    if (!created.is_ok()) {
      ADD_FAILURE() << created.status().message();
      return;
    }
    server_ = std::move(created).value();
    mount(*server_);
    thread_ = std::thread([this] { (void)server_->run(); });
  }
  ~LoopbackServer() {
    if (!server_) return;
    server_->stop();  // before run() starts too: run() then returns at once
    thread_.join();
  }
  LoopbackServer(const LoopbackServer&) = delete;
  LoopbackServer& operator=(const LoopbackServer&) = delete;

  std::string url() const { return "http://127.0.0.1:" + std::to_string(server_->port()); }

 private:
  std::unique_ptr<HttpServer> server_;
  std::thread thread_;
};

}  // namespace mcpmem
