// Reading a time out of a search query: "what did I store yesterday" asks for yesterday's
// memories, not for memories that resemble the words "what did I store yesterday". Only
// phrases that plainly name a time are read (see time_in_query.cpp for the list and why words
// such as "may", "spring" or "3/4" need more); the window is the time grammar's
// (core/time_grammar.h), so a phrase means here exactly what it means to recall_memory.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "core/time_grammar.h"

namespace mcpmem {

struct TimeInQuery {
  std::string expression;  // the words that name the time, as written: "last week"
  TimeRange range;         // parse_time_expression(expression, now)
  // The query without those words (and without a "from", "on", "in"... just before them),
  // spaces collapsed; empty when nothing but filler words ("what did I store") is left.
  std::string rest;
};

// The first time phrase in `query` (the leftmost; the longest of those starting there), with
// its window relative to `now` (Unix seconds, local time as the grammar). Nullopt when the
// query names no time, or is longer than the grammar reads (500 characters): long text is
// something to match, not a question.
std::optional<TimeInQuery> find_time_in_query(std::string_view query, double now);

}  // namespace mcpmem
