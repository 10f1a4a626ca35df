// content_hash against hashes Python computed (scripts/make-fixtures.py): Unicode strip,
// full lowercasing (İ, final sigma), ideographic spaces; and invalid UTF-8 refused.
#include "core/content_hash.h"

#include <gtest/gtest.h>

#include <fstream>
#include <nlohmann/json.hpp>

namespace mcpmem {
namespace {

nlohmann::json load(const char* name) {
  std::ifstream in(std::string(MCP_TEST_FIXTURES) + "/" + name);
  return nlohmann::json::parse(in);
}

TEST(ContentHash, MatchesPythonForEveryFixture) {
  auto cases = load("content_hashes.json");
  ASSERT_GE(cases.size(), 40u);
  for (const auto& c : cases) {
    const std::string content = c["content"];
    SCOPED_TRACE(content);
    EXPECT_EQ(python_strip_lower(content), c["strip_lower"].get<std::string>());
    auto h = content_hash(content);
    ASSERT_TRUE(h.is_ok());
    EXPECT_EQ(*h, c["hash"].get<std::string>());
  }
}

TEST(ContentHash, CaseAndOuterWhitespaceDoNotMatterInnerWhitespaceDoes) {
  EXPECT_EQ(*content_hash("Hello World"), *content_hash("  hello world\n"));
  EXPECT_NE(*content_hash("hello world"), *content_hash("hello  world"));
  EXPECT_EQ(content_hash("x")->size(), 64u);
}

TEST(ContentHash, FinalSigmaFollowsPython) {
  EXPECT_EQ(python_strip_lower("ΣΑΣ"), "σας");
  EXPECT_EQ(python_strip_lower("Σ"), "σ");
  EXPECT_EQ(python_strip_lower("İ"), "i\u0307");
}

TEST(PythonStrip, RemovesUnicodeWhitespaceAtBothEndsOnly) {
  EXPECT_EQ(python_strip("\u3000\u00a0 a  b\t\n\u2028"), "a  b");
  EXPECT_EQ(python_strip("\u200bzero width\u200b"), "\u200bzero width\u200b");  // not space
  EXPECT_EQ(python_strip(" \u3000 "), "");
  EXPECT_EQ(python_strip("Straße"), "Straße");
}

TEST(ContentHash, RejectsInvalidUtf8) {
  for (std::string bad :
       {std::string("\xff"), std::string("a\xc0\xaf"), std::string("\xed\xa0\x80"),
        std::string("\xe2\x82"), std::string("\xf4\x90\x80\x80")}) {
    EXPECT_FALSE(is_valid_utf8(bad));
    auto h = content_hash(bad);
    ASSERT_FALSE(h.is_ok());
    EXPECT_EQ(h.status().code(), StatusCode::kInvalidArgument);
  }
  EXPECT_TRUE(is_valid_utf8("plain ascii and ü and 😀"));
}

TEST(ContentHash, Sha256OfKnownVector) {
  EXPECT_EQ(sha256_hex("abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
}

}  // namespace
}  // namespace mcpmem
