#pragma once
// Unicode properties the Qwen pre-tokenizer needs, from utf8proc: letter (\p{L}), number
// (\p{N}) and whitespace (\s as Oniguruma defines it for Unicode: U+0009..U+000D, U+0085 and the
// Zs/Zl/Zp categories), plus NFC normalization.
#include <cstdlib>
#include <string>
#include <string_view>

#include <utf8proc.h>

#include "tqlib/core/result.hpp"

namespace tqlib::tokenizer::unicode {

enum class char_class : unsigned char { letter, number, space, other };

inline char_class classify(char32_t cp) {
  if (cp < 0x80) {  // fast path, same answers as the tables
    if ((cp >= 'a' && cp <= 'z') || (cp >= 'A' && cp <= 'Z')) return char_class::letter;
    if (cp >= '0' && cp <= '9') return char_class::number;
    if (cp == ' ' || (cp >= 0x09 && cp <= 0x0D)) return char_class::space;
    return char_class::other;
  }
  if (cp == 0x85) return char_class::space;
  switch (utf8proc_category(static_cast<utf8proc_int32_t>(cp))) {
    case UTF8PROC_CATEGORY_LU:
    case UTF8PROC_CATEGORY_LL:
    case UTF8PROC_CATEGORY_LT:
    case UTF8PROC_CATEGORY_LM:
    case UTF8PROC_CATEGORY_LO: return char_class::letter;
    case UTF8PROC_CATEGORY_ND:
    case UTF8PROC_CATEGORY_NL:
    case UTF8PROC_CATEGORY_NO: return char_class::number;
    case UTF8PROC_CATEGORY_ZS:
    case UTF8PROC_CATEGORY_ZL:
    case UTF8PROC_CATEGORY_ZP: return char_class::space;
    default: return char_class::other;
  }
}

inline bool is_letter(char32_t cp) { return classify(cp) == char_class::letter; }
inline bool is_number(char32_t cp) { return classify(cp) == char_class::number; }
inline bool is_space(char32_t cp) { return classify(cp) == char_class::space; }

inline bool is_ascii(std::string_view s) {
  for (char c : s)
    if (static_cast<unsigned char>(c) >= 0x80) return false;
  return true;
}

// NFC of valid UTF-8 text (validate first; invalid input gives an error, never a crash).
inline result<std::string> nfc(std::string_view s) {
  if (is_ascii(s)) return std::string(s);  // ASCII is always NFC
  utf8proc_uint8_t* out = nullptr;
  const utf8proc_ssize_t n = utf8proc_map(reinterpret_cast<const utf8proc_uint8_t*>(s.data()),
                                          static_cast<utf8proc_ssize_t>(s.size()), &out,
                                          utf8proc_option_t(UTF8PROC_STABLE | UTF8PROC_COMPOSE));
  if (n < 0) {
    std::free(out);
    return make_error(errc::invalid_argument, std::string("NFC normalization failed: ") + utf8proc_errmsg(n));
  }
  std::string r(reinterpret_cast<const char*>(out), static_cast<std::size_t>(n));
  std::free(out);
  return r;
}

}  // namespace tqlib::tokenizer::unicode
