#pragma once
// MV2 (v3.0 and v3.1) container reader: a validated view over a byte span (a memory map
// natively, an ArrayBuffer in the browser). Layout and rules: docs/mv2.md.
//
//   [0:6]   magic "OKLOMV"          [6:8]   format type u16     [8:12]  version u32
//   [12:16] JSON header size u32    [16:18] feature flags u16   [18:20] zstd level u16
//   [20:84] Ed25519 signature       [84:84+header size] JSON    [84+header size:] data section
//
// open() checks everything that does not need tensor bytes: the fixed header, the JSON schema,
// every blob inside the data section, no two blobs overlapping, alignment, decompressed totals.
// Listing tensors touches no tensor bytes. tensor() returns a zero-copy view of an uncompressed
// tensor or decompresses a zstd one once, on first use, into storage the reader owns.
#include <algorithm>
#include <array>
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <new>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <system_error>
#include <thread>
#include <vector>

#include "tqlib/core/bytes.hpp"
#include "tqlib/core/reserved_memory.hpp"
#include "tqlib/core/result.hpp"
#include "tqlib/core/thread_pool.hpp"
#include "tqlib/format/hash.hpp"
#include "tqlib/format/json_header.hpp"
#include "tqlib/format/mapped_file.hpp"
#include "tqlib/format/signature.hpp"
#include "tqlib/format/tensor_layout.hpp"
#include "tqlib/format/tensor_source.hpp"
#include "tqlib/format/zstd.hpp"

namespace tqlib::format::mv2 {

inline constexpr std::array<char, 6> magic = {'O', 'K', 'L', 'O', 'M', 'V'};
inline constexpr std::size_t fixed_header_size = 84;
inline constexpr std::size_t signature_offset = 20;
inline constexpr std::size_t signature_size = 64;

inline constexpr std::uint32_t version_3_0 = 0x00030000u;
inline constexpr std::uint32_t version_3_1 = 0x00030001u;

enum class format_type : std::uint16_t {
  dataset = 0x0001,
  skill_capsule = 0x0002,  // LoRA adapter capsule
  quantum_model = 0x0003,
  delta_patch = 0x0004,
};

inline std::optional<std::string_view> type_name(std::uint16_t t) {
  switch (t) {
    case 0x0001: return "dataset";
    case 0x0002: return "skill_capsule";
    case 0x0003: return "quantum_model";
    case 0x0004: return "delta_patch";
  }
  return std::nullopt;
}

namespace flag {
inline constexpr std::uint16_t zstd = 1u << 0;
inline constexpr std::uint16_t signed_ed25519 = 1u << 1;
inline constexpr std::uint16_t delta = 1u << 2;
inline constexpr std::uint16_t mmap_layout = 1u << 3;
inline constexpr std::uint16_t known = zstd | signed_ed25519 | delta | mmap_layout;
}  // namespace flag

inline constexpr std::uint64_t max_json_header_bytes = 256u << 20;

struct fixed_header {
  format_type type = format_type::quantum_model;
  std::uint32_t version = version_3_1;
  std::uint32_t header_size = 0;  // bytes of JSON header text, padding spaces included
  std::uint16_t flags = 0;
  std::uint16_t compression_level = 0;
  signature_bytes signature{};

  bool has(std::uint16_t f) const noexcept { return (flags & f) == f; }
};

inline std::array<std::byte, fixed_header_size> encode_fixed_header(const fixed_header& h) {
  std::array<std::byte, fixed_header_size> b{};
  std::memcpy(b.data(), magic.data(), magic.size());
  store_le<std::uint16_t>(b.data() + 6, std::uint16_t(h.type));
  store_le<std::uint32_t>(b.data() + 8, h.version);
  store_le<std::uint32_t>(b.data() + 12, h.header_size);
  store_le<std::uint16_t>(b.data() + 16, h.flags);
  store_le<std::uint16_t>(b.data() + 18, h.compression_level);
  std::memcpy(b.data() + signature_offset, h.signature.data(), signature_size);
  return b;
}

inline std::string version_string(std::uint32_t v) {
  return std::to_string(v >> 16) + "." + std::to_string(v & 0xffffu);
}

// Reads and checks the 84-byte fixed header against the rules of its version.
inline result<fixed_header> parse_fixed_header(std::span<const std::byte> file) {
  byte_reader r(file);
  auto m = r.take(6, "magic");
  if (!m) return std::move(m).err();
  if (std::memcmp(m->data(), magic.data(), magic.size()) != 0)
    return make_error(errc::corrupt, "magic at offset 0 is not \"OKLOMV\" (not an MV2 file)");
  fixed_header h;
  auto type = r.read<std::uint16_t>("format type");
  if (!type) return std::move(type).err();
  if (!type_name(*type)) return make_error(errc::unsupported, "format type " + std::to_string(*type) + " at offset 6 is unknown");
  h.type = format_type(*type);
  auto version = r.read<std::uint32_t>("version");
  if (!version) return std::move(version).err();
  if (*version != version_3_0 && *version != version_3_1)
    return make_error(errc::unsupported, "version " + version_string(*version) + " at offset 8 is not 3.0 or 3.1");
  h.version = *version;
  auto hsize = r.read<std::uint32_t>("header size");
  if (!hsize) return std::move(hsize).err();
  h.header_size = *hsize;
  auto flags = r.read<std::uint16_t>("feature flags");
  if (!flags) return std::move(flags).err();
  h.flags = *flags;
  auto level = r.read<std::uint16_t>("compression level");
  if (!level) return std::move(level).err();
  h.compression_level = *level;
  auto sig = r.take(signature_size, "signature");
  if (!sig) return std::move(sig).err();
  std::memcpy(h.signature.data(), sig->data(), signature_size);

  if (h.flags & ~flag::known)
    return make_error(errc::unsupported, "feature flags at offset 16 set unknown bits (value " + std::to_string(h.flags) + ")");
  if (h.version == version_3_0 && (h.flags & (flag::zstd | flag::signed_ed25519 | flag::delta)))
    return make_error(errc::corrupt, "feature flags at offset 16: v3.0 files cannot use zstd, signatures or delta");
  if (h.has(flag::zstd) ? (h.compression_level < 1 || h.compression_level > 22) : h.compression_level != 0)
    return make_error(errc::corrupt, "compression level " + std::to_string(h.compression_level) +
                                         " at offset 18 must be 1..22 with the zstd flag and 0 without it");
  if (!h.has(flag::signed_ed25519) &&
      std::any_of(h.signature.begin(), h.signature.end(), [](std::byte b) { return b != std::byte{0}; }))
    return make_error(errc::corrupt, "signature field at offset 20 is not zero but the signature flag is clear");
  if (h.has(flag::delta) != (h.type == format_type::delta_patch))
    return make_error(errc::corrupt, "feature flags at offset 16: the delta flag must be set exactly on delta patch files");
  if (h.header_size > max_json_header_bytes)
    return make_error(errc::corrupt, "header size " + std::to_string(h.header_size) + " at offset 12 exceeds 256 MiB");
  if (h.header_size > r.remaining())
    return make_error(errc::truncated, "header size " + std::to_string(h.header_size) + " at offset 12 runs past the end of the " +
                                           std::to_string(file.size()) + "-byte file");
  return h;
}

namespace detail {

// Threads a parallel loop over n items may use: `requested` (0 = all cores) capped by n, and
// always 1 where the build has no threads (Emscripten without pthreads, where constructing a
// std::thread throws).
inline unsigned usable_threads(unsigned requested, std::size_t n) {
#if TQLIB_HAVE_THREADS
  unsigned t = requested ? requested : std::max(1u, std::thread::hardware_concurrency());
  return unsigned(std::clamp<std::size_t>(t, 1, std::max<std::size_t>(n, 1)));
#else
  (void)requested;
  (void)n;
  return 1;
#endif
}

// Runs `work` on the calling thread and threads - 1 others, and waits for all of them. `work`
// must pull its items from a shared counter: when the system refuses a thread, fewer threads
// do all the work.
template <class F>
void run_parallel(unsigned threads, F&& work) {
#if TQLIB_HAVE_THREADS
  std::vector<std::thread> pool;
  for (unsigned t = 1; t < threads; ++t) {
    try {
      pool.emplace_back(work);
    } catch (const std::system_error&) {
      break;
    }
  }
  work();
  for (auto& th : pool) th.join();
#else
  (void)threads;
  work();
#endif
}

}  // namespace detail

struct reader_options {
  bool verify_checksums = true;  // BLAKE2b of each blob, checked the first time it is used
  std::uint64_t max_decompressed_bytes = std::uint64_t(64) << 30;  // total raw size of zstd blobs
  header_limits limits{};
};

struct size_stats {
  std::uint64_t stored = 0;
  std::uint64_t raw = 0;
};

class reader final : public tensor_source {
 public:
  // Validates `bytes`, which must outlive the reader (or be kept alive by `keep_alive`).
  static result<std::unique_ptr<reader>> open(std::span<const std::byte> bytes, const reader_options& opts = {},
                                              std::shared_ptr<const void> keep_alive = nullptr) {
    auto fh = parse_fixed_header(bytes);
    if (!fh) return std::move(fh).err();
    const std::string_view text(reinterpret_cast<const char*>(bytes.data() + fixed_header_size), fh->header_size);
    auto jh = parse_json_header(text, opts.limits);
    if (!jh) return std::move(jh).err();
    std::unique_ptr<reader> r(new reader(bytes, *fh, std::move(*jh), opts, std::move(keep_alive)));
    TQLIB_TRY(r->check_layout());
    r->reserve_decompression_arena();
    return r;
  }

  const fixed_header& header() const noexcept { return fixed_; }
  const json_header& json_meta() const noexcept { return json_; }
  std::span<const std::byte> file_bytes() const noexcept { return bytes_; }
  std::span<const std::byte> data_section() const noexcept { return bytes_.subspan(data_start()); }
  std::uint64_t data_start() const noexcept { return fixed_header_size + fixed_.header_size; }
  const std::vector<tensor_entry>& tensors() const noexcept { return json_.tensors; }

  const tensor_entry* find_tensor(std::string_view name) const {
    auto it = index_.find(name);
    return it == index_.end() ? nullptr : &json_.tensors[it->second];
  }

  // --- tensor_source ---
  std::vector<std::string> tensor_names() const override {
    std::vector<std::string> out;
    out.reserve(json_.tensors.size());
    for (const auto& t : json_.tensors) out.push_back(t.name);
    return out;
  }

  result<std::optional<tensor_view>> tensor(std::string_view name) const override {
    auto it = index_.find(name);
    if (it == index_.end()) return std::optional<tensor_view>();
    const auto& t = json_.tensors[it->second];
    auto b = tensor_bytes(it->second);
    if (!b) return std::move(b).err();
    tensor_view v;
    v.name = t.name;
    v.codec = t.codec.id;
    v.shape.assign(t.shape.begin(), t.shape.end());
    v.bytes = *b;
    return std::optional<tensor_view>(std::move(v));
  }

  std::optional<std::string> file(std::string_view name) const override {
    auto r = read_file(name);
    if (!r || !*r) return std::nullopt;
    return std::move(**r);
  }

  // An embedded file's text; "config.json" is the header's config object when no file of that
  // name is embedded. nullopt when absent; an error when present but unreadable.
  result<std::optional<std::string>> read_file(std::string_view name) const {
    for (std::size_t i = 0; i < json_.files.size(); ++i) {
      const auto& f = json_.files[i];
      if (f.name != name) continue;
      if (f.inline_text) return std::optional<std::string>(*f.inline_text);
      auto b = blob_bytes(json_.tensors.size() + i);
      if (!b) return std::move(b).err();
      return std::optional<std::string>(std::string(reinterpret_cast<const char*>(b->data()), b->size()));
    }
    if (name == "config.json" && !json_.config.is_null()) return std::optional<std::string>(json_.config.dump(2));
    return std::optional<std::string>();
  }

  // Raw (decompressed, checksum-verified, codec-validated) bytes of tensor `index`.
  result<std::span<const std::byte>> tensor_bytes(std::size_t index) const {
    if (index >= json_.tensors.size()) return make_error(errc::invalid_argument, "tensor index out of range");
    return blob_bytes(index);
  }

  // Stored (possibly compressed) bytes, as in the file (delta patches copy these).
  std::span<const std::byte> stored_bytes(const blob& b) const noexcept {
    return data_section().subspan(std::size_t(b.offset), std::size_t(b.size));
  }

  // Decompresses and checks every tensor now, on `threads` threads (0 = all cores; one thread
  // where the build has none, e.g. Emscripten without pthreads).
  result<void> load_all(unsigned threads = 0) const {
    const std::size_t n = json_.tensors.size();
    std::atomic<std::size_t> next{0};
    std::mutex err_mu;
    std::optional<error> first_error;
    detail::run_parallel(detail::usable_threads(threads, n), [&] {
      for (std::size_t i; (i = next.fetch_add(1)) < n;) {
        auto r = tensor_bytes(i);
        if (!r) {
          std::lock_guard lk(err_mu);
          if (!first_error) first_error = r.err();
          next = n;
          return;
        }
      }
    });
    if (first_error) return *first_error;
    return {};
  }

  // Checks every tensor's and file's checksum (reads the whole data section).
  result<void> verify_all() const {
    for (std::size_t i = 0; i < slots_.size(); ++i)
      if (auto b = blob_bytes(i); !b) return std::move(b).err();
    return {};
  }

  bool is_signed() const noexcept { return fixed_.has(flag::signed_ed25519); }

  // OK when the file's signature verifies under one of the caller's trusted keys.
  result<void> verify_signature(std::span<const public_key> trusted) const {
    if (!is_signed()) return make_error(errc::signature, "file is not signed (feature flag bit 1 is clear)");
    if (trusted.empty()) return make_error(errc::invalid_argument, "no trusted public key given");
    static constexpr std::array<std::byte, signature_size> zeros{};
    for (const auto& k : trusted) {
      auto ok = verify_pieces({bytes_.first(signature_offset), zeros, bytes_.subspan(fixed_header_size)}, fixed_.signature, k);
      if (ok) return {};
    }
    return make_error(errc::signature, "signature does not verify with " +
                                           (trusted.size() == 1 ? std::string("the given public key ") + to_hex(trusted[0]).substr(0, 16) + "..."
                                                                : "any of the " + std::to_string(trusted.size()) + " given public keys"));
  }

  size_stats tensor_sizes() const {
    size_stats s;
    for (const auto& t : json_.tensors) {
      s.stored += t.data.size;
      s.raw += t.data.raw_size;
    }
    return s;
  }

 private:
  static constexpr std::size_t no_arena = SIZE_MAX;

  struct slot {
    std::mutex mu;
    // Decompressed bytes (zstd blobs): a piece of arena_ where one could be reserved, else an
    // allocation of their own. Deliberately not value-initialised (not a std::vector): a lying
    // raw_size costs address space only until the frame fails to fill it, not a memset.
    std::byte* raw = nullptr;
    std::size_t raw_size = 0;
    std::unique_ptr<std::byte[]> owned;
    std::size_t arena_offset = no_arena;
    std::span<const std::byte> raw_span() const noexcept { return {raw, raw_size}; }
    std::atomic<bool> ready{false};
  };

  reader(std::span<const std::byte> bytes, const fixed_header& fh, json_header jh, const reader_options& opts,
         std::shared_ptr<const void> keep_alive)
      : bytes_(bytes), fixed_(fh), json_(std::move(jh)), opts_(opts), keep_alive_(std::move(keep_alive)) {
    slots_.resize(json_.tensors.size() + json_.files.size());
    for (auto& s : slots_) s = std::make_unique<slot>();
    for (std::size_t i = 0; i < json_.tensors.size(); ++i) index_.emplace(json_.tensors[i].name, i);
  }

  // Blobs are tensors [0, T) then range-stored files.
  const blob& blob_at(std::size_t i) const {
    return i < json_.tensors.size() ? json_.tensors[i].data : json_.files[i - json_.tensors.size()].data;
  }
  std::string blob_name(std::size_t i) const {
    return i < json_.tensors.size() ? "tensor '" + json_.tensors[i].name + "'"
                                    : "file '" + json_.files[i - json_.tensors.size()].name + "'";
  }

  result<void> check_layout() const {
    const auto type = type_name(std::uint16_t(fixed_.type));
    if (json_.type != *type)
      return make_error(errc::corrupt, "JSON header: header.type '" + json_.type + "' does not match format type " + std::string(*type));
    if (json_.delta.has_value() != (fixed_.type == format_type::delta_patch))
      return make_error(errc::corrupt, "JSON header: a delta section must be present exactly in delta patch files");
    const std::uint64_t start = data_start();
    const std::uint64_t data_len = bytes_.size() - start;
    const bool mmap = fixed_.has(flag::mmap_layout);
    if (mmap && start % json_.alignment != 0)
      return make_error(errc::corrupt, "data section starts at " + std::to_string(start) + ", not a multiple of header.alignment " +
                                           std::to_string(json_.alignment));
    struct span_ref {
      std::uint64_t begin, end;
      std::size_t index;
    };
    std::vector<span_ref> spans;
    std::uint64_t decompressed = 0;
    for (std::size_t i = 0; i < slots_.size(); ++i) {
      if (i >= json_.tensors.size() && json_.files[i - json_.tensors.size()].inline_text) continue;
      const blob& b = blob_at(i);
      if (b.offset > data_len || b.size > data_len - b.offset)
        return make_error(errc::corrupt, blob_name(i) + ": bytes [" + std::to_string(b.offset) + ", +" + std::to_string(b.size) +
                                             ") run past the end of the " + std::to_string(data_len) + "-byte data section");
      if (b.comp == compression::zstd) {
        if (!fixed_.has(flag::zstd))
          return make_error(errc::corrupt, blob_name(i) + ": compression zstd but the zstd feature flag is clear");
        if (b.raw_size > opts_.max_decompressed_bytes || decompressed + b.raw_size > opts_.max_decompressed_bytes)
          return make_error(errc::unsupported, blob_name(i) + ": decompressed sizes exceed the limit of " +
                                                   std::to_string(opts_.max_decompressed_bytes) + " bytes");
      }
      if (b.comp == compression::zstd) decompressed += b.raw_size;
      if (mmap && b.offset % json_.alignment != 0)
        return make_error(errc::corrupt, blob_name(i) + ": offset " + std::to_string(b.offset) +
                                             " is not a multiple of header.alignment " + std::to_string(json_.alignment));
      if (b.size > 0) spans.push_back({b.offset, b.offset + b.size, i});
    }
    std::sort(spans.begin(), spans.end(), [](const span_ref& a, const span_ref& b) { return a.begin < b.begin; });
    for (std::size_t k = 1; k < spans.size(); ++k)
      if (spans[k].begin < spans[k - 1].end)
        return make_error(errc::corrupt, blob_name(spans[k].index) + " overlaps " + blob_name(spans[k - 1].index) + " at data offset " +
                                             std::to_string(spans[k].begin));
    return {};
  }

  result<std::span<const std::byte>> blob_bytes(std::size_t i) const {
    slot& s = *slots_[i];
    if (s.ready.load(std::memory_order_acquire)) return current(i);
    std::lock_guard lk(s.mu);
    if (s.ready.load(std::memory_order_relaxed)) return current(i);
    const blob& b = blob_at(i);
    std::span<const std::byte> raw = stored_bytes(b);
    if (b.comp == compression::zstd) {
      TQLIB_TRY(zstd::check_frame(raw, b.raw_size, blob_name(i)));
      TQLIB_TRY(allocate_raw(s, b.raw_size, blob_name(i)));
      auto d = zstd::decompress_exact(raw, {s.raw, s.raw_size}, blob_name(i));
      if (!d) {
        drop(s);
        return std::move(d).err();
      }
      raw = s.raw_span();
    }
    if (opts_.verify_checksums && blake2b(raw) != b.blake2b) {
      drop(s);
      return make_error(errc::corrupt, blob_name(i) + ": BLAKE2b checksum mismatch (bytes at data offset " + std::to_string(b.offset) +
                                           " are damaged)");
    }
    if (i < json_.tensors.size()) {
      const auto& t = json_.tensors[i];
      auto dims = dims_of(t.shape, blob_name(i));
      if (!dims) return std::move(dims).err();
      if (auto v = validate_tensor_bytes(t.codec, *dims, raw, blob_name(i)); !v) {
        drop(s);
        return std::move(v).err();
      }
    }
    s.ready.store(true, std::memory_order_release);
    return raw;
  }

  // One region for every zstd blob, so that decompressing a model takes huge-page faults
  // (core/reserved_memory.hpp says why). Offsets are 64-byte aligned for the kernels.
  void reserve_decompression_arena() {
    std::uint64_t total = 0;  // sum of raw sizes, bounded by max_decompressed_bytes
    for (std::size_t i = 0; i < slots_.size(); ++i) {
      const blob& b = blob_at(i);
      if (b.comp != compression::zstd || b.raw_size == 0) continue;
      slots_[i]->arena_offset = std::size_t(total);
      total += (b.raw_size + 63) / 64 * 64;
    }
    if (total > 0 && total <= SIZE_MAX) arena_ = reserved_memory::reserve(std::size_t(total));
    if (!arena_)
      for (auto& s : slots_) s->arena_offset = no_arena;
  }

  result<void> allocate_raw(slot& s, std::uint64_t raw_size, const std::string& name) const {
    if (s.arena_offset != no_arena) {
      s.raw = arena_.data() + s.arena_offset;
    } else {
      s.owned.reset(new (std::nothrow) std::byte[std::size_t(raw_size)]);
      if (!s.owned && raw_size > 0)
        return make_error(errc::out_of_memory, name + ": cannot allocate " + std::to_string(raw_size) + " bytes");
      s.raw = s.owned.get();
    }
    s.raw_size = std::size_t(raw_size);
    return {};
  }

  void drop(slot& s) const noexcept {
    if (s.arena_offset != no_arena && s.raw) arena_.discard(s.arena_offset, s.raw_size);
    s.owned.reset();
    s.raw = nullptr;
    s.raw_size = 0;
  }

  std::span<const std::byte> current(std::size_t i) const {
    const blob& b = blob_at(i);
    if (b.comp == compression::zstd) return slots_[i]->raw_span();
    return stored_bytes(b);
  }

  std::span<const std::byte> bytes_;
  fixed_header fixed_;
  json_header json_;
  reader_options opts_;
  std::shared_ptr<const void> keep_alive_;
  std::vector<std::unique_ptr<slot>> slots_;
  reserved_memory arena_;
  std::map<std::string, std::size_t, std::less<>> index_;
};

// Opens a file by path: memory-mapped natively (read into memory under Emscripten); the map
// lives as long as the reader.
inline result<std::unique_ptr<reader>> open_file(const std::string& path, const reader_options& opts = {}) {
  auto m = mapped_file::open(path);
  if (!m) return std::move(m).err();
  auto shared = std::make_shared<mapped_file>(std::move(*m));
  auto r = reader::open(shared->bytes(), opts, shared);
  if (!r) return make_error(r.err().code, path + ": " + r.err().message);
  return r;
}

}  // namespace tqlib::format::mv2
