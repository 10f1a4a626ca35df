// Live events for the dashboard and scripts: GET /api/events as Server-Sent Events.
// Store, update and delete events come from the database's change log, so they report every
// writer (REST, MCP, the CLI in another process, sync), not only this server's handlers;
// handlers publish the rest (search_completed). Each event has an increasing id; a client that
// reconnects with Last-Event-ID gets what it missed from the last kEventBacklog events.
// Event types: connection_established, memory_stored, memory_updated, memory_deleted,
// search_completed, heartbeat (every kSseHeartbeatSeconds, which also notices gone clients).
// Thread-safety: safe from many threads.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <deque>
#include <string>
#include <thread>

#include "core/thread_annotations.h"
#include "http/http_server.h"
#include "service/memory_service.h"

namespace mcpmem {

inline constexpr size_t kEventBacklog = 1000;
inline constexpr size_t kMaxEventStreams = 8;  // each open stream holds a server thread
inline constexpr int kSseHeartbeatSeconds = 15;
inline constexpr int kChangePollMs = 250;

class EventStream {
 public:
  explicit EventStream(MemoryService& service);
  ~EventStream();  // close()s

  void start();  // begins following the change log
  // Ends every open stream and the change-log watcher (call before HttpServer::stop()).
  void close();
  void mount(HttpServer& server);

  // Adds an event; `data` is a JSON object (event_id and timestamp are added).
  void publish(const std::string& type, const Json& data) MCP_EXCLUDES(mu_);

  size_t open_streams() const MCP_EXCLUDES(mu_);
  uint64_t last_id() const MCP_EXCLUDES(mu_);

 private:
  struct Event {
    uint64_t id;
    std::string type;
    std::string data;  // serialized JSON
  };
  void watch_changes();
  void serve(const httplib::Request& req, httplib::Response& res);
  // Events with id > `after`, waiting up to `wait_ms` for one; empty on timeout or close.
  std::vector<Event> next_after(uint64_t after, int wait_ms) MCP_EXCLUDES(mu_);

  MemoryService& service_;
  mutable Mutex mu_;
  std::condition_variable cv_;  // an event was added, or closing_ was set
  std::deque<Event> backlog_ MCP_GUARDED_BY(mu_);
  uint64_t next_id_ MCP_GUARDED_BY(mu_) = 1;
  size_t streams_ MCP_GUARDED_BY(mu_) = 0;
  bool closing_ MCP_GUARDED_BY(mu_) = false;
  std::thread watcher_;
};

}  // namespace mcpmem
