// content_hash: Python's `sha256(content.strip().lower().encode("utf-8")).hexdigest()`.
// strip() follows CPython's _PyUnicode_IsWhitespace (category Zs or bidi class WS, B, S);
// lower() follows CPython's full lowercase mapping: utf8proc's simple mapping, plus
// U+0130 -> "i\u0307" (the one unconditional multi-code-point lowercase in SpecialCasing) and
// the Final_Sigma rule of unicodeobject.c's handle_capital_sigma.
#include "core/content_hash.h"

#include <openssl/evp.h>
#include <utf8proc.h>

#include <algorithm>
#include <vector>

namespace mcpmem {
namespace {

bool is_python_space(int32_t c) {
  const utf8proc_property_t* p = utf8proc_get_property(c);
  return p->category == UTF8PROC_CATEGORY_ZS || p->bidi_class == UTF8PROC_BIDI_CLASS_WS ||
         p->bidi_class == UTF8PROC_BIDI_CLASS_B || p->bidi_class == UTF8PROC_BIDI_CLASS_S;
}

// Unicode "Cased" (DerivedCoreProperties): Lu, Ll, Lt, or a letter/mark with a case mapping
// (Other_Lowercase/Other_Uppercase such as U+00AA, U+02B0, U+2160 are covered by the mapping
// test or are modifier letters that are also case-ignorable; the difference cannot change the
// sigma decision for real text).
bool is_cased(int32_t c) {
  utf8proc_category_t cat = utf8proc_category(c);
  if (cat == UTF8PROC_CATEGORY_LU || cat == UTF8PROC_CATEGORY_LL || cat == UTF8PROC_CATEGORY_LT) {
    return true;
  }
  return utf8proc_tolower(c) != c || utf8proc_toupper(c) != c;
}

// Unicode "Case_Ignorable": Mn, Me, Cf, Lm, Sk, and Word_Break MidLetter/MidNumLet/Single_Quote.
bool is_case_ignorable(int32_t c) {
  switch (utf8proc_category(c)) {
    case UTF8PROC_CATEGORY_MN:
    case UTF8PROC_CATEGORY_ME:
    case UTF8PROC_CATEGORY_CF:
    case UTF8PROC_CATEGORY_LM:
    case UTF8PROC_CATEGORY_SK:
      return true;
    default:
      break;
  }
  switch (c) {
    case 0x0027:
    case 0x002E:
    case 0x003A:
    case 0x00B7:
    case 0x0387:
    case 0x055F:
    case 0x05F4:
    case 0x2018:
    case 0x2019:
    case 0x2024:
    case 0x2027:
    case 0xFE13:
    case 0xFE52:
    case 0xFE55:
    case 0xFF07:
    case 0xFF0E:
    case 0xFF1A:
      return true;
    default:
      return false;
  }
}

std::vector<int32_t> decode(std::string_view text) {
  std::vector<int32_t> out;
  out.reserve(text.size());
  const auto* p = reinterpret_cast<const utf8proc_uint8_t*>(text.data());
  utf8proc_ssize_t left = static_cast<utf8proc_ssize_t>(text.size());
  while (left > 0) {
    int32_t c;
    utf8proc_ssize_t n = utf8proc_iterate(p, left, &c);
    if (n <= 0) break;  // callers validate first
    out.push_back(c);
    p += n;
    left -= n;
  }
  return out;
}

void encode(int32_t c, std::string& out) {
  utf8proc_uint8_t buf[4];
  utf8proc_ssize_t n = utf8proc_encode_char(c, buf);
  out.append(reinterpret_cast<const char*>(buf), static_cast<size_t>(n));
}

// CPython's handle_capital_sigma: final when a cased letter precedes (skipping case-ignorable)
// and no cased letter follows (skipping case-ignorable).
// Only s[begin, end) is looked at: Python strips before it lowers.
bool sigma_is_final(const std::vector<int32_t>& s, size_t i, size_t begin, size_t end) {
  size_t j = i;
  bool cased_before = false;
  while (j > begin) {
    int32_t c = s[--j];
    if (is_case_ignorable(c)) continue;
    cased_before = is_cased(c);
    break;
  }
  if (!cased_before) return false;
  for (size_t k = i + 1; k < end; ++k) {
    if (is_case_ignorable(s[k])) continue;
    return !is_cased(s[k]);
  }
  return true;
}

bool is_ascii_python_space(char c) {
  return c == ' ' || (c >= '\t' && c <= '\r') || (c >= '\x1c' && c <= '\x1f');
}

}  // namespace

bool is_valid_utf8(std::string_view text) {
  const auto* p = reinterpret_cast<const utf8proc_uint8_t*>(text.data());
  utf8proc_ssize_t left = static_cast<utf8proc_ssize_t>(text.size());
  while (left > 0) {
    if (*p < 0x80) {  // ASCII fast path
      ++p;
      --left;
      continue;
    }
    int32_t c;
    utf8proc_ssize_t n = utf8proc_iterate(p, left, &c);
    if (n <= 0 || c < 0) return false;  // utf8proc rejects overlongs, surrogates, > U+10FFFF
    p += n;
    left -= n;
  }
  return true;
}

std::string python_strip(std::string_view text) {
  if (!is_valid_utf8(text)) return std::string(text);
  // Whitespace at either end is decoded one code point at a time from that end.
  auto front_space = [&](std::string_view t, size_t* len) {
    unsigned char c = static_cast<unsigned char>(t[0]);
    *len = c < 0x80 ? 1 : c < 0xE0 ? 2 : c < 0xF0 ? 3 : 4;
    std::vector<int32_t> cp = decode(t.substr(0, *len));
    return is_python_space(cp[0]);
  };
  size_t len = 0;
  while (!text.empty() && front_space(text, &len)) text.remove_prefix(len);
  while (!text.empty()) {
    size_t start = text.size() - 1;
    while (start > 0 && (static_cast<unsigned char>(text[start]) & 0xC0) == 0x80) --start;
    if (!front_space(text.substr(start), &len)) break;
    text.remove_suffix(text.size() - start);
  }
  return std::string(text);
}

std::string python_strip_lower(std::string_view text) {
  if (std::all_of(text.begin(), text.end(),
                  [](char c) { return static_cast<unsigned char>(c) < 0x80; })) {
    // ASCII fast path: same result, no decoding.
    while (!text.empty() && is_ascii_python_space(text.front())) text.remove_prefix(1);
    while (!text.empty() && is_ascii_python_space(text.back())) text.remove_suffix(1);
    std::string out(text);
    for (char& c : out) {
      if (c >= 'A' && c <= 'Z') c = static_cast<char>(c + 32);
    }
    return out;
  }
  std::vector<int32_t> cps = decode(text);
  size_t begin = 0, end = cps.size();
  while (begin < end && is_python_space(cps[begin])) ++begin;
  while (end > begin && is_python_space(cps[end - 1])) --end;
  std::string out;
  out.reserve(text.size());
  for (size_t i = begin; i < end; ++i) {
    int32_t c = cps[i];
    if (c < 0x80) {
      out.push_back(static_cast<char>(c >= 'A' && c <= 'Z' ? c + 32 : c));
    } else if (c == 0x0130) {
      encode(0x0069, out);
      encode(0x0307, out);
    } else if (c == 0x03A3) {
      encode(sigma_is_final(cps, i, begin, end) ? 0x03C2 : 0x03C3, out);
    } else {
      encode(utf8proc_tolower(c), out);
    }
  }
  return out;
}

std::string sha256_hex(std::string_view bytes) {
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  EVP_Digest(bytes.data(), bytes.size(), digest, &len, EVP_sha256(), nullptr);
  static const char* kHex = "0123456789abcdef";
  std::string out(len * 2, '0');
  for (unsigned int i = 0; i < len; ++i) {
    out[2 * i] = kHex[digest[i] >> 4];
    out[2 * i + 1] = kHex[digest[i] & 15];
  }
  return out;
}

Result<std::string> content_hash(std::string_view content) {
  if (!is_valid_utf8(content)) {
    return Status::invalid_argument("text is not valid UTF-8");
  }
  return sha256_hex(python_strip_lower(content));
}

}  // namespace mcpmem
