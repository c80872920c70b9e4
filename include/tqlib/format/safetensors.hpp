#pragma once
// safetensors (Hugging Face): u64 LE header length N, N bytes of JSON
// {"name": {"dtype": "F32", "shape": [..], "data_offsets": [begin, end]}, "__metadata__": {..}},
// then the byte buffer; offsets are relative to the buffer. Validated as the reference loader
// does: header length sane, offsets in bounds, dtype x shape = size, tensors sorted by offset
// cover the buffer without holes or overlap. Views are zero-copy into the caller's span.
// Also a small writer (tests and model fixtures).
#include <nlohmann/json.hpp>

#include <algorithm>
#include <cstdint>
#include <map>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "tqlib/core/bytes.hpp"
#include "tqlib/format/atomic_file.hpp"
#include "tqlib/core/json_depth.hpp"
#include "tqlib/format/mapped_file.hpp"
#include "tqlib/format/tensor_layout.hpp"
#include "tqlib/format/tensor_source.hpp"

namespace tqlib::format::safetensors {

using json = nlohmann::json;

struct dtype_info {
  std::string_view name;
  std::size_t bytes;
  std::optional<codec::codec_id> codec;  // dtypes a tensor_view can carry
};

inline constexpr dtype_info dtypes[] = {
    {"F64", 8, std::nullopt}, {"F32", 4, codec::codec_id::f32}, {"F16", 2, codec::codec_id::f16},
    {"BF16", 2, codec::codec_id::bf16}, {"I64", 8, std::nullopt}, {"I32", 4, std::nullopt},
    {"I16", 2, std::nullopt}, {"I8", 1, std::nullopt}, {"U64", 8, std::nullopt},
    {"U32", 4, std::nullopt}, {"U16", 2, std::nullopt}, {"U8", 1, std::nullopt},
    {"BOOL", 1, std::nullopt}, {"F8_E4M3", 1, std::nullopt}, {"F8_E5M2", 1, std::nullopt}};

inline const dtype_info* find_dtype(std::string_view name) {
  for (const auto& d : dtypes)
    if (d.name == name) return &d;
  return nullptr;
}

inline constexpr std::uint64_t max_header_bytes = 100u << 20;  // the reference loader's limit

struct tensor_info {
  std::string name;
  const dtype_info* dtype = nullptr;
  std::vector<std::uint64_t> shape;
  std::uint64_t begin = 0, end = 0;  // within the buffer
};

class view final : public tensor_source {
 public:
  static result<view> parse(std::span<const std::byte> file) {
    byte_reader r(file);
    auto n = r.read<std::uint64_t>("safetensors header length");
    if (!n) return std::move(n).err();
    if (*n > max_header_bytes || *n > r.remaining())
      return make_error(errc::corrupt, "safetensors header length " + std::to_string(*n) + " exceeds the file or 100 MiB");
    const auto* text = reinterpret_cast<const char*>(file.data() + 8);
    if (!json_depth_within({text, std::size_t(*n)}))
      return make_error(errc::corrupt, "safetensors header nests arrays or objects deeper than " + std::to_string(max_json_depth) + " levels");
    json j = json::parse(text, text + *n, nullptr, false);
    if (j.is_discarded() || !j.is_object()) return make_error(errc::corrupt, "safetensors header is not a JSON object");
    view v;
    v.buffer_ = file.subspan(8 + std::size_t(*n));
    for (auto& [name, e] : j.items()) {
      if (name == "__metadata__") {
        if (!e.is_object()) return make_error(errc::corrupt, "safetensors __metadata__ must be an object");
        for (auto& [k, val] : e.items()) {
          if (!val.is_string()) return make_error(errc::corrupt, "safetensors __metadata__['" + k + "'] must be a string");
          v.metadata_[k] = val.get<std::string>();
        }
        continue;
      }
      auto t = parse_entry(name, e, v.buffer_.size());
      if (!t) return std::move(t).err();
      v.tensors_.push_back(std::move(*t));
    }
    TQLIB_TRY(v.check_coverage());
    for (std::size_t i = 0; i < v.tensors_.size(); ++i) v.index_[v.tensors_[i].name] = i;
    return v;
  }

  const std::vector<tensor_info>& tensors() const noexcept { return tensors_; }
  const std::map<std::string, std::string>& metadata() const noexcept { return metadata_; }
  const tensor_info* find(std::string_view name) const {
    auto it = index_.find(name);
    return it == index_.end() ? nullptr : &tensors_[it->second];
  }
  std::span<const std::byte> bytes(const tensor_info& t) const {
    return buffer_.subspan(std::size_t(t.begin), std::size_t(t.end - t.begin));
  }

  std::vector<std::string> tensor_names() const override {
    std::vector<std::string> out;
    for (const auto& t : tensors_) out.push_back(t.name);
    return out;
  }
  result<std::optional<tensor_view>> tensor(std::string_view name) const override {
    const auto* t = find(name);
    if (!t) return std::optional<tensor_view>();
    if (!t->dtype->codec)
      return make_error(errc::unsupported, "safetensors tensor '" + t->name + "' has dtype " + std::string(t->dtype->name) +
                                               ", which no codec holds (only F32, F16, BF16)");
    tensor_view tv;
    tv.name = t->name;
    tv.codec = *t->dtype->codec;
    tv.shape.assign(t->shape.begin(), t->shape.end());
    tv.bytes = bytes(*t);
    return std::optional<tensor_view>(std::move(tv));
  }
  std::optional<std::string> file(std::string_view) const override { return std::nullopt; }

 private:
  static result<tensor_info> parse_entry(const std::string& name, const json& e, std::uint64_t buffer_size) {
    const std::string where = "safetensors tensor '" + name + "'";
    if (!e.is_object()) return make_error(errc::corrupt, where + " must be an object");
    tensor_info t;
    t.name = name;
    auto dt = e.find("dtype");
    if (dt == e.end() || !dt->is_string()) return make_error(errc::corrupt, where + ": dtype is missing or not a string");
    t.dtype = find_dtype(dt->get_ref<const std::string&>());
    if (!t.dtype) return make_error(errc::unsupported, where + ": unknown dtype '" + dt->get<std::string>() + "'");
    auto sh = e.find("shape");
    if (sh == e.end() || !sh->is_array() || sh->size() > max_tensor_rank)
      return make_error(errc::corrupt, where + ": shape is missing or not an array of at most 8 dimensions");
    for (const auto& d : *sh) {
      if (!d.is_number_unsigned()) return make_error(errc::corrupt, where + ": shape must hold non-negative integers");
      t.shape.push_back(d.get<std::uint64_t>());
    }
    auto off = e.find("data_offsets");
    if (off == e.end() || !off->is_array() || off->size() != 2 || !(*off)[0].is_number_unsigned() ||
        !(*off)[1].is_number_unsigned())
      return make_error(errc::corrupt, where + ": data_offsets must be [begin, end]");
    t.begin = (*off)[0].get<std::uint64_t>();
    t.end = (*off)[1].get<std::uint64_t>();
    if (t.begin > t.end || t.end > buffer_size)
      return make_error(errc::corrupt, where + ": data_offsets [" + std::to_string(t.begin) + ", " + std::to_string(t.end) +
                                           "] are outside the " + std::to_string(buffer_size) + "-byte buffer");
    std::uint64_t n = 1;
    for (auto d : t.shape)
      if (mul_overflows(n, d, n)) return make_error(errc::corrupt, where + ": shape element count overflows");
    if (mul_overflows(n, t.dtype->bytes, n) || n != t.end - t.begin)
      return make_error(errc::corrupt, where + ": dtype " + std::string(t.dtype->name) + " x shape needs " + std::to_string(n) +
                                           " bytes, data_offsets hold " + std::to_string(t.end - t.begin));
    return t;
  }

  result<void> check_coverage() {
    std::vector<const tensor_info*> sorted;
    for (const auto& t : tensors_) sorted.push_back(&t);
    std::sort(sorted.begin(), sorted.end(), [](auto* a, auto* b) { return a->begin < b->begin || (a->begin == b->begin && a->end < b->end); });
    std::uint64_t pos = 0;
    for (const auto* t : sorted) {
      if (t->begin != pos)
        return make_error(errc::corrupt, "safetensors tensor '" + t->name + "' starts at " + std::to_string(t->begin) + ", expected " +
                                             std::to_string(pos) + (t->begin < pos ? " (overlap)" : " (hole)"));
      pos = t->end;
    }
    if (pos != buffer_.size())
      return make_error(errc::corrupt, "safetensors buffer is " + std::to_string(buffer_.size()) + " bytes but tensors cover " +
                                           std::to_string(pos));
    return {};
  }

  std::span<const std::byte> buffer_;
  std::vector<tensor_info> tensors_;
  std::map<std::string, std::size_t, std::less<>> index_;
  std::map<std::string, std::string> metadata_;
};

// A safetensors file on disk (memory-mapped).
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

// --- writer ---
struct tensor_input {
  std::string name;
  std::string dtype;  // "F32", ...
  std::vector<std::uint64_t> shape;
  std::span<const std::byte> bytes;
};

inline result<std::vector<std::byte>> build(std::span<const tensor_input> tensors,
                                            const std::map<std::string, std::string>& metadata = {}) {
  json h = json::object();
  if (!metadata.empty()) h["__metadata__"] = metadata;
  std::uint64_t pos = 0;
  for (const auto& t : tensors) {
    const auto* d = find_dtype(t.dtype);
    if (!d) return make_error(errc::invalid_argument, "tensor '" + t.name + "': unknown dtype " + t.dtype);
    std::uint64_t n = d->bytes;
    for (auto s : t.shape) n *= s;
    if (n != t.bytes.size() || t.name == "__metadata__" || h.contains(t.name))
      return make_error(errc::invalid_argument, "tensor '" + t.name + "': size, name or duplicate is wrong");
    h[t.name] = {{"dtype", t.dtype}, {"shape", t.shape}, {"data_offsets", {pos, pos + n}}};
    pos += n;
  }
  std::string text = h.dump();
  text.append((8 - text.size() % 8) % 8, ' ');
  std::vector<std::byte> out(8 + text.size() + pos);
  store_le<std::uint64_t>(out.data(), text.size());
  std::memcpy(out.data() + 8, text.data(), text.size());
  std::size_t at = 8 + text.size();
  for (const auto& t : tensors) {
    if (!t.bytes.empty()) std::memcpy(out.data() + at, t.bytes.data(), t.bytes.size());
    at += t.bytes.size();
  }
  return out;
}

inline result<void> write(const std::string& path, std::span<const tensor_input> tensors,
                          const std::map<std::string, std::string>& metadata = {}) {
  auto b = build(tensors, metadata);
  if (!b) return std::move(b).err();
  return write_file_atomic(path, *b);
}

}  // namespace tqlib::format::safetensors
