#pragma once
// UTF-8 for the tokenizer: strict validation (Unicode Table 3-7: no overlongs, no surrogates,
// nothing above U+10FFFF), code point iteration, lossy repair with U+FFFD per maximal ill-formed
// subpart (the rule Rust's String::from_utf8_lossy and Hugging Face tokenizers' decode follow),
// and a streaming decoder that never emits half a character.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "tqlib/core/result.hpp"

namespace tqlib::tokenizer::utf8 {

inline constexpr std::string_view replacement = "\xEF\xBF\xBD";  // U+FFFD

enum class step_status { ok, invalid, incomplete };

struct step {
  step_status status;
  std::size_t length;    // ok: bytes of the character; invalid: bytes to replace (>= 1); incomplete: bytes seen
  char32_t code_point;   // valid only when status == ok
};

namespace detail {
// Allowed range of the second byte for a lead byte (Table 3-7); later bytes are always 80..BF.
inline bool second_byte_ok(unsigned char lead, unsigned char b) {
  switch (lead) {
    case 0xE0: return b >= 0xA0 && b <= 0xBF;
    case 0xED: return b >= 0x80 && b <= 0x9F;
    case 0xF0: return b >= 0x90 && b <= 0xBF;
    case 0xF4: return b >= 0x80 && b <= 0x8F;
    default: return b >= 0x80 && b <= 0xBF;
  }
}
inline std::size_t sequence_length(unsigned char lead) {
  if (lead < 0x80) return 1;
  if (lead >= 0xC2 && lead <= 0xDF) return 2;
  if (lead >= 0xE0 && lead <= 0xEF) return 3;
  if (lead >= 0xF0 && lead <= 0xF4) return 4;
  return 0;  // continuation byte, C0, C1, F5..FF: never valid as a lead
}
}  // namespace detail

// Decodes one character at the start of `s` (which must not be empty).
inline step decode_one(std::string_view s) {
  const auto* p = reinterpret_cast<const unsigned char*>(s.data());
  const unsigned char lead = p[0];
  const std::size_t need = detail::sequence_length(lead);
  if (need == 1) return {step_status::ok, 1, char32_t(lead)};
  if (need == 0) return {step_status::invalid, 1, 0};
  char32_t cp = lead & (0xFF >> (need + 1));
  for (std::size_t i = 1; i < need; ++i) {
    if (i >= s.size()) return {step_status::incomplete, i, 0};
    const unsigned char b = p[i];
    const bool ok = i == 1 ? detail::second_byte_ok(lead, b) : (b >= 0x80 && b <= 0xBF);
    if (!ok) return {step_status::invalid, i, 0};
    cp = (cp << 6) | (b & 0x3F);
  }
  return {step_status::ok, need, cp};
}

// Offset of the first byte that is not part of well-formed UTF-8, or npos when all of it is.
inline std::size_t first_invalid(std::string_view s) {
  std::size_t i = 0;
  while (i < s.size()) {
    if (static_cast<unsigned char>(s[i]) < 0x80) {
      ++i;
      continue;
    }
    const step st = decode_one(s.substr(i));
    if (st.status != step_status::ok) return i;
    i += st.length;
  }
  return std::string_view::npos;
}

inline bool is_valid(std::string_view s) { return first_invalid(s) == std::string_view::npos; }

// Ok, or an error naming the byte offset and value of the first ill-formed byte.
inline result<void> validate(std::string_view s, std::string_view what = "text") {
  const std::size_t at = first_invalid(s);
  if (at == std::string_view::npos) return {};
  static constexpr char hex[] = "0123456789ABCDEF";
  const auto b = static_cast<unsigned char>(s[at]);
  std::string msg(what);
  msg += " is not valid UTF-8: ill-formed sequence at byte offset " + std::to_string(at) + " (byte 0x";
  msg += hex[b >> 4];
  msg += hex[b & 15];
  msg += ')';
  return make_error(errc::invalid_argument, std::move(msg));
}

inline void append(std::string& out, char32_t cp) {
  if (cp < 0x80) {
    out += char(cp);
  } else if (cp < 0x800) {
    out += char(0xC0 | (cp >> 6));
    out += char(0x80 | (cp & 0x3F));
  } else if (cp < 0x10000) {
    out += char(0xE0 | (cp >> 12));
    out += char(0x80 | ((cp >> 6) & 0x3F));
    out += char(0x80 | (cp & 0x3F));
  } else {
    out += char(0xF0 | (cp >> 18));
    out += char(0x80 | ((cp >> 12) & 0x3F));
    out += char(0x80 | ((cp >> 6) & 0x3F));
    out += char(0x80 | (cp & 0x3F));
  }
}

// Calls f(code_point) for each character of valid UTF-8 `s` (validate first).
template <class F>
void for_each_code_point(std::string_view s, F&& f) {
  std::size_t i = 0;
  while (i < s.size()) {
    const step st = decode_one(s.substr(i));
    f(st.code_point);
    i += st.length ? st.length : 1;
  }
}

// Well-formed text with each maximal ill-formed subpart replaced by one U+FFFD.
inline std::string to_valid_lossy(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  std::size_t i = 0;
  while (i < s.size()) {
    const step st = decode_one(s.substr(i));
    if (st.status == step_status::ok) {
      out.append(s.substr(i, st.length));
    } else {
      out.append(replacement);
    }
    i += st.length;
  }
  return out;
}

// Streaming decoder: bytes go in as tokens arrive; only whole characters come out. Bytes that
// may still become a character are held back; ill-formed ones become U+FFFD exactly as
// to_valid_lossy would replace them in the concatenated stream.
class stream_decoder {
 public:
  // Appends the newly completed text to `out`.
  void push(std::string_view bytes, std::string& out) {
    pending_.append(bytes);
    std::size_t i = 0;
    while (i < pending_.size()) {
      const step st = decode_one(std::string_view(pending_).substr(i));
      if (st.status == step_status::incomplete) break;
      if (st.status == step_status::ok) {
        out.append(pending_, i, st.length);
      } else {
        out.append(replacement);
      }
      i += st.length;
    }
    pending_.erase(0, i);
  }
  std::string push(std::string_view bytes) {
    std::string out;
    push(bytes, out);
    return out;
  }
  // End of stream: a held-back partial character becomes U+FFFD.
  std::string finish() {
    std::string out = pending_.empty() ? std::string() : std::string(replacement);
    pending_.clear();
    return out;
  }
  std::size_t pending_bytes() const { return pending_.size(); }

 private:
  std::string pending_;
};

}  // namespace tqlib::tokenizer::utf8
