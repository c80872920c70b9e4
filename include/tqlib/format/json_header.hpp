#pragma once
// The MV2 JSON header (docs/mv2.md §JSON header): parsed from untrusted text without exceptions,
// every field's type and range checked, errors naming the field. Checks that need the data
// section (bounds, overlap, alignment) are the reader's (mv2.hpp).
#include <nlohmann/json.hpp>

#include <cstddef>
#include <cstdint>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "tqlib/core/result.hpp"
#include "tqlib/format/hash.hpp"
#include "tqlib/core/json_depth.hpp"
#include "tqlib/format/tensor_layout.hpp"

namespace tqlib::format::mv2 {

using json = nlohmann::json;

enum class compression : std::uint8_t { none, zstd };

inline std::string_view compression_name(compression c) { return c == compression::zstd ? "zstd" : "none"; }

// Bytes in the data section: offset is relative to the data section's start.
struct blob {
  std::uint64_t offset = 0;
  std::uint64_t size = 0;      // stored bytes
  std::uint64_t raw_size = 0;  // bytes after decompression (== size when uncompressed)
  compression comp = compression::none;
  digest256 blake2b{};  // of the raw bytes
};

struct tensor_entry {
  std::string name;
  codec_ref codec{};
  std::vector<std::uint64_t> shape;
  blob data;
};

struct file_entry {
  std::string name;
  std::optional<std::string> inline_text;  // stored in the JSON itself, else in `data`
  blob data;
};

// What a delta patch carries besides its tensors (docs/mv2.md §Delta patches).
struct delta_info {
  digest256 base_blake2b{};
  std::uint64_t base_size = 0;
  std::vector<std::string> order;          // every tensor of the result, in order
  std::vector<std::string> removed;        // base tensors the result drops (informational)
  std::vector<std::string> removed_files;  // base files the result drops
  std::uint32_t result_version = 0;
  std::uint16_t result_level = 0;
  std::uint32_t result_alignment = 1;
};

struct json_header {
  std::string type;             // "quantum_model", "skill_capsule", "dataset", "delta_patch"
  std::uint32_t alignment = 1;  // data section and blob offsets are multiples of this (mmap layout)
  json config;                  // the Hugging Face config.json object (null when absent)
  json metadata;                // free-form object (null when absent)
  std::vector<file_entry> files;
  std::vector<tensor_entry> tensors;
  std::optional<delta_info> delta;
};

struct header_limits {
  std::size_t max_tensors = 1 << 20;
  std::size_t max_files = 1024;
  std::size_t max_name = 1024;
};

namespace detail {

inline error field_error(const std::string& where, const std::string& what) {
  return make_error(errc::corrupt, "JSON header: " + where + " " + what);
}

inline result<const json*> member(const json& obj, const char* key, const std::string& where, bool required = true) {
  auto it = obj.find(key);
  if (it == obj.end()) {
    if (required) return field_error(where + "." + key, "is missing");
    return static_cast<const json*>(nullptr);
  }
  return &*it;
}

inline result<std::uint64_t> get_u64(const json& obj, const char* key, const std::string& where) {
  auto m = member(obj, key, where);
  if (!m) return std::move(m).err();
  if (!(*m)->is_number_unsigned()) return field_error(where + "." + key, "must be a non-negative integer");
  return (*m)->get<std::uint64_t>();
}

inline result<std::string> get_string(const json& obj, const char* key, const std::string& where, std::size_t max_len) {
  auto m = member(obj, key, where);
  if (!m) return std::move(m).err();
  if (!(*m)->is_string()) return field_error(where + "." + key, "must be a string");
  const auto& s = (*m)->get_ref<const std::string&>();
  if (s.size() > max_len) return field_error(where + "." + key, "is longer than " + std::to_string(max_len) + " bytes");
  return s;
}

inline result<digest256> get_digest(const json& obj, const char* key, const std::string& where) {
  auto s = get_string(obj, key, where, 64);
  if (!s) return std::move(s).err();
  auto d = digest_from_hex(*s);
  if (!d) return field_error(where + "." + key, "must be 64 hex digits (BLAKE2b-256)");
  return *d;
}

inline result<std::vector<std::string>> get_names(const json& obj, const char* key, const std::string& where,
                                                  std::size_t max_count, std::size_t max_len) {
  std::vector<std::string> out;
  auto m = member(obj, key, where, false);
  if (!m) return std::move(m).err();
  if (!*m) return out;
  if (!(*m)->is_array() || (*m)->size() > max_count) return field_error(where + "." + key, "must be an array of names");
  for (const auto& v : **m) {
    if (!v.is_string() || v.get_ref<const std::string&>().size() > max_len)
      return field_error(where + "." + key, "must hold only strings (names)");
    out.push_back(v.get<std::string>());
  }
  return out;
}

inline result<blob> parse_blob(const json& obj, const std::string& where) {
  blob b;
  auto off = get_u64(obj, "offset", where);
  if (!off) return std::move(off).err();
  auto size = get_u64(obj, "size", where);
  if (!size) return std::move(size).err();
  auto raw = get_u64(obj, "raw_size", where);
  if (!raw) return std::move(raw).err();
  auto comp = get_string(obj, "compression", where, 16);
  if (!comp) return std::move(comp).err();
  auto sum = get_digest(obj, "blake2b", where);
  if (!sum) return std::move(sum).err();
  b.offset = *off;
  b.size = *size;
  b.raw_size = *raw;
  b.blake2b = *sum;
  if (*comp == "none") {
    b.comp = compression::none;
    if (b.size != b.raw_size)
      return field_error(where, "is uncompressed but size " + std::to_string(b.size) + " != raw_size " + std::to_string(b.raw_size));
  } else if (*comp == "zstd") {
    b.comp = compression::zstd;
  } else {
    return field_error(where + ".compression", "'" + *comp + "' is not one of none, zstd");
  }
  return b;
}

inline result<tensor_entry> parse_tensor(const json& t, std::size_t index, const header_limits& lim) {
  std::string where = "tensors[" + std::to_string(index) + "]";
  if (!t.is_object()) return field_error(where, "must be an object");
  tensor_entry e;
  auto name = get_string(t, "name", where, lim.max_name);
  if (!name) return std::move(name).err();
  if (name->empty()) return field_error(where + ".name", "is empty");
  e.name = *name;
  where = "tensor '" + e.name + "'";
  auto codec_name = get_string(t, "codec", where, 64);
  if (!codec_name) return std::move(codec_name).err();
  auto c = find_codec(*codec_name);
  if (!c) return make_error(errc::unsupported, "JSON header: " + where + ".codec '" + *codec_name + "' is not a known codec");
  e.codec = *c;
  auto shape = member(t, "shape", where);
  if (!shape) return std::move(shape).err();
  if (!(*shape)->is_array() || (*shape)->size() > max_tensor_rank)
    return field_error(where + ".shape", "must be an array of at most " + std::to_string(max_tensor_rank) + " dimensions");
  for (const auto& d : **shape) {
    if (!d.is_number_unsigned()) return field_error(where + ".shape", "must hold non-negative integers");
    e.shape.push_back(d.get<std::uint64_t>());
  }
  auto dims = dims_of(e.shape, "JSON header: " + where);
  if (!dims) return std::move(dims).err();
  auto b = parse_blob(t, where);
  if (!b) return std::move(b).err();
  e.data = *b;
  auto want = packed_size(e.codec, *dims, "JSON header: " + where);
  if (!want) return std::move(want).err();
  if (*want && **want != e.data.raw_size)
    return field_error(where + ".raw_size", "is " + std::to_string(e.data.raw_size) + " but codec " + std::string(e.codec.name) +
                                                " with this shape needs " + std::to_string(**want));
  return e;
}

inline result<file_entry> parse_file(const std::string& name, const json& f, const header_limits& lim) {
  const std::string where = "files['" + name + "']";
  if (name.empty() || name.size() > lim.max_name) return field_error("files", "has an empty or over-long name");
  if (!f.is_object()) return field_error(where, "must be an object");
  file_entry e;
  e.name = name;
  if (auto it = f.find("inline"); it != f.end()) {
    if (!it->is_string()) return field_error(where + ".inline", "must be a string");
    e.inline_text = it->get<std::string>();
    return e;
  }
  auto b = parse_blob(f, where);
  if (!b) return std::move(b).err();
  e.data = *b;
  return e;
}

inline result<delta_info> parse_delta(const json& d, const header_limits& lim) {
  const std::string where = "delta";
  if (!d.is_object()) return field_error(where, "must be an object");
  delta_info di;
  auto base = get_digest(d, "base_blake2b", where);
  if (!base) return std::move(base).err();
  di.base_blake2b = *base;
  auto base_size = get_u64(d, "base_size", where);
  if (!base_size) return std::move(base_size).err();
  di.base_size = *base_size;
  auto order = get_names(d, "order", where, lim.max_tensors, lim.max_name);
  if (!order) return std::move(order).err();
  di.order = std::move(*order);
  auto removed = get_names(d, "removed", where, lim.max_tensors, lim.max_name);
  if (!removed) return std::move(removed).err();
  di.removed = std::move(*removed);
  auto removed_files = get_names(d, "removed_files", where, lim.max_files, lim.max_name);
  if (!removed_files) return std::move(removed_files).err();
  di.removed_files = std::move(*removed_files);
  auto version = get_u64(d, "result_version", where);
  if (!version) return std::move(version).err();
  auto level = get_u64(d, "result_compression_level", where);
  if (!level) return std::move(level).err();
  auto align = get_u64(d, "result_alignment", where);
  if (!align) return std::move(align).err();
  if (*version != 0x00030000u && *version != 0x00030001u) return field_error(where + ".result_version", "must be 3.0 or 3.1");
  if (*level > 22) return field_error(where + ".result_compression_level", "must be 0..22");
  if (*align == 0 || *align > 65536 || (*align & (*align - 1)))
    return field_error(where + ".result_alignment", "must be a power of two up to 65536");
  di.result_version = std::uint32_t(*version);
  di.result_level = std::uint16_t(*level);
  di.result_alignment = std::uint32_t(*align);
  return di;
}

}  // namespace detail

// Parses and type-checks the JSON header text.
inline result<json_header> parse_json_header(std::string_view text, const header_limits& lim = {}) {
  using namespace detail;
  if (!json_depth_within(text))
    return make_error(errc::corrupt, "JSON header: arrays or objects nested deeper than " + std::to_string(max_json_depth) + " levels");
  json j = json::parse(text.begin(), text.end(), nullptr, false);
  if (j.is_discarded()) return make_error(errc::corrupt, "JSON header: not valid JSON");
  if (!j.is_object()) return make_error(errc::corrupt, "JSON header: top level must be an object");
  json_header h;
  auto format = get_string(j, "format", "header", 16);
  if (!format) return std::move(format).err();
  if (*format != "mv2") return field_error("header.format", "must be \"mv2\"");
  auto type = get_string(j, "type", "header", 32);
  if (!type) return std::move(type).err();
  h.type = *type;
  if (auto it = j.find("alignment"); it != j.end()) {
    if (!it->is_number_unsigned()) return field_error("header.alignment", "must be a non-negative integer");
    const auto a = it->get<std::uint64_t>();
    if (a == 0 || a > 65536 || (a & (a - 1))) return field_error("header.alignment", "must be a power of two up to 65536");
    h.alignment = std::uint32_t(a);
  }
  if (auto it = j.find("config"); it != j.end()) {
    if (!it->is_object()) return field_error("header.config", "must be an object (the model's config.json)");
    h.config = std::move(*it);
  }
  if (auto it = j.find("metadata"); it != j.end()) {
    if (!it->is_object()) return field_error("header.metadata", "must be an object");
    h.metadata = std::move(*it);
  }
  if (auto it = j.find("files"); it != j.end()) {
    if (!it->is_object() || it->size() > lim.max_files)
      return field_error("header.files", "must be an object of at most " + std::to_string(lim.max_files) + " files");
    for (const auto& [name, f] : it->items()) {
      auto e = parse_file(name, f, lim);
      if (!e) return std::move(e).err();
      h.files.push_back(std::move(*e));
    }
  }
  auto tensors = member(j, "tensors", "header");
  if (!tensors) return std::move(tensors).err();
  if (!(*tensors)->is_array() || (*tensors)->size() > lim.max_tensors)
    return field_error("header.tensors", "must be an array of at most " + std::to_string(lim.max_tensors) + " tensors");
  std::set<std::string_view> seen;
  h.tensors.reserve((*tensors)->size());
  for (std::size_t i = 0; i < (*tensors)->size(); ++i) {
    auto e = parse_tensor((**tensors)[i], i, lim);
    if (!e) return std::move(e).err();
    h.tensors.push_back(std::move(*e));
  }
  for (const auto& t : h.tensors)
    if (!seen.insert(t.name).second) return field_error("tensor '" + t.name + "'", "appears twice");
  if (auto it = j.find("delta"); it != j.end()) {
    auto d = parse_delta(*it, lim);
    if (!d) return std::move(d).err();
    h.delta = std::move(*d);
  }
  return h;
}

namespace detail {
inline json blob_json(const blob& b) {
  return json{{"offset", b.offset},
              {"size", b.size},
              {"raw_size", b.raw_size},
              {"compression", compression_name(b.comp)},
              {"blake2b", to_hex(b.blake2b)}};
}
}  // namespace detail

// Canonical JSON text of a header (compact, keys in schema order within each entry).
inline std::string serialize_json_header(const json_header& h) {
  json j = json::object();
  j["format"] = "mv2";
  j["type"] = h.type;
  j["alignment"] = h.alignment;
  if (!h.config.is_null()) j["config"] = h.config;
  if (!h.metadata.is_null()) j["metadata"] = h.metadata;
  json files = json::object();
  for (const auto& f : h.files) files[f.name] = f.inline_text ? json{{"inline", *f.inline_text}} : detail::blob_json(f.data);
  j["files"] = std::move(files);
  json tensors = json::array();
  for (const auto& t : h.tensors) {
    json e = detail::blob_json(t.data);
    e["name"] = t.name;
    e["codec"] = t.codec.name;
    e["shape"] = t.shape;
    tensors.push_back(std::move(e));
  }
  j["tensors"] = std::move(tensors);
  if (h.delta) {
    const auto& d = *h.delta;
    j["delta"] = json{{"base_blake2b", to_hex(d.base_blake2b)},
                      {"base_size", d.base_size},
                      {"order", d.order},
                      {"removed", d.removed},
                      {"removed_files", d.removed_files},
                      {"result_version", d.result_version},
                      {"result_compression_level", d.result_level},
                      {"result_alignment", d.result_alignment}};
  }
  return j.dump(-1, ' ', false, json::error_handler_t::replace);
}

}  // namespace tqlib::format::mv2
