// Tag normalization (Python's normalize_tags), CSV column format, user-input splitting.
#include "core/tags.h"

#include <gtest/gtest.h>

namespace mcpmem {
namespace {

using V = std::vector<std::string>;

TEST(Tags, TrimLowercaseDedupKeepOrder) {
  EXPECT_EQ(*normalize_tags({" Infra ", "postgres", "INFRA", "", "Größe"}),
            (V{"infra", "postgres", "größe"}));
}

TEST(Tags, EmptyBecomesUntaggedButNotInFilters) {
  EXPECT_EQ(*normalize_tags({}), V{"untagged"});
  EXPECT_EQ(*normalize_tags({"  ", ""}), V{"untagged"});
  EXPECT_TRUE(normalize_tag_filter({})->empty());
}

TEST(Tags, CommaInsideATagBecomesDash) { EXPECT_EQ(*normalize_tags({"a,b"}), V{"a-b"}); }

TEST(Tags, LimitsAreEnforced) {
  EXPECT_FALSE(normalize_tags({std::string(kMaxTagLength + 1, 'x')}).is_ok());
  V many;
  for (size_t i = 0; i <= kMaxTags; ++i) many.push_back("t" + std::to_string(i));
  EXPECT_FALSE(normalize_tags(many).is_ok());
  EXPECT_FALSE(normalize_tags({"\xff"}).is_ok());
}

TEST(Tags, SplitsCommaSpaceAndJsonLists) {
  EXPECT_EQ(split_tag_list("a,b c"), (V{"a", "b", "c"}));
  EXPECT_EQ(split_tag_list(" a , b "), (V{"a", "b"}));
  EXPECT_EQ(split_tag_list(R"(["x y", "z"])"), (V{"x y", "z"}));
  EXPECT_TRUE(split_tag_list("").empty());
}

TEST(Tags, CsvRoundTrip) {
  EXPECT_EQ(join_tags_csv({"a", "b"}), "a,b");
  EXPECT_EQ(parse_tags_csv("a, b,,c "), (V{"a", "b", "c"}));
  EXPECT_TRUE(parse_tags_csv("").empty());
}

}  // namespace
}  // namespace mcpmem
