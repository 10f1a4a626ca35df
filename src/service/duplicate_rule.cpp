// fact_marks: one pass over the bytes. Numbers are ASCII digit runs joined by single dots;
// words are runs of ASCII letters and apostrophes (' or the typographic ’), lowercased, with
// quotes around them dropped. Anything else separates. Non-ASCII letters end a word, which is
// harmless: every negation word is ASCII.
// same_wording: Python's lowercase (core/content_hash.h), then words as runs of letters and
// digits, any code point outside ASCII counting as a letter unless it is punctuation or a
// symbol of the common blocks (Latin-1 signs, General Punctuation, arrows and symbols, CJK
// punctuation, emoji); the two word lists are compared position by position.
#include "service/duplicate_rule.h"

#include <algorithm>
#include <array>

#include "core/content_hash.h"

namespace mcpmem {
namespace {

bool is_digit(char c) { return c >= '0' && c <= '9'; }
bool is_letter(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); }

constexpr std::string_view kCurlyApostrophe = "\xE2\x80\x99";  // ’, U+2019

// Words that negate on their own.
constexpr std::array<std::string_view, 10> kNegations = {
    "not", "no", "never", "without", "none", "nothing", "nobody", "nowhere", "neither", "nor"};
// "-n't" contractions as people type them without the apostrophe, and "cannot": all "not".
constexpr std::array<std::string_view, 20> kBareContractions = {
    "cannot", "dont",  "doesnt", "didnt",   "isnt",     "arent",   "wasnt",
    "werent", "cant",  "wont",   "wouldnt", "shouldnt", "couldnt", "hasnt",
    "havent", "hadnt", "mustnt", "neednt",  "aint",     "shant"};

template <size_t N>
bool contains(const std::array<std::string_view, N>& list, std::string_view word) {
  return std::find(list.begin(), list.end(), word) != list.end();
}

// The negation `word` (lowercase, apostrophes as ') stands for, or "" when it is none.
std::string_view negation_of(std::string_view word) {
  while (!word.empty() && word.front() == '\'') word.remove_prefix(1);
  while (!word.empty() && word.back() == '\'') word.remove_suffix(1);
  if (word.ends_with("n't") || contains(kBareContractions, word)) return "not";
  if (contains(kNegations, word)) return word;
  return {};
}

// Code points of valid UTF-8 (an invalid byte reads as U+FFFD, a separator).
std::u32string decode_utf8(std::string_view s) {
  std::u32string out;
  for (size_t i = 0; i < s.size();) {
    const auto b = static_cast<unsigned char>(s[i]);
    const size_t n = b < 0x80 ? 1 : b >= 0xF0 ? 4 : b >= 0xE0 ? 3 : b >= 0xC0 ? 2 : 0;
    if (n == 0 || i + n > s.size()) {
      out.push_back(0xFFFD);
      ++i;
      continue;
    }
    char32_t c = n == 1 ? b : b & (0x7F >> n);
    for (size_t k = 1; k < n; ++k) c = (c << 6) | (static_cast<unsigned char>(s[i + k]) & 0x3F);
    out.push_back(c);
    i += n;
  }
  return out;
}

bool is_word_char(char32_t c) {
  if (c < 0x80) return is_digit(static_cast<char>(c)) || is_letter(static_cast<char>(c));
  const bool punctuation = c <= 0xBF || c == 0xD7 || c == 0xF7 ||          // Latin-1 signs, × ÷
                           (c >= 0x2000 && c <= 0x2BFF) ||                 // punctuation .. symbols
                           (c >= 0x3000 && c <= 0x303F) ||                 // CJK punctuation
                           (c >= 0xFE00 && c <= 0xFE0F) ||                 // variation selectors
                           (c >= 0xFF00 && c <= 0xFF0F) || c == 0xFFFD ||  // fullwidth signs
                           c >= 0x1F000;                                   // emoji and pictographs
  return !punctuation;
}

std::vector<std::u32string> words_of(std::string_view text) {
  std::vector<std::u32string> words;
  std::u32string word;
  for (char32_t c : decode_utf8(python_strip_lower(text))) {
    if (is_word_char(c)) {
      word.push_back(c);
    } else if (!word.empty()) {
      words.push_back(std::move(word));
      word.clear();
    }
  }
  if (!word.empty()) words.push_back(std::move(word));
  return words;
}

bool has_digit(const std::u32string& w) {
  return std::any_of(w.begin(), w.end(), [](char32_t c) { return c >= '0' && c <= '9'; });
}

// One edit apart (insert, drop, replace, or swap neighbours), under same_wording's conditions.
bool one_typo_apart(const std::u32string& a, const std::u32string& b) {
  constexpr size_t kMinTypoLetters = 4;
  if (a.size() < kMinTypoLetters || b.size() < kMinTypoLetters || a[0] != b[0]) return false;
  if (has_digit(a) || has_digit(b)) return false;
  const std::u32string& longer = a.size() >= b.size() ? a : b;
  const std::u32string& shorter = a.size() >= b.size() ? b : a;
  if (longer.size() - shorter.size() > 1) return false;
  size_t i = 0;
  while (i < shorter.size() && longer[i] == shorter[i]) ++i;
  if (longer.size() != shorter.size()) {  // drop longer[i]
    return std::equal(longer.begin() + i + 1, longer.end(), shorter.begin() + i);
  }
  if (i == a.size()) return true;  // equal (not reached)
  if (std::equal(a.begin() + i + 1, a.end(), b.begin() + i + 1)) return true;  // replace
  return i + 1 < a.size() && a[i] == b[i + 1] && a[i + 1] == b[i] &&           // swap
         std::equal(a.begin() + i + 2, a.end(), b.begin() + i + 2);
}

}  // namespace

FactMarks fact_marks(std::string_view text) {
  FactMarks marks;
  size_t i = 0;
  while (i < text.size()) {
    if (is_digit(text[i])) {
      size_t end = i;
      while (end < text.size()) {
        while (end < text.size() && is_digit(text[end])) ++end;
        if (end + 1 < text.size() && text[end] == '.' && is_digit(text[end + 1])) {
          ++end;
          continue;
        }
        break;
      }
      marks.numbers.emplace_back(text.substr(i, end - i));
      i = end;
      continue;
    }
    if (is_letter(text[i]) || text[i] == '\'' || text.substr(i).starts_with(kCurlyApostrophe)) {
      std::string word;
      while (i < text.size()) {
        if (is_letter(text[i])) {
          word += static_cast<char>(text[i] | 0x20);  // ASCII lowercase
          ++i;
        } else if (text[i] == '\'') {
          word += '\'';
          ++i;
        } else if (text.substr(i).starts_with(kCurlyApostrophe)) {
          word += '\'';
          i += kCurlyApostrophe.size();
        } else {
          break;
        }
      }
      if (auto negation = negation_of(word); !negation.empty()) {
        marks.negations.emplace_back(negation);
      }
      continue;
    }
    ++i;
  }
  std::sort(marks.numbers.begin(), marks.numbers.end());
  std::sort(marks.negations.begin(), marks.negations.end());
  return marks;
}

bool states_same_facts(std::string_view a, std::string_view b) {
  return fact_marks(a) == fact_marks(b);
}

bool same_wording(std::string_view a, std::string_view b) {
  const auto words_a = words_of(a);
  const auto words_b = words_of(b);
  if (words_a.size() != words_b.size()) return false;
  for (size_t i = 0; i < words_a.size(); ++i) {
    if (words_a[i] != words_b[i] && !one_typo_apart(words_a[i], words_b[i])) return false;
  }
  return true;
}

}  // namespace mcpmem
