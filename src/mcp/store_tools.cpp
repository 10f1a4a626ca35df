// The MCP tools that write: memory_store (and its duplicate replies), memory_store_session,
// memory_update (which refuses what it cannot change) and memory_delete. Texts keep the Python
// service's first lines ("Memory stored successfully (hash: H)") and show memories in
// tool_text.h's compact form.
#include <set>
#include <sstream>

#include "core/tags.h"
#include "mcp/tool_handlers.h"
#include "mcp/tool_text.h"

namespace mcpmem::mcp_detail {
namespace {

// What an exact duplicate's reply adds when the call asked for other tags or another type than
// the stored memory has: the memory_update call that would set them.
std::string differing_fields_note(const Memory& stored, const StoreRequest& r, bool type_given) {
  Json updates = Json::object();
  std::vector<std::string> said;
  if (!r.tags.empty()) {
    auto wanted = normalize_tags(r.tags);
    if (wanted.is_ok() && std::set<std::string>(wanted->begin(), wanted->end()) !=
                              std::set<std::string>(stored.tags.begin(), stored.tags.end())) {
      updates["tags"] = *wanted;
      said.push_back("tags " + joined(*wanted));
    }
  }
  if (type_given && r.memory_type != stored.memory_type) {
    updates["memory_type"] = r.memory_type;
    said.push_back("type " + (r.memory_type.empty() ? std::string("(none)") : r.memory_type));
  }
  if (updates.empty()) return "";
  return "\nThis call gave " + joined(said, " and ") +
         ", which the stored memory does not have; to change them: memory_update content_hash=" +
         stored.content_hash + " updates=" + updates.dump();
}

// Keys of memory_update's `updates` that name what the service keeps (the Python service put
// them into metadata, so "content" looked changed while the text stayed).
std::string unchangeable_field_error(const std::string& key, const std::string& hash) {
  if (key == "content") {
    return "a memory's content cannot be changed (its hash is its content). Store the "
           "corrected text with memory_store, then delete the old one with memory_delete "
           "content_hash=" +
           hash + ".";
  }
  if (key == "content_hash" || key == "hash" || key == "id") {
    return "'" + key +
           "' cannot be changed: a memory's hash is made from its content, its id by the "
           "database. To change the text, store it with memory_store and delete this one with "
           "memory_delete content_hash=" +
           hash + ".";
  }
  if (key == "embedding") {
    return "'embedding' cannot be changed: it is made from the content by the embedding model.";
  }
  return "'" + key +
         "' cannot be changed: created_at stays as stored and updated_at moves on every change. "
         "Keep a date of your own in metadata (updates: {\"metadata\": {...}}).";
}

bool is_unchangeable(const std::string& key) {
  static const std::set<std::string> kKept = {"content",        "content_hash",   "hash",
                                              "created_at",     "created_at_iso", "updated_at",
                                              "updated_at_iso", "embedding",      "id"};
  return kKept.count(key) > 0;
}

}  // namespace

Json memory_store(MemoryService& s, const Json& a) {
  StoreRequest r;
  r.content = str_arg(a, "content");
  if (r.content.empty()) throw ToolError{"'content' is required"};
  Json meta = a.value("metadata", Json::object());
  if (!meta.is_object()) throw ToolError{"'metadata' must be an object"};
  // The Python tool takes tags and type inside metadata; top-level ones are accepted too.
  r.tags = tags_arg(a, "tags");
  for (const auto& t : tags_arg(meta, "tags")) r.tags.push_back(t);
  const bool type_given = has_field(a, "memory_type") || has_field(meta, "type");
  r.memory_type = str_arg(a, "memory_type", str_arg(meta, "type", "note"));
  meta.erase("tags");
  meta.erase("type");
  r.metadata = meta;
  r.conversation_id = str_arg(a, "conversation_id");
  r.allow_duplicate = bool_arg(a, "allow_duplicate", false);
  StoreResult out = unwrap(s.store(r));
  Json structured = {
      {"success", out.success}, {"content_hash", out.content_hash}, {"message", out.message}};
  const std::string& hash = out.content_hash;
  const std::string shown = out.memory ? "\n\n" + memory_block(*out.memory, 1) : "";
  switch (out.duplicate) {
    case Duplicate::kNone:
      return text_result("Memory stored successfully (hash: " + hash + ")", structured);
    case Duplicate::kExact:
      // The memory exists: the call's purpose is met, nothing to retry.
      structured["success"] = true;
      structured["duplicate"] = "exact";
      structured["message"] = "Already stored (exact match); nothing changed";
      return text_result("Already stored (hash: " + hash + "); nothing changed." + shown +
                             (out.memory ? differing_fields_note(*out.memory, r, type_given) : ""),
                         structured);
    case Duplicate::kNear: {
      structured["duplicate"] = "near";
      // What "near" meant: the default rule, or a configured semantic threshold.
      const std::string why =
          s.config().semantic_dedup_threshold
              ? " (alike in meaning at MCP_SEMANTIC_DEDUP_THRESHOLD, with the same numbers and "
                "negations)"
              : " (the same words and facts up to case, punctuation or typos)";
      Json result = text_result(
          "Not stored: a near-duplicate of memory " + hash + why + "." + shown +
              "\n\nTo store this text anyway, call memory_store again with allow_duplicate: "
              "true. To change the stored memory's tags, type or metadata: memory_update "
              "content_hash=" +
              hash +
              ". To replace its text with this one: memory_store with allow_duplicate: true, "
              "then memory_delete content_hash=" +
              hash + "." + (out.memory ? differing_fields_note(*out.memory, r, type_given) : ""),
          structured);
      result["isError"] = true;
      return result;
    }
  }
  return text_result(out.message, structured);
}

// A conversation as memories: MemoryService::store_session decides the chunks.
Json memory_store_session(MemoryService& s, const Json& a) {
  if (!a.contains("turns") || !a["turns"].is_array() || a["turns"].empty()) {
    throw ToolError{"'turns' is required and must be a non-empty list of {role, content}"};
  }
  SessionRequest r;
  for (const Json& turn : a["turns"]) {
    if (!turn.is_object()) throw ToolError{"each of 'turns' must be an object {role, content}"};
    r.turns.push_back({str_arg(turn, "role", "unknown"), str_arg(turn, "content")});
  }
  r.session_id = str_arg(a, "session_id");
  r.metadata = unwrap(object_field(a, "metadata"));
  r.tags = tags_arg(a, "tags");
  SessionStored out = unwrap(s.store_session(r));
  const std::string turns = std::to_string(out.turns);
  const std::string chunks = std::to_string(out.content_hashes.size());
  std::string text = out.content_hashes.size() == 1
                         ? "Session stored successfully (session_id: " + out.session_id +
                               ", hash: " + out.content_hashes[0] + ", turns: " + turns + ")"
                         : "Session stored successfully (session_id: " + out.session_id +
                               ", chunks: " + chunks + "/" + chunks + ", turns: " + turns + ")";
  return text_result(text, {{"success", true},
                            {"session_id", out.session_id},
                            {"content_hashes", out.content_hashes},
                            {"turns", out.turns}});
}

Json memory_update(MemoryService& s, const Json& a) {
  UpdateRequest r;
  r.content_hash = str_arg(a, "content_hash");
  if (r.content_hash.empty()) throw ToolError{"'content_hash' is required"};
  Json updates = a.value("updates", Json::object());
  if (!updates.is_object() || updates.empty()) {
    throw ToolError{"'updates' must be an object with tags, memory_type or metadata"};
  }
  // Refused before anything changes; content first, the mistake that matters most.
  if (updates.contains("content")) {
    throw ToolError{unchangeable_field_error("content", r.content_hash)};
  }
  for (const auto& [key, value] : updates.items()) {
    if (is_unchangeable(key)) throw ToolError{unchangeable_field_error(key, r.content_hash)};
  }
  Json meta = Json::object();
  std::vector<std::string> fields;
  for (const auto& [key, value] : updates.items()) {
    if (key == "tags") {
      r.tags = tags_arg(updates, "tags");
      fields.push_back("tags");
    } else if (key == "memory_type" || key == "type") {
      r.memory_type = str_arg(updates, key.c_str());
      fields.push_back("memory_type");
    } else if (key == "metadata") {
      if (!value.is_object()) throw ToolError{"'updates.metadata' must be an object"};
      for (const auto& [k, v] : value.items()) {
        meta[k] = v;
        fields.push_back("metadata." + k);
      }
    } else {
      meta[key] = value;  // as the Python service: other keys go into metadata
      fields.push_back("metadata." + key);
    }
  }
  if (!meta.empty()) r.metadata = meta;
  Memory m = unwrap(s.update(r));
  const std::string text = "Memory updated successfully. Updated fields: " +
                           (fields.empty() ? std::string("none") : joined(fields)) + "\n\n" +
                           memory_block(m, 1);
  return text_result(text, {{"success", true},
                            {"content_hash", m.content_hash},
                            {"memory", tool_memory_json(m)},
                            {"updated_fields", fields}});
}

Json memory_delete(MemoryService& s, const Json& a) {
  DeleteRequest r;
  std::string hash = str_arg(a, "content_hash");
  if (!hash.empty()) r.content_hash = hash;
  r.tags = tags_arg(a, "tags");
  if (r.tags.empty()) r.tags = tags_arg(a, "tag");
  r.match_all_tags = tag_match_all(a);
  r.after = date_arg(a, "after", false);
  r.before = date_arg(a, "before", false);
  r.dry_run = bool_arg(a, "dry_run", false);
  DeleteResult out = unwrap(s.remove(r));
  std::ostringstream text;
  if (out.dry_run) {
    text << "Would delete " << out.content_hashes.size() << " memories";
    if (!out.content_hashes.empty()) {
      text << "\nHashes: ";
      for (size_t i = 0; i < out.content_hashes.size() && i < 5; ++i) {
        text << (i ? "," : "") << out.content_hashes[i];
      }
      if (out.content_hashes.size() > 5)
        text << " ... and " << out.content_hashes.size() - 5 << " more";
    }
  } else {
    text << "Deleted " << out.count << " memories";
  }
  return text_result(text.str(), {{"success", true},
                                  {"dry_run", out.dry_run},
                                  {"deleted", out.dry_run ? 0 : out.count},
                                  {"content_hashes", out.content_hashes}});
}

}  // namespace mcpmem::mcp_detail
