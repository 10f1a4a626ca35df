// EventStream. The watcher starts at the change log's current end (history is not replayed
// as live events) and polls it every kChangePollMs; one cheap indexed query when nothing
// changed. An "upsert" whose row was created at its last update is a store, otherwise an
// update; a row gone by the time it is read (stored, then deleted within one poll) yields
// the delete only.
#include "http/event_stream.h"

#include <chrono>

#include "core/time_format.h"

namespace mcpmem {
namespace {

double now_unix() {
  return std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
}

std::string frame(uint64_t id, const std::string& type, const std::string& data) {
  return "id: " + std::to_string(id) + "\nevent: " + type + "\ndata: " + data + "\n\n";
}

}  // namespace

EventStream::EventStream(MemoryService& service) : service_(service) {}

EventStream::~EventStream() { close(); }

void EventStream::start() {
  watcher_ = std::thread([this] { watch_changes(); });
}

void EventStream::close() {
  {
    MutexLock lock(mu_);
    closing_ = true;
  }
  cv_.notify_all();
  if (watcher_.joinable()) watcher_.join();
}

size_t EventStream::open_streams() const {
  MutexLock lock(mu_);
  return streams_;
}

uint64_t EventStream::last_id() const {
  MutexLock lock(mu_);
  return next_id_ - 1;
}

void EventStream::publish(const std::string& type, const Json& data) {
  {
    MutexLock lock(mu_);
    Json d = data.is_object() ? data : Json::object();
    d["event_id"] = std::to_string(next_id_);
    d["timestamp"] = iso_utc(now_unix());
    backlog_.push_back({next_id_++, type, d.dump(-1, ' ', false, Json::error_handler_t::replace)});
    if (backlog_.size() > kEventBacklog) backlog_.pop_front();
  }
  cv_.notify_all();
}

void EventStream::watch_changes() {
  auto start = service_.last_change_seq();
  int64_t seq = start.is_ok() ? *start : 0;
  for (;;) {
    {
      MutexLock lock(mu_);
      cv_.wait_for(lock.native(), std::chrono::milliseconds(kChangePollMs),
                   [this]() MCP_REQUIRES(mu_) { return closing_; });
      if (closing_) return;
    }
    auto changes = service_.changes_since(seq, 500);
    if (changes.is_ok()) {
      for (const Change& c : *changes) {
        seq = c.seq;
        if (c.op == "conflict") continue;
        if (c.op != "upsert") {
          publish(
              "memory_deleted",
              {{"content_hash", c.content_hash}, {"success", true}, {"message", "Memory deleted"}});
          continue;
        }
        auto m = service_.get(c.content_hash);
        if (!m.is_ok() || !m->has_value()) continue;
        const Memory& mem = **m;
        const bool updated = mem.updated_at > mem.created_at + 0.001;
        publish(updated ? "memory_updated" : "memory_stored",
                {{"content_hash", mem.content_hash},
                 {"content_preview", mem.content.substr(0, 100)},
                 {"tags", mem.tags},
                 {"memory_type", mem.memory_type},
                 {"message", updated ? "Memory updated" : "Memory stored"}});
      }
    }
  }
}

std::vector<EventStream::Event> EventStream::next_after(uint64_t after, int wait_ms) {
  MutexLock lock(mu_);
  cv_.wait_for(lock.native(), std::chrono::milliseconds(wait_ms),
               [&]() MCP_REQUIRES(mu_) { return closing_ || next_id_ - 1 > after; });
  std::vector<Event> out;
  for (const Event& e : backlog_) {
    if (e.id > after) out.push_back(e);
  }
  return out;
}

void EventStream::mount(HttpServer& server) {
  server.get("/api/events",
             [this](const httplib::Request& req, httplib::Response& res) { serve(req, res); });
}

void EventStream::serve(const httplib::Request& req, httplib::Response& res) {
  uint64_t after = last_id();
  const std::string resume = req.get_header_value("Last-Event-ID");
  if (!resume.empty()) {
    char* end = nullptr;
    unsigned long long v = std::strtoull(resume.c_str(), &end, 10);
    if (*end == '\0' && v <= after) after = v;
  }
  {
    MutexLock lock(mu_);
    if (closing_ || streams_ >= kMaxEventStreams) {
      set_json_error(
          res, 503,
          "too many open event streams (at most " + std::to_string(kMaxEventStreams) + ")");
      return;
    }
    ++streams_;
  }
  res.set_header("Cache-Control", "no-cache");
  res.set_header("X-Accel-Buffering", "no");
  struct State {
    uint64_t after;
    bool greeted = false;
    std::chrono::steady_clock::time_point last_write = std::chrono::steady_clock::now();
  };
  auto state = std::make_shared<State>(State{after});
  res.set_chunked_content_provider(
      "text/event-stream",
      [this, state](size_t, httplib::DataSink& sink) {
        std::string out;
        if (!state->greeted) {
          state->greeted = true;
          // No id: the greeting is not an event a reconnecting client should resume after.
          out = "event: connection_established\ndata: " +
                Json{{"message", "connected"}, {"timestamp", iso_utc(now_unix())}}.dump() + "\n\n";
        }
        for (const Event& e : next_after(state->after, out.empty() ? 1000 : 0)) {
          out += frame(e.id, e.type, e.data);
          state->after = e.id;
        }
        {
          MutexLock lock(mu_);
          if (closing_) return false;
        }
        const auto now = std::chrono::steady_clock::now();
        if (out.empty() && now - state->last_write > std::chrono::seconds(kSseHeartbeatSeconds)) {
          out =
              "event: heartbeat\ndata: " + Json{{"timestamp", iso_utc(now_unix())}}.dump() + "\n\n";
        }
        if (out.empty()) return true;  // called again: keeps waiting
        state->last_write = now;
        return sink.write(out.data(), out.size());
      },
      [this](bool) {
        MutexLock lock(mu_);
        --streams_;
      });
}

}  // namespace mcpmem
