// parse_json: the depth limit every JSON entry point shares (issue 15, scope 4), checked on
// inputs 100,000 levels deep that used to overflow the stack once copied or printed.
#include "core/json_parse.h"

#include <gtest/gtest.h>

#include <string>

#include "../deep_json.h"

namespace mcpmem {
namespace {

using testing_json::deep_arrays;
using testing_json::deep_objects;

TEST(JsonParse, ParsesOrdinaryJson) {
  auto j = parse_json(R"({"content":"x","tags":["a"],"metadata":{"k":[1,2,{"n":null}]}})", "body");
  ASSERT_TRUE(j.is_ok()) << j.status().message();
  EXPECT_EQ((*j)["metadata"]["k"][2]["n"], nullptr);
  auto o = parse_ordered_json(R"({"z":1,"a":2})", "body");
  ASSERT_TRUE(o.is_ok());
  EXPECT_EQ(o->begin().key(), "z");  // ordered_json keeps the order of the text
}

TEST(JsonParse, AcceptsExactlyTheLimit) {
  EXPECT_TRUE(parse_json(deep_arrays(kMaxJsonDepth), "body").is_ok());
  EXPECT_TRUE(parse_json(deep_objects(kMaxJsonDepth), "body").is_ok());
  EXPECT_FALSE(parse_json(deep_arrays(kMaxJsonDepth + 1), "body").is_ok());
  EXPECT_FALSE(parse_json(deep_objects(kMaxJsonDepth + 1), "body").is_ok());
}

TEST(JsonParse, HundredThousandLevelsAreRefusedWithTheLimitInTheMessage) {
  for (const std::string& text : {deep_arrays(100'000), deep_objects(100'000)}) {
    auto j = parse_json(text, "the request body");
    ASSERT_FALSE(j.is_ok());
    EXPECT_EQ(j.status().code(), StatusCode::kInvalidArgument);
    EXPECT_EQ(j.status().message(), "the request body is JSON nested deeper than 64 levels");
    EXPECT_TRUE(is_json_too_deep(j.status()));
    auto o = parse_ordered_json(text, "the reply");
    ASSERT_FALSE(o.is_ok());
    EXPECT_TRUE(is_json_too_deep(o.status()));
  }
}

TEST(JsonParse, DeepInsideAWideDocumentIsRefused) {
  // The limit counts nesting, not position: a deep value late in a long list is still found.
  std::string text = "{\"ok\":[1,2,3],\"memories\":[{\"metadata\":" + deep_arrays(100'000) + "}]}";
  EXPECT_TRUE(is_json_too_deep(parse_json(text, "x").status()));
}

TEST(JsonParse, MalformedJsonSaysSoAndIsNotTooDeep) {
  auto j = parse_json("{not json", "the message");
  ASSERT_FALSE(j.is_ok());
  EXPECT_EQ(j.status().message().rfind("the message is not valid JSON (", 0), 0u)
      << j.status().message();
  EXPECT_FALSE(is_json_too_deep(j.status()));
  // The message never echoes the input: invalid UTF-8 there made the error reply unprintable.
  auto bad_utf8 = parse_json("\xff\xfe{", "the body");
  ASSERT_FALSE(bad_utf8.is_ok());
  EXPECT_EQ(bad_utf8.status().message().find('\xff'), std::string::npos);
  EXPECT_NO_THROW((void)nlohmann::json(bad_utf8.status().message()).dump());
  // Unbalanced and deep: whichever comes first, the answer is an error, not a crash.
  EXPECT_FALSE(parse_json(std::string(100'000, '['), "x").is_ok());
  EXPECT_FALSE(parse_json("", "x").is_ok());
}

}  // namespace
}  // namespace mcpmem
