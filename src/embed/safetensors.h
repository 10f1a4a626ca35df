// safetensors: the weights format of Hugging Face models, read in place from a read-only
// mapping. A file is an 8-byte little-endian header length N, N bytes of JSON naming each tensor
//   {"encoder.layer.0.attention.self.query.weight":
//      {"dtype": "F32", "shape": [384, 384], "data_offsets": [BEGIN, END]}, ...,
//    "__metadata__": {"format": "pt"}}
// and the data region, which starts at byte 8 + N; a tensor's offsets count from there, its
// values are row-major and little-endian. open() checks the whole header against the file before
// anything is read (see parse_safetensors_header), so a tensor's bytes always lie in the file.
#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "core/status.h"
#include "platform/mapped_file.h"

namespace mcpmem {

// The element types of the format. Only F32, F16 and BF16 read as floats; the others are known
// so that files holding them (BERT's I64 position_ids) still open.
enum class TensorDtype {
  kBool,
  kU8,
  kI8,
  kF8E4M3,
  kF8E5M2,
  kI16,
  kU16,
  kF16,
  kBF16,
  kI32,
  kU32,
  kF32,
  kI64,
  kU64,
  kF64
};

size_t dtype_size(TensorDtype dtype);            // bytes per element
std::string_view dtype_name(TensorDtype dtype);  // as in the header: "F32", "BF16", ...

struct TensorInfo {
  std::string name;
  TensorDtype dtype = TensorDtype::kF32;
  std::vector<int64_t> shape;  // empty for a scalar
  uint64_t file_offset = 0;    // where its bytes start, counted from the start of the file
  uint64_t byte_size = 0;      // elements x dtype_size, checked against data_offsets
  uint64_t elements() const { return byte_size / dtype_size(dtype); }
};

// "[384, 1536]"
std::string shape_string(std::span<const int64_t> shape);

// The largest JSON header accepted (the format's own readers stop at the same 100 MB).
inline constexpr uint64_t kMaxSafetensorsHeaderBytes = uint64_t{100} << 20;
// The most dimensions a tensor may have (BERT's have one or two).
inline constexpr size_t kMaxTensorRank = 8;

// Reads the header of a safetensors file whose bytes are `file` (all of it: the sizes are checked
// against file.size()). Checks that the header length fits the file and kMaxSafetensorsHeaderBytes,
// that the header is a JSON object, and for every tensor: dtype known, shape of at most
// kMaxTensorRank non-negative integers, shape x dtype size == the data_offsets span, the span
// inside the data region (else the file is truncated) and not overlapping another tensor's.
// "__metadata__" is skipped. Returns the tensors ordered by offset. Corruption on any failure,
// the message starting with `file_name` and naming the tensor:
//   "model.safetensors: tensor 'x.weight': data ends at 1234 beyond the file's 1000 bytes".
// Pure and total (no exceptions, any input): the unit for tests and fuzzing.
Result<std::vector<TensorInfo>> parse_safetensors_header(std::string_view file_name,
                                                         std::span<const uint8_t> file);

// IEEE half and bfloat16 to float32, exactly (every value of both is a float32 value).
float f16_to_f32(uint16_t bits);
float bf16_to_f32(uint16_t bits);
// Converts `count` little-endian F32, F16 or BF16 values at `src` (any alignment) to floats.
// `dtype` must be one of those three.
void convert_to_f32(TensorDtype dtype, const uint8_t* src, size_t count, float* dst);

// A safetensors file, mapped read-only and checked whole when opened. Tensors are read in place:
// an F32 tensor is a view into the mapping, no copy. Immutable: safe from many threads.
class SafetensorsFile {
 public:
  // Maps `path` and checks its header (parse_safetensors_header). NotFound or IoError when it
  // cannot be mapped, Corruption when the header does not hold.
  static Result<SafetensorsFile> open(const std::string& path);

  const std::string& path() const { return file_.path(); }
  // Every tensor, ordered by offset.
  const std::vector<TensorInfo>& tensors() const { return tensors_; }
  // nullptr when the file has no tensor of that name.
  const TensorInfo* find(std::string_view name) const;

  // The tensor `name`, checked to be of `dtype` and `shape`. NotFound naming the tensor when it
  // is missing; InvalidArgument naming it and both dtypes or both shapes when it differs.
  Result<const TensorInfo*> expect(std::string_view name, TensorDtype dtype,
                                   std::span<const int64_t> shape) const;
  // The same for a tensor stored as F32, F16 or BF16 (any of them).
  Result<const TensorInfo*> expect_float(std::string_view name,
                                         std::span<const int64_t> shape) const;

  // The tensor's bytes inside the mapping.
  std::span<const uint8_t> data(const TensorInfo& tensor) const {
    return file_.bytes().subspan(tensor.file_offset, tensor.byte_size);
  }

  // The float tensor `name` of `shape` (expect_float) as float32 values. An F32 tensor is
  // returned in place: a view into the mapping, valid while this file lives. An F16 or BF16 one
  // (or, in a file no standard writer makes, an F32 one not aligned for float) is converted into
  // `*storage`, which the view then points into: keep it alive and do not resize it.
  Result<std::span<const float>> read_f32(std::string_view name, std::span<const int64_t> shape,
                                          std::vector<float>* storage) const;

 private:
  SafetensorsFile(MappedFile file, std::vector<TensorInfo> tensors);

  MappedFile file_;
  std::vector<TensorInfo> tensors_;
  std::map<std::string, size_t, std::less<>> index_;  // name -> position in tensors_
};

}  // namespace mcpmem
