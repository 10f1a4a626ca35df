// The text half of semantic dedup (MemoryService::store). Embeddings place "Postgres 16 needs
// pgvector 0.7" beside "Postgres 17 needs pgvector 0.8" (same words, other numbers) and "the
// cache is warm" beside "the cache is not warm"; a lexical one (hash-384) cannot even tell a
// typo from another word ("Tuesdys" and "Thursdays" both score ~0.84 against "Tuesdays"), and a
// store must never lose a correction to dedup. So besides the cosine bar
// (Embedder::duplicate_cosine) two texts are one memory only when they state the same facts
// (states_same_facts: numbers and negations, always) and, by default, say it in the same words
// up to typos (same_wording). Pure functions; safe from many threads.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace mcpmem {

// What of a text a near-duplicate must repeat exactly.
struct FactMarks {
  // Every run of ASCII digits with its dotted parts ("16", "0.8", "1.2.3", "5432"), sorted: a
  // multiset. A dot belongs to a number only between digits ("16." is 16).
  std::vector<std::string> numbers;
  // Every negation word, lowercased, sorted: not, no, never, without, none, nothing, nobody,
  // nowhere, neither, nor; "cannot" and every "-n't" contraction ("don't", "isn't", "can't",
  // "won't", also written with ’ or without the apostrophe: "dont") count as "not", so "does
  // not" and "doesn't" are the same statement.
  std::vector<std::string> negations;

  bool operator==(const FactMarks&) const = default;
};

FactMarks fact_marks(std::string_view text);

// True when `a` and `b` carry equal FactMarks: the same numbers as multisets and the same
// negations. Case, punctuation and the other words are the embedding's business.
bool states_same_facts(std::string_view a, std::string_view b);

// True when `a` and `b` are the same words in the same order once case, punctuation and spacing
// are set aside, except words that differ by one typo: one letter inserted, dropped or replaced,
// or two neighbours swapped, in words of 4 or more letters that begin alike and hold no digit
// ("databse", "machnie", "Tuesdys"; not "east"/"west", "sync"/"async", "v2"/"v3"). What
// near-exact means for dedup by default. `a` and `b` must be valid UTF-8.
bool same_wording(std::string_view a, std::string_view b);

}  // namespace mcpmem
