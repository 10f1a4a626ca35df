// The index file's layout (docs/index.md has it in prose):
//   header (4 KiB) | ids i64[n] | quant RowQuant[n] | row sums u64[n] | by-id order u32[n]
//   | sketch int8[n * qstride] (4 KiB aligned) | vectors f32[n * fstride] (4 KiB aligned)
// The header holds the stamp, the section offsets and an XXH3 checksum of every section but the
// vectors, and of itself. Opening checks all of them by reading the file (not through the
// mapping, so a server's resident memory does not grow by the sketch), which costs one pass over
// ~1/5 of the file. The vectors, 4/5 of it, are checked one row at a time by whoever reads a row
// (row_intact): a search reads a few dozen of them, so checking all would dominate its cost.
#include "index/index_file.h"

#include <xxhash.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <fstream>
#include <numeric>
#include <type_traits>

#include "platform/durable_file.h"
#include "platform/file_modes.h"

namespace mcpmem {
namespace {

constexpr char kMagic[8] = {'M', 'C', 'P', 'M', 'I', 'D', 'X', '\n'};
constexpr uint32_t kFormatVersion = 1;
constexpr size_t kHeaderBytes = 4096;
constexpr size_t kPage = 4096;
constexpr size_t kSmallAlign = 64;
constexpr size_t kIoChunk = 4 << 20;  // bytes per read while verifying, per buffered write
// A header claiming more rows than this is refused before any size arithmetic (2^31 rows of
// 384 floats would be 3 TB; no memory store comes near).
constexpr uint64_t kMaxRows = uint64_t{1} << 31;
constexpr uint32_t kMaxDimension = 16384;

struct Header {
  char magic[8];
  uint32_t version;
  uint32_t header_bytes;
  char stamp[kIndexStampBytes];
  uint64_t rows;
  uint32_t dimension, fstride, qstride, reserved;
  uint64_t off_ids, off_quant, off_sums, off_order, off_sketch, off_vectors, file_bytes;
  uint64_t sum_ids, sum_quant, sum_sums, sum_order, sum_sketch;
  uint64_t header_sum;  // XXH3 of every byte before this field
};
static_assert(std::is_trivially_copyable_v<Header> && sizeof(Header) < kHeaderBytes);
static_assert(sizeof(RowQuant) == 12);

size_t round_up(size_t n, size_t m) { return (n + m - 1) / m * m; }

struct Layout {
  uint64_t ids, quant, sums, order, sketch, vectors, end;
};

Layout layout_for(uint64_t rows, size_t fstride, size_t qstride) {
  Layout l;
  l.ids = kHeaderBytes;
  l.quant = round_up(l.ids + rows * 8, kSmallAlign);
  l.sums = round_up(l.quant + rows * sizeof(RowQuant), kSmallAlign);
  l.order = round_up(l.sums + rows * 8, kSmallAlign);
  l.sketch = round_up(l.order + rows * 4, kPage);
  l.vectors = round_up(l.sketch + rows * qstride, kPage);
  l.end = l.vectors + rows * fstride * sizeof(float);
  return l;
}

uint64_t header_checksum(const Header& h) {
  return index_checksum(&h, offsetof(Header, header_sum));
}

Result<Header> read_header(std::ifstream& in, const std::string& path) {
  Header h{};
  in.read(reinterpret_cast<char*>(&h), sizeof h);
  if (!in) return Status::corruption(path + ": too short for an index file");
  if (std::memcmp(h.magic, kMagic, sizeof kMagic) != 0) {
    return Status::corruption(path + ": not an mcp-memory index file");
  }
  if (h.version != kFormatVersion || h.header_bytes != kHeaderBytes) {
    return Status::corruption(path + ": index format " + std::to_string(h.version) +
                              ", this mcp-memory reads " + std::to_string(kFormatVersion));
  }
  if (header_checksum(h) != h.header_sum) return Status::corruption(path + ": header checksum");
  if (h.rows > kMaxRows || h.dimension == 0 || h.dimension > kMaxDimension ||
      h.fstride != float_stride(h.dimension) || h.qstride != sketch_stride(h.dimension)) {
    return Status::corruption(path + ": header sizes are inconsistent");
  }
  Layout l = layout_for(h.rows, h.fstride, h.qstride);
  if (l.ids != h.off_ids || l.quant != h.off_quant || l.sums != h.off_sums ||
      l.order != h.off_order || l.sketch != h.off_sketch || l.vectors != h.off_vectors ||
      l.end != h.file_bytes) {
    return Status::corruption(path + ": header offsets are inconsistent");
  }
  return h;
}

// XXH3 of bytes [from, from + size) of the open stream, read in chunks.
Result<uint64_t> checksum_range(std::ifstream& in, uint64_t from, uint64_t size,
                                const std::string& path) {
  XXH3_state_t* state = XXH3_createState();
  if (state == nullptr) throw std::bad_alloc();
  XXH3_64bits_reset(state);
  std::vector<char> buf(std::min<uint64_t>(kIoChunk, std::max<uint64_t>(size, 1)));
  in.seekg(static_cast<std::streamoff>(from));
  uint64_t left = size;
  while (left > 0 && in) {
    size_t n = static_cast<size_t>(std::min<uint64_t>(left, buf.size()));
    in.read(buf.data(), static_cast<std::streamsize>(n));
    XXH3_64bits_update(state, buf.data(), n);
    left -= n;
  }
  uint64_t sum = XXH3_64bits_digest(state);
  XXH3_freeState(state);
  if (!in) return Status::corruption(path + ": truncated");
  return sum;
}

}  // namespace

size_t float_stride(size_t dimension) { return round_up(std::max<size_t>(dimension, 1), 8); }
size_t sketch_stride(size_t dimension) { return round_up(std::max<size_t>(dimension, 1), 32); }

RowQuant quantize_row(const float* v, size_t dim, int8_t* out) {
  float max_abs = 0;
  for (size_t i = 0; i < dim; ++i) max_abs = std::max(max_abs, std::fabs(v[i]));
  RowQuant r;
  if (max_abs == 0) {
    std::memset(out, 0, dim);
    return r;
  }
  r.scale = max_abs / 127.0f;
  double err2 = 0, hat2 = 0;
  for (size_t i = 0; i < dim; ++i) {
    long q = std::clamp(std::lrintf(v[i] / r.scale), -127L, 127L);
    out[i] = static_cast<int8_t>(q);
    double rec = static_cast<double>(r.scale) * q;
    err2 += (v[i] - rec) * (v[i] - rec);
    hat2 += rec * rec;
  }
  r.err = static_cast<float>(std::sqrt(err2));
  r.norm_hat = static_cast<float>(std::sqrt(hat2));
  return r;
}

// ---- reading ----

namespace {

// The header's facts, its stamp decoded and checked against the header's dimension.
Result<IndexFileInfo> info_of(const Header& h, const std::string& path) {
  char stamp_bytes[kIndexStampBytes];
  std::memcpy(stamp_bytes, h.stamp, sizeof stamp_bytes);
  MCP_ASSIGN_OR_RETURN(IndexStamp stamp, decode_index_stamp(stamp_bytes));
  if (stamp.dimension != h.dimension) return Status::corruption(path + ": stamp dimension");
  return IndexFileInfo{std::move(stamp), h.rows, h.file_bytes};
}

}  // namespace

Result<IndexFileInfo> IndexFileView::read_info(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return Status::not_found(path + ": no index file");
  MCP_ASSIGN_OR_RETURN(Header h, read_header(in, path));
  return info_of(h, path);
}

Result<std::shared_ptr<const IndexFileView>> IndexFileView::open(const std::string& path,
                                                                 size_t expected_dimension) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return Status::not_found(path + ": no index file");
  MCP_ASSIGN_OR_RETURN(Header h, read_header(in, path));
  if (h.dimension != expected_dimension) {
    return Status::corruption(path + ": vectors of " + std::to_string(h.dimension) +
                              " dimensions, the model makes " + std::to_string(expected_dimension));
  }
  MCP_ASSIGN_OR_RETURN(IndexFileInfo info, info_of(h, path));
  MCP_ASSIGN_OR_RETURN(MappedFile file, MappedFile::open(path, /*readable=*/true));
  if (file.size() != h.file_bytes) {
    return Status::corruption(path + ": " + std::to_string(file.size()) +
                              " bytes, the header says " + std::to_string(h.file_bytes));
  }
  const struct {
    uint64_t from, size, sum;
    const char* what;
  } sections[] = {
      {h.off_ids, h.rows * 8, h.sum_ids, "ids"},
      {h.off_quant, h.rows * sizeof(RowQuant), h.sum_quant, "row terms"},
      {h.off_sums, h.rows * 8, h.sum_sums, "row checksums"},
      {h.off_order, h.rows * 4, h.sum_order, "id order"},
      {h.off_sketch, h.rows * h.qstride, h.sum_sketch, "sketch"},
  };
  for (const auto& s : sections) {
    MCP_ASSIGN_OR_RETURN(uint64_t sum, checksum_range(in, s.from, s.size, path));
    if (sum != s.sum) return Status::corruption(path + ": " + s.what + " checksum");
  }
  std::shared_ptr<IndexFileView> view(new IndexFileView(std::move(file)));
  const uint8_t* base = view->file_.bytes().data();
  view->info_ = std::move(info);
  view->ids_ = reinterpret_cast<const int64_t*>(base + h.off_ids);
  view->quant_ = reinterpret_cast<const RowQuant*>(base + h.off_quant);
  view->row_sums_ = reinterpret_cast<const uint64_t*>(base + h.off_sums);
  view->by_id_ = reinterpret_cast<const uint32_t*>(base + h.off_order);
  view->sketch_ = reinterpret_cast<const int8_t*>(base + h.off_sketch);
  view->vectors_ = reinterpret_cast<const float*>(base + h.off_vectors);
  // The order is checksummed, but a writer bug must not become an out-of-range read.
  for (uint64_t i = 0; i < h.rows; ++i) {
    if (view->by_id_[i] >= h.rows ||
        (i > 0 && view->ids_[view->by_id_[i - 1]] >= view->ids_[view->by_id_[i]])) {
      return Status::corruption(path + ": id order");
    }
  }
  return std::shared_ptr<const IndexFileView>(std::move(view));
}

int64_t IndexFileView::row_of(int64_t id) const {
  const uint32_t* end = by_id_ + info_.rows;
  const uint32_t* it =
      std::lower_bound(by_id_, end, id, [&](uint32_t row, int64_t v) { return ids_[row] < v; });
  return it != end && ids_[*it] == id ? static_cast<int64_t>(*it) : -1;
}

bool IndexFileView::row_intact(size_t row) const {
  const size_t fstride = float_stride(dimension());
  return index_checksum(vectors_ + row * fstride, fstride * sizeof(float)) == row_sums_[row];
}

bool IndexFileView::read_row(size_t row, float* out) const {
  const size_t bytes = float_stride(dimension()) * sizeof(float);
  const uint64_t at =
      static_cast<uint64_t>(reinterpret_cast<const uint8_t*>(vectors_) - file_.bytes().data()) +
      row * bytes;
  if (!file_.read_at(at, {reinterpret_cast<uint8_t*>(out), bytes}).is_ok()) return false;
  return index_checksum(out, bytes) == row_sums_[row];
}

// ---- writing ----

struct IndexFileWriter::Impl {
  std::string path, temporary;
  Header header{};
  std::ofstream out;
  bool committed = false;
  uint64_t added = 0;
  std::vector<int64_t> ids;
  std::vector<RowQuant> quant;
  std::vector<uint64_t> sums;
  // Sketch and vector rows go through buffers flushed at their section's next offset.
  struct Section {
    uint64_t at = 0;
    std::vector<char> buf;
    XXH3_state_t* state = nullptr;
  } sketch, vectors;
  std::vector<float> padded;
  std::vector<int8_t> sketch_row;

  ~Impl() {
    XXH3_freeState(sketch.state);
    if (!committed && !temporary.empty()) {
      out.close();
      std::remove(temporary.c_str());
    }
  }
  Status flush(Section& s) {
    if (s.buf.empty()) return Status::ok();
    out.seekp(static_cast<std::streamoff>(s.at));
    out.write(s.buf.data(), static_cast<std::streamsize>(s.buf.size()));
    s.at += s.buf.size();
    s.buf.clear();
    return out ? Status::ok() : Status::io_error("writing " + temporary + " failed (disk full?)");
  }
  Status append(Section& s, const void* bytes, size_t n) {
    const char* p = static_cast<const char*>(bytes);
    s.buf.insert(s.buf.end(), p, p + n);
    if (s.state != nullptr) XXH3_64bits_update(s.state, p, n);
    return s.buf.size() >= kIoChunk ? flush(s) : Status::ok();
  }
  Status write_at(uint64_t at, const void* bytes, size_t n) {
    out.seekp(static_cast<std::streamoff>(at));
    out.write(static_cast<const char*>(bytes), static_cast<std::streamsize>(n));
    return out ? Status::ok() : Status::io_error("writing " + temporary + " failed (disk full?)");
  }
};

IndexFileWriter::IndexFileWriter(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
IndexFileWriter::~IndexFileWriter() = default;

Result<std::unique_ptr<IndexFileWriter>> IndexFileWriter::create(const std::string& path,
                                                                 const IndexStamp& stamp,
                                                                 uint64_t rows) {
  if (rows > kMaxRows || stamp.dimension == 0 || stamp.dimension > kMaxDimension) {
    return Status::invalid_argument("index file: too many rows or a bad dimension");
  }
  auto impl = std::make_unique<Impl>();
  Header& h = impl->header;
  std::memcpy(h.magic, kMagic, sizeof kMagic);
  h.version = kFormatVersion;
  h.header_bytes = kHeaderBytes;
  char stamp_bytes[kIndexStampBytes];
  MCP_RETURN_IF_ERROR(encode_index_stamp(stamp, stamp_bytes));
  std::memcpy(h.stamp, stamp_bytes, sizeof stamp_bytes);
  h.rows = rows;
  h.dimension = stamp.dimension;
  h.fstride = static_cast<uint32_t>(float_stride(stamp.dimension));
  h.qstride = static_cast<uint32_t>(sketch_stride(stamp.dimension));
  Layout l = layout_for(rows, h.fstride, h.qstride);
  h.off_ids = l.ids, h.off_quant = l.quant, h.off_sums = l.sums, h.off_order = l.order;
  h.off_sketch = l.sketch, h.off_vectors = l.vectors, h.file_bytes = l.end;

  impl->path = path;
  impl->temporary = temporary_path_beside(path);
  impl->out.open(impl->temporary, std::ios::binary | std::ios::out | std::ios::trunc);
  if (!impl->out) return Status::io_error("cannot create " + impl->temporary);
  (void)tighten_to_owner(impl->temporary);
  impl->ids.reserve(rows);
  impl->quant.reserve(rows);
  impl->sums.reserve(rows);
  impl->sketch.at = l.sketch;
  impl->vectors.at = l.vectors;
  impl->sketch.state = XXH3_createState();
  if (impl->sketch.state == nullptr) throw std::bad_alloc();
  XXH3_64bits_reset(impl->sketch.state);
  impl->padded.assign(h.fstride, 0.0f);
  impl->sketch_row.assign(h.qstride, 0);
  return std::unique_ptr<IndexFileWriter>(new IndexFileWriter(std::move(impl)));
}

Status IndexFileWriter::add(int64_t id, const float* v, const int8_t* sketch,
                            const RowQuant* quant) {
  Impl& m = *impl_;
  if (m.added == m.header.rows) return Status::invalid_argument("index file: too many rows");
  const size_t dim = m.header.dimension;
  std::memcpy(m.padded.data(), v, dim * sizeof(float));
  RowQuant q;
  if (sketch != nullptr && quant != nullptr) {
    std::memcpy(m.sketch_row.data(), sketch, m.header.qstride);
    q = *quant;
  } else {
    q = quantize_row(m.padded.data(), dim, m.sketch_row.data());
  }
  const size_t vbytes = m.padded.size() * sizeof(float);
  m.ids.push_back(id);
  m.quant.push_back(q);
  m.sums.push_back(index_checksum(m.padded.data(), vbytes));
  ++m.added;
  MCP_RETURN_IF_ERROR(m.append(m.sketch, m.sketch_row.data(), m.sketch_row.size()));
  return m.append(m.vectors, m.padded.data(), vbytes);
}

Status IndexFileWriter::commit() {
  Impl& m = *impl_;
  Header& h = m.header;
  if (m.added != h.rows) {
    return Status::invalid_argument("index file: " + std::to_string(m.added) + " rows of " +
                                    std::to_string(h.rows));
  }
  std::vector<uint32_t> order(h.rows);
  std::iota(order.begin(), order.end(), 0u);
  std::sort(order.begin(), order.end(),
            [&](uint32_t a, uint32_t b) { return m.ids[a] < m.ids[b]; });
  for (size_t i = 1; i < order.size(); ++i) {
    if (m.ids[order[i - 1]] == m.ids[order[i]]) {
      return Status::invalid_argument("index file: id " + std::to_string(m.ids[order[i]]) +
                                      " twice");
    }
  }
  MCP_RETURN_IF_ERROR(m.flush(m.sketch));
  MCP_RETURN_IF_ERROR(m.flush(m.vectors));
  h.sum_ids = index_checksum(m.ids.data(), m.ids.size() * 8);
  h.sum_quant = index_checksum(m.quant.data(), m.quant.size() * sizeof(RowQuant));
  h.sum_sums = index_checksum(m.sums.data(), m.sums.size() * 8);
  h.sum_order = index_checksum(order.data(), order.size() * 4);
  h.sum_sketch = XXH3_64bits_digest(m.sketch.state);
  h.header_sum = header_checksum(h);
  std::vector<char> header(kHeaderBytes, 0);
  std::memcpy(header.data(), &h, sizeof h);
  MCP_RETURN_IF_ERROR(m.write_at(0, header.data(), header.size()));
  MCP_RETURN_IF_ERROR(m.write_at(h.off_ids, m.ids.data(), m.ids.size() * 8));
  MCP_RETURN_IF_ERROR(m.write_at(h.off_quant, m.quant.data(), m.quant.size() * sizeof(RowQuant)));
  MCP_RETURN_IF_ERROR(m.write_at(h.off_sums, m.sums.data(), m.sums.size() * 8));
  MCP_RETURN_IF_ERROR(m.write_at(h.off_order, order.data(), order.size() * 4));
  // Sections end on padding the writes above may not reach: the file gets its full length.
  if (m.vectors.at != h.file_bytes) {
    return Status::internal("index file: vectors end at " + std::to_string(m.vectors.at));
  }
  m.out.close();
  if (!m.out) return Status::io_error("writing " + m.temporary + " failed (disk full?)");
  MCP_RETURN_IF_ERROR(replace_file(m.temporary, m.path));
  m.committed = true;
  return Status::ok();
}

}  // namespace mcpmem
