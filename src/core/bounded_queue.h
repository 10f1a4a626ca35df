// A queue between one producing and one consuming thread that holds at most `capacity` items
// (so a fast producer waits instead of filling RAM). Either side can end it: the producer
// with finish() (the consumer drains what is left), the consumer with stop() (the producer's
// next push fails, so it stops reading). Thread-safety: safe from many threads.
#pragma once

#include <condition_variable>
#include <cstddef>
#include <deque>
#include <optional>

#include "core/thread_annotations.h"

namespace mcpmem {

template <typename T>
class BoundedQueue {
 public:
  explicit BoundedQueue(size_t capacity) : capacity_(capacity) {}

  // Waits for room; false once the consumer stopped.
  bool push(T&& item) MCP_EXCLUDES(mu_) {
    MutexLock lock(mu_);
    while (!stopped_ && items_.size() >= capacity_) changed_.wait(lock.native());
    if (stopped_) return false;
    items_.push_back(std::move(item));
    changed_.notify_all();
    return true;
  }

  // The next item; nothing once the producer finished and all were taken.
  std::optional<T> pop() MCP_EXCLUDES(mu_) {
    MutexLock lock(mu_);
    while (!finished_ && items_.empty()) changed_.wait(lock.native());
    if (items_.empty()) return std::nullopt;
    T item = std::move(items_.front());
    items_.pop_front();
    changed_.notify_all();
    return item;
  }

  void finish() MCP_EXCLUDES(mu_) {
    MutexLock lock(mu_);
    finished_ = true;
    changed_.notify_all();
  }
  void stop() MCP_EXCLUDES(mu_) {
    MutexLock lock(mu_);
    stopped_ = true;
    changed_.notify_all();
  }

 private:
  const size_t capacity_;
  Mutex mu_;
  std::condition_variable changed_;  // any of the state below changed
  std::deque<T> items_ MCP_GUARDED_BY(mu_);
  bool finished_ MCP_GUARDED_BY(mu_) = false;
  bool stopped_ MCP_GUARDED_BY(mu_) = false;
};

}  // namespace mcpmem
