#pragma once
// Thin RAII wrappers over libzstd for MV2 tensor blobs. Each compressed blob is exactly one
// zstd frame whose decompressed size the caller already knows (the MV2 header records it), so
// decompression writes into a buffer of that size and nothing is allocated from the frame's say.
#include <zstd.h>

#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "tqlib/core/result.hpp"

namespace tqlib::format::zstd {

inline constexpr int min_level = 1;
inline constexpr int max_level = 22;  // ZSTD_maxCLevel() of every libzstd >= 1.3

struct dctx_deleter {
  void operator()(ZSTD_DCtx* c) const noexcept { ZSTD_freeDCtx(c); }
};
struct cctx_deleter {
  void operator()(ZSTD_CCtx* c) const noexcept { ZSTD_freeCCtx(c); }
};
using dctx = std::unique_ptr<ZSTD_DCtx, dctx_deleter>;
using cctx = std::unique_ptr<ZSTD_CCtx, cctx_deleter>;

// One zstd frame holding `src`, at `level` (1..22).
inline result<std::vector<std::byte>> compress(std::span<const std::byte> src, int level) {
  if (level < min_level || level > max_level)
    return make_error(errc::invalid_argument, "zstd level " + std::to_string(level) + " is outside 1..22");
  cctx c(ZSTD_createCCtx());
  if (!c) return make_error(errc::out_of_memory, "zstd: cannot create a compression context");
  ZSTD_CCtx_setParameter(c.get(), ZSTD_c_compressionLevel, level);
  ZSTD_CCtx_setParameter(c.get(), ZSTD_c_contentSizeFlag, 1);
  ZSTD_CCtx_setParameter(c.get(), ZSTD_c_checksumFlag, 0);  // MV2 carries its own BLAKE2b
  std::vector<std::byte> out(ZSTD_compressBound(src.size()));
  const std::size_t n = ZSTD_compress2(c.get(), out.data(), out.size(), src.data(), src.size());
  if (ZSTD_isError(n)) return make_error(errc::io, std::string("zstd compress: ") + ZSTD_getErrorName(n));
  out.resize(n);
  out.shrink_to_fit();
  return out;
}

// Checks, before any output is allocated, that `src` is exactly one zstd frame that can hold
// `raw_size` bytes: the frame's declared content size (when present) equals raw_size, and
// raw_size is within what the frame's length allows (every block carries a 3-byte header and
// yields at most 128 KiB), so a few stored bytes cannot claim gigabytes. `what` names the blob.
inline result<void> check_frame(std::span<const std::byte> src, std::uint64_t raw_size, const std::string& what) {
  const std::size_t frame = ZSTD_findFrameCompressedSize(src.data(), src.size());
  if (ZSTD_isError(frame))
    return make_error(errc::corrupt, what + ": bad zstd frame (" + ZSTD_getErrorName(frame) + ")");
  if (frame != src.size())
    return make_error(errc::corrupt, what + ": stored bytes hold " + std::to_string(frame) + " bytes of zstd frame and " +
                                         std::to_string(src.size() - frame) + " trailing bytes");
  const unsigned long long declared = ZSTD_getFrameContentSize(src.data(), src.size());
  if (declared == ZSTD_CONTENTSIZE_ERROR) return make_error(errc::corrupt, what + ": bad zstd frame header");
  if (declared != ZSTD_CONTENTSIZE_UNKNOWN && declared != raw_size)
    return make_error(errc::corrupt, what + ": zstd frame says " + std::to_string(declared) +
                                         " bytes, header says raw_size " + std::to_string(raw_size));
  const std::uint64_t bound = (std::uint64_t(src.size()) / 3 + 1) * ZSTD_BLOCKSIZE_MAX;
  if (raw_size > bound)
    return make_error(errc::corrupt, what + ": raw_size " + std::to_string(raw_size) + " is more than a " +
                                         std::to_string(src.size()) + "-byte zstd frame can hold");
  return {};
}

// Decompresses exactly one frame `src` into `dst`, which must come out exactly full. `what`
// names the blob in errors ("tensor 'x'").
inline result<void> decompress_exact(std::span<const std::byte> src, std::span<std::byte> dst, const std::string& what) {
  TQLIB_TRY(check_frame(src, dst.size(), what));
  dctx d(ZSTD_createDCtx());
  if (!d) return make_error(errc::out_of_memory, "zstd: cannot create a decompression context");
  ZSTD_DCtx_setParameter(d.get(), ZSTD_d_windowLogMax, 27);  // 128 MiB window at most
  const std::size_t n = ZSTD_decompressDCtx(d.get(), dst.data(), dst.size(), src.data(), src.size());
  if (ZSTD_isError(n)) return make_error(errc::corrupt, what + ": zstd decompress failed (" + ZSTD_getErrorName(n) + ")");
  if (n != dst.size())
    return make_error(errc::corrupt, what + ": zstd frame holds " + std::to_string(n) + " bytes, raw_size is " +
                                         std::to_string(dst.size()));
  return {};
}

}  // namespace tqlib::format::zstd
