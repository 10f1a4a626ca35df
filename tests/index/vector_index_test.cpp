// VectorIndex: exact top-k equal to a double-precision brute force (the int8 pruning never
// drops a true neighbour), AVX2 equal to scalar, candidate filters before top-k, removal,
// concurrency.
#include "index/vector_index.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <cmath>
#include <random>
#include <thread>

#include "random_vectors.h"

namespace mcpmem {
namespace {

constexpr size_t kDim = 384;

std::vector<float> unit(std::mt19937& rng) { return testing_util::random_unit(rng, kDim); }

struct Ref {
  int64_t id;
  double cos;
};

std::vector<Ref> brute(const std::vector<std::vector<float>>& rows, const std::vector<float>& q,
                       size_t k, const std::vector<int64_t>* only = nullptr) {
  std::vector<Ref> all;
  for (size_t i = 0; i < rows.size(); ++i) {
    int64_t id = static_cast<int64_t>(i) + 1;
    if (only && std::find(only->begin(), only->end(), id) == only->end()) continue;
    double s = 0;
    for (size_t d = 0; d < kDim; ++d) s += static_cast<double>(rows[i][d]) * q[d];
    all.push_back({id, s});
  }
  std::sort(all.begin(), all.end(), [](const Ref& a, const Ref& b) {
    return a.cos != b.cos ? a.cos > b.cos : a.id < b.id;
  });
  all.resize(std::min(k, all.size()));
  return all;
}

void expect_same(const std::vector<Neighbor>& got, const std::vector<Ref>& want) {
  ASSERT_EQ(got.size(), want.size());
  for (size_t i = 0; i < got.size(); ++i) {
    EXPECT_NEAR(got[i].cosine, want[i].cos, 1e-6) << "rank " << i;
    if (got[i].id != want[i].id) {
      // Only a near-tie may swap places.
      EXPECT_NEAR(got[i].cosine, want[i].cos, 1e-6);
    }
  }
}

class VectorIndexTest : public ::testing::Test {
 protected:
  void fill(size_t n, unsigned seed = 1) {
    std::mt19937 rng(seed);
    for (size_t i = 0; i < n; ++i) {
      rows_.push_back(unit(rng));
      ASSERT_TRUE(index_.upsert(static_cast<int64_t>(i) + 1, rows_.back()).is_ok());
    }
  }
  VectorIndex index_{kDim};
  std::vector<std::vector<float>> rows_;
};

TEST_F(VectorIndexTest, TopKEqualsBruteForce) {
  fill(5000);
  std::mt19937 rng(99);
  for (int q = 0; q < 50; ++q) {
    auto query = unit(rng);
    for (size_t k : {1, 10, 100}) expect_same(index_.search(query, k), brute(rows_, query, k));
  }
}

TEST_F(VectorIndexTest, QueriesNearStoredRowsFindThemFirst) {
  fill(2000);
  for (int64_t id : {1, 500, 2000}) {
    auto hits = index_.search(rows_[id - 1], 3);
    ASSERT_FALSE(hits.empty());
    EXPECT_EQ(hits[0].id, id);
    EXPECT_NEAR(hits[0].cosine, 1.0f, 1e-5);
  }
}

TEST_F(VectorIndexTest, Avx2AndScalarAgree) {
  if (VectorIndex::best_simd_level() != SimdLevel::kAvx2) GTEST_SKIP() << "no AVX2 on this CPU";
  fill(3000);
  std::mt19937 rng(5);
  for (int q = 0; q < 20; ++q) {
    auto query = unit(rng);
    index_.set_simd_level(SimdLevel::kAvx2);
    auto fast = index_.search(query, 20);
    index_.set_simd_level(SimdLevel::kScalar);
    auto slow = index_.search(query, 20);
    ASSERT_EQ(fast.size(), slow.size());
    for (size_t i = 0; i < fast.size(); ++i) {
      EXPECT_NEAR(fast[i].cosine, slow[i].cosine, 1e-6);
      if (std::fabs(fast[i].cosine - (i + 1 < fast.size() ? fast[i + 1].cosine : -2)) > 1e-6) {
        EXPECT_EQ(fast[i].id, slow[i].id);
      }
    }
  }
}

TEST_F(VectorIndexTest, AdversarialNearTiesAndSpikesStayExact) {
  // Duplicates, near-duplicates and vectors dominated by one component stress the int8 bounds.
  std::mt19937 rng(11);
  auto base = unit(rng);
  for (int i = 0; i < 300; ++i) {
    std::vector<float> v = base;
    v[i % kDim] += 1e-4f * static_cast<float>(i % 7);
    if (i % 50 == 0) {
      std::fill(v.begin(), v.end(), 1e-3f);
      v[i % kDim] = 1.0f;
    }
    double s = 0;
    for (float x : v) s += x * x;
    for (float& x : v) x = static_cast<float>(x / std::sqrt(s));
    rows_.push_back(v);
    ASSERT_TRUE(index_.upsert(i + 1, v).is_ok());
  }
  for (int q = 0; q < 10; ++q) {
    auto query = q == 0 ? base : unit(rng);
    expect_same(index_.search(query, 25), brute(rows_, query, 25));
  }
}

TEST_F(VectorIndexTest, CandidatesFilterBeforeTopK) {
  fill(2000);
  std::vector<int64_t> only;
  for (int64_t id = 7; id <= 2000; id += 97) only.push_back(id);
  only.push_back(999999);  // not in the index: ignored
  only.push_back(7);       // duplicate: counted once
  std::mt19937 rng(3);
  auto query = unit(rng);
  auto hits = index_.search(query, 10, &only);
  ASSERT_EQ(hits.size(), 10u);  // the full k whenever enough candidates exist
  for (const auto& h : hits) EXPECT_NE(std::find(only.begin(), only.end(), h.id), only.end());
  expect_same(hits, brute(rows_, query, 10, &only));
  std::vector<int64_t> few = {3, 4};
  EXPECT_EQ(index_.search(query, 10, &few).size(), 2u);
  std::vector<int64_t> none;
  EXPECT_TRUE(index_.search(query, 10, &none).empty());
}

TEST_F(VectorIndexTest, UpsertReplacesAndRemoveForgets) {
  fill(100);
  std::mt19937 rng(8);
  auto fresh = unit(rng);
  ASSERT_TRUE(index_.upsert(42, fresh).is_ok());
  EXPECT_EQ(index_.size(), 100u);
  EXPECT_EQ(index_.search(fresh, 1)[0].id, 42);
  index_.remove(42);
  index_.remove(100);  // the last row
  index_.remove(12345);
  EXPECT_EQ(index_.size(), 98u);
  EXPECT_FALSE(index_.contains(42));
  for (const auto& h : index_.search(fresh, 98)) {
    EXPECT_NE(h.id, 42);
    EXPECT_NE(h.id, 100);
  }
  // Moved rows still answer correctly.
  EXPECT_EQ(index_.search(rows_[98], 1)[0].id, 99);
  for (int64_t id = 1; id <= 100; ++id) index_.remove(id);
  EXPECT_EQ(index_.size(), 0u);
  EXPECT_TRUE(index_.search(fresh, 5).empty());
}

TEST_F(VectorIndexTest, BadInputIsRefusedOrEmpty) {
  std::vector<float> small(10, 0.1f);
  EXPECT_EQ(index_.upsert(1, small).code(), StatusCode::kInvalidArgument);
  fill(10);
  EXPECT_TRUE(index_.search(small, 3).empty());
  EXPECT_TRUE(index_.search(rows_[0], 0).empty());
  EXPECT_EQ(index_.search(rows_[0], 1000).size(), 10u);
  std::vector<float> zero(kDim, 0.0f);
  auto hits = index_.search(zero, 3);  // all cosines 0: ties broken by id
  ASSERT_EQ(hits.size(), 3u);
  EXPECT_EQ(hits[0].id, 1);
  EXPECT_EQ(hits[2].id, 3);
}

TEST_F(VectorIndexTest, ConcurrentSearchesAndWrites) {
  fill(1000);
  std::atomic<bool> stop{false};
  std::atomic<int> bad{0};
  std::vector<std::thread> readers;
  for (int t = 0; t < 3; ++t) {
    readers.emplace_back([&, t] {
      std::mt19937 rng(100 + t);
      while (!stop) {
        auto hits = index_.search(unit(rng), 10);
        for (size_t i = 1; i < hits.size(); ++i) bad += hits[i - 1].cosine < hits[i].cosine;
      }
    });
  }
  std::mt19937 rng(7);
  for (int i = 0; i < 2000; ++i) {
    if (i % 3 == 0) {
      index_.remove(1 + static_cast<int64_t>(rng() % 1000));
    } else {
      ASSERT_TRUE(index_.upsert(1 + static_cast<int64_t>(rng() % 1500), unit(rng)).is_ok());
    }
  }
  stop = true;
  for (auto& t : readers) t.join();
  EXPECT_EQ(bad.load(), 0);
}

}  // namespace
}  // namespace mcpmem
