// REST memories: store, list, get, update and delete one memory by its content hash, and the
// tag list. Shapes are the Python service's (service/wire_json.h); a store's X-Agent-ID header
// becomes an "agent:<id>" tag, as there. Stores and deletes are not published here: the event
// stream reads them from the change log, which sees every writer.
#include "core/tags.h"
#include "http/rest_api.h"
#include "http/rest_input.h"

namespace mcpmem {

using namespace rest_detail;  // the readers and answers of rest_input.h

Response RestApi::store_memory(const Request& req) const {
  return respond([&] {
    Json body = body_object(req);
    StoreRequest r;
    r.content = text_field(body, "content");
    if (r.content.empty()) fail(422, "'content' is required");
    r.tags = tags_field(body, "tags");
    const std::string agent = req.header("X-Agent-ID");
    if (!agent.empty()) r.tags.push_back("agent:" + agent);
    r.memory_type = text_field(body, "memory_type");
    if (auto metadata = metadata_field(body)) r.metadata = std::move(*metadata);
    r.conversation_id = text_field(body, "conversation_id");
    StoreResult out = value_or_fail(service_.store(r));
    OJson j = OJson::object();
    j["success"] = out.success;
    j["message"] = out.message;
    j["content_hash"] = out.content_hash;  // a duplicate: the stored memory's
    j["memory"] = out.success && out.memory ? memory_json(*out.memory) : OJson(nullptr);
    return json_response(j);
  });
}

Response RestApi::list_memories(const Request& req) const {
  return respond([&] {
    ListRequest r;
    r.page = query_int(req, "page", 1, 1, 1'000'000'000);
    r.page_size = query_int(req, "page_size", 10, 1, service_.config().max_client_results);
    if (req.has_param("tag")) r.tags = split_tag_list(req.param("tag"));
    if (req.has_param("tags")) r.tags = split_tag_list(req.param("tags"));
    if (!req.param("memory_type").empty()) r.memory_type = req.param("memory_type");
    if (req.has_param("tag_match")) {
      r.match_all_tags = tag_match_all(req.param("tag_match"));
    }
    return json_response(list_json(value_or_fail(service_.list(r))));
  });
}

Response RestApi::get_memory(const Request& req) const {
  return respond([&] {
    auto m = value_or_fail(service_.get(req.matches.at(1)));
    if (!m) fail(404, "Memory not found");
    return json_response(memory_json(*m));
  });
}

// Only the fields sent change (tags replace, metadata merges); an empty update answers the
// memory as it is, with the Python service's message.
Response RestApi::update_memory(const Request& req) const {
  return respond([&] {
    Json body = body_object(req);
    const std::string hash = req.matches.at(1);
    auto existing = value_or_fail(service_.get(hash));
    if (!existing) fail(404, "Memory with hash " + hash + " not found");
    UpdateRequest u;
    u.content_hash = hash;
    if (body.contains("tags") && !body["tags"].is_null()) {
      u.tags = tags_field(body, "tags");
    }
    u.memory_type = optional_text(body, "memory_type");
    u.metadata = metadata_field(body);
    OJson j = OJson::object();
    j["success"] = true;
    if (!u.tags && !u.memory_type && !u.metadata) {
      j["message"] = "No updates provided - memory unchanged";
      j["content_hash"] = hash;
      j["memory"] = memory_json(*existing);
    } else {
      Memory updated = value_or_fail(service_.update(u));
      j["message"] = "Memory updated successfully";
      j["content_hash"] = hash;
      j["memory"] = memory_json(updated);
    }
    return json_response(j);
  });
}

// An unknown hash is a 200 with success false, as the Python service answers it.
Response RestApi::delete_memory(const Request& req) const {
  return respond([&] {
    DeleteRequest d;
    d.content_hash = req.matches.at(1);
    auto removed = service_.remove(d);
    if (!removed.is_ok() && removed.status().code() != StatusCode::kNotFound) {
      fail(removed.status());
    }
    DeleteResult out = removed.is_ok() ? *removed : DeleteResult{};
    OJson j = OJson::object();
    j["success"] = out.count > 0;
    j["message"] = out.count > 0 ? "Memory deleted successfully"
                                 : "Memory with hash " + *d.content_hash + " not found";
    j["content_hash"] = *d.content_hash;
    return json_response(j);
  });
}

Response RestApi::list_tags(const Request&) const {
  return respond([&] {
    OJson tags = OJson::array();
    for (const TagCount& t : value_or_fail(service_.tags())) {
      OJson one = OJson::object();
      one["tag"] = t.tag;
      one["count"] = t.count;
      tags.push_back(std::move(one));
    }
    OJson j = OJson::object();
    j["tags"] = std::move(tags);
    return json_response(j);
  });
}

}  // namespace mcpmem
