// safetensors reading: see safetensors.h. The header is untrusted input (a model downloaded from
// anywhere): it is parsed with nlohmann's non-throwing parser, every number is range-checked
// before it is used in arithmetic (products are overflow-checked), and the tensors are sorted by
// offset so that overlap is one comparison with the neighbour.
#include "embed/safetensors.h"

#include <algorithm>
#include <bit>
#include <cstring>
#include <limits>
#include <nlohmann/json.hpp>

#include "core/json_parse.h"

namespace mcpmem {

// The format is little-endian; so is every platform the project builds for (x86-64, arm64).
static_assert(std::endian::native == std::endian::little,
              "safetensors data is little-endian: a big-endian host needs byte swapping");

namespace {

using Json = nlohmann::json;

struct DtypeEntry {
  std::string_view name;
  TensorDtype dtype;
  size_t size;
};

constexpr DtypeEntry kDtypes[] = {
    {"BOOL", TensorDtype::kBool, 1},      {"U8", TensorDtype::kU8, 1},
    {"I8", TensorDtype::kI8, 1},          {"F8_E4M3", TensorDtype::kF8E4M3, 1},
    {"F8_E5M2", TensorDtype::kF8E5M2, 1}, {"I16", TensorDtype::kI16, 2},
    {"U16", TensorDtype::kU16, 2},        {"F16", TensorDtype::kF16, 2},
    {"BF16", TensorDtype::kBF16, 2},      {"I32", TensorDtype::kI32, 4},
    {"U32", TensorDtype::kU32, 4},        {"F32", TensorDtype::kF32, 4},
    {"I64", TensorDtype::kI64, 8},        {"U64", TensorDtype::kU64, 8},
    {"F64", TensorDtype::kF64, 8},
};

const DtypeEntry* dtype_by_name(std::string_view name) {
  for (const auto& entry : kDtypes) {
    if (entry.name == name) return &entry;
  }
  return nullptr;
}

const DtypeEntry& dtype_entry(TensorDtype dtype) {
  for (const auto& entry : kDtypes) {
    if (entry.dtype == dtype) return entry;
  }
  return kDtypes[0];  // unreachable: every enumerator is in the table
}

bool is_float_dtype(TensorDtype dtype) {
  return dtype == TensorDtype::kF32 || dtype == TensorDtype::kF16 || dtype == TensorDtype::kBF16;
}

// Reads one header entry into `tensor` (offsets still relative to the data region).
Status parse_tensor_entry(const std::string& where, const Json& entry, TensorInfo* tensor,
                          uint64_t* begin, uint64_t* end) {
  if (!entry.is_object()) return Status::corruption(where + ": is not a JSON object");
  auto dtype_it = entry.find("dtype");
  if (dtype_it == entry.end() || !dtype_it->is_string()) {
    return Status::corruption(where + ": 'dtype' is missing or not a string");
  }
  const auto& dtype_text = dtype_it->get_ref<const std::string&>();
  const DtypeEntry* dtype = dtype_by_name(dtype_text);
  if (dtype == nullptr) {
    return Status::corruption(where + ": unknown dtype '" + dtype_text.substr(0, 32) + "'");
  }
  tensor->dtype = dtype->dtype;

  auto shape_it = entry.find("shape");
  if (shape_it == entry.end() || !shape_it->is_array() || shape_it->size() > kMaxTensorRank) {
    return Status::corruption(where + ": 'shape' must be an array of at most " +
                              std::to_string(kMaxTensorRank) + " dimensions");
  }
  uint64_t elements = 1;
  bool overflow = false;
  for (const Json& dim : *shape_it) {
    if (!dim.is_number_unsigned() ||
        dim.get<uint64_t>() > static_cast<uint64_t>(std::numeric_limits<int64_t>::max())) {
      return Status::corruption(where + ": 'shape' holds " + dim.dump().substr(0, 32) +
                                ", not a non-negative integer");
    }
    const uint64_t d = dim.get<uint64_t>();
    tensor->shape.push_back(static_cast<int64_t>(d));
    if (d != 0 && elements > std::numeric_limits<uint64_t>::max() / d) overflow = true;
    elements *= d;
  }
  if (overflow || elements > std::numeric_limits<uint64_t>::max() / dtype->size) {
    return Status::corruption(where + ": shape " + shape_string(tensor->shape) +
                              " is too large to address");
  }
  tensor->byte_size = elements * dtype->size;

  auto offsets_it = entry.find("data_offsets");
  if (offsets_it == entry.end() || !offsets_it->is_array() || offsets_it->size() != 2 ||
      !(*offsets_it)[0].is_number_unsigned() || !(*offsets_it)[1].is_number_unsigned()) {
    return Status::corruption(where + ": 'data_offsets' must be two non-negative integers");
  }
  *begin = (*offsets_it)[0].get<uint64_t>();
  *end = (*offsets_it)[1].get<uint64_t>();
  if (*end < *begin) {
    return Status::corruption(where + ": data_offsets [" + std::to_string(*begin) + ", " +
                              std::to_string(*end) + "] end before they begin");
  }
  if (*end - *begin != tensor->byte_size) {
    return Status::corruption(where + ": shape " + shape_string(tensor->shape) + " of " +
                              dtype_text + " is " + std::to_string(tensor->byte_size) +
                              " bytes, but data_offsets [" + std::to_string(*begin) + ", " +
                              std::to_string(*end) + "] span " + std::to_string(*end - *begin));
  }
  return Status::ok();
}

}  // namespace

size_t dtype_size(TensorDtype dtype) { return dtype_entry(dtype).size; }
std::string_view dtype_name(TensorDtype dtype) { return dtype_entry(dtype).name; }

std::string shape_string(std::span<const int64_t> shape) {
  std::string s = "[";
  for (size_t i = 0; i < shape.size(); ++i) {
    if (i > 0) s += ", ";
    s += std::to_string(shape[i]);
  }
  return s + "]";
}

Result<std::vector<TensorInfo>> parse_safetensors_header(std::string_view file_name,
                                                         std::span<const uint8_t> file) {
  const std::string name(file_name);
  const uint64_t file_size = file.size();
  if (file_size < 8) {
    return Status::corruption(name + ": " + std::to_string(file_size) +
                              " bytes, too short for the 8-byte header length");
  }
  uint64_t header_size = 0;
  std::memcpy(&header_size, file.data(), 8);
  if (header_size > kMaxSafetensorsHeaderBytes) {
    return Status::corruption(
        name + ": header length " + std::to_string(header_size) + " is over the limit of " +
        std::to_string(kMaxSafetensorsHeaderBytes) + " bytes (not a safetensors file?)");
  }
  if (header_size > file_size - 8) {
    return Status::corruption(name + ": header of " + std::to_string(header_size) +
                              " bytes ends at " + std::to_string(8 + header_size) +
                              " beyond the file's " + std::to_string(file_size) +
                              " bytes (truncated?)");
  }
  const auto* header_begin = reinterpret_cast<const char*>(file.data() + 8);
  auto parsed = parse_json(std::string_view(header_begin, header_size), name + ": header");
  if (!parsed.is_ok()) return Status::corruption(parsed.status().message());
  Json header = std::move(*parsed);
  if (!header.is_object()) return Status::corruption(name + ": header is not a JSON object");

  const uint64_t data_start = 8 + header_size;
  const uint64_t data_size = file_size - data_start;
  std::vector<TensorInfo> tensors;  // file_offset relative to the data region until checked
  tensors.reserve(header.size());
  for (const auto& [key, entry] : header.items()) {
    if (key == "__metadata__") continue;
    TensorInfo tensor;
    tensor.name = key;
    uint64_t begin = 0, end = 0;
    MCP_RETURN_IF_ERROR(
        parse_tensor_entry(name + ": tensor '" + key + "'", entry, &tensor, &begin, &end));
    tensor.file_offset = begin;
    tensors.push_back(std::move(tensor));
  }
  // In file order, the first tensor past the end is where a truncated file was cut.
  std::sort(tensors.begin(), tensors.end(), [](const TensorInfo& a, const TensorInfo& b) {
    return a.file_offset != b.file_offset ? a.file_offset < b.file_offset
                                          : a.byte_size < b.byte_size;
  });
  for (size_t i = 0; i < tensors.size(); ++i) {
    const TensorInfo& t = tensors[i];
    // No overflow: data_offsets [begin, end] were read as two uint64 and end - begin == size.
    const uint64_t end = t.file_offset + t.byte_size;
    if (end > data_size) {
      const uint64_t file_end = end > UINT64_MAX - data_start ? UINT64_MAX : data_start + end;
      return Status::corruption(name + ": tensor '" + t.name + "': data ends at " +
                                std::to_string(file_end) + " beyond the file's " +
                                std::to_string(file_size) + " bytes (truncated?)");
    }
    if (i > 0) {
      const TensorInfo& before = tensors[i - 1];
      if (t.file_offset < before.file_offset + before.byte_size) {
        return Status::corruption(
            name + ": tensors '" + before.name + "' and '" + t.name + "' overlap: '" + t.name +
            "' starts at byte " + std::to_string(data_start + t.file_offset) + ", before '" +
            before.name + "' ends at " +
            std::to_string(data_start + before.file_offset + before.byte_size));
      }
    }
  }
  for (TensorInfo& t : tensors) t.file_offset += data_start;
  return tensors;
}

float f16_to_f32(uint16_t bits) {
  const uint32_t sign = static_cast<uint32_t>(bits & 0x8000u) << 16;
  const uint32_t exponent = (bits >> 10) & 0x1fu;
  uint32_t mantissa = bits & 0x3ffu;
  uint32_t out;
  if (exponent == 0x1f) {  // infinity or NaN: keep the payload
    out = sign | 0x7f800000u | (mantissa << 13);
  } else if (exponent != 0) {  // normal: rebias 15 -> 127
    out = sign | ((exponent + 112) << 23) | (mantissa << 13);
  } else if (mantissa == 0) {  // signed zero
    out = sign;
  } else {  // subnormal half: normalise it, a normal float
    int shift = 0;
    while ((mantissa & 0x400u) == 0) {
      mantissa <<= 1;
      ++shift;
    }
    out = sign | (static_cast<uint32_t>(113 - shift) << 23) | ((mantissa & 0x3ffu) << 13);
  }
  return std::bit_cast<float>(out);
}

float bf16_to_f32(uint16_t bits) { return std::bit_cast<float>(static_cast<uint32_t>(bits) << 16); }

void convert_to_f32(TensorDtype dtype, const uint8_t* src, size_t count, float* dst) {
  if (dtype == TensorDtype::kF32) {
    std::memcpy(dst, src, count * sizeof(float));
    return;
  }
  for (size_t i = 0; i < count; ++i) {
    uint16_t bits;
    std::memcpy(&bits, src + 2 * i, 2);
    dst[i] = dtype == TensorDtype::kF16 ? f16_to_f32(bits) : bf16_to_f32(bits);
  }
}

SafetensorsFile::SafetensorsFile(MappedFile file, std::vector<TensorInfo> tensors)
    : file_(std::move(file)), tensors_(std::move(tensors)) {
  for (size_t i = 0; i < tensors_.size(); ++i) index_.emplace(tensors_[i].name, i);
}

Result<SafetensorsFile> SafetensorsFile::open(const std::string& path) {
  MCP_ASSIGN_OR_RETURN(MappedFile file, MappedFile::open(path));
  MCP_ASSIGN_OR_RETURN(auto tensors, parse_safetensors_header(path, file.bytes()));
  return SafetensorsFile(std::move(file), std::move(tensors));
}

const TensorInfo* SafetensorsFile::find(std::string_view name) const {
  auto it = index_.find(name);
  return it == index_.end() ? nullptr : &tensors_[it->second];
}

namespace {

Result<const TensorInfo*> expect_shape(const std::string& path, const TensorInfo* tensor,
                                       std::string_view name, std::span<const int64_t> shape) {
  if (tensor == nullptr) {
    return Status::not_found(path + ": no tensor '" + std::string(name) + "'");
  }
  if (!std::equal(tensor->shape.begin(), tensor->shape.end(), shape.begin(), shape.end())) {
    return Status::invalid_argument(path + ": tensor '" + tensor->name + "' has shape " +
                                    shape_string(tensor->shape) + ", expected " +
                                    shape_string(shape));
  }
  return tensor;
}

}  // namespace

Result<const TensorInfo*> SafetensorsFile::expect(std::string_view name, TensorDtype dtype,
                                                  std::span<const int64_t> shape) const {
  MCP_ASSIGN_OR_RETURN(const TensorInfo* tensor, expect_shape(path(), find(name), name, shape));
  if (tensor->dtype != dtype) {
    return Status::invalid_argument(path() + ": tensor '" + tensor->name + "' is " +
                                    std::string(dtype_name(tensor->dtype)) + ", expected " +
                                    std::string(dtype_name(dtype)));
  }
  return tensor;
}

Result<const TensorInfo*> SafetensorsFile::expect_float(std::string_view name,
                                                        std::span<const int64_t> shape) const {
  MCP_ASSIGN_OR_RETURN(const TensorInfo* tensor, expect_shape(path(), find(name), name, shape));
  if (!is_float_dtype(tensor->dtype)) {
    return Status::invalid_argument(path() + ": tensor '" + tensor->name + "' is " +
                                    std::string(dtype_name(tensor->dtype)) +
                                    ", expected F32, F16 or BF16");
  }
  return tensor;
}

Result<std::span<const float>> SafetensorsFile::read_f32(std::string_view name,
                                                         std::span<const int64_t> shape,
                                                         std::vector<float>* storage) const {
  MCP_ASSIGN_OR_RETURN(const TensorInfo* tensor, expect_float(name, shape));
  const std::span<const uint8_t> bytes = data(*tensor);
  const size_t count = tensor->elements();
  const bool aligned = reinterpret_cast<uintptr_t>(bytes.data()) % alignof(float) == 0;
  if (tensor->dtype == TensorDtype::kF32 && aligned) {
    return std::span<const float>(reinterpret_cast<const float*>(bytes.data()), count);
  }
  storage->resize(count);
  convert_to_f32(tensor->dtype, bytes.data(), count, storage->data());
  return std::span<const float>(storage->data(), count);
}

}  // namespace mcpmem
