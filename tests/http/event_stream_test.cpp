// GET /api/events: Server-Sent Events for stores, updates and deletes by any writer (this
// server, or another process on the same database), searches, resumption with Last-Event-ID,
// the cap on open streams, and streams ending when the server closes. Then EventStream alone
// (EventStreamUnit): serve() and the stream it opens, with a fake ResponseStream, no server.
#include "http/event_stream.h"

#include <atomic>
#include <chrono>

#include "http_fixture.h"

namespace mcpmem {
namespace {

// Reads an event stream on its own thread until stop() or the server ends it.
class SseReader {
 public:
  SseReader(int port, TestHeaders headers) {
    thread_ = std::thread([this, port, headers] {
      TestClient c(port);
      c.set_read_timeout(20);
      auto r = c.Get("/api/events", headers, [this](const char* data, size_t len) {
        std::lock_guard<std::mutex> lock(mu_);
        text_.append(data, len);
        return !stopping_.load();
      });
      status_ = r ? r->status : -1;
      done_ = true;
    });
  }
  ~SseReader() { stop(); }
  void stop() {
    stopping_ = true;
    if (thread_.joinable()) thread_.join();
  }
  // Waits until the stream holds `needle` (true) or 5 s pass (false).
  bool wait_for(const std::string& needle) {
    for (int i = 0; i < 500; ++i) {
      {
        std::lock_guard<std::mutex> lock(mu_);
        if (text_.find(needle) != std::string::npos) return true;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    return false;
  }
  std::string text() {
    std::lock_guard<std::mutex> lock(mu_);
    return text_;
  }
  bool done() const { return done_; }
  int status() const { return status_; }

 private:
  std::mutex mu_;
  std::string text_;
  std::atomic<bool> stopping_{false}, done_{false};
  std::atomic<int> status_{0};
  std::thread thread_;
};

class EventsTest : public HttpTest {
 protected:
  void SetUp() override {
    HttpTest::SetUp();
    start();
  }
  std::string store(const std::string& content) {
    auto r = client().Post("/api/memories", with_key(), Json{{"content", content}}.dump(),
                           "application/json");
    return Json::parse(r->body)["content_hash"];
  }
};

TEST_F(EventsTest, EveryWriterShowsUpLive) {
  SseReader reader(server_->port(), with_key());
  ASSERT_TRUE(reader.wait_for("event: connection_established"));
  const std::string hash = store("an event-worthy memory");
  EXPECT_TRUE(reader.wait_for("event: memory_stored\ndata: {\"content_hash\":\"" + hash));
  EXPECT_NE(reader.text().find("\"content_preview\":\"an event-worthy memory\""),
            std::string::npos);

  // Another process's writes (here: a second service on the same file) arrive too.
  Config other_config = service_->config();
  auto other = std::move(MemoryService::open(other_config)).value();
  StoreRequest req;
  req.content = "written by the CLI in another process";
  ASSERT_TRUE(other->store(req)->success);
  EXPECT_TRUE(reader.wait_for("written by the CLI in another process"));
  UpdateRequest upd;
  upd.content_hash = hash;
  upd.tags = std::vector<std::string>{"edited"};
  ASSERT_TRUE(other->update(upd).is_ok());
  EXPECT_TRUE(reader.wait_for("event: memory_updated"));

  client().Delete(("/api/memories/" + hash).c_str(), with_key());
  EXPECT_TRUE(reader.wait_for("event: memory_deleted\ndata: {\"content_hash\":\"" + hash));
  client().Post("/api/search", with_key(), R"({"query":"event"})", "application/json");
  EXPECT_TRUE(reader.wait_for("event: search_completed"));
  EXPECT_TRUE(reader.wait_for("\"search_type\":\"semantic\""));
  stop();  // ends the stream, so the reader's thread finishes
}

TEST_F(EventsTest, ReconnectingWithLastEventIdReplaysWhatWasMissed) {
  store("first");
  const std::string second = store("second one");
  for (int i = 0; i < 100 && stream_->last_id() < 2; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  ASSERT_EQ(stream_->last_id(), 2u);
  SseReader resumed(server_->port(), with_key({{"Last-Event-ID", "1"}}));
  EXPECT_TRUE(resumed.wait_for("id: 2\nevent: memory_stored\ndata: {\"content_hash\":\"" + second));
  EXPECT_EQ(resumed.text().find("id: 1\n"), std::string::npos);
  stop();
}

TEST_F(EventsTest, OpenStreamsAreCappedAndEndWhenTheServerCloses) {
  std::vector<std::unique_ptr<SseReader>> readers;
  for (size_t i = 0; i < kMaxEventStreams; ++i) {
    readers.push_back(std::make_unique<SseReader>(server_->port(), with_key()));
    ASSERT_TRUE(readers.back()->wait_for("connection_established"));
  }
  EXPECT_EQ(stream_->open_streams(), kMaxEventStreams);
  auto refused = client().Get("/api/events", with_key());
  EXPECT_EQ(refused->status, 503);
  EXPECT_EQ(client().Get("/api/health")->status, 200);  // other requests still served

  const auto t = std::chrono::steady_clock::now();
  stop();
  EXPECT_LT(std::chrono::steady_clock::now() - t, std::chrono::seconds(4));
  for (auto& r : readers) {
    for (int i = 0; i < 300 && !r->done(); ++i) {
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    EXPECT_TRUE(r->done());
  }
}

TEST_F(EventsTest, TheStreamNeedsTheKey) {
  EXPECT_EQ(client().Get("/api/events")->status, 401);
  // EventSource cannot send headers: ?api_key= is how browsers connect.
  TestClient c(server_->port());
  std::string got;
  c.Get((std::string("/api/events?api_key=") + kKey).c_str(), [&](const char* d, size_t n) {
    got.append(d, n);
    return got.find("connection_established") == std::string::npos;
  });
  EXPECT_NE(got.find("connection_established"), std::string::npos);
}

// What the engine hands the stream callback: here it keeps what was written.
class FakeStream : public ResponseStream {
 public:
  bool write(std::string chunk) override {
    std::lock_guard<std::mutex> lock(mu_);
    if (!open_ || refuse_) return false;
    text_ += chunk;
    return true;
  }
  void close() override {
    std::lock_guard<std::mutex> lock(mu_);
    open_ = false;
  }
  void abort() override { close(); }
  bool is_open() const override {
    std::lock_guard<std::mutex> lock(mu_);
    return open_;
  }
  void refuse_writes() {  // as a client that stopped reading
    std::lock_guard<std::mutex> lock(mu_);
    refuse_ = true;
  }
  std::string text() const {
    std::lock_guard<std::mutex> lock(mu_);
    return text_;
  }

 private:
  mutable std::mutex mu_;
  std::string text_;
  bool open_ = true;
  bool refuse_ = false;
};

class EventStreamUnit : public HttpTest {
 protected:
  static Request resuming(const std::string& last_event_id) {
    Request r;
    r.method = "GET";
    r.path = "/api/events";
    if (!last_event_id.empty()) r.headers.emplace("Last-Event-ID", last_event_id);
    return r;
  }
  // Opens the stream of `response` as the engine would, on a FakeStream.
  static std::shared_ptr<FakeStream> open(const Response& response) {
    auto stream = std::make_shared<FakeStream>();
    EXPECT_TRUE(response.stream);
    if (response.stream) response.stream(stream);
    return stream;
  }
};

TEST_F(EventStreamUnit, OpensWithTheGreetingThenWhatWasMissedThenEachNewEvent) {
  EventStream events(*service_);
  for (const char* q : {"one", "two", "three"}) events.publish("search_completed", {{"query", q}});
  Response r = events.serve(resuming("1"));
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.header("Content-Type"), "text/event-stream");
  EXPECT_EQ(r.header("Cache-Control"), "no-cache");
  EXPECT_EQ(r.header("X-Accel-Buffering"), "no");
  EXPECT_EQ(events.open_streams(), 1u);  // placed before it opens
  auto stream = open(r);
  EXPECT_EQ(events.open_streams(), 1u);
  std::string text = stream->text();
  EXPECT_EQ(text.rfind("event: connection_established\ndata: {", 0), 0u) << text;
  EXPECT_EQ(text.find("id: 1\n"), std::string::npos);
  const size_t two = text.find("id: 2\nevent: search_completed\ndata: {");
  const size_t three = text.find("id: 3\nevent: search_completed\ndata: {");
  ASSERT_NE(two, std::string::npos) << text;
  ASSERT_NE(three, std::string::npos) << text;
  EXPECT_LT(two, text.find("\"query\":\"two\""));
  EXPECT_LT(text.find("\"query\":\"two\""), three);

  events.publish("memory_deleted", {{"content_hash", "abc"}});
  EXPECT_NE(stream->text().find("id: 4\nevent: memory_deleted\ndata: {\"content_hash\":\"abc\""),
            std::string::npos);
  // Without Last-Event-ID a stream starts at the present: no replay.
  auto fresh = open(events.serve(resuming("")));
  EXPECT_EQ(fresh->text().find("id: "), std::string::npos) << fresh->text();
  // An id from the future (another server's) is not trusted: no replay either.
  auto future = open(events.serve(resuming("99")));
  EXPECT_EQ(future->text().find("id: "), std::string::npos) << future->text();
}

TEST_F(EventStreamUnit, AStreamWhoseClientLeftOrStoppedReadingIsDropped) {
  EventStream events(*service_);
  auto reading = open(events.serve(resuming("")));
  auto stalled = open(events.serve(resuming("")));
  auto gone = open(events.serve(resuming("")));
  EXPECT_EQ(events.open_streams(), 3u);
  stalled->refuse_writes();
  gone->close();
  events.publish("search_completed", {{"query", "q"}});
  EXPECT_EQ(events.open_streams(), 1u);
  EXPECT_FALSE(stalled->is_open());  // closed by the stream, not left dangling
  EXPECT_NE(reading->text().find("id: 1\n"), std::string::npos);
}

TEST_F(EventStreamUnit, StreamsAreCappedAndAPlaceNeverOpenedComesBack) {
  EventStream events(*service_);
  std::vector<Response> unopened;
  for (size_t i = 0; i < kMaxEventStreams; ++i) {
    unopened.push_back(events.serve(resuming("")));
    ASSERT_EQ(unopened.back().status, 200);
  }
  Response refused = events.serve(resuming(""));
  EXPECT_EQ(refused.status, 503);
  EXPECT_EQ(Json::parse(refused.body)["detail"],
            "too many open event streams (at most " + std::to_string(kMaxEventStreams) + ")");
  unopened.pop_back();  // the engine dropped it: the client left before the headers went out
  EXPECT_EQ(events.open_streams(), kMaxEventStreams - 1);
  EXPECT_EQ(events.serve(resuming("")).status, 200);  // and is dropped at once again
  auto stream = open(unopened.front());
  EXPECT_EQ(events.open_streams(), kMaxEventStreams - 1);
  unopened.clear();  // opened ones keep their place
  EXPECT_EQ(events.open_streams(), 1u);
  EXPECT_TRUE(stream->is_open());
}

TEST_F(EventStreamUnit, CloseEndsEveryStreamAndRefusesNewOnes) {
  EventStream events(*service_);
  auto a = open(events.serve(resuming("")));
  Response pending = events.serve(resuming(""));
  events.close();
  EXPECT_FALSE(a->is_open());
  EXPECT_EQ(events.open_streams(), 1u);  // `pending` until the engine opens or drops it
  auto late = open(pending);
  EXPECT_FALSE(late->is_open());
  EXPECT_EQ(events.open_streams(), 0u);
  EXPECT_EQ(events.serve(resuming("")).status, 503);
}

}  // namespace
}  // namespace mcpmem
