// Renderers of tool_text.h. Scores show two decimals (the order of the list already ranks
// them); times drop their fraction (an agent quotes them, it does not compute with them).
#include "mcp/tool_text.h"

#include <cmath>
#include <cstdio>

#include "core/time_format.h"

namespace mcpmem {
namespace {

std::string iso_seconds(double unix_seconds) { return iso_utc(std::floor(unix_seconds)); }

bool names_a_time(const std::string& key) {
  return key.ends_with("_at") || key.rfind("last_", 0) == 0;
}

std::string scalar_text(const std::string& key, const nlohmann::ordered_json& v) {
  if (v.is_null()) return "none";
  if (v.is_string()) return v.get<std::string>();
  if (v.is_boolean()) return v.get<bool>() ? "true" : "false";
  if (v.is_number() && names_a_time(key)) {
    const double t = v.get<double>();
    return t > 0 ? iso_seconds(t) : "never";
  }
  if (v.is_number_float()) {
    char buf[32];
    std::snprintf(buf, sizeof buf, "%.6g", v.get<double>());
    return buf;
  }
  return v.dump();
}

}  // namespace

std::string memory_block(const Memory& m, size_t number, std::optional<double> score) {
  std::string out = std::to_string(number) + ". ";
  for (char c : m.content) {
    out += c;
    if (c == '\n') out += "   ";
  }
  out += "\n   hash: " + m.content_hash;
  if (!m.memory_type.empty()) out += " | type: " + m.memory_type;
  if (!m.tags.empty()) {
    out += " | tags: ";
    for (size_t i = 0; i < m.tags.size(); ++i) out += (i ? ", " : "") + m.tags[i];
  }
  out += " | created: " + iso_seconds(m.created_at);
  if (score) {
    char buf[32];
    std::snprintf(buf, sizeof buf, " | score: %.2f", *score);
    out += buf;
  }
  return out;
}

std::string key_value_lines(const nlohmann::ordered_json& object, const std::string& prefix) {
  std::string out;
  for (const auto& [key, value] : object.items()) {
    const std::string name = prefix + key;
    if (value.is_object()) {
      out += key_value_lines(value, name + ".");
    } else if (value.is_array() && !value.empty() && value.front().is_object()) {
      for (size_t i = 0; i < value.size(); ++i) {
        out += key_value_lines(value[i], name + "." + std::to_string(i + 1) + ".");
      }
    } else if (value.is_array()) {
      std::string joined;
      for (const auto& item : value)
        joined += (joined.empty() ? "" : ", ") + scalar_text(key, item);
      out += name + ": " + (value.empty() ? "none" : joined) + "\n";
    } else {
      out += name + ": " + scalar_text(key, value) + "\n";
    }
  }
  return out;
}

}  // namespace mcpmem
