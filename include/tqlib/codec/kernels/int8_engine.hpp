#pragma once
// The shared inner loop of every integer codec: rows of weights decoded 32 at a time into signed
// int8, dotted exactly in int32 with int8 activations (int8_activations.hpp), scaled and summed
// in float. A codec describes only its layout:
//
//   struct layout {
//     static constexpr bool split_scales;   // one scale per 16 weights instead of per 32
//     static std::size_t row_bytes(std::size_t cols);
//     static void scales(const std::byte* row, std::size_t cols, std::size_t b, float& lo, float& hi);
//     static void decode(const std::byte* row, std::size_t cols, std::size_t b, std::int8_t* out32);
//   };
// and, per instruction set, the register-level fast paths of its own kernel folder
// (codec/kernels/<codec>/avx2.hpp, avx512.hpp, wasm.hpp), which specialize the hook structs
// below. The engine itself has one file per instruction set, int8_engine/{scalar, avx2, avx512,
// wasm}.hpp; this file holds what they share: the row-group loops of matvec and matmul.
//
// Speed: a matvec streams its weights once, so it runs at memory speed only if the instructions
// per packed byte stay few and the loads reach memory early. Rows go in groups of
// int8_rows_per_pass (each activation load serves the whole group); the group's bytes are
// contiguous and software prefetch pulls in the next group while this one is computed, so the
// hardware sees one sequential stream ahead of the several row streams. Every row's arithmetic
// is the same whatever the group it falls in, so results do not depend on how rows are split
// between threads, nor on matvec vs matmul.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <utility>
#include <vector>

#include "tqlib/codec/detail/int8_codec_ops.hpp"
#include "tqlib/codec/int8_activations.hpp"
#include "tqlib/codec/kernels/isa.hpp"
#include "tqlib/simd/dispatch.hpp"

namespace tqlib::codec::detail {

inline constexpr std::size_t int8_rows_per_pass = 4;  // rows sharing each activation load

// A layout's fast paths on AVX2 (int8_engine/avx2.hpp says what the engine looks for), on
// AVX-512 (by default the AVX2 ones; a specialization derives from them and adds its own) and
// on WebAssembly SIMD128 (int8_engine/wasm.hpp). Empty: the engine decodes through
// Layout::decode.
template <class Layout>
struct int8_avx2_layout {};
template <class Layout>
struct int8_avx512_layout : int8_avx2_layout<Layout> {};
template <class Layout>
struct int8_wasm_layout {};

template <class R, class... Args>
R result_of(R (*)(Args...));  // unevaluated only: the return type of a function

}  // namespace tqlib::codec::detail

// This translation unit's engine.
#if TQLIB_ISA_AVX512
#include "tqlib/codec/kernels/int8_engine/avx512.hpp"
namespace tqlib::codec::detail {
template <class Arch, class Layout>
using int8_isa_engine = int8_engine_avx512<Arch, Layout>;
#elif TQLIB_ISA_AVX2
#include "tqlib/codec/kernels/int8_engine/avx2.hpp"
namespace tqlib::codec::detail {
template <class Arch, class Layout>
using int8_isa_engine = int8_engine_avx2<Arch, Layout>;
#elif TQLIB_ISA_WASM
#include "tqlib/codec/kernels/int8_engine/wasm.hpp"
namespace tqlib::codec::detail {
template <class Arch, class Layout>
using int8_isa_engine = int8_engine_wasm<Arch, Layout>;
#else
#include "tqlib/codec/kernels/int8_engine/scalar.hpp"
namespace tqlib::codec::detail {
template <class Arch, class Layout>
using int8_isa_engine = int8_engine_scalar<Arch, Layout>;
#endif

// The row-group loops over this translation unit's engine (int8_isa_engine, from the file
// included above). The engine gives dot_rows<R> (R rows, one token) and block_dots; with
// has_chunks (a layout's multi-block steps) chunk_x, chunk_blocks, chunk_end, fast and
// matmul_chunks; with two_token_steps dot_rows_two_tokens<R> (matmul, two tokens a step).
template <class Arch, class Layout>
struct int8_dot_engine {
  using isa = int8_isa_engine<Arch, Layout>;
  using chunk_x = typename isa::chunk_x;
  static constexpr std::size_t rows_per_pass = int8_rows_per_pass;

  static_assert(!(isa::has_chunks && has_block_offsets<Layout>), "chunked matmul does not add block offsets");

  static void block_dots(const std::byte* row, std::size_t cols, const act_view& a, std::int32_t* out) noexcept {
    isa::block_dots(row, cols, a, out);
  }

  // out[i] += row i's block offsets (layouts with them, where the engine's own steps do not add
  // them), while its bytes are still in L1.
  template <std::size_t R>
  TQLIB_KERNEL_INLINE static void add_offsets([[maybe_unused]] const std::byte* const* rows, [[maybe_unused]] std::size_t cols,
                                              [[maybe_unused]] const act_view& a, [[maybe_unused]] float* out) noexcept {
    if constexpr (has_block_offsets<Layout> && !isa::adds_offsets)
      for (std::size_t i = 0; i < R; ++i) out[i] += block_offsets_dot<Layout>(rows[i], cols, a);
  }

  static void matvec(const std::byte* blob, std::size_t cols, const act_view& a, float* y, std::size_t r0,
                     std::size_t r1) noexcept {
    if constexpr (isa::has_chunks) {
      // The chunks' activations once for all row groups, when they fit 16 KiB of stack.
      constexpr std::size_t cap = 16384 / sizeof(chunk_x);
      const std::size_t chunks = (isa::chunk_end(cols, a.blocks) + isa::chunk_blocks - 1) / isa::chunk_blocks;
      if (chunks <= cap && r1 - r0 >= 2 * rows_per_pass) {
        chunk_x xs[cap];
        for (std::size_t c = 0; c < chunks; ++c) xs[c] = isa::fast::chunk_activations(a, cols, c * isa::chunk_blocks);
        return matvec_rows(blob, cols, a, y, r0, r1, xs);
      }
    }
    matvec_rows(blob, cols, a, y, r0, r1, nullptr);
  }

  static void matvec_rows(const std::byte* blob, std::size_t cols, const act_view& a, float* y, std::size_t r0,
                          std::size_t r1, const chunk_x* xs) noexcept {
    const std::size_t rb = Layout::row_bytes(cols);
    constexpr std::size_t R = rows_per_pass;
    std::size_t r = r0;
    for (; r + R <= r1; r += R) {
      const std::byte* rows[R];
      for (std::size_t i = 0; i < R; ++i) rows[i] = blob + (r + i) * rb;
      // The next group (or the remaining rows) is prefetched while this one is computed.
      const std::size_t next = r + R < r1 ? std::min(R, r1 - r - R) : 0;
      isa::template dot_rows<R>(rows, cols, a, y + r, next ? blob + (r + R) * rb : nullptr, next * rb, xs);
      add_offsets<R>(rows, cols, a, y + r);
    }
    for (; r < r1; ++r) {
      const std::byte* row = blob + r * rb;
      isa::template dot_rows<1>(&row, cols, a, y + r, nullptr, 0, xs);
      add_offsets<1>(&row, cols, a, y + r);
    }
  }

  // Y[t * rows + r] for t < T: each group of rows is decoded while it sits in L1 for all T tokens.
  static void matmul(const std::byte* blob, std::size_t rows, std::size_t cols, const act_view* acts, std::size_t T,
                     float* Y, std::size_t r0, std::size_t r1) noexcept {
    if constexpr (isa::has_chunks)
      if (T > 1) return isa::matmul_chunks(blob, rows, cols, acts, T, Y, r0, r1);
    const std::size_t rb = Layout::row_bytes(cols);
    std::size_t r = r0;
    for (; r + rows_per_pass <= r1; r += rows_per_pass) {
      const std::byte* group[rows_per_pass];
      for (std::size_t i = 0; i < rows_per_pass; ++i) group[i] = blob + (r + i) * rb;
      std::size_t t = 0;
      if constexpr (isa::two_token_steps) {
        for (; t + 2 <= T; t += 2) {
          float out[2][rows_per_pass];
          isa::template dot_rows_two_tokens<rows_per_pass>(group, cols, acts + t, out);
          add_offsets<rows_per_pass>(group, cols, acts[t], out[0]);
          add_offsets<rows_per_pass>(group, cols, acts[t + 1], out[1]);
          for (std::size_t i = 0; i < rows_per_pass; ++i) Y[t * rows + r + i] = out[0][i], Y[(t + 1) * rows + r + i] = out[1][i];
        }
      }
      for (; t < T; ++t) {
        float out[rows_per_pass];
        isa::template dot_rows<rows_per_pass>(group, cols, acts[t], out);
        add_offsets<rows_per_pass>(group, cols, acts[t], out);
        for (std::size_t i = 0; i < rows_per_pass; ++i) Y[t * rows + r + i] = out[i];
      }
    }
    for (; r < r1; ++r) {
      const std::byte* row = blob + r * rb;
      for (std::size_t t = 0; t < T; ++t) {
        isa::template dot_rows<1>(&row, cols, acts[t], Y + t * rows + r);
        add_offsets<1>(&row, cols, acts[t], Y + t * rows + r);
      }
    }
  }
};

template <class Arch, class Layout>
void int8_kernels<Arch, Layout>::matvec(const std::byte* blob, std::size_t cols, const act_view& a, float* y,
                                        std::size_t r0, std::size_t r1) noexcept {
  int8_dot_engine<Arch, Layout>::matvec(blob, cols, a, y, r0, r1);
}
template <class Arch, class Layout>
void int8_kernels<Arch, Layout>::matmul(const std::byte* blob, std::size_t rows, std::size_t cols, const act_view* acts,
                                        std::size_t T, float* Y, std::size_t r0, std::size_t r1) noexcept {
  int8_dot_engine<Arch, Layout>::matmul(blob, rows, cols, acts, T, Y, r0, r1);
}
template <class Arch, class Layout>
void int8_kernels<Arch, Layout>::block_dots(const std::byte* row, std::size_t cols, const act_view& a,
                                            std::int32_t* out) noexcept {
  int8_dot_engine<Arch, Layout>::block_dots(row, cols, a, out);
}

}  // namespace tqlib::codec::detail
