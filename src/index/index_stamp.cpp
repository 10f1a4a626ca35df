// Fixed layout: model[128], database_id[128], seq_version[128] (NUL-padded), dimension u32,
// seq i64, replay_from i64, the rest zero. Little-endian, as every machine we build for.
#include "index/index_stamp.h"

#include <xxhash.h>

#include <cstring>

namespace mcpmem {
namespace {

constexpr size_t kField = 128;
constexpr size_t kDimensionAt = 3 * kField;
constexpr size_t kSeqAt = kDimensionAt + 8;
constexpr size_t kReplayFromAt = kSeqAt + 8;

Status put_field(char* out, const std::string& value, const char* name) {
  if (value.size() >= kField || value.find('\0') != std::string::npos) {
    return Status::invalid_argument(std::string("index stamp: ") + name + " is too long");
  }
  std::memcpy(out, value.data(), value.size());
  return Status::ok();
}

std::string get_field(const char* in) { return std::string(in, strnlen(in, kField)); }

}  // namespace

Status encode_index_stamp(const IndexStamp& stamp, char (&out)[kIndexStampBytes]) {
  std::memset(out, 0, kIndexStampBytes);
  MCP_RETURN_IF_ERROR(put_field(out, stamp.model, "model"));
  MCP_RETURN_IF_ERROR(put_field(out + kField, stamp.database_id, "database id"));
  MCP_RETURN_IF_ERROR(put_field(out + 2 * kField, stamp.seq_version, "change version"));
  std::memcpy(out + kDimensionAt, &stamp.dimension, sizeof stamp.dimension);
  std::memcpy(out + kSeqAt, &stamp.seq, sizeof stamp.seq);
  std::memcpy(out + kReplayFromAt, &stamp.replay_from, sizeof stamp.replay_from);
  return Status::ok();
}

Result<IndexStamp> decode_index_stamp(const char (&in)[kIndexStampBytes]) {
  for (size_t f = 0; f < 3; ++f) {
    if (in[f * kField + kField - 1] != '\0') return Status::corruption("index stamp: bad field");
  }
  IndexStamp stamp;
  stamp.model = get_field(in);
  stamp.database_id = get_field(in + kField);
  stamp.seq_version = get_field(in + 2 * kField);
  std::memcpy(&stamp.dimension, in + kDimensionAt, sizeof stamp.dimension);
  std::memcpy(&stamp.seq, in + kSeqAt, sizeof stamp.seq);
  std::memcpy(&stamp.replay_from, in + kReplayFromAt, sizeof stamp.replay_from);
  if (stamp.replay_from < 0 || stamp.replay_from > stamp.seq) {
    return Status::corruption("index stamp: replay position");
  }
  return stamp;
}

uint64_t index_checksum(const void* bytes, size_t size, uint64_t seed) {
  return XXH3_64bits_withSeed(bytes, size, seed);
}

}  // namespace mcpmem
