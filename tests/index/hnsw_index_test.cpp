// HnswIndex: recall@10 >= 0.95 after exact re-ranking on 100k clustered vectors and on 100k
// hash-384 embeddings of generated text (the numbers that chose the defaults are printed), a
// save/load round trip that searches the same, removal and replacement, damaged files refused
// without a crash, and searches racing a writer.
#include "index/hnsw_index.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <random>
#include <set>
#include <string>
#include <thread>

#include "../temp_dir.h"
#include "embed/hash_embedder.h"
#include "index/vector_index.h"
#include "random_vectors.h"

namespace mcpmem {
namespace {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

constexpr size_t kDim = 384;
constexpr size_t kK = 10;

void normalize(std::vector<float>& v) {
  double s = 0;
  for (float x : v) s += static_cast<double>(x) * x;
  if (s == 0) return;
  for (float& x : v) x = static_cast<float>(x / std::sqrt(s));
}

using testing_util::random_unit;

// Points around `centers` random unit centres: centre + gaussian noise, normalized.
class Clusters {
 public:
  Clusters(size_t centers, unsigned seed) : rng_(seed) {
    for (size_t i = 0; i < centers; ++i) centers_.push_back(random_unit(rng_));
  }
  std::vector<float> point() {
    std::normal_distribution<float> noise(0, 0.03f);  // |noise| ~ 0.6: clusters overlap
    std::vector<float> v = centers_[rng_() % centers_.size()];
    for (float& x : v) x += noise(rng_);
    normalize(v);
    return v;
  }

 private:
  std::mt19937 rng_;
  std::vector<std::vector<float>> centers_;
};

// Generated text as bench/bench_main.cpp makes it: ~600 pseudo-words, 10-40 per sentence,
// Zipf-ish choice.
class TextGen {
 public:
  explicit TextGen(unsigned seed) : rng_(seed) {
    const char* syllables[] = {"ka", "lo",  "mi",  "ne",  "ru",  "sa",  "ti",  "vo",  "ze",
                               "po", "qua", "ber", "don", "fel", "gur", "hin", "jor", "lex"};
    for (int i = 0; i < 600; ++i) {
      std::string w;
      int n = 2 + static_cast<int>(rng_() % 3);
      for (int j = 0; j < n; ++j) w += syllables[rng_() % 18];
      words_.push_back(w);
    }
  }
  std::vector<std::string> words() {
    std::vector<std::string> out(10 + rng_() % 31);
    for (std::string& w : out) {
      double u = std::uniform_real_distribution<double>(0, 1)(rng_);
      w = words_[static_cast<size_t>(u * u * static_cast<double>(words_.size()))];
    }
    return out;
  }
  // A stored sentence with about a fifth of its words replaced.
  std::string perturb(std::vector<std::string> words) {
    for (std::string& w : words) {
      if (rng_() % 5 == 0) w = words_[rng_() % words_.size()];
    }
    return join(words);
  }
  static std::string join(const std::vector<std::string>& words) {
    std::string s;
    for (const std::string& w : words) s += (s.empty() ? "" : " ") + w;
    return s;
  }

 private:
  std::mt19937 rng_;
  std::vector<std::string> words_;
};

// The rows of a test set, kept flat, and the queries.
struct DataSet {
  size_t n = 0;
  std::vector<float> rows;
  std::vector<std::vector<float>> queries;
  std::span<const float> row(size_t i) const { return {rows.data() + i * kDim, kDim}; }
};

// Builds the HNSW graph of `data` on 2 threads (ids 1..n), prints the build time and bytes per
// vector, and returns recall@10 of HNSW candidates re-ranked exactly against the exact top 10.
double measure_recall(const DataSet& data, const char* name, HnswParams params = {}) {
  VectorIndex exact(kDim);
  exact.reserve(data.n);
  for (size_t i = 0; i < data.n; ++i)
    EXPECT_TRUE(exact.upsert(int64_t(i) + 1, data.row(i)).is_ok());

  HnswIndex hnsw(kDim, params);
  size_t next = 0;
  auto start = Clock::now();
  Status s = hnsw.add_many(
      [&](int64_t& id, std::vector<float>& v) {
        if (next == data.n) return false;
        id = static_cast<int64_t>(next) + 1;
        v.assign(data.row(next).begin(), data.row(next).end());
        ++next;
        return true;
      },
      2);
  double build_s = std::chrono::duration<double>(Clock::now() - start).count();
  EXPECT_TRUE(s.is_ok()) << s.message();
  EXPECT_EQ(hnsw.size(), data.n);

  const size_t count = hnsw_candidate_count(kK);
  size_t hits = 0;
  double search_ms = 0;
  for (const auto& q : data.queries) {
    auto truth = exact.search(q, kK);
    auto t = Clock::now();
    std::vector<int64_t> candidates = hnsw.search(q, count);
    search_ms += std::chrono::duration<double, std::milli>(Clock::now() - t).count();
    auto got = exact.search(q, kK, &candidates);
    std::set<int64_t> want;
    for (const Neighbor& nb : truth) want.insert(nb.id);
    for (const Neighbor& nb : got) hits += want.count(nb.id);
  }
  double recall = static_cast<double>(hits) / static_cast<double>(kK * data.queries.size());
  std::printf(
      "[hnsw %s] n=%zu M=%zu ef_construction=%zu ef=%zu candidates=%zu: recall@10 %.4f; build "
      "%.2f s on 2 threads; %.0f bytes/vector; %.3f ms/search\n",
      name, data.n, params.m, params.ef_construction, std::max(params.ef_search, count), count,
      recall, build_s, static_cast<double>(hnsw.memory_bytes()) / static_cast<double>(data.n),
      search_ms / static_cast<double>(data.queries.size()));
  return recall;
}

TEST(HnswIndexRecall, ClusteredVectorsReachRecall95AtDefaults) {
  DataSet data;
  data.n = 100'000;
  Clusters clusters(1000, 7);
  data.rows.reserve(data.n * kDim);
  for (size_t i = 0; i < data.n; ++i) {
    auto v = clusters.point();
    data.rows.insert(data.rows.end(), v.begin(), v.end());
  }
  for (int q = 0; q < 200; ++q) data.queries.push_back(clusters.point());
  EXPECT_GE(measure_recall(data, "clustered"), 0.95);
}

TEST(HnswIndexRecall, HashEmbeddedTextReachesRecall95AtDefaults) {
  HashEmbedder embedder(kDim);
  TextGen gen(42);
  DataSet data;
  data.n = 100'000;
  data.rows.resize(data.n * kDim);
  std::vector<std::vector<std::string>> kept;  // some stored sentences, to perturb as queries
  for (size_t i = 0; i < data.n; ++i) {
    auto words = gen.words();
    std::string text = TextGen::join(words) + " #" + std::to_string(i);
    ASSERT_TRUE(embedder.embed(text, std::span<float>(data.rows.data() + i * kDim, kDim)).is_ok());
    if (i % 1000 == 0) kept.push_back(std::move(words));
  }
  for (int q = 0; q < 100; ++q) data.queries.push_back(embedder.embed(TextGen::join(gen.words())));
  for (int q = 0; q < 100; ++q) data.queries.push_back(embedder.embed(gen.perturb(kept[q])));
  EXPECT_GE(measure_recall(data, "hash-384 text"), 0.95);
}

// ---- behaviour on small graphs ----

class HnswIndexTest : public ::testing::Test {
 protected:
  void fill(HnswIndex& index, size_t n, size_t dim = kDim) {
    std::mt19937 rng(1);
    for (size_t i = 0; i < n; ++i) {
      rows_.push_back(random_unit(rng, dim));
      ASSERT_TRUE(index.add(int64_t(i) + 1, rows_.back()).is_ok());
    }
  }
  static IndexStamp stamp() {
    IndexStamp s;
    s.model = "hash-384";
    s.dimension = kDim;
    s.database_id = "db-1";
    s.seq = 42;
    s.seq_version = "0000000001-0001-node";
    return s;
  }
  TempDir dir_{"hnsw"};
  std::vector<std::vector<float>> rows_;
};

TEST_F(HnswIndexTest, FindsStoredVectorsFirst) {
  HnswIndex index(kDim);
  fill(index, 2000);
  for (int64_t id : {1, 777, 2000}) {
    auto hits = index.search(rows_[id - 1], 5);
    ASSERT_FALSE(hits.empty());
    EXPECT_EQ(hits[0], id);
  }
  EXPECT_TRUE(index.search(rows_[0], 0).empty());
  EXPECT_TRUE(index.search(std::vector<float>(7, 0.5f), 5).empty());
  EXPECT_FALSE(index.add(1, std::vector<float>(7, 0.5f)).is_ok());
}

TEST_F(HnswIndexTest, Avx2AndScalarBuildTheSameGraph) {
  if (VectorIndex::best_simd_level() != SimdLevel::kAvx2) GTEST_SKIP() << "no AVX2 on this CPU";
  HnswIndex fast(kDim), slow(kDim);
  slow.set_simd_level(SimdLevel::kScalar);
  fill(fast, 1500);
  rows_.clear();
  fill(slow, 1500);
  std::mt19937 rng(3);
  for (int q = 0; q < 20; ++q) {
    auto query = random_unit(rng);
    EXPECT_EQ(fast.search(query, 30), slow.search(query, 30));
  }
}

TEST_F(HnswIndexTest, RemovedIdsNeverComeBackAndReplaceMovesAnId) {
  HnswIndex index(kDim);
  fill(index, 3000);
  for (int64_t id = 1; id <= 3000; id += 3) index.remove(id);
  index.remove(99999);  // unknown: ignored
  index.remove(1);      // again: ignored
  EXPECT_EQ(index.size(), 2000u);
  EXPECT_EQ(index.deleted(), 1000u);
  for (int64_t id = 1; id <= 3000; id += 300) {
    for (int64_t got : index.search(rows_[id - 1], 50)) EXPECT_NE((got - 1) % 3, 0) << got;
  }
  // Id 2 takes the vector of id 5; id 1 (removed) comes back with a fresh vector.
  ASSERT_TRUE(index.add(2, rows_[4]).is_ok());
  std::mt19937 rng(9);
  auto fresh = random_unit(rng);
  ASSERT_TRUE(index.add(1, fresh).is_ok());
  EXPECT_EQ(index.size(), 2001u);
  auto near5 = index.search(rows_[4], 2);
  EXPECT_TRUE(std::count(near5.begin(), near5.end(), 2) == 1);
  auto near1 = index.search(fresh, 1);
  ASSERT_EQ(near1.size(), 1u);
  EXPECT_EQ(near1[0], 1);
}

TEST_F(HnswIndexTest, SaveLoadRoundTripSearchesTheSame) {
  HnswIndex index(kDim);
  fill(index, 3000);
  for (int64_t id = 10; id <= 3000; id += 10) index.remove(id);
  ASSERT_TRUE(index.add(11, rows_[20]).is_ok());
  const std::string path = dir_ / "vectors.hnsw";
  ASSERT_TRUE(index.save(path, stamp()).is_ok());
  EXPECT_EQ(fs::status(path).permissions() & fs::perms::all,
            fs::perms::owner_read | fs::perms::owner_write);

  auto loaded = HnswIndex::load(path, kDim);
  ASSERT_TRUE(loaded.is_ok()) << loaded.status().message();
  HnswIndex& copy = *loaded->first;
  EXPECT_EQ(loaded->second, stamp());
  EXPECT_EQ(copy.size(), index.size());
  EXPECT_EQ(copy.deleted(), index.deleted());
  std::mt19937 rng(4);
  for (int q = 0; q < 50; ++q) {
    auto query = q % 2 ? random_unit(rng) : rows_[q * 37];
    auto got = copy.search(query, 40);
    EXPECT_EQ(got, index.search(query, 40));
    for (int64_t id : got) EXPECT_NE(id % 10, 0) << id;
  }
  // The loaded graph has no spare room: adding grows it.
  for (size_t i = 0; i < 1500; ++i) {
    rows_.push_back(random_unit(rng));
    ASSERT_TRUE(copy.add(int64_t(rows_.size()), rows_.back()).is_ok());
  }
  EXPECT_EQ(copy.size(), index.size() + 1500);
  for (int64_t id : {3001, 4000, 4500}) {
    auto hits = copy.search(rows_[id - 1], 3);
    ASSERT_FALSE(hits.empty());
    EXPECT_EQ(hits[0], id);
  }
}

TEST_F(HnswIndexTest, AddManyOnThreadsMatchesTheVectorsAndReplacesRepeats) {
  HnswIndex index(kDim);
  std::mt19937 rng(2);
  for (int i = 0; i < 1000; ++i) rows_.push_back(random_unit(rng));
  size_t next = 0;
  // Ids 1..1000, then 1..100 again with the vectors of 801..900.
  auto stream = [&](int64_t& id, std::vector<float>& v) {
    if (next == 1100) return false;
    id = next < 1000 ? int64_t(next) + 1 : int64_t(next) - 999;
    v = rows_[next < 1000 ? next : next - 200];
    ++next;
    return true;
  };
  ASSERT_TRUE(index.add_many(stream, 2).is_ok());
  EXPECT_EQ(index.size(), 1000u);
  auto hits = index.search(rows_[850], 2);  // ids 851 and 51
  EXPECT_TRUE(std::count(hits.begin(), hits.end(), 51) == 1);
  hits = index.search(rows_[500], 1);
  ASSERT_EQ(hits.size(), 1u);
  EXPECT_EQ(hits[0], 501);
  next = 0;
  Status bad = index.add_many(
      [&](int64_t& id, std::vector<float>& v) {
        id = 1;
        v.assign(5, 0.1f);
        return next++ == 0;
      },
      2);
  EXPECT_EQ(bad.code(), StatusCode::kInvalidArgument);
}

// ---- damaged files ----

std::string read_all(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), {}};
}
void write_all(const std::string& path, const std::string& bytes) {
  std::ofstream(path, std::ios::binary | std::ios::trunc) << bytes;
}
// The format's checksum (hnsw_index.cpp): index_checksum chained over 1 MiB blocks of all but
// the last 8 bytes, stored in those 8.
void reseal(std::string& bytes) {
  uint64_t h = 0;
  const size_t body = bytes.size() - 8;
  for (size_t at = 0; at < body; at += 1 << 20) {
    h = index_checksum(bytes.data() + at, std::min<size_t>(1 << 20, body - at), h);
  }
  std::memcpy(bytes.data() + body, &h, 8);
}
// Header offsets of the format (hnsw_index.cpp).
constexpr size_t kHeaderBytes = 640, kCountAt = 544, kElementBytesAt = 560;

TEST_F(HnswIndexTest, DamagedOrForeignFilesAreRefusedWithoutACrash) {
  HnswIndex index(kDim);
  fill(index, 1200);
  index.remove(7);
  const std::string good_path = dir_ / "good.hnsw";
  ASSERT_TRUE(index.save(good_path, stamp()).is_ok());
  const std::string good = read_all(good_path);
  uint64_t n, elem;
  std::memcpy(&n, good.data() + kCountAt, 8);
  std::memcpy(&elem, good.data() + kElementBytesAt, 8);
  ASSERT_EQ(n, 1200u);
  const size_t level0_at = kHeaderBytes + 4 * n;

  const std::string path = dir_ / "bad.hnsw";
  auto expect_refused = [&](const std::string& bytes, StatusCode code, const std::string& what) {
    write_all(path, bytes);
    auto r = HnswIndex::load(path, kDim);
    ASSERT_FALSE(r.is_ok()) << what;
    EXPECT_EQ(r.status().code(), code) << what << ": " << r.status().message();
    EXPECT_NE(r.status().message().find(path), std::string::npos) << r.status().message();
  };
  expect_refused("", StatusCode::kCorruption, "empty");
  for (size_t size : {size_t{10}, kHeaderBytes - 1, kHeaderBytes + 8, level0_at + 100,
                      good.size() / 2, good.size() - 9, good.size() - 1}) {
    expect_refused(good.substr(0, size), StatusCode::kCorruption, "cut at " + std::to_string(size));
  }
  expect_refused(good + "x", StatusCode::kCorruption, "extended");
  for (size_t at : {size_t{3}, size_t{300}, kCountAt, level0_at + 2, level0_at + 5 * elem + 6,
                    level0_at + 9 * elem + 200, good.size() - 100, good.size() - 3}) {
    std::string bytes = good;
    bytes[at] = static_cast<char>(bytes[at] ^ 0x40);
    expect_refused(bytes, StatusCode::kCorruption, "flipped byte at " + std::to_string(at));
  }
  // Damage behind a valid checksum, as a buggy writer would make it: only the checks of every
  // link, mark and level stand between it and hnswlib.
  auto resealed = [&](size_t at, uint32_t value) {
    std::string bytes = good;
    std::memcpy(bytes.data() + at, &value, 4);
    reseal(bytes);
    return bytes;
  };
  expect_refused(resealed(level0_at + 3 * elem + 4, 5000), StatusCode::kCorruption, "link id");
  expect_refused(resealed(level0_at + 3 * elem, 0xffff), StatusCode::kCorruption, "link count");
  expect_refused(resealed(level0_at + 3 * elem, 0x00020001), StatusCode::kCorruption, "mark");
  size_t flat = 0;  // an element of level 0
  while (good[kHeaderBytes + 4 * flat] != 0) ++flat;
  expect_refused(resealed(kHeaderBytes + 4 * flat, 70), StatusCode::kCorruption, "level");
  expect_refused(resealed(kHeaderBytes + 4 * flat, 1), StatusCode::kCorruption, "level, lengths");
  {
    std::string bytes = good;
    reseal(bytes);
    write_all(path, bytes);
    EXPECT_TRUE(HnswIndex::load(path, kDim).is_ok()) << "reseal() must match the format";
  }

  std::mt19937 rng(5);
  std::string noise(good.size(), '\0');
  for (char& c : noise) c = static_cast<char>(rng());
  expect_refused(noise, StatusCode::kCorruption, "random bytes");
  std::string foreign = good;
  std::memcpy(foreign.data(), "SQLite f", 8);
  expect_refused(foreign, StatusCode::kCorruption, "foreign magic");

  HnswIndex small(8);
  rows_.clear();
  fill(small, 50, 8);
  IndexStamp s8 = stamp();
  s8.dimension = 8;
  ASSERT_TRUE(small.save(dir_ / "eight.hnsw", s8).is_ok());
  write_all(path, read_all(dir_ / "eight.hnsw"));
  expect_refused(read_all(path), StatusCode::kFailedPrecondition, "dimension 8");

  EXPECT_EQ(HnswIndex::load(dir_ / "missing.hnsw", kDim).status().code(), StatusCode::kNotFound);
  EXPECT_TRUE(HnswIndex::load(good_path, kDim).is_ok());
}

TEST_F(HnswIndexTest, EmptyIndexSavesAndLoads) {
  HnswIndex index(kDim);
  ASSERT_TRUE(index.save(dir_ / "empty.hnsw", stamp()).is_ok());
  auto loaded = HnswIndex::load(dir_ / "empty.hnsw", kDim);
  ASSERT_TRUE(loaded.is_ok()) << loaded.status().message();
  EXPECT_EQ(loaded->first->size(), 0u);
  std::mt19937 rng(1);
  auto v = random_unit(rng);
  EXPECT_TRUE(loaded->first->search(v, 5).empty());
  ASSERT_TRUE(loaded->first->add(5, v).is_ok());
  EXPECT_EQ(loaded->first->search(v, 1), std::vector<int64_t>{5});
}

// Four threads search while one writer adds and removes: no crash, no race (TSan), and a
// search never returns an id removed before it began or one not yet being added when it ended.
TEST_F(HnswIndexTest, ConcurrentSearchesWhileAWriterAddsAndRemoves) {
  constexpr size_t kSmallDim = 64, kInitial = 1000, kAdded = 1000, kRemoved = 500;
  HnswIndex index(kSmallDim);
  fill(index, kInitial, kSmallDim);
  std::mt19937 rng(8);
  for (size_t i = 0; i < kAdded; ++i) rows_.push_back(random_unit(rng, kSmallDim));
  std::atomic<int64_t> adding_upto{kInitial}, removed_upto{0};
  std::atomic<bool> done{false};
  std::atomic<size_t> bad{0}, searches{0};
  std::thread writer([&] {
    for (size_t i = 0; i < kAdded; ++i) {
      int64_t id = int64_t(kInitial + i) + 1;
      adding_upto = id;  // before the add: a search may see it as soon as add() lets go
      ASSERT_TRUE(index.add(id, rows_[id - 1]).is_ok());
      if (i < kRemoved) {
        index.remove(int64_t(i) + 1);  // ids 1..kRemoved, in order, never added back
        removed_upto = int64_t(i) + 1;
      }
    }
    done = true;
  });
  std::vector<std::thread> readers;
  for (int t = 0; t < 4; ++t) {
    readers.emplace_back([&, t] {
      std::mt19937 qrng(100 + t);
      while (!done) {
        int64_t gone = removed_upto;
        auto hits = index.search(random_unit(qrng, kSmallDim), 20);
        int64_t present = adding_upto;
        for (int64_t id : hits) {
          if (id <= gone || id > present) ++bad;
        }
        ++searches;
      }
    });
  }
  writer.join();
  for (auto& r : readers) r.join();
  EXPECT_EQ(bad.load(), 0u);
  EXPECT_GT(searches.load(), 0u);
  EXPECT_EQ(index.size(), kInitial + kAdded - kRemoved);
}

}  // namespace
}  // namespace mcpmem
