#include "sync/sync_loop.h"

#include <spdlog/spdlog.h>

#include <algorithm>

#include "core/time_format.h"
#include "sync/sync_state.h"

namespace mcpmem {

SyncLoop::SyncLoop(MemoryService& service, SyncLoopOptions options)
    : service_(service), options_(std::move(options)) {}

SyncLoop::~SyncLoop() {
  stop();
  if (thread_.joinable()) thread_.join();
}

void SyncLoop::start() {
  thread_ = std::thread([this] { run(); });
}

void SyncLoop::stop() {
  MutexLock lock(mu_);
  stop_ = true;
  wake_.notify_all();
}

void SyncLoop::run() {
  const std::string& hub = options_.client.hub_url;
  double backoff = 1;
  double next_round = 0;  // unix time of the next timed round
  double retry_at = 0;    // after a failure, not even a local change syncs before this
  for (;;) {
    auto cursor = load_hub_cursor(service_);
    auto head = service_.last_change_seq();
    const bool local_change = cursor.is_ok() && head.is_ok() && *head > cursor->push_seq;
    const double now = unix_now();
    if (now >= next_round || (local_change && now >= retry_at)) {
      auto round = sync_once(service_, options_.client);
      if (round.is_ok()) {
        if (round->pushed + round->pulled > 0) spdlog::info("sync: {}", describe(*round));
        backoff = 1;
        retry_at = 0;
        next_round = unix_now() + options_.interval_seconds;
      } else {
        spdlog::warn("sync with {} failed: {}; retrying in {:.0f} s", hub, round.status().message(),
                     backoff);
        next_round = retry_at = unix_now() + backoff;
        backoff = std::min(backoff * 2, 60.0);
      }
    }
    MutexLock lock(mu_);
    // Wake every second to notice local changes; rounds are bounded by next_round.
    if (wake_.wait_for(lock.native(), std::chrono::seconds(1),
                       [&]() MCP_REQUIRES(mu_) { return stop_; })) {
      return;
    }
  }
}

}  // namespace mcpmem
