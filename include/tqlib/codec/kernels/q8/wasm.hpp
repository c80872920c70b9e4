#pragma once
// q8 on WebAssembly SIMD128: the block's signed bytes widened even/odd.
#include <cstddef>
#include <cstdint>
#include <cstring>

#include "tqlib/codec/kernels/int8_engine.hpp"
#include "tqlib/codec/q8.hpp"

namespace tqlib::codec::detail {

template <>
struct int8_wasm_layout<q8_layout> {
  TQLIB_KERNEL_INLINE static bool decode(const std::byte* row, std::size_t, std::size_t b, wasm_block_w& w) noexcept {
    const std::byte* qs = row + b * q8_traits::block_bytes + 2;
    w = {wasm_split_i8(wasm_v128_load(qs)), wasm_split_i8(wasm_v128_load(qs + 16))};
    return true;
  }
};

}  // namespace tqlib::codec::detail
