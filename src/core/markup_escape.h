// Text put inside HTML or XML (the dashboard's key prompt, a launchd plist): the five
// characters markup gives meaning to, as entities. Pure; safe from many threads.
#pragma once

#include <string>
#include <string_view>

namespace mcpmem {

inline std::string markup_escape(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (char c : text) {
    switch (c) {
      case '&':
        out += "&amp;";
        break;
      case '<':
        out += "&lt;";
        break;
      case '>':
        out += "&gt;";
        break;
      case '"':
        out += "&quot;";
        break;
      case '\'':
        out += "&#39;";
        break;
      default:
        out += c;
    }
  }
  return out;
}

}  // namespace mcpmem
