#pragma once
// GPT-2's byte-level alphabet: every byte maps to a printable code point so BPE tokens are text.
// Bytes 0x21..0x7E, 0xA1..0xAC and 0xAE..0xFF map to themselves; the other 68 bytes map, in
// order, to U+0100, U+0101, ... (so ' ' is U+0120 'Ġ' and '\n' is U+010A 'Ċ').
#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "tqlib/tokenizer/utf8.hpp"

namespace tqlib::tokenizer::byte_level {

struct tables {
  std::array<char32_t, 256> byte_to_cp{};
  std::array<std::string, 256> byte_to_utf8{};  // UTF-8 of byte_to_cp, for building strings fast
  std::array<std::int16_t, 324> cp_to_byte{};   // -1 where the code point is not in the alphabet

  tables() {
    cp_to_byte.fill(-1);
    char32_t next = 256;
    for (int b = 0; b < 256; ++b) {
      const bool printable = (b >= 0x21 && b <= 0x7E) || (b >= 0xA1 && b <= 0xAC) || (b >= 0xAE);
      byte_to_cp[b] = printable ? char32_t(b) : next++;
      utf8::append(byte_to_utf8[b], byte_to_cp[b]);
      cp_to_byte[byte_to_cp[b]] = static_cast<std::int16_t>(b);
    }
  }
};

inline const tables& get_tables() {
  static const tables t;
  return t;
}

// Raw bytes -> byte-level text.
inline void encode(std::string_view bytes, std::string& out) {
  const tables& t = get_tables();
  for (char c : bytes) out += t.byte_to_utf8[static_cast<unsigned char>(c)];
}
inline std::string encode(std::string_view bytes) {
  std::string out;
  out.reserve(bytes.size() * 2);
  encode(bytes, out);
  return out;
}

inline std::optional<unsigned char> byte_of(char32_t cp) {
  const tables& t = get_tables();
  if (cp >= t.cp_to_byte.size() || t.cp_to_byte[cp] < 0) return std::nullopt;
  return static_cast<unsigned char>(t.cp_to_byte[cp]);
}

// Byte-level text -> raw bytes, as Hugging Face's ByteLevel decoder does per token: when every
// character is in the alphabet the mapped bytes, otherwise the token's own UTF-8 unchanged.
inline std::string decode_token(std::string_view token) {
  std::string out;
  out.reserve(token.size());
  std::size_t i = 0;
  while (i < token.size()) {
    const utf8::step st = utf8::decode_one(token.substr(i));
    if (st.status != utf8::step_status::ok) return std::string(token);
    const auto b = byte_of(st.code_point);
    if (!b) return std::string(token);
    out += static_cast<char>(*b);
    i += st.length;
  }
  return out;
}

}  // namespace tqlib::tokenizer::byte_level
