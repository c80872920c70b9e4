#pragma once
// Qwen2's pre-tokenizer split, as a hand-written scanner with the exact semantics of the regex
//   (?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|
//   \s*[\r\n]+|\s+(?!\S)|\s+
// run as Hugging Face tokenizers does (Split, behavior Isolated): leftmost match, alternatives
// tried in order, greedy quantifiers with backtracking. Every character is covered by some
// alternative, so the pieces concatenate back to the input.
//
// Backtracking worked out per alternative (c = character at the cursor, run = maximal \s run):
//  1. apostrophe followed by s|t|re|ve|m|ll|d in either ASCII case (Oniguruma's case folding as
//     used by tokenizers does not fold U+017F to s; checked against the fixtures).
//  2. c is a letter: c and the letters after it; or c is not \r, \n, letter or number and the
//     next character is a letter: c and the letters after it.
//  3. c is a number: c alone.
//  4. c is ' ' followed by a "symbol" (not \s, letter, number), or c is a symbol: the symbol run,
//     then any \r / \n characters.
//  5. \s*[\r\n]+: the \s run up to and including its last \r or \n, if it has one.
//  6. \s+(?!\S): the whole run if it ends the text, else the run less its last character when
//     that leaves at least one (the last space then joins the next word via alternative 2).
//  7. \s+: the whole run.
#include <cstddef>
#include <string_view>
#include <vector>

#include "tqlib/tokenizer/unicode.hpp"
#include "tqlib/tokenizer/utf8.hpp"

namespace tqlib::tokenizer {

class qwen2_pretokenizer {
 public:
  // Splits valid UTF-8 `text` into pieces (views into `text`).
  std::vector<std::string_view> split(std::string_view text) const {
    std::vector<std::string_view> pieces;
    split(text, pieces);
    return pieces;
  }

  void split(std::string_view text, std::vector<std::string_view>& pieces) const {
    load(text);
    const std::size_t n = chars_.size();
    std::size_t i = 0;
    while (i < n) {
      const std::size_t end = match_at(i);
      pieces.push_back(text.substr(offset(i), offset(end) - offset(i)));
      i = end;
    }
  }

 private:
  struct ch {
    char32_t cp;
    std::size_t offset;
    unicode::char_class cls;
  };
  mutable std::vector<ch> chars_;  // scratch, reused between calls
  mutable std::size_t text_size_ = 0;

  void load(std::string_view text) const {
    chars_.clear();
    text_size_ = text.size();
    std::size_t i = 0;
    while (i < text.size()) {
      const utf8::step st = utf8::decode_one(text.substr(i));
      const char32_t cp = st.status == utf8::step_status::ok ? st.code_point : 0xFFFD;
      chars_.push_back({cp, i, unicode::classify(cp)});
      i += st.length ? st.length : 1;
    }
  }

  std::size_t offset(std::size_t i) const { return i < chars_.size() ? chars_[i].offset : text_size_; }
  bool is(std::size_t i, unicode::char_class c) const { return i < chars_.size() && chars_[i].cls == c; }
  bool is_letter(std::size_t i) const { return is(i, unicode::char_class::letter); }
  bool is_symbol(std::size_t i) const { return is(i, unicode::char_class::other); }
  bool is_space(std::size_t i) const { return is(i, unicode::char_class::space); }
  bool is_newline(std::size_t i) const { return i < chars_.size() && (chars_[i].cp == '\r' || chars_[i].cp == '\n'); }
  static char32_t lower_ascii(char32_t c) { return (c >= 'A' && c <= 'Z') ? c + 32 : c; }
  char32_t lower_at(std::size_t i) const { return i < chars_.size() ? lower_ascii(chars_[i].cp) : 0; }

  std::size_t letters_from(std::size_t i) const {
    while (is_letter(i)) ++i;
    return i;
  }

  // Alternative 1; returns the end or 0 when it does not match.
  std::size_t contraction(std::size_t i) const {
    if (chars_[i].cp != '\'') return 0;
    const char32_t a = lower_at(i + 1);
    const char32_t b = lower_at(i + 2);
    if (a == 's' || a == 't' || a == 'm' || a == 'd') return i + 2;
    if ((a == 'r' && b == 'e') || (a == 'v' && b == 'e') || (a == 'l' && b == 'l')) return i + 3;
    return 0;
  }

  std::size_t match_at(std::size_t i) const {
    if (std::size_t e = contraction(i)) return e;
    const ch& c = chars_[i];
    if (c.cls == unicode::char_class::letter) return letters_from(i + 1);  // alternative 2
    const bool optional_prefix = c.cls != unicode::char_class::number && c.cp != '\r' && c.cp != '\n';
    if (optional_prefix && is_letter(i + 1)) return letters_from(i + 1);
    if (c.cls == unicode::char_class::number) return i + 1;  // alternative 3
    std::size_t s = i;                                        // alternative 4
    if (c.cp == ' ' && is_symbol(i + 1)) s = i + 1;
    if (is_symbol(s)) {
      while (is_symbol(s)) ++s;
      while (is_newline(s)) ++s;
      return s;
    }
    // c is whitespace here: alternatives 5, 6, 7.
    std::size_t run_end = i;
    std::size_t last_newline = 0;
    bool has_newline = false;
    while (is_space(run_end)) {
      if (is_newline(run_end)) {
        last_newline = run_end;
        has_newline = true;
      }
      ++run_end;
    }
    if (has_newline) return last_newline + 1;
    if (run_end == chars_.size()) return run_end;
    if (run_end - i >= 2) return run_end - 1;
    return run_end;
  }
};

}  // namespace tqlib::tokenizer
