// Finding Litestream and keeping it running. Its log lines (`time=... level=INFO msg=...`) go
// into ours at their level, prefixed "litestream:".
#include "replication/litestream.h"

#include <spdlog/spdlog.h>

#include <cstdlib>
#include <filesystem>

#include "platform/child_process.h"
#include "replication/litestream_config.h"

namespace mcpmem {
namespace {

namespace fs = std::filesystem;

constexpr auto kStartGrace = std::chrono::seconds(1);
constexpr auto kStopGrace = std::chrono::seconds(30);
constexpr auto kMaxBackoff = std::chrono::seconds(30);
constexpr auto kGuardInterval = std::chrono::seconds(2);

#ifdef _WIN32
constexpr const char* kLitestreamFile = "litestream.exe";
#else
constexpr const char* kLitestreamFile = "litestream";
#endif

std::string own_directory() {
  const std::string exe = executable_path();
  return exe.empty() ? "" : fs::path(exe).parent_path().string();
}

// A path rather than a name to look up in PATH.
bool names_a_path(const std::string& program) {
  return program.find_first_of(std::string("/") +
                               static_cast<char>(fs::path::preferred_separator)) !=
         std::string::npos;
}

}  // namespace

Result<std::string> find_litestream(const Config& config) {
  std::vector<std::string> candidates;
  if (!config.litestream.empty()) {
    candidates.push_back(config.litestream);
  } else {
    const std::string own = own_directory();
    if (!own.empty()) {
      candidates.push_back((fs::path(own) / kLitestreamFile).string());
      candidates.push_back(own + "/../node_modules/@flydotio/litestream-linux-x64/litestream");
    }
    candidates.push_back("litestream");  // PATH
  }
  std::string tried;
  for (const std::string& c : candidates) {
    if (names_a_path(c) && !fs::exists(c)) continue;
    auto out = run_child({c, "version"}, std::chrono::seconds(10));
    if (!out.is_ok() || out->exit_code != 0) {
      tried += "\n  " + c + ": " + (out.is_ok() ? out->output : out.status().message());
      continue;
    }
    std::string version = out->output.substr(0, out->output.find('\n'));
    if (version.rfind("v0.3.", 0) != 0) {
      return Status::failed_precondition(c + " is Litestream " + version +
                                         "; mcp-memory drives the 0.3 line (" +
                                         std::string(kLitestreamVersion) +
                                         ", whose commands and keys it checks): set "
                                         "MCP_MEMORY_LITESTREAM");
    }
    return names_a_path(c) ? fs::weakly_canonical(c).string() : c;
  }
  return Status::not_found(
      "Litestream not found: run scripts/install-deps (it installs the npm package "
      "@flydotio/litestream-linux-x64), put litestream in PATH or beside mcp-memory, or set "
      "MCP_MEMORY_LITESTREAM" +
      tried);
}

std::string generated_litestream_config_path(const Config& config) {
  return (fs::path(config.base_dir) / "litestream.yml").string();
}

std::string system_litestream_config_path() {
#ifdef _WIN32
  const char* data = std::getenv("ProgramData");
  return (fs::path(data != nullptr ? data : "C:\\ProgramData") / "litestream" / "litestream.yml")
      .string();
#else
  return "/etc/litestream.yml";
#endif
}

LitestreamSupervisor::LitestreamSupervisor(std::string binary, std::string config_path,
                                           std::function<Status()> guard)
    : binary_(std::move(binary)), config_path_(std::move(config_path)), guard_(std::move(guard)) {}

LitestreamSupervisor::~LitestreamSupervisor() { stop(); }

Result<std::unique_ptr<ChildProcess>> LitestreamSupervisor::launch() {
  return ChildProcess::start({binary_, "replicate", "-config", config_path_},
                             [this](std::string_view line) { on_line(line); });
}

void LitestreamSupervisor::on_line(std::string_view line) {
  auto level = spdlog::level::info;
  if (line.find("level=ERROR") != std::string_view::npos) {
    level = spdlog::level::err;
    MutexLock lock(mu_);
    last_error_ = std::string(line.substr(0, 1024));
  }
  if (line.find("level=WARN") != std::string_view::npos) level = spdlog::level::warn;
  if (line.find("level=DEBUG") != std::string_view::npos) level = spdlog::level::debug;
  spdlog::log(level, "litestream: {}", line);
}

Status LitestreamSupervisor::start() {
  if (guard_) MCP_RETURN_IF_ERROR(guard_());
  MCP_ASSIGN_OR_RETURN(auto child, launch());
  if (auto code = child->wait_for(kStartGrace)) {
    return Status::failed_precondition("litestream replicate -config " + config_path_ +
                                       " exited at once (status " + std::to_string(*code) +
                                       "); its log lines above say why");
  }
  {
    MutexLock lock(mu_);
    stopping_ = false;
    running_ = child.get();
  }
  spdlog::info("litestream: replicating as configured in {} (pid {})", config_path_, child->pid());
  thread_ = std::thread([this, c = std::move(child)]() mutable { supervise(std::move(c)); });
  return Status::ok();
}

void LitestreamSupervisor::supervise(std::unique_ptr<ChildProcess> child) {
  auto backoff = std::chrono::seconds(1);
  for (;;) {
    std::optional<int> code;
    auto next_guard_check = std::chrono::steady_clock::now() + kGuardInterval;
    while (!(code = child->wait_for(std::chrono::milliseconds(200)))) {
      if (!guard_ || std::chrono::steady_clock::now() < next_guard_check) continue;
      next_guard_check = std::chrono::steady_clock::now() + kGuardInterval;
      if (Status allowed = guard_(); !allowed.is_ok()) {
        spdlog::error("litestream: stopping replication: {}", allowed.message());
        MutexLock lock(mu_);
        last_error_ = allowed.message();
        gave_up_ = true;
        stopping_ = true;  // for good: a fenced store is not ours to write
        child->kill();     // SIGTERM would sync once more, into a store that is not ours
      }
    }
    {
      MutexLock lock(mu_);
      running_ = nullptr;
      if (stopping_) {
        if (*code != 0 && !gave_up_) {
          spdlog::error("litestream: its last sync on stopping failed (status {}); see above",
                        *code);
        }
        return;
      }
    }
    spdlog::warn("litestream: exited with status {}; starting it again in {} s", *code,
                 backoff.count());  // 0 too: something else stopped it, and we still replicate
    {
      MutexLock lock(mu_);
      if (wake_.wait_for(lock.native(), backoff,
                         [this]() MCP_REQUIRES(mu_) { return stopping_; })) {
        return;
      }
    }
    backoff = std::min(backoff * 2, std::chrono::duration_cast<std::chrono::seconds>(kMaxBackoff));
    if (guard_) {
      if (Status allowed = guard_(); !allowed.is_ok()) {
        spdlog::error("litestream: not starting it again: {}", allowed.message());
        MutexLock lock(mu_);
        last_error_ = allowed.message();
        gave_up_ = true;
        return;
      }
    }
    auto next = launch();
    if (!next.is_ok()) {
      spdlog::error("litestream: {}", next.status().message());
      continue;  // wait_for on the old, exited child returns at once: back to the backoff
    }
    child = std::move(*next);
    MutexLock lock(mu_);
    ++restarts_;
    running_ = child.get();
    if (stopping_) child->terminate();
  }
}

void LitestreamSupervisor::stop() {
  {
    MutexLock lock(mu_);
    stopping_ = true;
    if (running_ != nullptr) running_->terminate();
  }
  wake_.notify_all();
  if (!thread_.joinable()) return;
  // The supervising thread returns once the child has exited after its final sync.
  auto deadline = std::chrono::steady_clock::now() + kStopGrace;
  for (;;) {
    {
      MutexLock lock(mu_);
      if (running_ == nullptr) break;
      if (std::chrono::steady_clock::now() > deadline) {
        running_->kill();
        break;
      }
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  thread_.join();
}

LitestreamSupervisor::State LitestreamSupervisor::state() const {
  MutexLock lock(mu_);
  return {running_ != nullptr, restarts_, last_error_, gave_up_};
}

}  // namespace mcpmem
