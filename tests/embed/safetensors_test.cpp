// safetensors: the real all-MiniLM-L6-v2 header parses with every tensor's shape; each way a file
// can be damaged (truncated, bad header length, not JSON, unknown dtype, offsets beyond the file
// or overlapping, shape disagreeing with offsets) is refused with a message naming the file and
// the tensor; lookups check name, dtype and shape; F32 is read in place, F16/BF16 converted.
#include "embed/safetensors.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <random>

#include "../temp_dir.h"

namespace mcpmem {
namespace {

namespace fs = std::filesystem;
using Json = nlohmann::json;

const std::string kFixtures = MCP_TEST_FIXTURES;

class SafetensorsTest : public ::testing::Test {
 protected:
  // Writes a file: 8-byte little-endian header length, `header`, then `data_bytes` bytes.
  std::string write(const std::string& name, const std::string& header, size_t data_bytes) {
    std::string bytes(8, '\0');
    const uint64_t n = header.size();
    std::memcpy(bytes.data(), &n, 8);
    bytes += header;
    for (size_t i = 0; i < data_bytes; ++i) bytes += static_cast<char>(i * 7);
    return write_raw(name, bytes);
  }
  std::string write_raw(const std::string& name, const std::string& bytes) {
    const std::string path = dir_ / name;
    std::ofstream(path, std::ios::binary) << bytes;
    return path;
  }
  // The error of opening a file with `header` and `data_bytes` of data.
  Status open_error(const std::string& header, size_t data_bytes) {
    auto file = SafetensorsFile::open(write("x.safetensors", header, data_bytes));
    EXPECT_FALSE(file.is_ok());
    return file.status();
  }

  TempDir dir_{"safetensors"};
};

// Two F32 tensors: a [2, 3] (24 bytes) then b [4] (16 bytes).
const char* kTwoTensors = R"({"__metadata__":{"format":"pt"},)"
                          R"("a":{"dtype":"F32","shape":[2,3],"data_offsets":[0,24]},)"
                          R"("b":{"dtype":"F32","shape":[4],"data_offsets":[24,40]}})";

TEST_F(SafetensorsTest, ParsesTheRealMiniLmHeader) {
  // The header of all-MiniLM-L6-v2's model.safetensors, extended to its real size as a sparse
  // file: 104 tensors named without "bert.", shapes as its config.json implies.
  const std::string path = dir_ / "model.safetensors";
  fs::copy_file(kFixtures + "/all-MiniLM-L6-v2/model.safetensors.header", path);
  fs::resize_file(path, 11416 + 90856960);
  auto file = SafetensorsFile::open(path);
  ASSERT_TRUE(file.is_ok()) << file.status().message();
  EXPECT_EQ(file->tensors().size(), 104u);
  EXPECT_EQ(file->find("bert.embeddings.word_embeddings.weight"), nullptr);

  const std::vector<int64_t> h{384}, hh{384, 384};
  EXPECT_TRUE(file->expect("embeddings.word_embeddings.weight", TensorDtype::kF32,
                           std::vector<int64_t>{30522, 384})
                  .is_ok());
  EXPECT_TRUE(file->expect("embeddings.position_embeddings.weight", TensorDtype::kF32,
                           std::vector<int64_t>{512, 384})
                  .is_ok());
  EXPECT_TRUE(file->expect("embeddings.token_type_embeddings.weight", TensorDtype::kF32,
                           std::vector<int64_t>{2, 384})
                  .is_ok());
  EXPECT_TRUE(
      file->expect("embeddings.position_ids", TensorDtype::kI64, std::vector<int64_t>{1, 512})
          .is_ok());
  EXPECT_TRUE(file->expect("pooler.dense.weight", TensorDtype::kF32, hh).is_ok());
  for (int layer = 0; layer < 6; ++layer) {
    const std::string l = "encoder.layer." + std::to_string(layer) + ".";
    for (const char* name : {"attention.self.query", "attention.self.key", "attention.self.value",
                             "attention.output.dense"}) {
      EXPECT_TRUE(file->expect(l + name + ".weight", TensorDtype::kF32, hh).is_ok()) << name;
      EXPECT_TRUE(file->expect(l + name + ".bias", TensorDtype::kF32, h).is_ok()) << name;
    }
    EXPECT_TRUE(file->expect(l + "intermediate.dense.weight", TensorDtype::kF32,
                             std::vector<int64_t>{1536, 384})
                    .is_ok());
    EXPECT_TRUE(
        file->expect(l + "output.dense.weight", TensorDtype::kF32, std::vector<int64_t>{384, 1536})
            .is_ok());
    for (const char* name : {"attention.output.LayerNorm", "output.LayerNorm"}) {
      EXPECT_TRUE(file->expect(l + name + ".weight", TensorDtype::kF32, h).is_ok()) << name;
      EXPECT_TRUE(file->expect(l + name + ".bias", TensorDtype::kF32, h).is_ok()) << name;
    }
  }
  // Tensors are listed in file order and fill the data region.
  const auto& tensors = file->tensors();
  EXPECT_EQ(tensors.front().name, "embeddings.position_ids");
  EXPECT_EQ(tensors.front().file_offset, 11416u);
  EXPECT_EQ(tensors.back().file_offset + tensors.back().byte_size, 11416u + 90856960u);
}

TEST_F(SafetensorsTest, TruncatedRealHeaderNamesTheFirstTensorCut) {
  // The header alone: the file ends where the data should start.
  auto file = SafetensorsFile::open(kFixtures + "/all-MiniLM-L6-v2/model.safetensors.header");
  ASSERT_FALSE(file.is_ok());
  EXPECT_EQ(file.status().code(), StatusCode::kCorruption);
  EXPECT_NE(file.status().message().find(
                "model.safetensors.header: tensor 'embeddings.position_ids': data ends at 15512 "
                "beyond the file's 11416 bytes (truncated?)"),
            std::string::npos)
      << file.status().message();
}

TEST_F(SafetensorsTest, TruncatedFileIsRefused) {
  Status s = open_error(kTwoTensors, 39);
  EXPECT_EQ(s.code(), StatusCode::kCorruption);
  const size_t file_size = 8 + std::strlen(kTwoTensors) + 39;
  EXPECT_EQ(s.message(), dir_.path() + "/x.safetensors: tensor 'b': data ends at " +
                             std::to_string(file_size + 1) + " beyond the file's " +
                             std::to_string(file_size) + " bytes (truncated?)");
}

TEST_F(SafetensorsTest, BadHeaderLengthIsRefused) {
  auto tiny = SafetensorsFile::open(write_raw("short.safetensors", "abc"));
  ASSERT_FALSE(tiny.is_ok());
  EXPECT_NE(tiny.status().message().find("3 bytes, too short"), std::string::npos);

  std::string huge(8, '\0');
  const uint64_t n = uint64_t{1} << 40;
  std::memcpy(huge.data(), &n, 8);
  auto over = SafetensorsFile::open(write_raw("huge.safetensors", huge + "{}"));
  ASSERT_FALSE(over.is_ok());
  EXPECT_NE(over.status().message().find("header length 1099511627776 is over the limit"),
            std::string::npos)
      << over.status().message();

  std::string beyond(8, '\0');
  const uint64_t m = 100;
  std::memcpy(beyond.data(), &m, 8);
  auto past = SafetensorsFile::open(write_raw("past.safetensors", beyond + "{}"));
  ASSERT_FALSE(past.is_ok());
  EXPECT_NE(
      past.status().message().find("header of 100 bytes ends at 108 beyond the file's 10 bytes"),
      std::string::npos)
      << past.status().message();
}

TEST_F(SafetensorsTest, HeaderThatIsNotJsonIsRefused) {
  EXPECT_NE(open_error(R"({"a":{"dtype":"F32",)", 0).message().find("header is not valid JSON"),
            std::string::npos);
  EXPECT_NE(open_error("[1, 2]", 0).message().find("header is not a JSON object"),
            std::string::npos);
  EXPECT_NE(open_error(R"({"a": 5})", 0).message().find("tensor 'a': is not a JSON object"),
            std::string::npos);
}

TEST_F(SafetensorsTest, UnknownDtypeIsRefused) {
  Status s = open_error(R"({"w":{"dtype":"Q4_K","shape":[4],"data_offsets":[0,4]}})", 4);
  EXPECT_EQ(s.code(), StatusCode::kCorruption);
  EXPECT_NE(s.message().find("x.safetensors: tensor 'w': unknown dtype 'Q4_K'"), std::string::npos)
      << s.message();
}

TEST_F(SafetensorsTest, ShapeThatDisagreesWithOffsetsIsRefused) {
  Status s = open_error(R"({"w":{"dtype":"F16","shape":[3,5],"data_offsets":[0,32]}})", 32);
  EXPECT_NE(s.message().find("tensor 'w': shape [3, 5] of F16 is 30 bytes, but data_offsets "
                             "[0, 32] span 32"),
            std::string::npos)
      << s.message();
  EXPECT_NE(open_error(R"({"w":{"dtype":"F32","shape":[-1],"data_offsets":[0,4]}})", 4)
                .message()
                .find("tensor 'w': 'shape' holds -1, not a non-negative integer"),
            std::string::npos);
  EXPECT_NE(open_error(R"({"w":{"dtype":"F32","shape":[1.5],"data_offsets":[0,4]}})", 4)
                .message()
                .find("'shape' holds 1.5"),
            std::string::npos);
  EXPECT_NE(open_error(R"({"w":{"dtype":"F32","shape":[4294967296,4294967296,4294967296],)"
                       R"("data_offsets":[0,4]}})",
                       4)
                .message()
                .find("too large to address"),
            std::string::npos);
  EXPECT_NE(open_error(R"({"w":{"dtype":"F32","shape":[1],"data_offsets":[8,4]}})", 8)
                .message()
                .find("end before they begin"),
            std::string::npos);
  EXPECT_NE(open_error(R"({"w":{"dtype":"F32","shape":[1]}})", 8)
                .message()
                .find("'data_offsets' must be two non-negative integers"),
            std::string::npos);
}

TEST_F(SafetensorsTest, OffsetsBeyondTheFileAreRefused) {
  const std::string header = R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},)"
                             R"("b":{"dtype":"U8","shape":[1000],"data_offsets":[100,1100]}})";
  Status s = open_error(header, 16);
  const uint64_t data_start = 8 + header.size();
  EXPECT_NE(s.message().find("tensor 'b': data ends at " + std::to_string(data_start + 1100) +
                             " beyond the file's " + std::to_string(data_start + 16) + " bytes"),
            std::string::npos)
      << s.message();
  // Offsets near 2^64 neither overflow nor pass.
  Status huge = open_error(R"({"w":{"dtype":"U8","shape":[9223372036854775807],)"
                           R"("data_offsets":[9223372036854775807,18446744073709551614]}})",
                           16);
  EXPECT_NE(huge.message().find("tensor 'w': data ends at 18446744073709551615 beyond"),
            std::string::npos)
      << huge.message();
}

TEST_F(SafetensorsTest, OverlappingTensorsAreRefused) {
  Status s = open_error(R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},)"
                        R"("b":{"dtype":"F32","shape":[2],"data_offsets":[4,12]}})",
                        12);
  EXPECT_EQ(s.code(), StatusCode::kCorruption);
  EXPECT_NE(s.message().find("tensors 'a' and 'b' overlap"), std::string::npos) << s.message();
}

TEST_F(SafetensorsTest, MetadataIsIgnoredAndEmptyTensorsAllowed) {
  auto file =
      SafetensorsFile::open(write("m.safetensors",
                                  R"({"__metadata__":{"anything":[1,2,{"x":null}]},)"
                                  R"("empty":{"dtype":"F32","shape":[0,4],"data_offsets":[0,0]},)"
                                  R"("s":{"dtype":"F64","shape":[],"data_offsets":[0,8]}})",
                                  8));
  ASSERT_TRUE(file.is_ok()) << file.status().message();
  EXPECT_EQ(file->tensors().size(), 2u);
  EXPECT_EQ(file->find("s")->byte_size, 8u);
}

TEST_F(SafetensorsTest, LookupChecksNameDtypeAndShape) {
  auto file = SafetensorsFile::open(write("t.safetensors", kTwoTensors, 40));
  ASSERT_TRUE(file.is_ok()) << file.status().message();
  const std::string path = dir_ / "t.safetensors";

  auto missing = file->expect("c", TensorDtype::kF32, std::vector<int64_t>{4});
  EXPECT_EQ(missing.status().code(), StatusCode::kNotFound);
  EXPECT_EQ(missing.status().message(), path + ": no tensor 'c'");

  auto shape = file->expect("a", TensorDtype::kF32, std::vector<int64_t>{3, 2});
  EXPECT_EQ(shape.status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(shape.status().message(), path + ": tensor 'a' has shape [2, 3], expected [3, 2]");

  auto dtype = file->expect("b", TensorDtype::kF16, std::vector<int64_t>{4});
  EXPECT_EQ(dtype.status().message(), path + ": tensor 'b' is F32, expected F16");

  auto ok = file->expect("b", TensorDtype::kF32, std::vector<int64_t>{4});
  ASSERT_TRUE(ok.is_ok());
  EXPECT_EQ((*ok)->name, "b");
}

TEST_F(SafetensorsTest, F32IsReadInPlaceWithoutCopy) {
  // Data starts at 8 + header length: pad the header to a multiple of 4 so floats are aligned.
  std::string header = kTwoTensors;
  header.append((4 - header.size() % 4) % 4, ' ');
  std::string bytes(8, '\0');
  const uint64_t n = header.size();
  std::memcpy(bytes.data(), &n, 8);
  bytes += header;
  for (float v : {1.f, 2.f, 3.f, 4.f, 5.f, 6.f, -1.5f, 0.25f, 1e-30f, 3e38f}) {
    bytes.append(reinterpret_cast<const char*>(&v), 4);
  }
  auto file = SafetensorsFile::open(write_raw("f.safetensors", bytes));
  ASSERT_TRUE(file.is_ok()) << file.status().message();
  std::vector<float> storage;
  auto b = file->read_f32("b", std::vector<int64_t>{4}, &storage);
  ASSERT_TRUE(b.is_ok()) << b.status().message();
  EXPECT_TRUE(storage.empty());
  EXPECT_EQ(reinterpret_cast<const uint8_t*>(b->data()), file->data(*file->find("b")).data());
  EXPECT_EQ(std::vector<float>(b->begin(), b->end()),
            (std::vector<float>{-1.5f, 0.25f, 1e-30f, 3e38f}));
}

TEST_F(SafetensorsTest, F16AndBf16AreConvertedExactly) {
  // Every half value against its definition: (-1)^s * 2^(e-15) * (1 + m/1024), subnormals
  // 2^-14 * m/1024, infinities and NaNs kept.
  for (uint32_t bits = 0; bits < 65536; ++bits) {
    const int sign = bits & 0x8000 ? -1 : 1;
    const int e = (bits >> 10) & 0x1f;
    const int m = bits & 0x3ff;
    const float got = f16_to_f32(static_cast<uint16_t>(bits));
    if (e == 0x1f) {
      EXPECT_TRUE(m == 0 ? std::isinf(got) && (got < 0) == (sign < 0) : std::isnan(got)) << bits;
      continue;
    }
    const double want =
        e == 0 ? sign * std::ldexp(m / 1024.0, -14) : sign * std::ldexp(1.0 + m / 1024.0, e - 15);
    ASSERT_EQ(got, static_cast<float>(want)) << "half bits " << bits;
    ASSERT_EQ(std::signbit(got), sign < 0) << bits;
  }
  EXPECT_EQ(bf16_to_f32(0x3f80), 1.0f);
  EXPECT_EQ(bf16_to_f32(0xc0a0), -5.0f);
  EXPECT_EQ(bf16_to_f32(0x7f80), INFINITY);

  // Through a file: an F16 [3] and a BF16 [2] tensor, read as float32 into storage.
  std::string header = R"({"h":{"dtype":"F16","shape":[3],"data_offsets":[0,6]},)"
                       R"("b":{"dtype":"BF16","shape":[2],"data_offsets":[6,10]}})";
  std::string bytes(8, '\0');
  const uint64_t n = header.size();
  std::memcpy(bytes.data(), &n, 8);
  bytes += header;
  for (uint16_t v : {0x3c00, 0xc100, 0x0001, 0x3f80, 0x4049}) {  // 1, -2.5, 2^-24, 1, 3.140625
    bytes.append(reinterpret_cast<const char*>(&v), 2);
  }
  auto file = SafetensorsFile::open(write_raw("h.safetensors", bytes));
  ASSERT_TRUE(file.is_ok()) << file.status().message();
  std::vector<float> h_storage, b_storage;
  auto h = file->read_f32("h", std::vector<int64_t>{3}, &h_storage);
  auto b = file->read_f32("b", std::vector<int64_t>{2}, &b_storage);
  ASSERT_TRUE(h.is_ok() && b.is_ok());
  EXPECT_EQ(h_storage, (std::vector<float>{1.0f, -2.5f, std::ldexp(1.0f, -24)}));
  EXPECT_EQ(b_storage, (std::vector<float>{1.0f, 3.140625f}));
  EXPECT_EQ(h->data(), h_storage.data());
  // Integers are not floats.
  auto i64 = file->expect_float("h", std::vector<int64_t>{4});
  EXPECT_EQ(i64.status().code(), StatusCode::kInvalidArgument);
}

TEST_F(SafetensorsTest, RandomlyDamagedFilesAreRefusedOrReadInBounds) {
  // Byte flips, cuts and length changes of a real model file: each either opens with every
  // tensor inside the file or is refused; none crashes (the ASan build checks reads).
  std::ifstream in(kFixtures + "/bert-tiny/model.safetensors", std::ios::binary);
  const std::string original((std::istreambuf_iterator<char>(in)), {});
  ASSERT_GT(original.size(), 1000u);
  uint64_t header_size;
  std::memcpy(&header_size, original.data(), 8);
  std::mt19937 rng(42);
  int opened = 0;
  for (int round = 0; round < 400; ++round) {
    std::string bytes = original;
    switch (round % 4) {
      case 0:  // flip bytes inside the header
        for (int i = 0; i < 3; ++i) bytes[8 + rng() % header_size] ^= static_cast<char>(rng());
        break;
      case 1:  // cut the file anywhere
        bytes.resize(rng() % bytes.size());
        break;
      case 2:  // digits of offsets and shapes changed
        for (size_t i = 8; i < 8 + header_size; ++i) {
          if (std::isdigit(static_cast<unsigned char>(bytes[i])) && rng() % 40 == 0) {
            bytes[i] = static_cast<char>('0' + rng() % 10);
          }
        }
        break;
      case 3:  // the length prefix changed
        bytes[rng() % 8] ^= static_cast<char>(1u << (rng() % 8));
        break;
    }
    auto file = SafetensorsFile::open(write_raw("fuzz.safetensors", bytes));
    if (!file.is_ok()) {
      EXPECT_EQ(file.status().code(), StatusCode::kCorruption) << file.status().message();
      continue;
    }
    ++opened;
    for (const TensorInfo& t : file->tensors()) {
      ASSERT_LE(t.file_offset + t.byte_size, bytes.size()) << t.name;
    }
  }
  EXPECT_GT(opened, 0);
}

}  // namespace
}  // namespace mcpmem
