// Load: 32 concurrent keep-alive HTTPS clients for 20 s mixing search, store and get on a
// 10k-memory database. Every request must succeed, and every store acknowledged must be in
// the database afterwards (counted exactly).
#include <gtest/gtest.h>
#include <spdlog/spdlog.h>

#include <atomic>
#include <random>

#include "http/tls_certificate.h"
#include "http_fixture.h"

namespace mcpmem {
namespace {

constexpr int kClients = 32;
constexpr int kSeconds = 20;

TEST_F(HttpTest, ThirtyTwoKeepAliveClientsForTwentySecondsLoseNothing) {
  std::vector<StoreRequest> seed;
  for (int i = 0; i < 10000; ++i) {
    StoreRequest r;
    r.content = "seed memory " + std::to_string(i) + " about topic " + std::to_string(i % 97) +
                " and detail " + std::to_string(i * 7919 % 10007);
    r.tags = {"t" + std::to_string(i % 50)};
    seed.push_back(std::move(r));
  }
  ASSERT_TRUE(service_->store_batch(seed).is_ok());
  spdlog::set_level(spdlog::level::warn);  // no access log line per request
  const int64_t before = memory_count();
  ASSERT_EQ(before, 10000);

  auto tls = ensure_self_signed_certificate(dir_ / "tls", certificate_names("", "", ""));
  ASSERT_TRUE(tls.is_ok());
  HttpOptions o;
  o.cert_file = tls->cert_file;
  o.key_file = tls->key_file;
  start(o);

  std::atomic<int64_t> requests{0}, errors{0}, stored{0};
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(kSeconds);
  std::vector<std::thread> clients;
  for (int c = 0; c < kClients; ++c) {
    clients.emplace_back([&, c] {
      // One connection per client, kept alive (TestClient reuses it), certificate verified.
      TestClient cli(server_->port(), /*tls=*/true, tls->cert_file);
      cli.set_read_timeout(30);
      std::mt19937 rng(static_cast<unsigned>(c));
      for (int i = 0; std::chrono::steady_clock::now() < deadline; ++i) {
        const int kind = static_cast<int>(rng() % 10);
        bool ok = false;
        if (kind < 6) {
          Json q = {{"query", "topic " + std::to_string(rng() % 97) + " detail"},
                    {"n_results", 10}};
          auto r = cli.Post("/api/search", with_key(), q.dump(), "application/json");
          ok = r && r->status == 200;
        } else if (kind < 8) {
          Json m = {{"content", "load client " + std::to_string(c) + " write " + std::to_string(i)},
                    {"tags", {"load"}}};
          auto r = cli.Post("/api/memories", with_key(), m.dump(), "application/json");
          ok = r && r->status == 200;
          if (ok && Json::parse(r->body)["success"] == true) ++stored;
        } else {
          auto r = cli.Get(
              ("/api/memories?page=" + std::to_string(1 + rng() % 50) + "&page_size=20").c_str(),
              with_key());
          ok = r && r->status == 200;
        }
        ++requests;
        if (!ok) ++errors;
      }
    });
  }
  for (auto& t : clients) t.join();
  std::printf("load: %lld requests from %d clients in %d s (%lld stores), %lld errors\n",
              static_cast<long long>(requests.load()), kClients, kSeconds,
              static_cast<long long>(stored.load()), static_cast<long long>(errors.load()));
  EXPECT_EQ(errors.load(), 0);
  EXPECT_GT(stored.load(), 0);
  EXPECT_EQ(memory_count(), before + stored.load());
  TestClient check(server_->port(), /*tls=*/true);
  check.enable_server_certificate_verification(false);
  auto tagged = check.Get("/api/memories?tag=load&page_size=1", with_key());
  ASSERT_TRUE(tagged);
  EXPECT_EQ(Json::parse(tagged->body)["total"], stored.load());
}

}  // namespace
}  // namespace mcpmem
