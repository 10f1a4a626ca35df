// Version records: see version_json.h.
#include "service/version_json.h"

#include <algorithm>
#include <bit>
#include <cmath>
#include <set>

#include "core/base64.h"
#include "core/content_hash.h"
#include "core/hlc.h"
#include "core/json_parse.h"
#include "core/tags.h"
#include "core/time_format.h"

namespace mcpmem {
namespace {

// `text` (base64) as `dimension` little-endian float32 values.
bool decode_vector(const std::string& text, size_t dimension, std::vector<float>& out) {
  const size_t bytes = dimension * sizeof(float);
  if (text.size() != 4 * ((bytes + 2) / 3)) return false;
  const auto decoded = base64_decode(text);
  if (!decoded || decoded->size() != bytes) return false;
  const std::string& raw = *decoded;
  out.resize(dimension);
  for (size_t i = 0; i < dimension; ++i) {
    uint32_t bits = 0;
    for (int b = 0; b < 4; ++b)
      bits |= static_cast<uint32_t>(static_cast<unsigned char>(raw[4 * i + b])) << (8 * b);
    out[i] = std::bit_cast<float>(bits);
  }
  return true;
}

// Finite and of length 1 (or all zero: a text without features), as every embedder makes them.
bool is_unit_vector(std::span<const float> v) {
  double norm2 = 0;
  for (float x : v) {
    if (!std::isfinite(x)) return false;
    norm2 += static_cast<double>(x) * x;
  }
  return norm2 == 0 || std::abs(norm2 - 1.0) < 1e-3;
}

Status field_error(const char* field, const std::string& what) {
  return Status::invalid_argument(std::string("field '") + field + "': " + what);
}

// A Unix-seconds field: a number, or an ISO 8601 string (the dashboard's *_iso forms).
Result<std::optional<double>> time_field(const Json& j, const char* key, const char* iso_key) {
  auto it = j.find(key);
  if (it != j.end() && !it->is_null()) {
    if (!it->is_number()) return field_error(key, "expected a number (Unix seconds)");
    double t = it->get<double>();
    if (!is_storable_time(t)) return field_error(key, "not a time between 1970 and 9999");
    return std::optional<double>(t);
  }
  if (iso_key != nullptr) {
    auto iso = j.find(iso_key);
    if (iso != j.end() && iso->is_string()) {
      auto t = parse_iso_time(iso->get<std::string>());
      if (!t) return field_error(iso_key, "not an ISO 8601 time");
      if (!is_storable_time(*t)) return field_error(iso_key, "not a time between 1970 and 9999");
      return std::optional<double>(*t);
    }
  }
  return std::optional<double>();
}

Result<std::string> text_field(const Json& j, const char* key) {
  auto it = j.find(key);
  if (it == j.end() || it->is_null()) return std::string();
  if (!it->is_string()) return field_error(key, "expected a string");
  return it->get<std::string>();
}

}  // namespace

OJson version_json(const Memory& m) {
  OJson j = OJson::object();
  j["content"] = m.content;
  j["content_hash"] = m.content_hash;
  j["tags"] = m.tags;
  j["created_at"] = m.created_at;
  j["updated_at"] = m.updated_at;
  j["memory_type"] = m.memory_type.empty() ? OJson() : OJson(m.memory_type);
  j["metadata"] = OJson(m.metadata);
  if (!m.hlc.empty()) j["hlc"] = m.hlc;
  if (!m.origin.empty()) j["origin"] = m.origin;
  if (!m.prev_hlc.empty() && m.fields.empty()) j["prev_hlc"] = m.prev_hlc;
  if (!m.fields.empty()) j["field_versions"] = OJson(field_versions_json(m.fields));
  if (m.deleted_at) j["deleted_at"] = *m.deleted_at;
  return j;
}

namespace {

// What the losing version `b` holds that the winner `a` does not (see conflict_record_json):
// tags of b missing from a, metadata keys of b with another value (or none) in a.
OJson differences(const OJson& a, const OJson& b) {
  OJson out = OJson::array();
  if (!a.is_object() || !b.is_object()) return out;
  auto value = [](const OJson& v, const char* key) { return v.contains(key) ? v[key] : OJson(); };
  if (value(a, "content") != value(b, "content")) out.push_back("content");
  auto tag_set = [&](const OJson& v) {
    std::set<std::string> s;
    for (const OJson& t : value(v, "tags")) {
      if (t.is_string()) s.insert(t.get<std::string>());
    }
    return s;
  };
  if (!std::ranges::includes(tag_set(a), tag_set(b))) out.push_back("tags");
  if (value(a, "memory_type") != value(b, "memory_type")) out.push_back("memory_type");
  std::set<std::string> keys;
  if (const OJson meta = value(b, "metadata"); meta.is_object()) {
    for (const auto& [k, x] : meta.items()) keys.insert(k);
  }
  for (const std::string& k : keys) {
    auto at = [&](const OJson& v) {
      const OJson meta = value(v, "metadata");
      return meta.is_object() && meta.contains(k) ? meta[k] : OJson();
    };
    if (at(a) != at(b)) out.push_back("metadata." + k);
  }
  if (a.contains("deleted_at") != b.contains("deleted_at")) out.push_back("deleted");
  return out;
}

}  // namespace

OJson conflict_record_json(const ConflictRecord& c) {
  // The versions were written by version_json; a row another program damaged shows as null.
  auto version = [](const std::string& text) {
    auto v = parse_ordered_json(text, "a stored version");
    return v.is_ok() ? std::move(*v) : OJson();
  };
  OJson winner = version(c.winner), loser = version(c.loser);
  return {{"id", c.id},
          {"uid", c.uid},
          {"content_hash", c.content_hash},
          {"detected_at", iso_utc(c.detected_at)},
          {"source", c.source},
          {"winner", winner},
          {"loser", loser},
          {"fields", c.fields.empty() ? OJson::array() : OJson(parse_tags_csv(c.fields))},
          {"differs", differences(winner, loser)},
          {"resolved_at", c.resolved_at ? OJson(iso_utc(*c.resolved_at)) : OJson()},
          {"resolution", c.resolution.empty() ? OJson() : OJson(c.resolution)},
          {"resolved_by", c.resolved_by.empty() ? OJson() : OJson(c.resolved_by)}};
}

Result<ConflictRecord> parse_conflict(const Json& j) {
  constexpr size_t kMaxName = 200;
  if (!j.is_object()) return Status::invalid_argument("a conflict must be an object");
  ConflictRecord c;
  auto text = [&](const char* key, std::string& out, bool required) -> Status {
    const auto it = j.find(key);
    if (it == j.end() || it->is_null()) {
      return required ? Status::invalid_argument(std::string("field '") + key + "' is missing")
                      : Status::ok();
    }
    if (!it->is_string() || it->get_ref<const std::string&>().size() > kMaxName) {
      return Status::invalid_argument(std::string("field '") + key +
                                      "': expected a string of at most 200 characters");
    }
    out = it->get<std::string>();
    return Status::ok();
  };
  auto time = [&](const char* key, bool required) -> Result<std::optional<double>> {
    std::string iso;
    MCP_RETURN_IF_ERROR(text(key, iso, required));
    if (iso.empty()) return std::optional<double>();
    auto t = parse_iso_time(iso);
    if (!t || !is_storable_time(*t)) {
      return Status::invalid_argument(std::string("field '") + key + "': not a time: " + iso);
    }
    return t;
  };
  auto version = [&](const char* key, std::string& out) -> Status {
    const auto it = j.find(key);
    if (it == j.end() || !it->is_object()) {
      return Status::invalid_argument(std::string("field '") + key + "': expected an object");
    }
    out = it->dump();
    return Status::ok();
  };
  MCP_RETURN_IF_ERROR(text("uid", c.uid, true));
  MCP_RETURN_IF_ERROR(text("content_hash", c.content_hash, true));
  if (c.uid.rfind(c.content_hash + ":", 0) != 0) {
    return Status::invalid_argument("field 'uid': not of its content_hash");
  }
  MCP_ASSIGN_OR_RETURN(auto detected, time("detected_at", true));
  c.detected_at = *detected;
  MCP_RETURN_IF_ERROR(text("source", c.source, false));
  MCP_RETURN_IF_ERROR(version("winner", c.winner));
  MCP_RETURN_IF_ERROR(version("loser", c.loser));
  if (const auto it = j.find("fields"); it != j.end() && !it->is_null()) {
    if (!it->is_array()) return Status::invalid_argument("field 'fields': expected a list");
    std::string csv;
    for (const Json& f : *it) {
      if (!f.is_string() || f.get_ref<const std::string&>().find(',') != std::string::npos) {
        return Status::invalid_argument("field 'fields': expected names of fields");
      }
      csv += (csv.empty() ? "" : ",") + f.get<std::string>();
    }
    c.fields = csv;
  }
  MCP_ASSIGN_OR_RETURN(c.resolved_at, time("resolved_at", false));
  MCP_RETURN_IF_ERROR(text("resolution", c.resolution, false));
  MCP_RETURN_IF_ERROR(text("resolved_by", c.resolved_by, false));
  if (c.resolved_at.has_value() != !c.resolution.empty() ||
      (!c.resolution.empty() && c.resolution != "kept-winner" && c.resolution != "kept-loser")) {
    return Status::invalid_argument(
        "fields 'resolved_at' and 'resolution' ('kept-winner' or 'kept-loser') go together");
  }
  return c;
}

OJson apply_counts_json(const ApplyCounts& c) {
  return {{"new", c.added},
          {"updated", c.updated},
          {"unchanged", c.unchanged},
          {"kept_local", c.kept_local},
          {"merged", c.merged},
          {"deleted", c.deleted},
          {"tombstones", c.tombstones},
          {"conflicts", c.conflicts}};
}

ApplyCounts apply_counts_from_json(const Json& j) {
  ApplyCounts c;
  c.added = j.value("new", int64_t{0});
  c.updated = j.value("updated", int64_t{0});
  c.unchanged = j.value("unchanged", int64_t{0});
  c.kept_local = j.value("kept_local", int64_t{0});
  c.merged = j.value("merged", int64_t{0});
  c.deleted = j.value("deleted", int64_t{0});
  c.tombstones = j.value("tombstones", int64_t{0});
  c.conflicts = j.value("conflicts", int64_t{0});
  return c;
}

Result<IncomingVersion> parse_version(const Json& j, const VersionParseOptions& o) {
  if (!j.is_object()) return Status::invalid_argument("expected an object");
  IncomingVersion out;
  Memory& m = out.memory;

  MCP_ASSIGN_OR_RETURN(m.deleted_at, time_field(j, "deleted_at", nullptr));

  MCP_ASSIGN_OR_RETURN(m.content, text_field(j, "content"));
  if (!is_valid_utf8(m.content)) return field_error("content", "not valid UTF-8");

  MCP_ASSIGN_OR_RETURN(std::string hash, text_field(j, "content_hash"));
  if (hash.empty() && j.contains("hash") && j["hash"].is_string())
    hash = j["hash"].get<std::string>();
  if (m.content.empty() && !m.deleted_at) return field_error("content", "missing or empty");
  if (!m.content.empty()) {
    auto computed = content_hash(m.content);
    if (!computed.is_ok()) return field_error("content", computed.status().message());
    if (hash.empty()) {
      hash = *computed;
    } else if (o.verify_hash && hash != *computed) {
      return field_error("content_hash", "does not match the content (the content hashes to " +
                                             *computed + "; --trust-hashes accepts it)");
    }
  }
  if (hash.size() != 64 || hash.find_first_not_of("0123456789abcdef") != std::string::npos) {
    return field_error("content_hash", "expected 64 lowercase hex characters");
  }
  m.content_hash = std::move(hash);

  std::vector<std::string> raw_tags;
  if (auto it = j.find("tags"); it != j.end() && !it->is_null()) {
    if (it->is_string()) {
      raw_tags = parse_tags_csv(it->get<std::string>());
    } else if (it->is_array()) {
      for (const Json& t : *it) {
        if (!t.is_string()) return field_error("tags", "expected strings");
        raw_tags.push_back(t.get<std::string>());
      }
    } else {
      return field_error("tags", "expected a list of strings");
    }
  }
  auto tags = normalize_tags(raw_tags);
  if (!tags.is_ok()) return field_error("tags", tags.status().message());
  m.tags = std::move(tags).value();

  MCP_ASSIGN_OR_RETURN(m.memory_type, text_field(j, "memory_type"));

  if (auto it = j.find("metadata"); it != j.end() && !it->is_null()) {
    if (it->is_object()) {
      m.metadata = *it;
    } else if (it->is_string()) {  // the Python emergency export stores it as text
      auto parsed = parse_json(it->get<std::string>(), "the text");
      if (!parsed.is_ok() && is_json_too_deep(parsed.status())) {
        return field_error("metadata", parsed.status().message());
      }
      if (!parsed.is_ok() || !parsed->is_object()) {
        return field_error("metadata", "expected an object");
      }
      m.metadata = std::move(*parsed);
    } else {
      return field_error("metadata", "expected an object");
    }
  }

  MCP_ASSIGN_OR_RETURN(auto created, time_field(j, "created_at", "created_at_iso"));
  if (!created) return field_error("created_at", "missing");
  m.created_at = *created;
  MCP_ASSIGN_OR_RETURN(auto updated, time_field(j, "updated_at", "updated_at_iso"));
  m.updated_at = updated.value_or(m.created_at);

  for (auto [key, target] : {std::pair{"hlc", &m.hlc}, std::pair{"prev_hlc", &m.prev_hlc}}) {
    MCP_ASSIGN_OR_RETURN(auto v, text_field(j, key));
    if (!v.empty() && !Hlc::parse(v)) return field_error(key, "not a version");
    *target = std::move(v);
  }
  if (auto it = j.find("field_versions"); it != j.end() && !it->is_null()) {
    auto fields = parse_field_versions(*it);
    if (!fields) return field_error("field_versions", "not valid field versions");
    bool coherent =
        fields->tags.size() == m.tags.size() && fields->metadata.size() == m.metadata.size();
    for (const std::string& t : m.tags) coherent = coherent && fields->tags.count(t) == 1;
    for (const auto& [key, value] : m.metadata.items()) {
      coherent = coherent && fields->metadata.count(key) == 1;
    }
    if (!coherent)
      return field_error("field_versions", "do not name the record's tags and metadata keys");
    m.fields = std::move(*fields);
    m.hlc = m.fields.newest();
    m.created_at = earliest_creation(m.fields);
  }
  MCP_ASSIGN_OR_RETURN(std::string origin, text_field(j, "origin"));
  if (origin.empty()) {
    MCP_ASSIGN_OR_RETURN(origin, text_field(j, "export_source"));
  }
  m.origin = sanitize_node_name(origin.empty() ? o.default_origin : origin);

  if (auto it = j.find("embedding"); it != j.end() && !it->is_null() && o.embedding_dimension > 0) {
    if (!it->is_array()) return field_error("embedding", "expected a list of numbers");
    if (it->size() == o.embedding_dimension) {
      out.embedding.reserve(it->size());
      for (const Json& x : *it) {
        if (!x.is_number()) return field_error("embedding", "expected numbers");
        out.embedding.push_back(x.get<float>());
      }
    }
  }
  if (auto it = j.find("vector"); it != j.end() && o.embedding_dimension > 0) {
    if (!it->is_string()) return field_error("vector", "expected base64 text");
    if (!decode_vector(it->get_ref<const std::string&>(), o.embedding_dimension, out.embedding)) {
      return field_error("vector", "expected " + std::to_string(o.embedding_dimension) +
                                       " float32 values in base64");
    }
  }
  if (!out.embedding.empty() && !is_unit_vector(out.embedding)) out.embedding.clear();
  return out;
}

void add_vector(OJson& record, std::span<const float> vector) {
  std::string bytes(vector.size() * sizeof(float), '\0');
  for (size_t i = 0; i < vector.size(); ++i) {
    uint32_t bits = std::bit_cast<uint32_t>(vector[i]);
    for (int b = 0; b < 4; ++b) bytes[4 * i + b] = static_cast<char>((bits >> (8 * b)) & 0xff);
  }
  record["vector"] = base64_encode(bytes);
}

}  // namespace mcpmem
