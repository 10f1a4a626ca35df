// The persisted index file: a VectorIndex resting on a mapped file answers exactly like one
// holding the same rows in RAM, through replacements, removals and additions after the file;
// every kind of damage (truncation, a flipped byte in any section, another dimension, random
// bytes) is refused at open, or, in the float32 rows, caught when the row is read; writes are
// atomic (the old file stays readable); a scan split across threads equals one thread's.
#include "index/index_file.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <random>

#include "../copy_over.h"
#include "../temp_dir.h"
#include "index/vector_index.h"
#include "random_vectors.h"

namespace mcpmem {
namespace {

namespace fs = std::filesystem;
constexpr size_t kDim = 384;

std::vector<float> unit(std::mt19937& rng) { return testing_util::random_unit(rng, kDim); }

IndexStamp stamp_for(int64_t seq = 7) {
  return IndexStamp{"hash-384", kDim, "db-1", seq, "hlc-7", seq};
}

void expect_same(const std::vector<Neighbor>& got, const std::vector<Neighbor>& want) {
  ASSERT_EQ(got.size(), want.size());
  for (size_t i = 0; i < got.size(); ++i) {
    EXPECT_EQ(got[i].id, want[i].id) << "rank " << i;
    EXPECT_FLOAT_EQ(got[i].cosine, want[i].cosine) << "rank " << i;
  }
}

void flip_byte(const std::string& path, uint64_t at) {
  std::fstream f(path, std::ios::in | std::ios::out | std::ios::binary);
  f.seekg(static_cast<std::streamoff>(at));
  char c = 0;
  f.read(&c, 1);
  c = static_cast<char>(c ^ 0x5a);
  f.seekp(static_cast<std::streamoff>(at));
  f.write(&c, 1);
}

class IndexFileTest : public ::testing::Test {
 protected:
  void fill(VectorIndex& index, size_t n, unsigned seed = 1) {
    std::mt19937 rng(seed);
    for (size_t i = 0; i < n; ++i) {
      ASSERT_TRUE(index.upsert(static_cast<int64_t>(i) * 3 + 1, unit(rng)).is_ok());
    }
  }
  std::string write(const VectorIndex& index) {
    Status st = index.write_file(path_, stamp_for());
    EXPECT_TRUE(st.is_ok()) << st.message();
    return path_;
  }

  TempDir dir_{"idxfile"};
  std::string path_ = dir_ / "memories.db.index";
};

TEST_F(IndexFileTest, AMappedIndexAnswersExactlyAsTheOneInRam) {
  VectorIndex ram(kDim);
  fill(ram, 3000);
  write(ram);
  auto view = IndexFileView::open(path_, kDim);
  ASSERT_TRUE(view.is_ok()) << view.status().message();
  EXPECT_EQ((*view)->rows(), 3000u);
  EXPECT_EQ((*view)->info().stamp, stamp_for());
  VectorIndex mapped(kDim);
  mapped.adopt_file(*view);
  EXPECT_EQ(mapped.size(), 3000u);
  EXPECT_EQ(mapped.rows_in_memory(), 0u);
  EXPECT_EQ(mapped.memory_bytes() < 4096, true) << mapped.memory_bytes();
  std::mt19937 rng(5);
  for (int q = 0; q < 30; ++q) {
    auto query = unit(rng);
    expect_same(mapped.search(query, 10), ram.search(query, 10));
    std::vector<int64_t> some = {1, 4, 7, 301, 2998 * 3 + 1, 999999};
    expect_same(mapped.search(query, 3, &some), ram.search(query, 3, &some));
  }
  EXPECT_FALSE(mapped.damaged());
}

TEST_F(IndexFileTest, ChangesAfterTheFileAreSearchedWithIt) {
  VectorIndex ram(kDim);
  fill(ram, 2000);
  write(ram);
  VectorIndex mapped(kDim);
  mapped.adopt_file(*IndexFileView::open(path_, kDim));
  std::mt19937 rng(11);
  // Replace some file rows, remove others, add new ones: to both.
  for (int i = 0; i < 300; ++i) {
    int64_t id = static_cast<int64_t>(rng() % 2000) * 3 + 1;
    auto v = unit(rng);
    ASSERT_TRUE(ram.upsert(id, v).is_ok());
    ASSERT_TRUE(mapped.upsert(id, v).is_ok());
    int64_t gone = static_cast<int64_t>(rng() % 2000) * 3 + 1;
    ram.remove(gone);
    mapped.remove(gone);
    auto fresh = unit(rng);
    ASSERT_TRUE(ram.upsert(100000 + i, fresh).is_ok());
    ASSERT_TRUE(mapped.upsert(100000 + i, fresh).is_ok());
  }
  EXPECT_EQ(mapped.size(), ram.size());
  EXPECT_GT(mapped.dead_file_rows(), 0u);
  for (int q = 0; q < 30; ++q) {
    auto query = unit(rng);
    expect_same(mapped.search(query, 10), ram.search(query, 10));
  }
  // A removed row is gone, a replaced one has its new vector.
  for (int64_t id = 1; id < 6001; id += 3) {
    ASSERT_EQ(mapped.contains(id), ram.contains(id)) << id;
    if (ram.contains(id)) {
      ASSERT_EQ(*mapped.get(id), *ram.get(id)) << id;
    }
  }
  // Written again, the file holds exactly the live rows.
  write(mapped);
  VectorIndex again(kDim);
  again.adopt_file(*IndexFileView::open(path_, kDim));
  EXPECT_EQ(again.size(), ram.size());
  auto query = unit(rng);
  expect_same(again.search(query, 20), ram.search(query, 20));
}

TEST_F(IndexFileTest, AScanSplitAcrossThreadsEqualsOneThread) {
  VectorIndex index(kDim);
  fill(index, 70000, 3);  // above the per-thread row count
  write(index);
  VectorIndex mapped(kDim);
  mapped.adopt_file(*IndexFileView::open(path_, kDim));
  mapped.remove(1);  // dead rows are skipped on every thread
  index.remove(1);
  std::mt19937 rng(8);
  for (int q = 0; q < 5; ++q) {
    auto query = unit(rng);
    mapped.set_threads(1);
    auto one = mapped.search(query, 10);
    mapped.set_threads(4);
    expect_same(mapped.search(query, 10), one);
    expect_same(index.search(query, 10), one);
  }
}

TEST_F(IndexFileTest, DamagedFilesAreRefusedAtOpen) {
  VectorIndex ram(kDim);
  fill(ram, 500);
  write(ram);
  const std::string good = dir_ / "good.index";
  fs::copy_file(path_, good);
  const uint64_t size = fs::file_size(good);
  auto reset = [&] { copy_over(good, path_); };
  auto refused = [&](const std::string& what) {
    auto view = IndexFileView::open(path_, kDim);
    EXPECT_FALSE(view.is_ok()) << what;
    if (!view.is_ok()) {
      EXPECT_EQ(view.status().code(), StatusCode::kCorruption) << what;
    }
  };
  // Truncated anywhere: in the header, in each section, one byte short.
  for (uint64_t at :
       {uint64_t{0}, uint64_t{100}, uint64_t{4096}, uint64_t{9000}, size / 2, size - 1}) {
    reset();
    fs::resize_file(path_, at);
    refused("truncated at " + std::to_string(at));
  }
  // A flipped byte in the header (magic, stamp), the ids, the row terms, the row checksums,
  // the order and the sketch (500 rows: sections at 4096, 8128, 14144, 18176 and 20480).
  for (uint64_t at :
       {uint64_t{3}, uint64_t{600}, uint64_t{4096 + 17}, uint64_t{8128 + 40}, uint64_t{14144 + 100},
        uint64_t{18176 + 50}, uint64_t{20480 + 1000}, uint64_t{200000}}) {
    reset();
    flip_byte(path_, at);
    refused("flipped byte at " + std::to_string(at));
  }
  // Grown, another dimension, random bytes, empty.
  reset();
  { std::ofstream(path_, std::ios::app | std::ios::binary) << "x"; }
  refused("one byte appended");
  reset();
  EXPECT_FALSE(IndexFileView::open(path_, 768).is_ok());
  {
    std::ofstream out(path_, std::ios::binary | std::ios::trunc);
    std::mt19937 rng(1);
    for (int i = 0; i < 100000; ++i) out.put(static_cast<char>(rng()));
  }
  refused("random bytes");
  { std::ofstream(path_, std::ios::binary | std::ios::trunc); }
  refused("empty");
  fs::remove(path_);
  EXPECT_EQ(IndexFileView::open(path_, kDim).status().code(), StatusCode::kNotFound);
}

TEST_F(IndexFileTest, AFlippedByteInAVectorIsCaughtWhenTheRowIsRead) {
  VectorIndex ram(kDim);
  fill(ram, 500);
  write(ram);
  std::mt19937 rng(3);
  auto query = unit(rng);
  const int64_t best = ram.search(query, 1)[0].id;
  auto view = IndexFileView::open(path_, kDim);
  const int64_t row = (*view)->row_of(best);
  ASSERT_GE(row, 0);
  const uint64_t vectors_at = fs::file_size(path_) - 500 * float_stride(kDim) * sizeof(float);
  view->reset();
  flip_byte(path_, vectors_at + static_cast<uint64_t>(row) * float_stride(kDim) * 4 + 8);
  auto damaged = IndexFileView::open(path_, kDim);
  ASSERT_TRUE(damaged.is_ok());  // vectors are checked as read, not at open
  VectorIndex mapped(kDim);
  mapped.adopt_file(*damaged);
  auto found = mapped.search(query, 5);
  EXPECT_TRUE(mapped.damaged());
  for (const Neighbor& n : found) EXPECT_NE(n.id, best);  // never scored from bad bytes
  // Rewriting from a damaged file refuses, rather than copying the damage.
  EXPECT_EQ(mapped.write_file(dir_ / "copy.index", stamp_for()).code(), StatusCode::kCorruption);
}

TEST_F(IndexFileTest, ARewriteIsAtomicForReaders) {
  VectorIndex first(kDim);
  fill(first, 1000, 1);
  write(first);
  auto old_view = IndexFileView::open(path_, kDim);
  ASSERT_TRUE(old_view.is_ok());
  VectorIndex second(kDim);
  fill(second, 1500, 2);
  ASSERT_TRUE(second.write_file(path_, stamp_for(9)).is_ok());
  // The mapping made before still reads the old rows, intact; a new open sees the new file.
  EXPECT_EQ((*old_view)->rows(), 1000u);
  for (size_t r = 0; r < 1000; r += 97) EXPECT_TRUE((*old_view)->row_intact(r));
  auto new_view = IndexFileView::open(path_, kDim);
  EXPECT_EQ((*new_view)->rows(), 1500u);
  EXPECT_EQ((*new_view)->info().stamp.seq, 9);
  // No temporary file is left beside it, and the file is its owner's alone. (On Windows the
  // old file, mapped by old_view when it was replaced, waits under a temporary's name until
  // it can be deleted.)
  old_view->reset();
  size_t files = 0;
  for (const auto& e : fs::directory_iterator(dir_.path())) {
#ifdef _WIN32
    if (e.path().filename().string().find(".partial-") != std::string::npos) continue;
#endif
    files += e.is_regular_file();
  }
  EXPECT_EQ(files, 1u);
  EXPECT_TRUE(owner_only(path_));
}

TEST_F(IndexFileTest, AnEmptyIndexRoundTrips) {
  VectorIndex empty(kDim);
  write(empty);
  auto view = IndexFileView::open(path_, kDim);
  ASSERT_TRUE(view.is_ok()) << view.status().message();
  VectorIndex mapped(kDim);
  mapped.adopt_file(*view);
  EXPECT_EQ(mapped.size(), 0u);
  std::mt19937 rng(1);
  EXPECT_TRUE(mapped.search(unit(rng), 5).empty());
}

}  // namespace
}  // namespace mcpmem
