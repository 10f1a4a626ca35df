// Clang's thread-safety analysis (-Wthread-safety): which mutex guards which member, which
// functions must hold it. With clang the build checks every access at compile time and -Werror
// fails it; with GCC the macros expand to nothing. `Mutex` and `MutexLock` are std::mutex and a
// scoped lock that carry the annotations, since libstdc++'s types have none. The idiom follows
// abseil's and leveldb's port/thread_annotations.h.
#pragma once

#include <condition_variable>
#include <mutex>
#include <shared_mutex>

#if defined(__clang__)
#define MCP_THREAD_ANNOTATION(x) __attribute__((x))
#else
#define MCP_THREAD_ANNOTATION(x)
#endif

#define MCP_CAPABILITY(x) MCP_THREAD_ANNOTATION(capability(x))
#define MCP_SCOPED_CAPABILITY MCP_THREAD_ANNOTATION(scoped_lockable)
#define MCP_GUARDED_BY(x) MCP_THREAD_ANNOTATION(guarded_by(x))
#define MCP_PT_GUARDED_BY(x) MCP_THREAD_ANNOTATION(pt_guarded_by(x))
#define MCP_REQUIRES(...) MCP_THREAD_ANNOTATION(requires_capability(__VA_ARGS__))
#define MCP_EXCLUDES(...) MCP_THREAD_ANNOTATION(locks_excluded(__VA_ARGS__))
#define MCP_ACQUIRE(...) MCP_THREAD_ANNOTATION(acquire_capability(__VA_ARGS__))
#define MCP_RELEASE(...) MCP_THREAD_ANNOTATION(release_capability(__VA_ARGS__))
#define MCP_ACQUIRE_SHARED(...) MCP_THREAD_ANNOTATION(acquire_shared_capability(__VA_ARGS__))
#define MCP_RELEASE_SHARED(...) MCP_THREAD_ANNOTATION(release_shared_capability(__VA_ARGS__))
#define MCP_RETURN_CAPABILITY(x) MCP_THREAD_ANNOTATION(lock_returned(x))
#define MCP_NO_THREAD_SAFETY_ANALYSIS MCP_THREAD_ANNOTATION(no_thread_safety_analysis)

namespace mcpmem {

// A std::mutex the analysis knows about. Waiting on a condition: `MutexLock lock(mu_);
// cv_.wait(lock.native(), [&] { return ...; })`, with the predicate reading guarded state
// through a function marked MCP_REQUIRES(mu_) or an annotated lambda.
class MCP_CAPABILITY("mutex") Mutex {
 public:
  void lock() MCP_ACQUIRE() { mu_.lock(); }
  void unlock() MCP_RELEASE() { mu_.unlock(); }
  bool try_lock() MCP_THREAD_ANNOTATION(try_acquire_capability(true)) { return mu_.try_lock(); }
  std::mutex& native() { return mu_; }

 private:
  std::mutex mu_;
};

// Holds `mu` for its scope. native() gives the std::unique_lock a condition variable waits on;
// the wait releases and re-acquires the mutex, which the analysis treats as held throughout.
class MCP_SCOPED_CAPABILITY MutexLock {
 public:
  explicit MutexLock(Mutex& mu) MCP_ACQUIRE(mu) : lock_(mu.native()) {}
  ~MutexLock() MCP_RELEASE() {}
  MutexLock(const MutexLock&) = delete;
  MutexLock& operator=(const MutexLock&) = delete;
  std::unique_lock<std::mutex>& native() { return lock_; }

 private:
  std::unique_lock<std::mutex> lock_;
};

// A std::shared_mutex the analysis knows about: many readers (ReaderLock) or one writer
// (WriterLock).
class MCP_CAPABILITY("shared_mutex") SharedMutex {
 public:
  void lock() MCP_ACQUIRE() { mu_.lock(); }
  void unlock() MCP_RELEASE() { mu_.unlock(); }
  void lock_shared() MCP_ACQUIRE_SHARED() { mu_.lock_shared(); }
  void unlock_shared() MCP_RELEASE_SHARED() { mu_.unlock_shared(); }

 private:
  std::shared_mutex mu_;
};

class MCP_SCOPED_CAPABILITY ReaderLock {
 public:
  explicit ReaderLock(SharedMutex& mu) MCP_ACQUIRE_SHARED(mu) : mu_(mu) { mu_.lock_shared(); }
  ~ReaderLock() MCP_RELEASE() { mu_.unlock_shared(); }
  ReaderLock(const ReaderLock&) = delete;
  ReaderLock& operator=(const ReaderLock&) = delete;

 private:
  SharedMutex& mu_;
};

class MCP_SCOPED_CAPABILITY WriterLock {
 public:
  explicit WriterLock(SharedMutex& mu) MCP_ACQUIRE(mu) : mu_(mu) { mu_.lock(); }
  ~WriterLock() MCP_RELEASE() { mu_.unlock(); }
  WriterLock(const WriterLock&) = delete;
  WriterLock& operator=(const WriterLock&) = delete;

 private:
  SharedMutex& mu_;
};

}  // namespace mcpmem
