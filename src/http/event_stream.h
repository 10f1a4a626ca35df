// Live events for the dashboard and scripts: GET /api/events as Server-Sent Events.
// Store, update and delete events come from the database's change log, so they report every
// writer (REST, MCP, the CLI in another process, sync), not only this server's handlers;
// handlers publish the rest (search_completed). Each event has an increasing id; a client that
// reconnects with Last-Event-ID gets what it missed from the last kEventBacklog events.
// Event types: connection_established, memory_stored, memory_updated, memory_deleted,
// search_completed, heartbeat (to a stream idle kSseHeartbeatSeconds, which also notices gone
// clients).
// Push-style: no thread waits per stream. serve() answers with a streamed response; when the
// engine opens it the stream is registered with its resume position and sent the greeting and
// the missed events; publish() then writes each event to every open stream. A stream whose
// client is gone, or reads too slowly (ResponseStream::write() false), is dropped.
// Thread-safety: safe from many threads. It must outlive the HttpServer it is mounted on.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "core/thread_annotations.h"
#include "http/http_server.h"
#include "service/memory_service.h"

namespace mcpmem {

inline constexpr size_t kEventBacklog = 1000;
// Open streams at most (503 beyond): each may queue up to kMaxStreamBacklogBytes in the engine
// for a client that reads slowly, and the dashboard needs one per open tab.
inline constexpr size_t kMaxEventStreams = 8;
inline constexpr int kSseHeartbeatSeconds = 15;
inline constexpr int kChangePollMs = 250;

class EventStream {
 public:
  explicit EventStream(MemoryService& service);
  ~EventStream();  // close()s

  // Begins following the change log, and sending heartbeats to idle streams.
  void start();
  // Ends every open stream and the change-log watcher (call before HttpServer::stop()); later
  // requests get a 503.
  void close() MCP_EXCLUDES(mu_);
  void mount(HttpServer& server);

  // The GET /api/events handler: a text/event-stream response, or 503 when kMaxEventStreams
  // are open or after close(). Last-Event-ID: N (at most last_id()) resumes after event N.
  Response serve(const Request& req) MCP_EXCLUDES(mu_);

  // Adds an event and writes it to every open stream; `data` is a JSON object (event_id and
  // timestamp are added).
  void publish(const std::string& type, const Json& data) MCP_EXCLUDES(mu_);

  // Streams open, or handed to the engine and about to open.
  size_t open_streams() const MCP_EXCLUDES(mu_);
  uint64_t last_id() const MCP_EXCLUDES(mu_);

 private:
  struct Event {
    uint64_t id;
    std::string type;
    std::string data;  // serialized JSON
  };
  struct Subscriber {
    std::shared_ptr<ResponseStream> stream;
    std::chrono::steady_clock::time_point last_write;
  };
  class Reservation;

  void watch_changes();
  void publish_change(const Change& change);
  // Registers an opened stream that has seen the events up to `after`, and sends it the
  // greeting and the events since.
  void attach(std::shared_ptr<ResponseStream> stream, uint64_t after) MCP_EXCLUDES(mu_);
  void release_reservation() MCP_EXCLUDES(mu_);
  // Writes `chunk` to every subscriber, dropping those that are gone or too slow.
  void write_to_all(const std::string& chunk) MCP_REQUIRES(mu_);
  void send_heartbeats() MCP_EXCLUDES(mu_);
  void drop_closed() MCP_REQUIRES(mu_);

  MemoryService& service_;
  mutable Mutex mu_;
  std::condition_variable cv_;  // closing_ was set (wakes the watcher)
  std::deque<Event> backlog_ MCP_GUARDED_BY(mu_);
  uint64_t next_id_ MCP_GUARDED_BY(mu_) = 1;
  std::vector<Subscriber> subscribers_ MCP_GUARDED_BY(mu_);
  size_t reserved_ MCP_GUARDED_BY(mu_) = 0;  // responses served whose stream has not opened
  bool closing_ MCP_GUARDED_BY(mu_) = false;
  std::thread watcher_;
};

}  // namespace mcpmem
