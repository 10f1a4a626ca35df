// The REST handlers as plain functions: a hand-made Request in, the Response out, no server
// and no socket. Shapes and refusals (a refusal is a Response with a detail, never an
// exception), and the search events the handlers publish.
#include <utility>
#include <vector>

#include "http/rest_api.h"
#include "http_fixture.h"

namespace mcpmem {
namespace {
class RestHandlerTest : public HttpTest {
 protected:
  static Request with_body(const std::string& body) {
    Request r;
    r.method = "POST";
    r.headers.emplace("Content-Type", "application/json");
    r.body = body;
    return r;
  }
  static Request for_hash(const std::string& hash) {
    Request r;
    r.matches = {"/api/memories/" + hash, hash};
    return r;
  }
  static Json detail_of(const Response& r) { return Json::parse(r.body)["detail"]; }
};

TEST_F(RestHandlerTest, StoreGetAndDeleteAreCallableWithAHandMadeRequest) {
  RestApi api(*service_, "unit");
  Request store = with_body(R"({"content":"handlers are plain functions","tags":["unit"]})");
  store.headers.emplace("X-Agent-ID", "tester");
  Response stored = api.store_memory(store);
  ASSERT_EQ(stored.status, 200) << stored.body;
  EXPECT_EQ(stored.header("Content-Type"), "application/json");
  Json j = Json::parse(stored.body);
  EXPECT_EQ(j["message"], "Memory stored successfully");
  EXPECT_EQ(j["memory"]["tags"], Json({"unit", "agent:tester"}));
  const std::string hash = j["content_hash"];

  Response got = api.get_memory(for_hash(hash));
  EXPECT_EQ(got.status, 200);
  EXPECT_EQ(Json::parse(got.body)["content"], "handlers are plain functions");

  Request page;
  page.params.emplace("tag", "unit");
  EXPECT_EQ(Json::parse(api.list_memories(page).body)["total"], 1);

  Response deleted = api.delete_memory(for_hash(hash));
  EXPECT_EQ(Json::parse(deleted.body), Json({{"success", true},
                                             {"message", "Memory deleted successfully"},
                                             {"content_hash", hash}}));
  EXPECT_EQ(memory_count(), 0);
}

// A refusal thrown inside a handler comes back as its Response: the status and the detail.
TEST_F(RestHandlerTest, RefusalsAreResponsesWithADetailNotExceptions) {
  RestApi api(*service_, "unit");
  struct Case {
    Response response;
    int status;
    std::string detail;
  };
  Request page_zero;
  page_zero.params.emplace("page", "0");
  Request bad_match;
  bad_match.params.emplace("tag_match", "some");
  const Case cases[] = {
      {api.store_memory(with_body("{")), 400, ""},
      {api.store_memory(with_body("[1]")), 400, "the request body must be a JSON object"},
      {api.store_memory(with_body(R"({"content":5})")), 422, "'content' must be a string"},
      {api.store_memory(with_body(R"({"content":""})")), 422, "'content' is required"},
      {api.store_memory(with_body(R"({"content":"x","metadata":[1]})")), 422,
       "'metadata' must be an object"},
      {api.get_memory(for_hash("nope")), 404, "Memory not found"},
      {api.update_memory([] {
         Request r = with_body("{}");
         r.matches = {"/api/memories/nope", "nope"};
         return r;
       }()),
       404, "Memory with hash nope not found"},
      {api.list_memories(page_zero), 422, "'page' must be an integer from 1 to 1000000000"},
      {api.list_memories(bad_match), 422, "'tag_match' must be any or all"},
      {api.search(with_body(R"({"query":"x","mode":"fuzzy"})")), 422,
       "'mode' must be semantic, exact, keyword or hybrid"},
      {api.search(with_body(R"({"query":"x","n_results":101})")), 422,
       "'n_results' must be an integer from 1 to 100"},
      {api.search_by_tag(with_body(R"({"tags":[]})")), 400, "At least one tag must be specified"},
      {api.backup_status(Request{}), 404, "backups are not enabled on this server"},
  };
  for (const Case& c : cases) {
    EXPECT_EQ(c.response.status, c.status) << c.response.body;
    EXPECT_EQ(c.response.header("Content-Type"), "application/json");
    if (!c.detail.empty()) {
      EXPECT_EQ(detail_of(c.response), c.detail);
    }
    EXPECT_TRUE(detail_of(c.response).is_string()) << c.response.body;
  }
  EXPECT_EQ(memory_count(), 0);
}

TEST_F(RestHandlerTest, EachAnsweredSearchPublishesOneEventARefusedOneNone) {
  std::vector<std::pair<std::string, Json>> published;
  RestApi api(*service_, "unit", [&](const std::string& type, const Json& data) {
    published.emplace_back(type, data);
  });
  ASSERT_EQ(api.store_memory(with_body(R"({"content":"searchable words","tags":["s"]})")).status,
            200);
  EXPECT_EQ(api.search(with_body(R"({"query":"searchable"})")).status, 200);
  EXPECT_EQ(api.search_by_tag(with_body(R"({"tags":["s"]})")).status, 200);
  EXPECT_EQ(api.search(with_body(R"({"query":""})")).status, 422);
  ASSERT_EQ(published.size(), 2u);
  EXPECT_EQ(published[0].first, "search_completed");
  EXPECT_EQ(published[0].second["search_type"], "semantic");
  EXPECT_EQ(published[0].second["results_count"], 1);
  EXPECT_EQ(published[1].second["query"], "tags: s");
}

TEST_F(RestHandlerTest, HealthIsACountAndATimeOnly) {
  RestApi api(*service_, "unit");
  Response r = api.health(Request{});
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(Json::parse(r.body),
            Json({{"status", "healthy"}, {"memory_count", 0}, {"last_modified", nullptr}}));
  Json detailed = Json::parse(api.health_detailed(Request{}).body);
  EXPECT_EQ(detailed["version"], "unit");
  EXPECT_EQ(detailed["data_digest"]["alive"], 0);
}

}  // namespace
}  // namespace mcpmem
