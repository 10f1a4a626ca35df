// find_time_in_query: a list of phrase patterns, each checked by the time grammar itself.
//
// parse_time_expression() is told that its whole input is a time and finds one anywhere in it:
// "may", "spring", "march", "3/4" or "10-15" all give a window. Inside a search query those
// words are as often something else ("may I", "Spring Boot", "3/4 of the budget"), and a wrong
// window silently hides the memories asked for. So a query is read more cautiously:
//   - relative days, weeks, months and years: "today", "yesterday('s) [morning]",
//     "3 days ago", "2 weeks ago", "last|past 3 days", "last|this week|month|year|<season>",
//     "recently", "lately" (not "recent": "the most recent deploy" may be older than a week);
//   - whole dates: "2025-03-04", "3/4/2025" (not "3/4" nor "10-15");
//   - "between X and Y" when X and Y are both times;
//   - a month after "in", "during" or "from" ("in March"), unless a number follows
//     ("in March 2024": the grammar would answer with the latest March, the wrong one);
//   - a season after "in|during|over the" ("in the summer"), a holiday after
//     "at|on|over|around|during" ("over Christmas");
//   - "first|second half of 2025", "third quarter [of 2025]", "q3 [2025]".
// Every candidate must also parse, so the window is always the grammar's for those words.
#include "core/time_in_query.h"

#include <algorithm>
#include <regex>
#include <set>
#include <string>
#include <vector>

namespace mcpmem {
namespace {

const std::vector<std::regex>& phrase_patterns() {
  const auto flags = std::regex::ECMAScript | std::regex::optimize;
  static const std::vector<std::regex> kPatterns = {
      std::regex(R"(\b\d{4}-\d{1,2}-\d{1,2}\b)", flags),
      std::regex(R"(\b\d{1,2}/\d{1,2}/(?:\d{4}|\d{2})\b)", flags),
      std::regex(
          R"(\b(?:today|yesterday|\d+\s+days?\s+ago)(?:'s)?)"
          R"((?:\s+(?:in\s+the\s+|at\s+)?(?:morning|afternoon|evening|night|noon|midnight))?\b)",
          flags),
      std::regex(R"(\b\d+\s+(?:weeks?|months?|years?)\s+ago\b)", flags),
      std::regex(R"(\b(?:last|past)\s+\d+\s+(?:days?|weeks?|months?|years?)\b)", flags),
      std::regex(R"(\b(?:last|this)\s+(?:week|month|year|summer|spring|winter|fall|autumn)\b)",
                 flags),
      std::regex(R"(\b(?:in|during|from)\s+(?:january|february|march|april|may|june|july|)"
                 R"(august|september|october|november|december)\b(?!\s*,?\s*\d))",
                 flags),
      std::regex(R"(\b(?:in|during|over)\s+the\s+(?:spring|summer|fall|autumn|winter)\b)", flags),
      std::regex(R"(\b(?:at|on|over|around|during)\s+(?:christmas|new\s*year(?:'s)?|)"
                 R"(valentine(?:'s)?(?:\s+day)?|halloween|thanksgiving)\b)",
                 flags),
      std::regex(R"(\b(?:first|second)\s+half\s+of\s+\d{4}\b)", flags),
      std::regex(R"(\b(?:first|second|third|fourth|1st|2nd|3rd|4th)\s+quarter(?:\s+of\s+\d{4})?\b)",
                 flags),
      std::regex(R"(\bq[1-4](?:\s+(?:of\s+)?\d{4})?\b)", flags),
      std::regex(R"(\b(?:recently|lately)\b)", flags),
  };
  return kPatterns;
}

// "between X and Y": X is the shortest run that leaves " and <one word>", as the grammar reads it.
const std::regex& between_pattern() {
  static const std::regex kBetween(R"(\bbetween\s+(\S.*?)\s+and\s+([^\s,;?!]+))",
                                   std::regex::ECMAScript | std::regex::optimize);
  return kBetween;
}

// A word just before the phrase that only tied it to the query ("notes from last week").
const std::set<std::string>& connectors() {
  static const std::set<std::string> kConnectors = {"from",  "on",     "in",     "during",
                                                    "since", "at",     "for",    "of",
                                                    "over",  "around", "before", "after"};
  return kConnectors;
}

// Words that ask for memories without saying which: a query of only these (once the time is
// out) browses the window instead of ranking it by resemblance to "what did I store".
const std::set<std::string>& filler_words() {
  static const std::set<std::string> kFiller = {
      "a",      "about", "all",   "an",     "and",      "any",        "anything", "are",
      "at",     "did",   "do",    "does",   "during",   "everything", "find",     "for",
      "from",   "get",   "give",  "had",    "happened", "has",        "have",     "i",
      "in",     "is",    "list",  "me",     "memories", "memory",     "my",       "of",
      "on",     "or",    "our",   "please", "remember", "remembered", "save",     "saved",
      "show",   "since", "store", "stored", "tell",     "that",       "the",      "there",
      "things", "to",    "us",    "was",    "we",       "were",       "what",     "what's",
      "whats",  "when",  "which", "you"};
  return kFiller;
}

struct Match {
  size_t pos = 0;
  size_t len = 0;
};

bool parses(const std::string& text, double now) {
  return parse_time_expression(text, now).has_value();
}

// The first match of `pattern` in `q` that the grammar understands.
std::optional<Match> first_phrase(const std::string& q, const std::regex& pattern, double now) {
  for (auto it = std::sregex_iterator(q.begin(), q.end(), pattern); it != std::sregex_iterator();
       ++it) {
    if (parses(it->str(), now)) {
      return Match{static_cast<size_t>(it->position()), static_cast<size_t>(it->length())};
    }
  }
  return std::nullopt;
}

std::optional<Match> first_between(const std::string& q, double now) {
  for (auto it = std::sregex_iterator(q.begin(), q.end(), between_pattern());
       it != std::sregex_iterator(); ++it) {
    const std::smatch& m = *it;
    if (parses(m[1].str(), now) && parses(m[2].str(), now)) {
      return Match{static_cast<size_t>(m.position()), static_cast<size_t>(m.length())};
    }
  }
  return std::nullopt;
}

bool is_space(char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n'; }

// One space between words, none before a comma or a full stop (where the phrase was cut out).
std::string collapse_spaces(const std::string& s) {
  std::string out;
  for (char c : s) {
    if (is_space(c)) {
      if (!out.empty() && out.back() != ' ') out.push_back(' ');
      continue;
    }
    if (std::string_view(",;:.?!").find(c) != std::string_view::npos && !out.empty() &&
        out.back() == ' ') {
      out.pop_back();
    }
    out.push_back(c);
  }
  if (!out.empty() && out.back() == ' ') out.pop_back();
  return out;
}

// ASCII only, whatever the locale: the grammar's patterns are ASCII, and offsets stay put.
char ascii_lower(char c) { return c >= 'A' && c <= 'Z' ? static_cast<char>(c + 32) : c; }

std::string lower(std::string s) {
  for (char& c : s) c = ascii_lower(c);
  return s;
}

// Lower-case words: letters, digits and apostrophes (bytes of UTF-8 count as letters).
std::vector<std::string> words_of(const std::string& s) {
  std::vector<std::string> words(1);
  for (char c : s) {
    const char l = ascii_lower(c);
    if (static_cast<unsigned char>(c) >= 0x80 || (l >= 'a' && l <= 'z') || (c >= '0' && c <= '9') ||
        c == '\'') {
      words.back().push_back(l);
    } else if (!words.back().empty()) {
      words.emplace_back();
    }
  }
  if (words.back().empty()) words.pop_back();
  return words;
}

// The query without the phrase at `m` and a connector word right before it, spaces collapsed
// and the punctuation left at either end trimmed ("notes from yesterday?" -> "notes").
std::string rest_of(const std::string& query, const Match& m) {
  std::string before = query.substr(0, m.pos);
  const std::string after = query.substr(m.pos + m.len);
  const size_t end = before.find_last_not_of(" \t\r\n");
  if (end != std::string::npos) {
    size_t start = before.find_last_of(" \t\r\n", end);
    start = start == std::string::npos ? 0 : start + 1;
    if (connectors().count(lower(before.substr(start, end + 1 - start)))) before.erase(start);
  }
  std::string rest = collapse_spaces(before + " " + after);
  constexpr const char* kEdge = " ,;:.?!-";
  const size_t first = rest.find_first_not_of(kEdge);
  if (first == std::string::npos) return "";
  return rest.substr(first, rest.find_last_not_of(kEdge) + 1 - first);
}

// Whether a phrase above could be in `q` (lower case): every one holds a digit or one of these
// words. Most queries hold neither and skip the patterns, which cost tens of microseconds.
bool may_name_a_time(const std::string& q) {
  static const std::set<std::string> kCues = {
      "today",     "yesterday", "last",     "this",      "quarter",   "recently",
      "lately",    "january",   "february", "march",     "april",     "may",
      "june",      "july",      "august",   "september", "october",   "november",
      "december",  "spring",    "summer",   "fall",      "autumn",    "winter",
      "christmas", "new",       "newyear",  "valentine", "halloween", "thanksgiving"};
  if (std::any_of(q.begin(), q.end(), [](char c) { return c >= '0' && c <= '9'; })) return true;
  for (std::string word : words_of(q)) {
    if (word.ends_with("'s")) word.resize(word.size() - 2);
    if (kCues.count(word)) return true;
  }
  return false;
}

}  // namespace

std::optional<TimeInQuery> find_time_in_query(std::string_view query, double now) {
  if (query.size() > kMaxTimeExpressionLength) return std::nullopt;
  const std::string q = lower(std::string(query));
  if (!may_name_a_time(q)) return std::nullopt;
  std::optional<Match> best;
  auto consider = [&best](std::optional<Match> m) {
    if (m && (!best || m->pos < best->pos || (m->pos == best->pos && m->len > best->len))) {
      best = m;
    }
  };
  try {
    consider(first_between(q, now));
    for (const std::regex& pattern : phrase_patterns()) consider(first_phrase(q, pattern, now));
  } catch (const std::exception&) {  // std::regex on pathological input, as the grammar
    return std::nullopt;
  }
  if (!best) return std::nullopt;
  TimeInQuery out;
  out.expression = std::string(query.substr(best->pos, best->len));
  out.range = *parse_time_expression(out.expression, now);
  out.rest = rest_of(std::string(query), *best);
  const auto words = words_of(out.rest);
  if (std::all_of(words.begin(), words.end(),
                  [](const std::string& w) { return filler_words().count(w) > 0; })) {
    out.rest.clear();
  }
  return out;
}

}  // namespace mcpmem
