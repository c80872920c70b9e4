// Kernels read nothing outside the blob they are given: every codec's matvec, matmul and
// decode_row run on a copy of the blob that ends right before an inaccessible page (and on one
// that starts right after one), and must not fault and must give what they give on the heap copy.
// A model's last tensor ends its memory-mapped file, so a read past it is a crash, not noise.
// The kernels are the ones the dispatch picks: CTest runs this program once as it is and once per
// forced x86 target (TQLIB_ARCH, tests/CMakeLists.txt). Moving the 128-block load of the tq4_1s
// GFNI path 16 bytes on makes it fault here.
#include <sys/mman.h>
#include <unistd.h>

#include <cstddef>
#include <cstring>
#include <limits>
#include <string>
#include <vector>

#include "catch.hpp"
#include "tqlib/codec/catalog.hpp"
#include "tqlib/codec/registry.hpp"
#include "tqlib/core/bytes.hpp"
#include "tqlib/core/rng.hpp"

using namespace tqlib;
using namespace tqlib::codec;

namespace {

// size bytes of readable memory with an inaccessible page right after (or right before) it.
class guarded_bytes {
 public:
  guarded_bytes(std::size_t size, bool guard_after) : page_(std::size_t(sysconf(_SC_PAGESIZE))) {
    const std::size_t data_pages = (size + page_ - 1) / page_ + 1;
    total_ = (data_pages + 1) * page_;
    void* p = mmap(nullptr, total_, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    REQUIRE(p != MAP_FAILED);
    base_ = static_cast<std::byte*>(p);
    if (guard_after) {
      REQUIRE(mprotect(base_ + data_pages * page_, page_, PROT_NONE) == 0);
      data_ = base_ + data_pages * page_ - size;
    } else {
      REQUIRE(mprotect(base_, page_, PROT_NONE) == 0);
      data_ = base_ + page_;
    }
  }
  guarded_bytes(const guarded_bytes&) = delete;
  guarded_bytes& operator=(const guarded_bytes&) = delete;
  ~guarded_bytes() { munmap(base_, total_); }
  std::byte* data() const { return data_; }

 private:
  std::size_t page_, total_ = 0;
  std::byte* base_ = nullptr;
  std::byte* data_ = nullptr;
};

struct outputs {
  std::vector<float> y, Y, rows;
};

outputs run_all(const codec_ops& c, std::span<const std::byte> blob, std::size_t rows, std::size_t cols,
                const std::vector<float>& X, std::size_t T) {
  outputs o;
  o.y.assign(rows, 0.f);
  o.Y.assign(T * rows, 0.f);
  o.rows.assign(rows * cols, 0.f);
  c.matvec(blob, rows, cols, X.data(), o.y.data(), 0, rows);
  c.matmul(blob, rows, cols, X.data(), T, o.Y.data(), 0, rows);
  for (std::size_t r = 0; r < rows; ++r) c.decode_row(blob, rows, cols, r, o.rows.data() + r * cols);
  return o;
}

}  // namespace

TEST_CASE("kernels read only inside the blob: a guard page right after or before it", "[codec][bounds]") {
  xoshiro256ss rng(77);
  const std::size_t rows = 3, T = 2;
  for (const codec_ops* c : all_codecs()) {
    int shapes = 0;
    for (std::size_t cols : {32u, 33u, 96u, 128u, 160u, 256u, 405u, 896u, 1000u}) {
      std::vector<float> w(rows * cols), X(T * cols);
      for (auto& v : w) v = 0.05f * float(rng.normal());
      for (auto& v : X) v = float(rng.normal());
      auto blob = c->encode(w.data(), rows, cols, encode_options{});
      if (!blob) continue;  // a shape this codec does not store (e.g. TQ1_0/TQ2_0 need multiples of 256)
      REQUIRE(c->validate(*blob, rows, cols).ok());
      ++shapes;
      const outputs want = run_all(*c, *blob, rows, cols, X, T);
      for (bool after : {true, false}) {
        INFO(c->name << " cols=" << cols << " guard page " << (after ? "after" : "before") << " the blob");
        guarded_bytes g(blob->size(), after);
        std::memcpy(g.data(), blob->data(), blob->size());
        const outputs got = run_all(*c, std::span<const std::byte>(g.data(), blob->size()), rows, cols, X, T);
        REQUIRE(got.y == want.y);
        REQUIRE(got.Y == want.Y);
        REQUIRE(got.rows == want.rows);
      }
    }
    INFO(c->name);
    REQUIRE(shapes >= 1);
  }
}

// Container readers validate through the layout catalog (codec/catalog.hpp), which is built from
// the codecs' layout headers without their kernels; the codecs' own ops validate the same bytes.
// Both must agree on every codec: the same names, sizes and verdicts, good bytes and bad.
TEST_CASE("the layout catalog agrees with every codec's ops", "[codec][catalog]") {
  REQUIRE(all_layouts().size() == all_codecs().size());
  xoshiro256ss g(11);
  for (const codec_ops* c : all_codecs()) {
    INFO(std::string(c->name));
    const layout_info* l = find_layout(c->id);
    REQUIRE(l != nullptr);
    CHECK(l->name == c->name);
    CHECK(find_layout(c->name) == l);
    for (std::size_t cols : {32u, 96u, 256u, 896u, 1000u})
      for (std::size_t rows : {1u, 3u}) CHECK(l->packed_size(rows, cols) == c->packed_size(rows, cols));
    const std::size_t rows = 4, cols = 512;
    std::vector<float> w(rows * cols);
    for (float& v : w) v = float(g.normal()) * 0.05f;
    auto blob = c->encode(w.data(), rows, cols, encode_options{});
    REQUIRE(blob);
    CHECK(l->validate(*blob, rows, cols));
    CHECK(c->validate(*blob, rows, cols));
    // A truncated blob, then a NaN scale (at the start of the row for most codecs; tq1_0, tq2_0
    // and q6_k keep theirs at the end of a block; trit2's is an f32, and AQLM's first bytes are a
    // magic): both refused, with the same message.
    std::vector<std::byte> bad(blob->begin(), blob->end() - 1);
    auto lv = l->validate(bad, rows, cols), cv = c->validate(bad, rows, cols);
    REQUIRE_FALSE(lv);
    REQUIRE_FALSE(cv);
    CHECK(lv.err().message == cv.err().message);
    bad.assign(blob->begin(), blob->end());
    if (c->id != codec_id::aqlm && c->id != codec_id::trit2) {
      const std::uint16_t nan16 = 0x7e00, nan_bf16 = 0x7fc0;
      if (c->id == codec_id::f32) store_le(bad.data(), std::numeric_limits<float>::quiet_NaN());
      else store_le(bad.data() + (c->id == codec_id::tq1_0 ? 52 : c->id == codec_id::tq2_0 ? 64 : c->id == codec_id::q6_k ? 208 : 0),
                    c->id == codec_id::bf16 ? nan_bf16 : nan16);
    } else {
      bad[0] = std::byte{0xff}, bad[1] = std::byte{0xff}, bad[2] = std::byte{0xff}, bad[3] = std::byte{0xff};
    }
    lv = l->validate(bad, rows, cols), cv = c->validate(bad, rows, cols);
    REQUIRE_FALSE(lv);
    REQUIRE_FALSE(cv);
    CHECK(lv.err().message == cv.err().message);
  }
}
