// Keeps a spoke in step with its hub: a sync round every `interval_seconds`, and within about
// a second of a local change; after a failed round it retries after 1, 2, 4 ... 60 seconds.
// `mcp-memory sync` runs it in the foreground, `serve --hub-url` on a background thread
// next to the server (both share the MemoryService, which is safe from many threads).
#pragma once

#include <condition_variable>
#include <thread>

#include "core/thread_annotations.h"
#include "sync/sync_client.h"

namespace mcpmem {

struct SyncLoopOptions {
  SyncClientOptions client;
  double interval_seconds = 30;
};

class SyncLoop {
 public:
  SyncLoop(MemoryService& service, SyncLoopOptions options);
  ~SyncLoop();  // stops and joins a started loop
  SyncLoop(const SyncLoop&) = delete;
  SyncLoop& operator=(const SyncLoop&) = delete;

  void run() MCP_EXCLUDES(mu_);   // on this thread, until stop()
  void start();                   // on a thread of its own
  void stop() MCP_EXCLUDES(mu_);  // from any thread (a round under way finishes first)

 private:
  MemoryService& service_;
  const SyncLoopOptions options_;
  Mutex mu_;
  std::condition_variable wake_;  // stop_ was set
  bool stop_ MCP_GUARDED_BY(mu_) = false;
  std::thread thread_;
};

}  // namespace mcpmem
