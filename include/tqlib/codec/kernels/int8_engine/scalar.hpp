#pragma once
// int8_engine without SIMD intrinsics (the SSE4.2 dispatch target, aarch64 for now, WebAssembly
// without SIMD, any other CPU): each block decoded to a buffer by Layout::decode and dotted in
// int32 by loops the compiler vectorises. Included by codec/kernels/int8_engine.hpp in
// translation units that have none of the other engines.
#include <cstddef>
#include <cstdint>

#include "tqlib/codec/int8_activations.hpp"

namespace tqlib::codec::detail {

template <class Arch, class Layout>
struct int8_engine_scalar {
  static constexpr bool has_chunks = false;
  static constexpr bool two_token_steps = false;
  static constexpr bool adds_offsets = false;  // int8_dot_engine adds them
  using chunk_x = int;

  template <std::size_t R>
  static void dot_rows(const std::byte* const* rows, std::size_t cols, const act_view& a, float* out, const std::byte* = nullptr,
                       std::size_t = 0, const chunk_x* = nullptr) noexcept {
    alignas(32) std::int8_t w[32];
    for (std::size_t r = 0; r < R; ++r) {
      float acc = 0.f;
      for (std::size_t b = 0; b < a.blocks; ++b) {
        Layout::decode(rows[r], cols, b, w);
        const std::int8_t* x = a.q + 32 * b;
        std::int32_t lo = 0, hi = 0;
        for (int j = 0; j < 16; ++j) lo += std::int32_t(w[j]) * x[j];
        for (int j = 16; j < 32; ++j) hi += std::int32_t(w[j]) * x[j];
        float slo, shi;
        Layout::scales(rows[r], cols, b, slo, shi);
        acc += a.d[b] * (Layout::split_scales ? slo * float(lo) + shi * float(hi) : slo * float(lo + hi));
      }
      out[r] = acc;
    }
  }

  // Exact int32 dot of each 32-block of one row with the activation codes.
  static void block_dots(const std::byte* row, std::size_t cols, const act_view& a, std::int32_t* out) noexcept {
    alignas(32) std::int8_t w[32];
    for (std::size_t b = 0; b < a.blocks; ++b) {
      Layout::decode(row, cols, b, w);
      std::int32_t s = 0;
      for (int j = 0; j < 32; ++j) s += std::int32_t(w[j]) * a.q[32 * b + j];
      out[b] = s;
    }
  }
};

}  // namespace tqlib::codec::detail
