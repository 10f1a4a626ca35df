#include "storage/vector_blob.h"

#include <cstdint>
#include <cstring>

namespace mcpmem::storage_detail {
namespace {

constexpr char kSparseTag[4] = {'S', 'P', 'V', '1'};
constexpr size_t kEntryBytes = sizeof(uint16_t) + sizeof(float);

}  // namespace

std::string encode_vector(std::span<const float> v) {
  size_t nonzero = 0;
  for (float x : v) nonzero += x != 0.0f;
  const size_t sparse_size = sizeof(kSparseTag) + nonzero * kEntryBytes;
  if (v.size() > UINT16_MAX || sparse_size >= v.size_bytes()) {
    return std::string(reinterpret_cast<const char*>(v.data()), v.size_bytes());
  }
  std::string out(sparse_size, '\0');
  char* p = out.data();
  std::memcpy(p, kSparseTag, sizeof(kSparseTag));
  p += sizeof(kSparseTag);
  for (size_t i = 0; i < v.size(); ++i) {
    if (v[i] == 0.0f) continue;
    const auto index = static_cast<uint16_t>(i);
    std::memcpy(p, &index, sizeof(index));
    std::memcpy(p + sizeof(index), &v[i], sizeof(float));
    p += kEntryBytes;
  }
  return out;
}

bool decode_vector(std::span<const unsigned char> blob, size_t dimension, std::vector<float>& out) {
  if (blob.size() == dimension * sizeof(float)) {
    out.resize(dimension);
    std::memcpy(out.data(), blob.data(), blob.size());
    return true;
  }
  if (blob.size() < sizeof(kSparseTag) ||
      std::memcmp(blob.data(), kSparseTag, sizeof(kSparseTag)) != 0 ||
      (blob.size() - sizeof(kSparseTag)) % kEntryBytes != 0) {
    return false;
  }
  out.assign(dimension, 0.0f);
  for (const unsigned char* p = blob.data() + sizeof(kSparseTag); p < blob.data() + blob.size();
       p += kEntryBytes) {
    uint16_t index;
    std::memcpy(&index, p, sizeof(index));
    if (index >= dimension) return false;
    std::memcpy(&out[index], p + sizeof(index), sizeof(float));
  }
  return true;
}

}  // namespace mcpmem::storage_detail
