// A queue between one producing and one consuming thread that holds at most `capacity` items
// (so a fast producer waits instead of filling RAM). Either side can end it: the producer
// with finish() (the consumer drains what is left), the consumer with stop() (the producer's
// next push fails, so it stops reading).
#pragma once

#include <condition_variable>
#include <cstddef>
#include <deque>
#include <mutex>
#include <optional>

namespace mcpmem {

template <typename T>
class BoundedQueue {
 public:
  explicit BoundedQueue(size_t capacity) : capacity_(capacity) {}

  // Waits for room; false once the consumer stopped.
  bool push(T&& item) {
    std::unique_lock lock(mu_);
    changed_.wait(lock, [&] { return stopped_ || items_.size() < capacity_; });
    if (stopped_) return false;
    items_.push_back(std::move(item));
    changed_.notify_all();
    return true;
  }

  // The next item; nothing once the producer finished and all were taken.
  std::optional<T> pop() {
    std::unique_lock lock(mu_);
    changed_.wait(lock, [&] { return finished_ || !items_.empty(); });
    if (items_.empty()) return std::nullopt;
    T item = std::move(items_.front());
    items_.pop_front();
    changed_.notify_all();
    return item;
  }

  void finish() { set(finished_); }
  void stop() { set(stopped_); }

 private:
  void set(bool& flag) {
    std::lock_guard lock(mu_);
    flag = true;
    changed_.notify_all();
  }

  const size_t capacity_;
  std::mutex mu_;
  std::condition_variable changed_;
  std::deque<T> items_;
  bool finished_ = false;
  bool stopped_ = false;
};

}  // namespace mcpmem
