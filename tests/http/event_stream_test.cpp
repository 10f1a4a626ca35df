// GET /api/events: Server-Sent Events for stores, updates and deletes by any writer (this
// server, or another process on the same database), searches, resumption with Last-Event-ID,
// the cap on open streams, and streams ending when the server closes.
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

}  // namespace
}  // namespace mcpmem
