#pragma once
// GGUF, the model file format of llama.cpp / ggml, versions 2 and 3: a validated, zero-copy view
// over a byte span (a memory map natively, an ArrayBuffer in the browser). The format is specified
// in ggml's docs/gguf.md (https://github.com/ggml-org/ggml/blob/master/docs/gguf.md):
//
//   u32 magic "GGUF" | u32 version | u64 tensor_count | u64 metadata_kv_count
//   metadata_kv_count x { string key | u32 value_type | value }
//   tensor_count      x { string name | u32 n_dims | u64 ne[n_dims] | u32 ggml_type | u64 offset }
//   zero padding to general.alignment (default 32) | tensor data, offsets relative to its start
//
//   string = u64 byte length + UTF-8 bytes (no terminator)
//   array  = u32 element type + u64 element count + the elements (arrays may nest)
//
// Everything is little-endian: version 3 added big-endian files, which carry the same magic bytes
// and byte-swapped numbers; they are recognised by their version field and refused by name.
// Version 1 (32-bit counts) is refused as llama.cpp itself refuses it.
//
// parse() checks the whole structure before returning, touching no tensor bytes: every length and
// count is bounded by the bytes that remain before anything is allocated for it, products are
// overflow-checked, keys and tensor names are non-empty UTF-8 and unique, arrays nest at most
// max_array_depth deep, bools are 0 or 1, general.alignment is a uint32 power of two, and each
// tensor's byte size follows from its ggml type's block size and bytes per block, with ne[0] a
// whole number of blocks, its offset aligned, its bytes inside the file and overlapping no other
// tensor's. Messages name the key, tensor or file offset at fault.
//
// Dimensions: ggml lists ne[0] first, the innermost (fastest varying, the row length). A
// tensor_view has PyTorch order, the reverse: a 2-D ggml tensor ne = {cols, rows} is shape
// {rows, cols}, which is how tqlib's codecs lay a matrix out row by row.
#include <algorithm>
#include <array>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <map>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "tqlib/core/bytes.hpp"
#include "tqlib/core/result.hpp"
#include "tqlib/format/mapped_file.hpp"
#include "tqlib/format/tensor_layout.hpp"
#include "tqlib/format/tensor_source.hpp"
#include "tqlib/tokenizer/utf8.hpp"

namespace tqlib::format::gguf {

inline constexpr std::array<char, 4> magic = {'G', 'G', 'U', 'F'};
inline constexpr std::uint32_t default_alignment = 32;
inline constexpr std::uint32_t max_dims = 4;             // GGML_MAX_DIMS
inline constexpr std::size_t max_array_depth = 8;        // an array holds arrays at most this deep
inline constexpr std::size_t max_key_bytes = 65535;      // the spec: keys are at most 2^16 - 1 bytes
inline constexpr std::size_t header_bytes = 24;          // magic, version, two u64 counts

enum class value_type : std::uint32_t {
  u8 = 0, i8 = 1, u16 = 2, i16 = 3, u32 = 4, i32 = 5, f32 = 6, boolean = 7,
  string = 8, array = 9, u64 = 10, i64 = 11, f64 = 12,
};

inline constexpr bool is_known(std::uint32_t t) noexcept { return t <= 12; }

inline std::string type_name(value_type t) {
  switch (t) {
    case value_type::u8: return "uint8";
    case value_type::i8: return "int8";
    case value_type::u16: return "uint16";
    case value_type::i16: return "int16";
    case value_type::u32: return "uint32";
    case value_type::i32: return "int32";
    case value_type::f32: return "float32";
    case value_type::boolean: return "bool";
    case value_type::string: return "string";
    case value_type::array: return "array";
    case value_type::u64: return "uint64";
    case value_type::i64: return "int64";
    case value_type::f64: return "float64";
  }
  return "type " + std::to_string(std::uint32_t(t));
}

// Bytes of a fixed-size value; 0 for strings and arrays, whose size is in the data.
inline constexpr std::size_t fixed_size(value_type t) noexcept {
  switch (t) {
    case value_type::u8: case value_type::i8: case value_type::boolean: return 1;
    case value_type::u16: case value_type::i16: return 2;
    case value_type::u32: case value_type::i32: case value_type::f32: return 4;
    case value_type::u64: case value_type::i64: case value_type::f64: return 8;
    case value_type::string: case value_type::array: return 0;
  }
  return 0;
}

// The smallest encoding of one value of type t (a string is at least its u64 length, an array at
// least its u32 type and u64 count): what bounds a claimed count by the bytes that remain.
inline constexpr std::size_t min_size(value_type t) noexcept {
  return t == value_type::string ? 8 : t == value_type::array ? 12 : fixed_size(t);
}

// --- ggml tensor types ---
// Block size (elements per block) and bytes per block of every ggml type, as ggml's type traits
// and gguf-py's GGML_QUANT_SIZES list them (ggml.h enum ggml_type; QK_K = 256). `codec` is the
// tqlib codec whose bytes are the same blocks, served in place.
struct ggml_type_info {
  std::uint32_t id;
  std::string_view name;
  std::uint32_t block_size;
  std::uint32_t type_size;
  std::optional<codec::codec_id> codec;
};

inline constexpr ggml_type_info ggml_types[] = {
    {0, "F32", 1, 4, codec::codec_id::f32},
    {1, "F16", 1, 2, codec::codec_id::f16},
    {2, "Q4_0", 32, 18, codec::codec_id::q4_0},   // f16 d + 16 bytes of nibbles
    {3, "Q4_1", 32, 20, codec::codec_id::q4_1},   // f16 d, f16 m + 16
    {6, "Q5_0", 32, 22, codec::codec_id::q5_0},   // f16 d + 4 (qh) + 16
    {7, "Q5_1", 32, 24, codec::codec_id::q5_1},   // f16 d, f16 m + 4 + 16
    {8, "Q8_0", 32, 34, codec::codec_id::q8},     // f16 d + 32 int8
    {9, "Q8_1", 32, 36, std::nullopt},            // f16 d, f16 s + 32
    {10, "Q2_K", 256, 84, std::nullopt},          // 2 + 2 + 16 + 64
    {11, "Q3_K", 256, 110, std::nullopt},         // 2 + 64 + 32 + 12
    {12, "Q4_K", 256, 144, codec::codec_id::q4_k},  // 2 + 2 + 128 + 12
    {13, "Q5_K", 256, 176, codec::codec_id::q5_k},  // 2 + 2 + 128 + 32 + 12
    {14, "Q6_K", 256, 210, codec::codec_id::q6_k},  // 2 + 128 + 64 + 16
    {15, "Q8_K", 256, 292, std::nullopt},         // 4 + 256 + 32
    {16, "IQ2_XXS", 256, 66, std::nullopt},       // 2 + 64
    {17, "IQ2_XS", 256, 74, std::nullopt},        // 2 + 64 + 8
    {18, "IQ3_XXS", 256, 98, std::nullopt},       // 2 + 64 + 32
    {19, "IQ1_S", 256, 50, std::nullopt},         // 2 + 32 + 16
    {20, "IQ4_NL", 32, 18, std::nullopt},         // 2 + 16
    {21, "IQ3_S", 256, 110, std::nullopt},        // 2 + 64 + 32 + 8 + 4
    {22, "IQ2_S", 256, 82, std::nullopt},         // 2 + 64 + 16
    {23, "IQ4_XS", 256, 136, std::nullopt},       // 2 + 2 + 128 + 4
    {24, "I8", 1, 1, std::nullopt},
    {25, "I16", 1, 2, std::nullopt},
    {26, "I32", 1, 4, std::nullopt},
    {27, "I64", 1, 8, std::nullopt},
    {28, "F64", 1, 8, std::nullopt},
    {29, "IQ1_M", 256, 56, std::nullopt},         // 32 + 16 + 8
    {30, "BF16", 1, 2, codec::codec_id::bf16},
    {34, "TQ1_0", 256, 54, codec::codec_id::tq1_0},  // 48 + 4 + f16 d
    {35, "TQ2_0", 256, 66, codec::codec_id::tq2_0},  // 64 + f16 d
    {39, "MXFP4", 32, 17, std::nullopt},          // e8m0 scale + 16
    {40, "NVFP4", 64, 36, std::nullopt},          // 4 e4m3 scales + 32
    {41, "Q1_0", 128, 18, std::nullopt},          // 2 + 16
    {42, "Q2_0", 64, 18, std::nullopt},           // 2 + 16
};

// Ids ggml once had and removed; files using them no longer load anywhere.
struct removed_ggml_type {
  std::uint32_t id;
  std::string_view name;
};
inline constexpr removed_ggml_type removed_ggml_types[] = {
    {4, "Q4_2"}, {5, "Q4_3"}, {31, "Q4_0_4_4"}, {32, "Q4_0_4_8"}, {33, "Q4_0_8_8"},
    {36, "IQ4_NL_4_4"}, {37, "IQ4_NL_4_8"}, {38, "IQ4_NL_8_8"},
};

inline const ggml_type_info* find_ggml_type(std::uint32_t id) noexcept {
  for (const auto& t : ggml_types)
    if (t.id == id) return &t;
  return nullptr;
}

inline const ggml_type_info* find_ggml_type(std::string_view name) noexcept {
  for (const auto& t : ggml_types)
    if (t.name == name) return &t;
  return nullptr;
}

// The ggml type whose blocks are this codec's bytes, or null.
inline const ggml_type_info* ggml_type_of(codec::codec_id c) noexcept {
  for (const auto& t : ggml_types)
    if (t.codec && *t.codec == c) return &t;
  return nullptr;
}

inline std::string ggml_type_text(std::uint32_t id) {
  if (const auto* t = find_ggml_type(id)) return std::string(t->name);
  for (const auto& r : removed_ggml_types)
    if (r.id == id) return std::string(r.name) + " (" + std::to_string(id) + ")";
  return std::to_string(id);
}

// --- metadata values ---
// One value, pointing into the file. Scalars: payload holds the little-endian bytes. Strings: the
// text. Arrays: elem and count, and payload holds the elements' encoding.
struct value {
  value_type type = value_type::u8;
  value_type elem = value_type::u8;  // arrays only
  std::uint64_t count = 1;           // arrays: number of elements
  std::span<const std::byte> payload;
  std::uint64_t offset = 0;  // file offset of the payload

  template <class T>
  T scalar() const noexcept {
    return load_le<T>(payload.data());
  }
  std::string_view text() const noexcept { return {reinterpret_cast<const char*>(payload.data()), payload.size()}; }
  std::string type_text() const { return type == value_type::array ? "array of " + type_name(elem) : type_name(type); }
};

struct kv {
  std::string_view key;
  value val;
  std::uint64_t offset = 0;  // file offset of the key
};

struct tensor_info {
  std::string_view name;
  std::uint32_t n_dims = 0;
  std::array<std::uint64_t, max_dims> ne{1, 1, 1, 1};  // ne[0] innermost; unused dims are 1
  const ggml_type_info* type = nullptr;
  std::uint64_t offset = 0;       // within the data section
  std::uint64_t size = 0;         // bytes
  std::uint64_t info_offset = 0;  // file offset of this tensor's info record

  std::uint64_t elements() const noexcept { return ne[0] * ne[1] * ne[2] * ne[3]; }  // checked at parse
  // PyTorch order (outermost first): ne reversed over n_dims. A 0-dim tensor is one element.
  std::vector<std::size_t> shape() const {
    std::vector<std::size_t> s;
    for (std::uint32_t i = n_dims; i-- > 0;) s.push_back(std::size_t(ne[i]));
    if (s.empty()) s.push_back(1);
    return s;
  }
};

namespace detail {

inline std::string hex32(std::uint32_t v) {
  static constexpr char digits[] = "0123456789abcdef";
  std::string s = "0x";
  for (int i = 7; i >= 0; --i) s += digits[(v >> (4 * i)) & 15];
  return s;
}

inline std::uint32_t byteswap32(std::uint32_t v) noexcept {
  return (v >> 24) | ((v >> 8) & 0xff00u) | ((v << 8) & 0xff0000u) | (v << 24);
}

inline std::string quoted(std::string_view s) {
  // Names come from the file: show at most 200 bytes of them.
  std::string out = "'";
  out.append(s.substr(0, 200));
  if (s.size() > 200) out += "...";
  return out + "'";
}

// A string's text: u64 length, then that many bytes (checked against what remains first).
inline result<std::string_view> read_string(byte_reader& r, const std::string& what) {
  const std::size_t at = r.offset();
  auto n = r.read<std::uint64_t>(what + " length");
  if (!n) return std::move(n).err();
  if (*n > r.remaining())
    return make_error(errc::truncated, what + ": string length " + std::to_string(*n) + " at offset " + std::to_string(at) +
                                           " runs past the end of the file (" + std::to_string(r.remaining()) + " bytes left)");
  auto b = r.take(std::size_t(*n), what);
  if (!b) return std::move(b).err();
  return std::string_view(reinterpret_cast<const char*>(b->data()), b->size());
}

// Reads the payload of one value of type t (the type field already read). `where` names the key.
inline result<value> read_value(byte_reader& r, value_type t, const std::string& where, std::size_t depth) {
  value v;
  v.type = t;
  const std::size_t start = r.offset();
  if (t == value_type::string) {
    auto s = read_string(r, where);
    if (!s) return std::move(s).err();
    v.payload = as_bytes_of(*s);
    v.offset = start + 8;
    return v;
  }
  if (t != value_type::array) {
    auto b = r.take(fixed_size(t), where + " (" + type_name(t) + ")");
    if (!b) return std::move(b).err();
    if (t == value_type::boolean && std::uint8_t((*b)[0]) > 1)
      return make_error(errc::corrupt, where + ": bool at offset " + std::to_string(start) + " is " +
                                           std::to_string(std::uint8_t((*b)[0])) + ", not 0 or 1");
    v.payload = *b;
    v.offset = start;
    return v;
  }
  if (depth >= max_array_depth)
    return make_error(errc::corrupt, where + ": arrays nest deeper than " + std::to_string(max_array_depth) + " levels at offset " +
                                         std::to_string(start));
  auto et = r.read<std::uint32_t>(where + " array element type");
  if (!et) return std::move(et).err();
  if (!is_known(*et))
    return make_error(errc::corrupt, where + ": unknown array element type " + std::to_string(*et) + " at offset " + std::to_string(start));
  v.elem = value_type(*et);
  auto n = r.read<std::uint64_t>(where + " array length");
  if (!n) return std::move(n).err();
  v.count = *n;
  // Each element takes at least min_size bytes, so a count the rest of the file cannot hold is
  // refused here, before any element is read or anything is allocated for it.
  if (*n > r.remaining() / min_size(v.elem))
    return make_error(errc::corrupt, where + ": array of " + std::to_string(*n) + " " + type_name(v.elem) + " at offset " +
                                         std::to_string(start) + " cannot fit in the " + std::to_string(r.remaining()) +
                                         " bytes left in the file");
  const std::size_t elems_at = r.offset();
  if (const std::size_t fs = fixed_size(v.elem)) {
    auto b = r.take(std::size_t(*n) * fs, where);
    if (!b) return std::move(b).err();
    if (v.elem == value_type::boolean)
      for (std::size_t i = 0; i < b->size(); ++i)
        if (std::uint8_t((*b)[i]) > 1)
          return make_error(errc::corrupt, where + ": bool element " + std::to_string(i) + " at offset " + std::to_string(elems_at + i) +
                                               " is " + std::to_string(std::uint8_t((*b)[i])) + ", not 0 or 1");
  } else {
    for (std::uint64_t i = 0; i < *n; ++i) {
      if (v.elem == value_type::string) {
        const std::size_t at = r.offset();
        auto len = r.read<std::uint64_t>(where + " element length");
        if (!len) return std::move(len).err();
        if (*len > r.remaining())
          return make_error(errc::truncated, where + ": string element " + std::to_string(i) + " length " + std::to_string(*len) +
                                                 " at offset " + std::to_string(at) + " runs past the end of the file (" +
                                                 std::to_string(r.remaining()) + " bytes left)");
        (void)r.take(std::size_t(*len), where);
      } else {
        auto e = read_value(r, value_type::array, where + "[" + std::to_string(i) + "]", depth + 1);
        if (!e) return std::move(e).err();
      }
    }
  }
  v.payload = r.bytes().subspan(elems_at, r.offset() - elems_at);
  v.offset = elems_at;
  return v;
}

inline result<void> check_text(std::string_view s, const std::string& what, std::size_t offset) {
  if (s.empty()) return make_error(errc::corrupt, what + " at offset " + std::to_string(offset) + " is empty");
  const std::size_t bad = tokenizer::utf8::first_invalid(s);
  if (bad != std::string_view::npos)
    return make_error(errc::corrupt, what + " at offset " + std::to_string(offset) + " is not valid UTF-8 (ill-formed byte " +
                                         std::to_string(unsigned(static_cast<unsigned char>(s[bad]))) + " at its byte " +
                                         std::to_string(bad) + ")");
  return {};
}

}  // namespace detail

// The elements of an array value (nested arrays included), each a value into the same file.
inline std::vector<value> elements(const value& a) {
  std::vector<value> out;
  if (a.type != value_type::array) return out;
  byte_reader r(a.payload);
  out.reserve(std::size_t(a.count));
  const std::string where = "array element";
  for (std::uint64_t i = 0; i < a.count; ++i) {
    // The array was validated when the file was parsed: reading it again cannot fail.
    auto e = detail::read_value(r, a.elem, where, 0);
    if (!e) break;
    e->offset += a.offset;
    out.push_back(*e);
  }
  return out;
}

class view final : public tensor_source {
 public:
  static result<view> parse(std::span<const std::byte> file) {
    view v;
    v.file_ = file;
    TQLIB_TRY(v.parse_all());
    return v;
  }

  std::uint32_t version() const noexcept { return version_; }
  std::uint32_t alignment() const noexcept { return alignment_; }
  std::uint64_t data_offset() const noexcept { return data_start_; }
  std::span<const std::byte> file_bytes() const noexcept { return file_; }

  // --- metadata ---
  const std::vector<kv>& metadata() const noexcept { return kvs_; }
  const value* find(std::string_view key) const {
    auto it = key_index_.find(key);
    return it == key_index_.end() ? nullptr : &kvs_[it->second].val;
  }
  bool has(std::string_view key) const { return find(key) != nullptr; }

  result<std::string_view> get_string(std::string_view key) const {
    auto v = typed(key, value_type::string);
    if (!v) return std::move(v).err();
    return (*v)->text();
  }
  result<std::uint8_t> get_u8(std::string_view key) const { return get_scalar<std::uint8_t>(key, value_type::u8); }
  result<std::int8_t> get_i8(std::string_view key) const { return get_scalar<std::int8_t>(key, value_type::i8); }
  result<std::uint16_t> get_u16(std::string_view key) const { return get_scalar<std::uint16_t>(key, value_type::u16); }
  result<std::int16_t> get_i16(std::string_view key) const { return get_scalar<std::int16_t>(key, value_type::i16); }
  result<std::uint32_t> get_u32(std::string_view key) const { return get_scalar<std::uint32_t>(key, value_type::u32); }
  result<std::int32_t> get_i32(std::string_view key) const { return get_scalar<std::int32_t>(key, value_type::i32); }
  result<std::uint64_t> get_u64(std::string_view key) const { return get_scalar<std::uint64_t>(key, value_type::u64); }
  result<std::int64_t> get_i64(std::string_view key) const { return get_scalar<std::int64_t>(key, value_type::i64); }
  result<float> get_f32(std::string_view key) const { return get_scalar<float>(key, value_type::f32); }
  result<double> get_f64(std::string_view key) const { return get_scalar<double>(key, value_type::f64); }
  result<bool> get_bool(std::string_view key) const {
    auto b = get_scalar<std::uint8_t>(key, value_type::boolean);
    if (!b) return std::move(b).err();
    return *b != 0;
  }

  // Any integer type holding a non-negative value (converters write counts as uint32 or uint64).
  result<std::uint64_t> get_uint(std::string_view key) const {
    const auto* v = find(key);
    if (!v) return missing(key);
    auto i = integer_of(*v, key);
    if (!i) return std::move(i).err();
    if (*i < 0) return make_error(errc::corrupt, "GGUF key '" + std::string(key) + "' is " + std::to_string(*i) + ", expected >= 0");
    return std::uint64_t(*i);
  }
  // float32 or float64.
  result<double> get_float(std::string_view key) const {
    const auto* v = find(key);
    if (!v) return missing(key);
    if (v->type == value_type::f32) return double(v->scalar<float>());
    if (v->type == value_type::f64) return v->scalar<double>();
    return mismatch(key, *v, "float32 or float64");
  }

  // Arrays. Strings point into the file; numbers are decoded (file bytes need not be aligned).
  result<std::vector<std::string_view>> get_strings(std::string_view key) const {
    auto v = typed_array(key, value_type::string);
    if (!v) return std::move(v).err();
    std::vector<std::string_view> out;
    out.reserve(std::size_t((*v)->count));
    byte_reader r((*v)->payload);
    for (std::uint64_t i = 0; i < (*v)->count; ++i) {
      const auto n = std::size_t(*r.read<std::uint64_t>("element"));  // validated at parse
      auto b = *r.take(n, "element");
      out.emplace_back(reinterpret_cast<const char*>(b.data()), b.size());
    }
    return out;
  }
  // Any integer element type, as int64 (uint64 elements above INT64_MAX are an error).
  result<std::vector<std::int64_t>> get_ints(std::string_view key) const {
    const auto* v = find(key);
    if (!v) return missing(key);
    if (v->type != value_type::array || fixed_size(v->elem) == 0 || v->elem == value_type::f32 || v->elem == value_type::f64 ||
        v->elem == value_type::boolean)
      return mismatch(key, *v, "an array of integers");
    std::vector<std::int64_t> out(std::size_t(v->count));
    const std::size_t w = fixed_size(v->elem);
    for (std::size_t i = 0; i < out.size(); ++i) {
      value e;
      e.type = v->elem;
      e.payload = v->payload.subspan(i * w, w);
      auto x = integer_of(e, key);
      if (!x) return make_error(x.err().code, x.err().message + " (element " + std::to_string(i) + ")");
      out[i] = *x;
    }
    return out;
  }
  result<std::vector<float>> get_f32s(std::string_view key) const {
    auto v = typed_array(key, value_type::f32);
    if (!v) return std::move(v).err();
    std::vector<float> out(std::size_t((*v)->count));
    for (std::size_t i = 0; i < out.size(); ++i) out[i] = load_le<float>((*v)->payload.data() + 4 * i);
    return out;
  }
  // The array's value, for other element types and nested arrays (see elements()).
  result<const value*> get_array(std::string_view key) const {
    const auto* v = find(key);
    if (!v) return missing(key);
    if (v->type != value_type::array) return mismatch(key, *v, "an array");
    return v;
  }

  // --- tensors ---
  const std::vector<tensor_info>& tensors() const noexcept { return tensors_; }
  const tensor_info* find_tensor(std::string_view name) const {
    auto it = tensor_index_.find(name);
    return it == tensor_index_.end() ? nullptr : &tensors_[it->second];
  }
  std::span<const std::byte> bytes(const tensor_info& t) const {
    return file_.subspan(std::size_t(data_start_ + t.offset), std::size_t(t.size));
  }
  // The tqlib codec that holds this tensor's ggml blocks as they are.
  static result<codec::codec_id> codec_of(const tensor_info& t) {
    if (!t.type->codec)
      return make_error(errc::unsupported, "unsupported ggml type " + std::string(t.type->name) + " for tensor " +
                                               detail::quoted(t.name) + " (tqlib reads F32, F16, BF16, Q8_0, Q4_0, TQ1_0 and TQ2_0)");
    return *t.type->codec;
  }

  // --- tensor_source ---
  std::vector<std::string> tensor_names() const override {
    std::vector<std::string> out;
    out.reserve(tensors_.size());
    for (const auto& t : tensors_) out.emplace_back(t.name);
    return out;
  }
  // A zero-copy view, its bytes checked by the codec (finite scales, codes the packing can hold).
  result<std::optional<tensor_view>> tensor(std::string_view name) const override {
    const auto* t = find_tensor(name);
    if (!t) return std::optional<tensor_view>();
    auto c = codec_of(*t);
    if (!c) return std::move(c).err();
    tensor_view tv;
    tv.name = std::string(t->name);
    tv.codec = *c;
    tv.shape = t->shape();
    tv.bytes = bytes(*t);
    const std::string what = "GGUF tensor " + detail::quoted(t->name);
    std::vector<std::uint64_t> shape64(tv.shape.begin(), tv.shape.end());
    auto d = dims_of(shape64, what);
    if (!d) return std::move(d).err();
    auto ref = find_codec(*c);
    if (!ref) return make_error(errc::unsupported, what + ": codec is not available in this build");
    TQLIB_TRY(validate_tensor_bytes(*ref, *d, tv.bytes, what));
    return std::optional<tensor_view>(std::move(tv));
  }
  std::optional<std::string> file(std::string_view) const override { return std::nullopt; }

 private:
  static error missing(std::string_view key) {
    return make_error(errc::corrupt, "GGUF key '" + std::string(key) + "' is missing");
  }
  static error mismatch(std::string_view key, const value& v, const std::string& want) {
    return make_error(errc::corrupt, "GGUF key '" + std::string(key) + "' is " + v.type_text() + ", expected " + want);
  }
  result<const value*> typed(std::string_view key, value_type t) const {
    const auto* v = find(key);
    if (!v) return missing(key);
    if (v->type != t) return mismatch(key, *v, type_name(t));
    return v;
  }
  result<const value*> typed_array(std::string_view key, value_type elem) const {
    const auto* v = find(key);
    if (!v) return missing(key);
    if (v->type != value_type::array || v->elem != elem) return mismatch(key, *v, "array of " + type_name(elem));
    return v;
  }
  template <class T>
  result<T> get_scalar(std::string_view key, value_type t) const {
    auto v = typed(key, t);
    if (!v) return std::move(v).err();
    return (*v)->template scalar<T>();
  }
  static result<std::int64_t> integer_of(const value& v, std::string_view key) {
    switch (v.type) {
      case value_type::u8: return std::int64_t(v.scalar<std::uint8_t>());
      case value_type::i8: return std::int64_t(v.scalar<std::int8_t>());
      case value_type::u16: return std::int64_t(v.scalar<std::uint16_t>());
      case value_type::i16: return std::int64_t(v.scalar<std::int16_t>());
      case value_type::u32: return std::int64_t(v.scalar<std::uint32_t>());
      case value_type::i32: return std::int64_t(v.scalar<std::int32_t>());
      case value_type::i64: return v.scalar<std::int64_t>();
      case value_type::u64: {
        const auto u = v.scalar<std::uint64_t>();
        if (u > std::uint64_t(INT64_MAX))
          return make_error(errc::corrupt, "GGUF key '" + std::string(key) + "' holds " + std::to_string(u) + ", above 2^63 - 1");
        return std::int64_t(u);
      }
      default: return mismatch(key, v, "an integer");
    }
  }

  result<void> parse_all() {
    byte_reader r(file_);
    auto m = r.take(4, "GGUF magic");
    if (!m) return std::move(m).err();
    if (std::memcmp(m->data(), magic.data(), 4) != 0)
      return make_error(errc::corrupt, "magic at offset 0 is not \"GGUF\" (not a GGUF file)");
    auto ver = r.read<std::uint32_t>("GGUF version");
    if (!ver) return std::move(ver).err();
    // A big-endian file (GGUF v3 allows them) stores the same magic bytes but its version
    // byte-swapped: read little-endian, 3 becomes 0x03000000.
    const std::uint32_t swapped = detail::byteswap32(*ver);
    if (*ver != 2 && *ver != 3 && swapped >= 1 && swapped <= 3)
      return make_error(errc::unsupported, "big-endian GGUF (version field at offset 4 reads " + detail::hex32(*ver) +
                                               " little-endian, version " + std::to_string(swapped) +
                                               " big-endian); tqlib reads little-endian GGUF only");
    if (*ver == 1)
      return make_error(errc::unsupported, "GGUF version 1 (32-bit counts) is not supported, as in llama.cpp: convert the model again");
    if (*ver != 2 && *ver != 3)
      return make_error(errc::unsupported, "GGUF version " + std::to_string(*ver) + " at offset 4 is not supported (only 2 and 3)");
    version_ = *ver;
    auto n_tensors = r.read<std::uint64_t>("GGUF tensor count");
    if (!n_tensors) return std::move(n_tensors).err();
    auto n_kv = r.read<std::uint64_t>("GGUF metadata count");
    if (!n_kv) return std::move(n_kv).err();
    // The smallest metadata entry: u64 key length, a one-byte key, u32 type, a one-byte value;
    // the smallest tensor info: u64 name length, a one-byte name, u32 n_dims (0), u32 type,
    // u64 offset. Counts the rest of the file cannot hold are refused before any allocation.
    constexpr std::uint64_t min_kv = 8 + 1 + 4 + 1, min_tensor = 8 + 1 + 4 + 4 + 8;
    if (*n_kv > r.remaining() / min_kv)
      return make_error(errc::corrupt, "metadata count " + std::to_string(*n_kv) + " at offset 16 cannot fit in the " +
                                           std::to_string(r.remaining()) + " bytes after the header");
    if (*n_tensors > r.remaining() / min_tensor)
      return make_error(errc::corrupt, "tensor count " + std::to_string(*n_tensors) + " at offset 8 cannot fit in the " +
                                           std::to_string(r.remaining()) + " bytes after the header");

    kvs_.reserve(std::size_t(*n_kv));
    for (std::uint64_t i = 0; i < *n_kv; ++i) TQLIB_TRY(read_kv(r, i));
    TQLIB_TRY(read_alignment());
    tensors_.reserve(std::size_t(*n_tensors));
    for (std::uint64_t i = 0; i < *n_tensors; ++i) TQLIB_TRY(read_tensor_info(r, i));
    return place_tensors(r.offset());
  }

  result<void> read_kv(byte_reader& r, std::uint64_t i) {
    kv e;
    e.offset = r.offset();
    const std::string which = "metadata entry " + std::to_string(i);
    auto key = detail::read_string(r, which + " key");
    if (!key) return std::move(key).err();
    TQLIB_TRY(detail::check_text(*key, which + " key", std::size_t(e.offset)));
    e.key = *key;
    const std::string where = "GGUF key " + detail::quoted(e.key);
    if (e.key.size() > max_key_bytes)
      return make_error(errc::corrupt, where + " at offset " + std::to_string(e.offset) + " is " + std::to_string(e.key.size()) +
                                           " bytes long, more than the 65535 the spec allows");
    const std::size_t type_at = r.offset();
    auto t = r.read<std::uint32_t>(where + " value type");
    if (!t) return std::move(t).err();
    if (!is_known(*t))
      return make_error(errc::corrupt, where + ": unknown value type " + std::to_string(*t) + " at offset " + std::to_string(type_at));
    auto v = detail::read_value(r, value_type(*t), where, 0);
    if (!v) return std::move(v).err();
    e.val = *v;
    auto [it, fresh] = key_index_.emplace(e.key, kvs_.size());
    if (!fresh)
      return make_error(errc::corrupt, "duplicate GGUF key " + detail::quoted(e.key) + " (metadata entries " + std::to_string(it->second) +
                                           " and " + std::to_string(i) + ")");
    kvs_.push_back(e);
    return {};
  }

  result<void> read_alignment() {
    const auto* a = find("general.alignment");
    if (!a) return {};
    if (a->type != value_type::u32)
      return make_error(errc::corrupt, "general.alignment is " + a->type_text() + ", must be uint32");
    const std::uint32_t n = a->scalar<std::uint32_t>();
    if (n == 0 || (n & (n - 1)) != 0)
      return make_error(errc::corrupt, "general.alignment " + std::to_string(n) + " is not a power of two");
    alignment_ = n;
    return {};
  }

  result<void> read_tensor_info(byte_reader& r, std::uint64_t i) {
    tensor_info t;
    t.info_offset = r.offset();
    const std::string which = "tensor info " + std::to_string(i);
    auto name = detail::read_string(r, which + " name");
    if (!name) return std::move(name).err();
    TQLIB_TRY(detail::check_text(*name, which + " name", std::size_t(t.info_offset)));
    t.name = *name;
    const std::string where = "GGUF tensor " + detail::quoted(t.name);
    auto nd = r.read<std::uint32_t>(where + " n_dims");
    if (!nd) return std::move(nd).err();
    if (*nd > max_dims)
      return make_error(errc::corrupt, where + ": n_dims " + std::to_string(*nd) + " exceeds " + std::to_string(max_dims));
    t.n_dims = *nd;
    std::uint64_t n = 1;
    for (std::uint32_t d = 0; d < t.n_dims; ++d) {
      auto x = r.read<std::uint64_t>(where + " ne[" + std::to_string(d) + "]");
      if (!x) return std::move(x).err();
      // ggml holds dimensions as int64_t: larger values are negative there.
      if (*x > std::uint64_t(INT64_MAX))
        return make_error(errc::corrupt, where + ": ne[" + std::to_string(d) + "] = " + std::to_string(*x) + " exceeds 2^63 - 1");
      t.ne[d] = *x;
    }
    for (auto d : t.ne)
      if (mul_overflows(n, d, n) || n > std::uint64_t(INT64_MAX))
        return make_error(errc::corrupt, where + ": element count of shape " + shape_text(t) + " overflows");
    const std::size_t type_at = r.offset();
    auto type = r.read<std::uint32_t>(where + " ggml type");
    if (!type) return std::move(type).err();
    t.type = find_ggml_type(*type);
    if (!t.type) {
      for (const auto& rm : removed_ggml_types)
        if (rm.id == *type)
          return make_error(errc::unsupported, where + ": ggml type " + std::to_string(*type) + " (" + std::string(rm.name) +
                                                   ") was removed from ggml; convert the model again");
      return make_error(errc::unsupported, where + ": unknown ggml type " + std::to_string(*type) + " at offset " + std::to_string(type_at));
    }
    if (t.ne[0] % t.type->block_size != 0)
      return make_error(errc::corrupt, where + ": ne[0] = " + std::to_string(t.ne[0]) + " is not a multiple of the " +
                                           std::string(t.type->name) + " block size " + std::to_string(t.type->block_size));
    if (mul_overflows(n / t.type->block_size, t.type->type_size, t.size))
      return make_error(errc::corrupt, where + ": byte size of " + std::string(t.type->name) + " shape " + shape_text(t) + " overflows");
    auto off = r.read<std::uint64_t>(where + " offset");
    if (!off) return std::move(off).err();
    t.offset = *off;
    auto [it, fresh] = tensor_index_.emplace(t.name, tensors_.size());
    if (!fresh)
      return make_error(errc::corrupt, "duplicate GGUF tensor name " + detail::quoted(t.name) + " (tensor infos " +
                                           std::to_string(it->second) + " and " + std::to_string(i) + ")");
    tensors_.push_back(t);
    return {};
  }

  static std::string shape_text(const tensor_info& t) {
    std::string s = "ne = [";
    for (std::uint32_t d = 0; d < t.n_dims; ++d) s += (d ? ", " : "") + std::to_string(t.ne[d]);
    return s + "]";
  }

  // The data section starts at the first multiple of the alignment after the tensor infos. Every
  // tensor's offset must be aligned, its bytes inside the file, and no two tensors may share a
  // byte. (llama.cpp also wants them packed in order; the spec does not, so neither does this.)
  result<void> place_tensors(std::uint64_t end_of_infos) {
    const std::uint64_t a = alignment_;
    data_start_ = (end_of_infos + a - 1) / a * a;  // end_of_infos < 2^63, a <= 2^31: no overflow
    if (tensors_.empty()) return {};
    if (data_start_ > file_.size())
      return make_error(errc::truncated, "GGUF data section starts at offset " + std::to_string(data_start_) + " (alignment " +
                                             std::to_string(a) + "), past the end of the " + std::to_string(file_.size()) + "-byte file");
    const std::uint64_t data_size = file_.size() - data_start_;
    for (const auto& t : tensors_) {
      const std::string where = "GGUF tensor " + detail::quoted(t.name);
      if (t.offset % a != 0)
        return make_error(errc::corrupt, where + ": offset " + std::to_string(t.offset) + " is not a multiple of the alignment " +
                                             std::to_string(a));
      if (t.offset > data_size || t.size > data_size - t.offset)
        return make_error(errc::truncated, where + ": " + std::to_string(t.size) + " bytes at data offset " + std::to_string(t.offset) +
                                               " run past the end of the " + std::to_string(data_size) + "-byte data section");
    }
    std::vector<std::size_t> order(tensors_.size());
    for (std::size_t i = 0; i < order.size(); ++i) order[i] = i;
    std::stable_sort(order.begin(), order.end(), [&](std::size_t x, std::size_t y) { return tensors_[x].offset < tensors_[y].offset; });
    const tensor_info* prev = nullptr;
    for (std::size_t i : order) {
      const auto& t = tensors_[i];
      if (t.size == 0) continue;  // an empty range shares no byte with anything
      if (prev && t.offset < prev->offset + prev->size)
        return make_error(errc::corrupt, "GGUF tensors " + detail::quoted(prev->name) + " (data bytes " + std::to_string(prev->offset) +
                                             ".." + std::to_string(prev->offset + prev->size) + ") and " + detail::quoted(t.name) +
                                             " (from " + std::to_string(t.offset) + ") overlap");
      prev = &t;
    }
    return {};
  }

  std::span<const std::byte> file_;
  std::uint32_t version_ = 3;
  std::uint32_t alignment_ = default_alignment;
  std::uint64_t data_start_ = 0;
  std::vector<kv> kvs_;
  std::map<std::string_view, std::size_t, std::less<>> key_index_;
  std::vector<tensor_info> tensors_;
  std::map<std::string_view, std::size_t, std::less<>> tensor_index_;
};

// A GGUF file on disk (memory-mapped).
class file_source final : public tensor_source {
 public:
  static result<std::unique_ptr<file_source>> open(const std::string& path) {
    auto m = mapped_file::open(path);
    if (!m) return std::move(m).err();
    std::unique_ptr<file_source> f(new file_source);
    f->map_ = std::move(*m);
    auto v = view::parse(f->map_.bytes());
    if (!v) return make_error(v.err().code, path + ": " + v.err().message);
    f->view_ = std::move(*v);
    return f;
  }
  const view& get() const noexcept { return view_; }
  std::vector<std::string> tensor_names() const override { return view_.tensor_names(); }
  result<std::optional<tensor_view>> tensor(std::string_view n) const override { return view_.tensor(n); }
  std::optional<std::string> file(std::string_view) const override { return std::nullopt; }

 private:
  file_source() = default;
  mapped_file map_;
  view view_;
};

}  // namespace tqlib::format::gguf
