#pragma once
// A small, strict JSON scanner for the two big parts of tokenizer files (a 151k-entry vocabulary
// object and a 151k-entry merges array), which nlohmann's DOM builds ~10x slower than they can be
// read. It only says "malformed" (false); callers then re-parse with nlohmann to report where and
// why, so error messages do not depend on this code.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "tqlib/tokenizer/utf8.hpp"

namespace tqlib::tokenizer::json_scan {

class scanner {
 public:
  explicit scanner(std::string_view s) : s_(s) {}

  std::size_t pos() const { return i_; }
  bool at_end() {
    skip_ws();
    return i_ == s_.size();
  }
  // Consumes `c` (after whitespace) if it is next.
  bool eat(char c) {
    skip_ws();
    if (i_ < s_.size() && s_[i_] == c) {
      ++i_;
      return true;
    }
    return false;
  }
  bool peek(char c) {
    skip_ws();
    return i_ < s_.size() && s_[i_] == c;
  }

  // A JSON string into `out` (unescaped). Input must already be valid UTF-8.
  bool string(std::string& out) {
    out.clear();
    if (!eat('"')) return false;
    while (i_ < s_.size()) {
      const std::size_t start = i_;
      while (i_ < s_.size() && s_[i_] != '"' && s_[i_] != '\\' && static_cast<unsigned char>(s_[i_]) >= 0x20) ++i_;
      out.append(s_.data() + start, i_ - start);
      if (i_ >= s_.size()) return false;
      const char c = s_[i_++];
      if (c == '"') return true;
      if (c != '\\') return false;  // control character
      if (!escape(out)) return false;
    }
    return false;
  }

  bool unsigned_integer(std::uint64_t& v) {
    skip_ws();
    if (i_ >= s_.size() || s_[i_] < '0' || s_[i_] > '9') return false;
    if (s_[i_] == '0' && i_ + 1 < s_.size() && s_[i_ + 1] >= '0' && s_[i_ + 1] <= '9') return false;
    v = 0;
    std::size_t digits = 0;
    while (i_ < s_.size() && s_[i_] >= '0' && s_[i_] <= '9') {
      v = v * 10 + std::uint64_t(s_[i_++] - '0');
      if (++digits > 18) return false;
    }
    return i_ >= s_.size() || (s_[i_] != '.' && s_[i_] != 'e' && s_[i_] != 'E');
  }

  // Skips any value; `raw` receives its text.
  bool skip_value(std::string_view& raw, int depth = 0) {
    skip_ws();
    const std::size_t start = i_;
    if (!skip(depth)) return false;
    raw = s_.substr(start, i_ - start);
    return true;
  }

 private:
  std::string_view s_;
  std::size_t i_ = 0;
  std::string scratch_;

  void skip_ws() {
    while (i_ < s_.size() && (s_[i_] == ' ' || s_[i_] == '\n' || s_[i_] == '\r' || s_[i_] == '\t')) ++i_;
  }

  bool hex4(std::uint32_t& v) {
    if (i_ + 4 > s_.size()) return false;
    v = 0;
    for (int k = 0; k < 4; ++k) {
      const char c = s_[i_++];
      v <<= 4;
      if (c >= '0' && c <= '9') v |= std::uint32_t(c - '0');
      else if (c >= 'a' && c <= 'f') v |= std::uint32_t(c - 'a' + 10);
      else if (c >= 'A' && c <= 'F') v |= std::uint32_t(c - 'A' + 10);
      else return false;
    }
    return true;
  }

  bool escape(std::string& out) {
    if (i_ >= s_.size()) return false;
    switch (s_[i_++]) {
      case '"': out += '"'; return true;
      case '\\': out += '\\'; return true;
      case '/': out += '/'; return true;
      case 'b': out += '\b'; return true;
      case 'f': out += '\f'; return true;
      case 'n': out += '\n'; return true;
      case 'r': out += '\r'; return true;
      case 't': out += '\t'; return true;
      case 'u': {
        std::uint32_t cp = 0;
        if (!hex4(cp)) return false;
        if (cp >= 0xDC00 && cp <= 0xDFFF) return false;
        if (cp >= 0xD800 && cp <= 0xDBFF) {
          std::uint32_t lo = 0;
          if (i_ + 2 > s_.size() || s_[i_] != '\\' || s_[i_ + 1] != 'u') return false;
          i_ += 2;
          if (!hex4(lo) || lo < 0xDC00 || lo > 0xDFFF) return false;
          cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
        }
        utf8::append(out, char32_t(cp));
        return true;
      }
      default: return false;
    }
  }

  bool literal(std::string_view w) {
    if (s_.substr(i_, w.size()) != w) return false;
    i_ += w.size();
    return true;
  }

  bool number() {
    const std::size_t start = i_;
    if (i_ < s_.size() && s_[i_] == '-') ++i_;
    const std::size_t int_start = i_;
    while (i_ < s_.size() && s_[i_] >= '0' && s_[i_] <= '9') ++i_;
    if (i_ == int_start || (s_[int_start] == '0' && i_ - int_start > 1)) return false;
    if (i_ < s_.size() && s_[i_] == '.') {
      const std::size_t f = ++i_;
      while (i_ < s_.size() && s_[i_] >= '0' && s_[i_] <= '9') ++i_;
      if (i_ == f) return false;
    }
    if (i_ < s_.size() && (s_[i_] == 'e' || s_[i_] == 'E')) {
      ++i_;
      if (i_ < s_.size() && (s_[i_] == '+' || s_[i_] == '-')) ++i_;
      const std::size_t e = i_;
      while (i_ < s_.size() && s_[i_] >= '0' && s_[i_] <= '9') ++i_;
      if (i_ == e) return false;
    }
    return i_ > start;
  }

  bool skip(int depth) {
    if (depth > 256 || i_ >= s_.size()) return false;
    const char c = s_[i_];
    if (c == '"') return string(scratch_);
    if (c == 't') return literal("true");
    if (c == 'f') return literal("false");
    if (c == 'n') return literal("null");
    if (c == '{' || c == '[') {
      const char close = c == '{' ? '}' : ']';
      ++i_;
      if (eat(close)) return true;
      do {
        if (c == '{') {
          skip_ws();
          if (!string(scratch_) || !eat(':')) return false;
        }
        skip_ws();
        if (!skip(depth + 1)) return false;
      } while (eat(','));
      return eat(close);
    }
    return number();
  }
};

}  // namespace tqlib::tokenizer::json_scan
