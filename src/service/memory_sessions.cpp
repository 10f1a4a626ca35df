// MemoryService::store_session: a conversation kept as memories, chunked at turn boundaries
// the way the Python service's memory_store_session does, so sessions stored by either service
// split into the same memories (and so dedup against each other).
#include <cstdio>
#include <random>

#include "core/content_hash.h"
#include "service/memory_service.h"

namespace mcpmem {
namespace {

size_t code_points(const std::string& s) {
  size_t n = 0;
  for (char c : s) n += (static_cast<unsigned char>(c) & 0xC0) != 0x80;
  return n;
}

std::string uuid4() {
  std::random_device rd;
  std::mt19937_64 rng((static_cast<uint64_t>(rd()) << 32) ^ rd());
  uint64_t hi = rng(), lo = rng();
  hi = (hi & ~0xF000ull) | 0x4000ull;                  // version 4
  lo = (lo & ~(0xC000ull << 48)) | (0x8000ull << 48);  // variant 10
  char buf[37];
  std::snprintf(buf, sizeof buf, "%08x-%04x-%04x-%04x-%012llx", static_cast<unsigned>(hi >> 32),
                static_cast<unsigned>((hi >> 16) & 0xFFFF), static_cast<unsigned>(hi & 0xFFFF),
                static_cast<unsigned>(lo >> 48),
                static_cast<unsigned long long>(lo & 0xFFFFFFFFFFFFull));
  return buf;
}

// Lines grouped into chunks of at most `limit` code points (newlines counted), whole lines
// only; one chunk when everything fits or `limit` is 0.
std::vector<std::vector<std::string>> chunk_lines(const std::vector<std::string>& lines,
                                                  size_t limit) {
  std::vector<std::vector<std::string>> chunks(1);
  size_t size = 0, total = 0;
  for (const std::string& line : lines) total += code_points(line) + 1;
  for (const std::string& line : lines) {
    const size_t n = code_points(line) + 1;
    if (limit > 0 && total - 1 > limit && !chunks.back().empty() && size + n > limit) {
      chunks.emplace_back();
      size = 0;
    }
    chunks.back().push_back(line);
    size += n;
  }
  return chunks;
}

}  // namespace

Result<SessionStored> MemoryService::store_session(const SessionRequest& request) {
  std::vector<std::string> lines;
  for (const SessionTurn& turn : request.turns) {
    std::string content = python_strip(turn.content);
    if (!content.empty()) {
      lines.push_back("[" + (turn.role.empty() ? std::string("unknown") : turn.role) + "] " +
                      content);
    }
  }
  if (lines.empty()) return Status::invalid_argument("all turns have empty content");
  SessionStored stored;
  stored.session_id = request.session_id.empty() ? uuid4() : request.session_id;
  stored.turns = lines.size();
  std::vector<std::string> tags = {"session:" + stored.session_id};
  tags.insert(tags.end(), request.tags.begin(), request.tags.end());

  const auto chunks = chunk_lines(lines, config().session_chunk_chars);
  for (size_t i = 0; i < chunks.size(); ++i) {
    StoreRequest r;
    for (const std::string& line : chunks[i]) r.content += (r.content.empty() ? "" : "\n") + line;
    r.tags = tags;
    const std::string of = std::to_string(chunks.size());
    if (chunks.size() > 1) r.tags.push_back("chunk:" + std::to_string(i + 1) + "/" + of);
    r.memory_type = "session";
    r.metadata = request.metadata;
    MCP_ASSIGN_OR_RETURN(StoreResult out, store(r));
    if (!out.success && chunks.size() > 1) {
      return Status::already_exists("storing session chunk " + std::to_string(i + 1) + "/" + of +
                                    ": " + out.message + " (stored " + std::to_string(i) + "/" +
                                    of + " before failure)");
    }
    if (!out.success) return Status::already_exists("storing session: " + out.message);
    stored.content_hashes.push_back(out.content_hash);
  }
  return stored;
}

}  // namespace mcpmem
