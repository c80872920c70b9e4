#pragma once
// How a row of any length is cut into Hadamard blocks (hadamard.hpp rotates them; the
// sign-magnitude layouts store them): layout arithmetic only, no transform.
#include <cstddef>
#include <vector>

namespace tqlib::codec {

// A row of `cols` values is cut into blocks of `max_block` (a power of two), then the remainder
// into descending powers of two down to `min_block`; a last remainder shorter than min_block is
// zero-padded to min_block. 896 = 3 x 256 + 128, 4864 = 19 x 256, 1000 = 3 x 256 + 128 + 64 + 32
// + 8 (padded to 32). Each block is rotated on its own (block-diagonal R), so padding costs at most
// min_block - 1 values per row and none for Qwen's 896 / 4864 / 1024 / 3072.
struct rht_block {
  std::size_t offset;  // first column of the block
  std::size_t length;  // real columns in the block (<= size)
  std::size_t size;    // transform size: a power of two
};

inline std::vector<rht_block> rht_block_plan(std::size_t cols, std::size_t max_block = 256,
                                             std::size_t min_block = 32) {
  std::vector<rht_block> plan;
  std::size_t offset = 0;
  for (std::size_t size = max_block; size >= min_block; size /= 2)
    while (cols - offset >= size) {
      plan.push_back({offset, size, size});
      offset += size;
    }
  if (offset < cols) plan.push_back({offset, cols - offset, min_block});
  return plan;
}

}  // namespace tqlib::codec
