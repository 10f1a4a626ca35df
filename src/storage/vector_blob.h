// How a vector is stored in memory_vectors.vec. Dense: dimension float32 values (little
// endian, as in RAM). Sparse, when it is smaller: the 4 bytes "SPV1", then (uint16 index,
// float32 value) for each non-zero element. The hash embedder's vectors have 50-100 non-zeros
// out of 384, so they take about a quarter of the space, which is most of a database's size
// and of what an import writes. Both decode to the same floats, bit for bit (a negative
// zero is a zero and reads back as +0).
#pragma once

#include <cstddef>
#include <span>
#include <string>
#include <vector>

namespace mcpmem::storage_detail {

std::string encode_vector(std::span<const float> v);

// Fills `out` with `dimension` floats; false if the blob is neither form of a vector of that
// dimension (a vector of another model).
bool decode_vector(std::span<const unsigned char> blob, size_t dimension, std::vector<float>& out);

}  // namespace mcpmem::storage_detail
