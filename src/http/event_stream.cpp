// EventStream. The watcher starts at the change log's current end (history is not replayed
// as live events) and polls it every kChangePollMs; one cheap indexed query when nothing
// changed. An "upsert" whose row was created at its last update is a store, otherwise an
// update; a row gone by the time it is read (stored, then deleted within one poll) yields
// the delete only.
// Every write to a stream happens under mu_, the lock that also orders the backlog: a stream
// attached while events are published gets each exactly once and in id order (the backlog
// replay and the live writes cannot interleave). ResponseStream::write() only queues, so
// holding mu_ across it never waits on a client.
#include "http/event_stream.h"

#include <algorithm>
#include <cstdlib>

#include "core/time_format.h"

namespace mcpmem {
namespace {

using Clock = std::chrono::steady_clock;

std::string frame(uint64_t id, const std::string& type, const std::string& data) {
  return "id: " + std::to_string(id) + "\nevent: " + type + "\ndata: " + data + "\n\n";
}

// No id: the greeting is not an event a reconnecting client should resume after.
std::string greeting() {
  return "event: connection_established\ndata: " +
         Json{{"message", "connected"}, {"timestamp", iso_utc(unix_now())}}.dump() + "\n\n";
}

std::string heartbeat() {
  return "event: heartbeat\ndata: " + Json{{"timestamp", iso_utc(unix_now())}}.dump() + "\n\n";
}

}  // namespace

// One of the kMaxEventStreams places, held from serve() until the engine opens the stream.
// If the engine drops the response unopened (the client left first), the place comes back.
class EventStream::Reservation {
 public:
  explicit Reservation(EventStream* owner) : owner_(owner) {}
  ~Reservation() {
    if (!opened_) owner_->release_reservation();
  }
  Reservation(const Reservation&) = delete;
  Reservation& operator=(const Reservation&) = delete;
  void opened() { opened_ = true; }

 private:
  EventStream* owner_;
  bool opened_ = false;
};

EventStream::EventStream(MemoryService& service) : service_(service) {}

EventStream::~EventStream() { close(); }

void EventStream::start() {
  watcher_ = std::thread([this] { watch_changes(); });
}

void EventStream::close() {
  std::vector<Subscriber> ending;
  {
    MutexLock lock(mu_);
    closing_ = true;
    ending.swap(subscribers_);
  }
  cv_.notify_all();
  for (Subscriber& s : ending) s.stream->close();
  if (watcher_.joinable()) watcher_.join();
}

size_t EventStream::open_streams() const {
  MutexLock lock(mu_);
  return subscribers_.size() + reserved_;
}

uint64_t EventStream::last_id() const {
  MutexLock lock(mu_);
  return next_id_ - 1;
}

void EventStream::mount(HttpServer& server) {
  server.get("/api/events", [this](const Request& req) { return serve(req); });
}

Response EventStream::serve(const Request& req) {
  uint64_t after = 0;
  {
    MutexLock lock(mu_);
    drop_closed();
    if (closing_ || subscribers_.size() + reserved_ >= kMaxEventStreams) {
      return json_error(
          503, "too many open event streams (at most " + std::to_string(kMaxEventStreams) + ")");
    }
    ++reserved_;
    after = next_id_ - 1;
  }
  auto reservation = std::make_shared<Reservation>(this);
  const std::string resume = req.header("Last-Event-ID");
  if (!resume.empty()) {
    char* end = nullptr;
    const unsigned long long v = std::strtoull(resume.c_str(), &end, 10);
    if (*end == '\0' && v <= after) after = v;
  }
  Response res;
  res.set_header("Content-Type", "text/event-stream");
  res.set_header("Cache-Control", "no-cache");
  res.set_header("X-Accel-Buffering", "no");
  res.stream = [this, after, reservation](std::shared_ptr<ResponseStream> stream) {
    reservation->opened();
    attach(std::move(stream), after);
  };
  return res;
}

void EventStream::release_reservation() {
  MutexLock lock(mu_);
  --reserved_;
}

void EventStream::attach(std::shared_ptr<ResponseStream> stream, uint64_t after) {
  MutexLock lock(mu_);
  --reserved_;
  if (closing_) {
    stream->close();
    return;
  }
  std::string missed = greeting();
  for (const Event& e : backlog_) {
    if (e.id > after) missed += frame(e.id, e.type, e.data);
  }
  if (!stream->write(std::move(missed))) {
    stream->close();
    return;
  }
  subscribers_.push_back({std::move(stream), Clock::now()});
}

void EventStream::publish(const std::string& type, const Json& data) {
  MutexLock lock(mu_);
  Json d = data.is_object() ? data : Json::object();
  d["event_id"] = std::to_string(next_id_);
  d["timestamp"] = iso_utc(unix_now());
  backlog_.push_back({next_id_++, type, d.dump(-1, ' ', false, Json::error_handler_t::replace)});
  if (backlog_.size() > kEventBacklog) backlog_.pop_front();
  const Event& e = backlog_.back();
  write_to_all(frame(e.id, e.type, e.data));
}

void EventStream::write_to_all(const std::string& chunk) {
  const auto now = Clock::now();
  std::erase_if(subscribers_, [&](Subscriber& s) {
    if (s.stream->is_open() && s.stream->write(chunk)) {
      s.last_write = now;
      return false;
    }
    s.stream->close();
    return true;
  });
}

void EventStream::drop_closed() {
  std::erase_if(subscribers_, [](const Subscriber& s) { return !s.stream->is_open(); });
}

void EventStream::send_heartbeats() {
  MutexLock lock(mu_);
  drop_closed();
  const auto now = Clock::now();
  std::string beat;
  std::erase_if(subscribers_, [&](Subscriber& s) {
    if (now - s.last_write < std::chrono::seconds(kSseHeartbeatSeconds)) return false;
    if (beat.empty()) beat = heartbeat();
    if (s.stream->write(beat)) {
      s.last_write = now;
      return false;
    }
    s.stream->close();
    return true;
  });
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
        publish_change(c);
      }
    }
    send_heartbeats();
  }
}

void EventStream::publish_change(const Change& c) {
  if (c.op == "conflict") return;
  if (c.op != "upsert") {
    publish("memory_deleted",
            {{"content_hash", c.content_hash}, {"success", true}, {"message", "Memory deleted"}});
    return;
  }
  auto m = service_.get(c.content_hash);
  if (!m.is_ok() || !m->has_value()) return;
  const Memory& mem = **m;
  const bool updated = mem.updated_at > mem.created_at + 0.001;
  publish(updated ? "memory_updated" : "memory_stored",
          {{"content_hash", mem.content_hash},
           {"content_preview", mem.content.substr(0, 100)},
           {"tags", mem.tags},
           {"memory_type", mem.memory_type},
           {"message", updated ? "Memory updated" : "Memory stored"}});
}

}  // namespace mcpmem
