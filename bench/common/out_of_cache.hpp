#pragma once
// Out-of-cache streaming for the codec benchmarks. A model's decode step reads each weight matrix
// once from memory, so a matvec benchmark must too: the packed matrix is copied until the copies
// exceed 256 MB (far past this machine's caches) and each iteration takes the next copy.
// plain_read_sum streams the very same bytes as 64-bit words, the ceiling for a kernel that streams
// its weights; both figures are packed bytes per second, measured in one binary, so their ratio
// is the figure the README reports. (A float dot product is no such ceiling: one FMA chain caps it
// below what memory delivers.)
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <vector>

namespace tqlib_bench {

inline constexpr std::size_t out_of_cache_bytes = std::size_t(256) << 20;

class out_of_cache_copies {
 public:
  out_of_cache_copies() = default;
  explicit out_of_cache_copies(const std::vector<std::byte>& blob)
      : copies_(std::max<std::size_t>(1, out_of_cache_bytes / std::max<std::size_t>(1, blob.size())), blob) {}
  bool empty() const noexcept { return copies_.empty(); }
  std::size_t bytes() const noexcept { return copies_.empty() ? 0 : copies_[0].size(); }
  const std::vector<std::byte>& first() const noexcept { return copies_[0]; }
  // The copy to use next (round robin), so consecutive iterations never find it in cache.
  const std::vector<std::byte>& next() noexcept {
    const auto& c = copies_[next_];
    next_ = (next_ + 1) % copies_.size();
    return c;
  }

 private:
  std::vector<std::vector<std::byte>> copies_;
  std::size_t next_ = 0;
};

// Sum of the blob's whole 64-bit words: a loop the compiler vectorises into wide integer adds.
inline std::uint64_t plain_read_sum(const std::vector<std::byte>& blob) noexcept {
  std::uint64_t s = 0;
  const std::size_t words = blob.size() / 8;
  for (std::size_t i = 0; i < words; ++i) {
    std::uint64_t w;
    std::memcpy(&w, blob.data() + 8 * i, 8);
    s += w;
  }
  return s;
}

}  // namespace tqlib_bench
