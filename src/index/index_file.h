// The persisted vector index: every row of a VectorIndex in one file beside the database
// (`<db>.index`), laid out so a process can map it and search at once instead of reading every
// vector out of SQLite. The format is in docs/index.md. The file is a cache: it carries an
// IndexStamp (model, database, change-log position) and checksums, and a file that fails any
// check is reported as such and never searched. Files are written whole under a temporary name
// and renamed into place, so readers see the old file or the new one, never a torn one.
// Thread-safety: an IndexFileView is immutable and safe from many threads; a writer is one thread.
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "core/status.h"
#include "index/index_stamp.h"
#include "platform/mapped_file.h"

namespace mcpmem {

// Per row: the int8 sketch's scale and error terms (docs/index.md). Stored as is in the file.
struct RowQuant {
  float scale = 0;     // v^ = scale * q
  float err = 0;       // |v - v^|
  float norm_hat = 0;  // |v^|
};

// Quantizes `v` (dim floats) into `out` (dim int8) and returns its terms.
RowQuant quantize_row(const float* v, size_t dim, int8_t* out);

// Row strides: floats per float32 row (a multiple of 8), bytes per sketch row (a multiple of 32).
size_t float_stride(size_t dimension);
size_t sketch_stride(size_t dimension);

// What a file's header says, readable without mapping the rest.
struct IndexFileInfo {
  IndexStamp stamp;
  uint64_t rows = 0;
  uint64_t bytes = 0;
};

// A validated, mapped index file. Rows are ordered as written; row_of() finds an id's row.
class IndexFileView {
 public:
  // Maps `path` and checks the header, the sizes and the checksums of every section but the
  // float32 rows (those are checked row by row as they are read: row_intact()). Corruption
  // (naming what is wrong) for a torn, truncated, flipped or foreign file; NotFound when absent.
  // `expected_dimension` must match the file's.
  static Result<std::shared_ptr<const IndexFileView>> open(const std::string& path,
                                                           size_t expected_dimension);
  // Reads only the header (for status reports).
  static Result<IndexFileInfo> read_info(const std::string& path);

  const IndexFileInfo& info() const { return info_; }
  size_t rows() const { return static_cast<size_t>(info_.rows); }
  size_t dimension() const { return info_.stamp.dimension; }
  const int64_t* ids() const { return ids_; }
  const RowQuant* quant() const { return quant_; }
  const int8_t* sketch() const { return sketch_; }   // rows() * sketch_stride(dimension())
  const float* vectors() const { return vectors_; }  // rows() * float_stride(dimension())
  // The row holding `id`, or -1.
  int64_t row_of(int64_t id) const;
  // Whether the float32 row still has the checksum it was written with.
  bool row_intact(size_t row) const;
  // Copies float32 row `row` (float_stride floats) into `out` with a read rather than through
  // the mapping (a server re-ranking a few rows per search then keeps no pages of the 4/5 of
  // the file they are in), and checks it: false when it cannot be read or fails its checksum.
  bool read_row(size_t row, float* out) const;
  size_t mapped_bytes() const { return file_.size(); }

 private:
  explicit IndexFileView(MappedFile file) : file_(std::move(file)) {}
  MappedFile file_;
  IndexFileInfo info_;
  const int64_t* ids_ = nullptr;
  const RowQuant* quant_ = nullptr;
  const uint64_t* row_sums_ = nullptr;
  const uint32_t* by_id_ = nullptr;  // rows sorted by id
  const int8_t* sketch_ = nullptr;
  const float* vectors_ = nullptr;
};

// Writes an index file of exactly `rows` rows, streamed (a few MiB of buffers plus 28 bytes per
// row), to a temporary name beside `path`; commit() fsyncs it and renames it over `path`.
// Dropping the writer without commit() removes the temporary file.
class IndexFileWriter {
 public:
  static Result<std::unique_ptr<IndexFileWriter>> create(const std::string& path,
                                                         const IndexStamp& stamp, uint64_t rows);
  ~IndexFileWriter();
  IndexFileWriter(const IndexFileWriter&) = delete;
  IndexFileWriter& operator=(const IndexFileWriter&) = delete;

  // Appends one row: `v` has stamp.dimension floats (unit length); `sketch`/`quant` may be given
  // when the caller already has them (exactly what quantize_row would make).
  Status add(int64_t id, const float* v, const int8_t* sketch = nullptr,
             const RowQuant* quant = nullptr);
  // InvalidArgument unless exactly `rows` rows were added (and ids are distinct).
  Status commit();

 private:
  struct Impl;
  explicit IndexFileWriter(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace mcpmem
