#pragma once
// Delta patches (docs/mv2.md §Delta patches): an MV2 file of format type delta_patch that names
// its base by BLAKE2b-256 of the whole base file and carries the tensors that are new or
// changed, the names dropped, the result's tensor order, config, metadata and changed embedded
// files. apply() checks the base hash before anything else, so a patch for another base fails
// with a clear message. The writer is deterministic, so applying diff(base, new) to base gives
// back new byte for byte when new was written unsigned by this library.
#include <algorithm>
#include <cstddef>
#include <functional>
#include <map>
#include <set>
#include <span>
#include <string>
#include <vector>

#include "tqlib/format/mv2.hpp"
#include "tqlib/format/mv2_writer.hpp"

namespace tqlib::format::delta {

struct diff_options {
  int zstd_level = 3;  // for the patch's own blobs (0 = none)
  std::optional<secret_key> signing_key;
};

namespace detail {

using emit_fn = std::function<result<void>(const mv2::json& config, std::span<const mv2::file_input>,
                                           std::span<const mv2::tensor_input>, const mv2::writer_options&)>;

inline bool same_tensor(const mv2::tensor_entry& a, const mv2::tensor_entry& b) {
  return a.codec.id == b.codec.id && a.shape == b.shape && a.data.raw_size == b.data.raw_size &&
         a.data.blake2b == b.data.blake2b;
}

inline mv2::tensor_input input_of(const mv2::tensor_entry& t, std::span<const std::byte> raw) {
  return {t.name, std::string(t.codec.name), t.shape, raw};
}

// Raw bytes of every embedded file of a reader (range-stored and inline).
inline result<std::map<std::string, std::string>> files_of(const mv2::reader& r) {
  std::map<std::string, std::string> out;
  for (const auto& f : r.json_meta().files) {
    auto text = r.read_file(f.name);
    if (!text) return std::move(text).err();
    out[f.name] = std::move(**text);
  }
  return out;
}

inline result<void> diff_into(std::span<const std::byte> base_bytes, std::span<const std::byte> new_bytes,
                              const diff_options& opts, const emit_fn& emit) {
  auto base = mv2::reader::open(base_bytes);
  if (!base) return make_error(base.err().code, "base: " + base.err().message);
  auto next = mv2::reader::open(new_bytes);
  if (!next) return make_error(next.err().code, "new: " + next.err().message);
  const auto& b = **base;
  const auto& n = **next;
  if (b.header().type == mv2::format_type::delta_patch || n.header().type == mv2::format_type::delta_patch)
    return make_error(errc::invalid_argument, "diff takes two model files, not delta patches");

  mv2::delta_info d;
  d.base_blake2b = blake2b(base_bytes);
  d.base_size = base_bytes.size();
  d.result_version = n.header().version;
  d.result_level = n.header().compression_level;
  d.result_alignment = n.json_meta().alignment;
  std::vector<mv2::tensor_input> changed;
  for (std::size_t i = 0; i < n.tensors().size(); ++i) {
    const auto& t = n.tensors()[i];
    d.order.push_back(t.name);
    const auto* old = b.find_tensor(t.name);
    if (old && same_tensor(*old, t)) continue;
    auto raw = n.tensor_bytes(i);
    if (!raw) return make_error(raw.err().code, "new: " + raw.err().message);
    changed.push_back(input_of(t, *raw));
  }
  for (const auto& t : b.tensors())
    if (!n.find_tensor(t.name)) d.removed.push_back(t.name);

  auto base_files = files_of(b);
  if (!base_files) return make_error(base_files.err().code, "base: " + base_files.err().message);
  auto new_files = files_of(n);
  if (!new_files) return make_error(new_files.err().code, "new: " + new_files.err().message);
  std::vector<mv2::file_input> files;
  for (const auto& [name, text] : *new_files) {
    auto it = base_files->find(name);
    if (it == base_files->end() || it->second != text) files.push_back({name, as_bytes_of(text)});
  }
  for (const auto& [name, text] : *base_files)
    if (!new_files->count(name)) d.removed_files.push_back(name);

  mv2::writer_options o;
  o.type = mv2::format_type::delta_patch;
  o.version = mv2::version_3_1;
  o.zstd_level = opts.zstd_level;
  o.alignment = 1;
  o.signing_key = opts.signing_key;
  o.metadata = n.json_meta().metadata;
  o.delta = std::move(d);
  return emit(n.json_meta().config, files, changed, o);
}

inline result<void> apply_into(std::span<const std::byte> base_bytes, std::span<const std::byte> patch_bytes,
                               const emit_fn& emit, const mv2::reader_options& ro) {
  auto patch = mv2::reader::open(patch_bytes, ro);
  if (!patch) return make_error(patch.err().code, "patch: " + patch.err().message);
  const auto& p = **patch;
  if (p.header().type != mv2::format_type::delta_patch)
    return make_error(errc::invalid_argument, "patch: format type is not delta_patch");
  const auto& d = *p.json_meta().delta;
  const digest256 have = blake2b(base_bytes);
  if (have != d.base_blake2b || base_bytes.size() != d.base_size)
    return make_error(errc::invalid_argument, "wrong base: the patch is for a " + std::to_string(d.base_size) +
                                                  "-byte file with BLAKE2b " + to_hex(d.base_blake2b).substr(0, 16) +
                                                  "..., this base is " + std::to_string(base_bytes.size()) + " bytes with BLAKE2b " +
                                                  to_hex(have).substr(0, 16) + "...");
  auto base = mv2::reader::open(base_bytes, ro);
  if (!base) return make_error(base.err().code, "base: " + base.err().message);
  const auto& b = **base;

  std::set<std::string_view> in_order(d.order.begin(), d.order.end());
  if (in_order.size() != d.order.size()) return make_error(errc::corrupt, "patch: delta.order names a tensor twice");
  for (const auto& t : p.tensors())
    if (!in_order.count(t.name)) return make_error(errc::corrupt, "patch: tensor '" + t.name + "' is not in delta.order");
  std::vector<mv2::tensor_input> tensors;
  for (const auto& name : d.order) {
    const mv2::reader* from = &p;
    const auto* t = p.find_tensor(name);
    if (!t) {
      from = &b;
      t = b.find_tensor(name);
    }
    if (!t) return make_error(errc::corrupt, "patch: tensor '" + name + "' is neither in the patch nor in the base");
    auto raw = from->tensor_bytes(std::size_t(t - from->tensors().data()));
    if (!raw) return make_error(raw.err().code, std::string(from == &p ? "patch: " : "base: ") + raw.err().message);
    tensors.push_back(input_of(*t, *raw));
  }

  auto base_files = files_of(b);
  if (!base_files) return make_error(base_files.err().code, "base: " + base_files.err().message);
  auto patch_files = files_of(p);
  if (!patch_files) return make_error(patch_files.err().code, "patch: " + patch_files.err().message);
  for (const auto& name : d.removed_files) base_files->erase(name);
  for (auto& [name, text] : *patch_files) (*base_files)[name] = std::move(text);
  std::vector<mv2::file_input> files;
  for (const auto& [name, text] : *base_files) files.push_back({name, as_bytes_of(text)});

  mv2::writer_options o;
  o.type = b.header().type;
  o.version = d.result_version;
  o.zstd_level = d.result_level;
  o.alignment = d.result_alignment;
  o.metadata = p.json_meta().metadata;
  return emit(p.json_meta().config, files, tensors, o);
}

inline emit_fn to_memory(std::vector<std::byte>& out) {
  return [&out](const mv2::json& c, std::span<const mv2::file_input> f, std::span<const mv2::tensor_input> t,
                const mv2::writer_options& o) -> result<void> {
    auto r = mv2::build(c, f, t, o);
    if (!r) return std::move(r).err();
    out = std::move(*r);
    return {};
  };
}

inline emit_fn to_file(const std::string& path) {
  return [path](const mv2::json& c, std::span<const mv2::file_input> f, std::span<const mv2::tensor_input> t,
                const mv2::writer_options& o) { return mv2::write(path, c, f, t, o); };
}

}  // namespace detail

// Patch turning `base` into `next`.
inline result<std::vector<std::byte>> diff(std::span<const std::byte> base, std::span<const std::byte> next,
                                           const diff_options& opts = {}) {
  std::vector<std::byte> out;
  TQLIB_TRY(detail::diff_into(base, next, opts, detail::to_memory(out)));
  return out;
}

inline result<void> write_diff(const std::string& path, std::span<const std::byte> base, std::span<const std::byte> next,
                               const diff_options& opts = {}) {
  return detail::diff_into(base, next, opts, detail::to_file(path));
}

// The file `patch` makes of `base`; fails naming the mismatch when `base` is not the patch's base.
// `ro` applies to reading both (limits on decompressed sizes, checksums).
inline result<std::vector<std::byte>> apply(std::span<const std::byte> base, std::span<const std::byte> patch,
                                            const mv2::reader_options& ro = {}) {
  std::vector<std::byte> out;
  TQLIB_TRY(detail::apply_into(base, patch, detail::to_memory(out), ro));
  return out;
}

inline result<void> write_apply(const std::string& path, std::span<const std::byte> base, std::span<const std::byte> patch,
                                const mv2::reader_options& ro = {}) {
  return detail::apply_into(base, patch, detail::to_file(path), ro);
}

}  // namespace tqlib::format::delta
