#pragma once
// Builds MV2 v3.0 / v3.1 files (docs/mv2.md) from tensors, a config object and embedded files.
// Deterministic: the same inputs and options give the same bytes. Files are written to a
// temporary beside the target and renamed over it only when complete.
#include <algorithm>
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <mutex>
#include <optional>
#include <set>
#include <span>
#include <string>
#include <thread>
#include <vector>

#include "tqlib/format/atomic_file.hpp"
#include "tqlib/format/mv2.hpp"

namespace tqlib::format::mv2 {

struct tensor_input {
  std::string name;
  std::string codec;  // registry name ("f32", "tq4_1s", ...)
  std::vector<std::uint64_t> shape;
  std::span<const std::byte> bytes;  // raw encoded tensor
  // Pass-through of an already compressed blob (delta patches copy stored bytes): when set,
  // `bytes` is one zstd frame of `raw_size` bytes whose raw BLAKE2b is `raw_blake2b`.
  bool precompressed = false;
  std::uint64_t raw_size = 0;
  digest256 raw_blake2b{};
};

struct file_input {
  std::string name;  // "tokenizer.json", ...
  std::span<const std::byte> bytes;
};

struct writer_options {
  format_type type = format_type::quantum_model;
  std::uint32_t version = version_3_1;
  int zstd_level = 0;          // 0: store uncompressed; 1..22: zstd (v3.1 only)
  std::uint32_t alignment = 64;  // > 1 sets the mmap-layout flag and aligns every blob
  std::optional<secret_key> signing_key;  // v3.1 only
  unsigned threads = 0;        // compression threads, 0 = all cores
  json metadata;               // free-form object, or null
  std::optional<delta_info> delta;  // delta patches only
};

namespace detail {

struct planned_blob {
  blob meta;
  std::span<const std::byte> stored;  // into the caller's input or `owned`
  std::vector<std::byte> owned;       // compressed bytes
};

inline std::uint64_t align_up(std::uint64_t x, std::uint64_t a) { return (x + a - 1) / a * a; }

inline result<void> check_options(const writer_options& o) {
  if (o.version != version_3_0 && o.version != version_3_1)
    return make_error(errc::invalid_argument, "version must be 3.0 or 3.1");
  if (o.zstd_level < 0 || o.zstd_level > 22) return make_error(errc::invalid_argument, "zstd level must be 0..22");
  if (o.alignment == 0 || o.alignment > 65536 || (o.alignment & (o.alignment - 1)))
    return make_error(errc::invalid_argument, "alignment must be a power of two up to 65536");
  if (o.version == version_3_0 && (o.zstd_level > 0 || o.signing_key || o.delta))
    return make_error(errc::invalid_argument, "v3.0 files cannot be compressed, signed or delta patches; write v3.1");
  if (o.delta.has_value() != (o.type == format_type::delta_patch))
    return make_error(errc::invalid_argument, "delta information goes with format type delta_patch exactly");
  if (!o.metadata.is_null() && !o.metadata.is_object()) return make_error(errc::invalid_argument, "metadata must be an object");
  return {};
}

// Compresses (or passes through) one blob; keeps it uncompressed when zstd does not shrink it.
inline result<void> plan_blob(planned_blob& p, std::span<const std::byte> raw, int level) {
  p.meta.raw_size = raw.size();
  p.meta.blake2b = blake2b(raw);
  p.stored = raw;
  p.meta.comp = compression::none;
  if (level > 0 && !raw.empty()) {
    auto z = zstd::compress(raw, level);
    if (!z) return std::move(z).err();
    if (z->size() < raw.size()) {
      p.owned = std::move(*z);
      p.stored = p.owned;
      p.meta.comp = compression::zstd;
    }
  }
  p.meta.size = p.stored.size();
  return {};
}

// Runs fn(i) for i < n on `threads` threads (0 = all cores, 1 without thread support); returns
// the first error.
inline result<void> parallel_for(std::size_t n, unsigned threads, const std::function<result<void>(std::size_t)>& fn) {
  std::atomic<std::size_t> next{0};
  std::mutex mu;
  std::optional<error> first;
  run_parallel(usable_threads(threads, n), [&] {
    for (std::size_t i; (i = next.fetch_add(1)) < n;) {
      auto r = fn(i);
      if (!r) {
        std::lock_guard lk(mu);
        if (!first) first = r.err();
        next = n;
        return;
      }
    }
  });
  if (first) return *first;
  return {};
}

// A fully planned file: fixed header (signature zero), padded JSON, then blobs with padding.
struct plan {
  fixed_header fixed;
  std::string json_text;
  std::vector<planned_blob> blobs;  // data-section order
};

inline result<plan> make_plan(const json& config, std::span<const file_input> files, std::span<const tensor_input> tensors,
                              const writer_options& o) {
  TQLIB_TRY(check_options(o));
  if (!config.is_null() && !config.is_object()) return make_error(errc::invalid_argument, "config must be a JSON object");
  plan p;
  json_header h;
  h.type = std::string(*type_name(std::uint16_t(o.type)));
  h.alignment = o.alignment;
  h.config = config;
  h.metadata = o.metadata;
  h.delta = o.delta;
  std::set<std::string> names;
  for (const auto& t : tensors) {
    const std::string what = "tensor '" + t.name + "'";
    if (t.name.empty()) return make_error(errc::invalid_argument, "a tensor has an empty name");
    if (!names.insert(t.name).second) return make_error(errc::invalid_argument, what + " is given twice");
    auto c = find_codec(t.codec);
    if (!c) return make_error(errc::invalid_argument, what + ": codec '" + t.codec + "' is not a known codec");
    auto dims = dims_of(t.shape, what);
    if (!dims) return std::move(dims).err();
    if (!t.precompressed) TQLIB_TRY(validate_tensor_bytes(*c, *dims, t.bytes, what));
    tensor_entry e;
    e.name = t.name;
    e.codec = *c;
    e.shape = t.shape;
    h.tensors.push_back(std::move(e));
  }
  names.clear();
  for (const auto& f : files) {
    if (f.name.empty() || !names.insert(f.name).second)
      return make_error(errc::invalid_argument, "embedded file '" + f.name + "' is empty-named or given twice");
    file_entry e;
    e.name = f.name;
    h.files.push_back(std::move(e));
  }
  // json objects order keys; serialise files in that same order so blobs follow the header.
  std::sort(h.files.begin(), h.files.end(), [](const file_entry& a, const file_entry& b) { return a.name < b.name; });

  p.blobs.resize(tensors.size() + files.size());
  const int level = o.zstd_level;
  TQLIB_TRY(parallel_for(p.blobs.size(), o.threads, [&](std::size_t i) -> result<void> {
    if (i < tensors.size()) {
      const auto& t = tensors[i];
      if (t.precompressed) {
        if (level == 0) return make_error(errc::invalid_argument, "tensor '" + t.name + "' is precompressed but zstd is off");
        p.blobs[i].meta = blob{0, t.bytes.size(), t.raw_size, compression::zstd, t.raw_blake2b};
        p.blobs[i].stored = t.bytes;
        return {};
      }
      return plan_blob(p.blobs[i], t.bytes, level);
    }
    const auto& fe = h.files[i - tensors.size()];
    const auto it = std::find_if(files.begin(), files.end(), [&](const file_input& f) { return f.name == fe.name; });
    return plan_blob(p.blobs[i], it->bytes, level);
  }));

  bool any_zstd = false;
  for (const auto& b : p.blobs) any_zstd = any_zstd || b.meta.comp == compression::zstd;
  p.fixed.type = o.type;
  p.fixed.version = o.version;
  p.fixed.flags = std::uint16_t((any_zstd ? flag::zstd : 0) | (o.signing_key ? flag::signed_ed25519 : 0) |
                                (o.delta ? flag::delta : 0) | (o.alignment > 1 ? flag::mmap_layout : 0));
  p.fixed.compression_level = any_zstd ? std::uint16_t(level) : 0;

  std::uint64_t offset = 0;
  for (std::size_t i = 0; i < p.blobs.size(); ++i) {
    offset = align_up(offset, o.alignment);
    p.blobs[i].meta.offset = offset;
    offset += p.blobs[i].meta.size;
    if (i < tensors.size())
      h.tensors[i].data = p.blobs[i].meta;
    else
      h.files[i - tensors.size()].data = p.blobs[i].meta;
  }
  p.json_text = serialize_json_header(h);
  const std::uint64_t padded = align_up(fixed_header_size + p.json_text.size(), o.alignment) - fixed_header_size;
  p.json_text.append(std::size_t(padded - p.json_text.size()), ' ');
  if (p.json_text.size() > max_json_header_bytes) return make_error(errc::invalid_argument, "JSON header exceeds 256 MiB");
  p.fixed.header_size = std::uint32_t(p.json_text.size());
  return p;
}

// Emits the planned bytes to `sink` in order, then returns the signature (zero when unsigned).
inline result<signature_bytes> emit(const plan& p, const writer_options& o,
                                    const std::function<result<void>(std::span<const std::byte>)>& sink) {
  const auto head = encode_fixed_header(p.fixed);
  std::optional<crypto_sign_state> st;
  if (o.signing_key) {
    TQLIB_TRY(sodium_ready());
    st.emplace();
    crypto_sign_init(&*st);
  }
  auto out = [&](std::span<const std::byte> b) -> result<void> {
    if (st) crypto_sign_update(&*st, reinterpret_cast<const unsigned char*>(b.data()), b.size());
    return sink(b);
  };
  TQLIB_TRY(out(head));
  TQLIB_TRY(out(as_bytes_of(p.json_text)));
  static constexpr std::array<std::byte, 4096> zeros{};
  std::uint64_t pos = 0;
  for (const auto& b : p.blobs) {
    for (std::uint64_t pad = b.meta.offset - pos; pad > 0;) {
      const std::size_t n = std::size_t(std::min<std::uint64_t>(pad, zeros.size()));
      TQLIB_TRY(out(std::span(zeros).first(n)));
      pad -= n;
    }
    TQLIB_TRY(out(b.stored));
    pos = b.meta.offset + b.meta.size;
  }
  signature_bytes sig{};
  if (st)
    crypto_sign_final_create(&*st, reinterpret_cast<unsigned char*>(sig.data()), nullptr,
                             reinterpret_cast<const unsigned char*>(o.signing_key->data()));
  return sig;
}

}  // namespace detail

// The whole file in memory (tests, the browser).
inline result<std::vector<std::byte>> build(const json& config, std::span<const file_input> files,
                                            std::span<const tensor_input> tensors, const writer_options& o = {}) {
  auto p = detail::make_plan(config, files, tensors, o);
  if (!p) return std::move(p).err();
  std::vector<std::byte> out;
  auto sig = detail::emit(*p, o, [&](std::span<const std::byte> b) -> result<void> {
    out.insert(out.end(), b.begin(), b.end());
    return {};
  });
  if (!sig) return std::move(sig).err();
  if (o.signing_key) std::memcpy(out.data() + signature_offset, sig->data(), signature_size);
  return out;
}

// Writes `path` atomically (temporary file + fsync + rename).
inline result<void> write(const std::string& path, const json& config, std::span<const file_input> files,
                          std::span<const tensor_input> tensors, const writer_options& o = {}) {
  auto p = detail::make_plan(config, files, tensors, o);
  if (!p) return std::move(p).err();
  auto f = atomic_file::create(path);
  if (!f) return std::move(f).err();
  auto sig = detail::emit(*p, o, [&](std::span<const std::byte> b) { return f->write(b); });
  if (!sig) return std::move(sig).err();
  if (o.signing_key) TQLIB_TRY(f->write_at(signature_offset, *sig));
  return f->commit();
}

// Signs an existing file's bytes: returns a copy with the signature flag set (version raised to
// 3.1 if it was 3.0) and the signature filled in.
inline result<std::vector<std::byte>> sign_bytes(std::span<const std::byte> file, const secret_key& key) {
  auto r = reader::open(file);
  if (!r) return std::move(r).err();
  fixed_header h = (*r)->header();
  h.version = version_3_1;
  h.flags |= flag::signed_ed25519;
  h.signature = {};
  std::vector<std::byte> out(file.begin(), file.end());
  const auto head = encode_fixed_header(h);
  std::memcpy(out.data(), head.data(), head.size());
  auto sig = sign_pieces({std::span(out).first(signature_offset), std::span(head).subspan(signature_offset, signature_size),
                          std::span(out).subspan(fixed_header_size)},
                         key);
  if (!sig) return std::move(sig).err();
  std::memcpy(out.data() + signature_offset, sig->data(), signature_size);
  return out;
}

}  // namespace tqlib::format::mv2
