// libFuzzer: MV2 reader on arbitrary bytes; whatever opens must read every blob, verify its
// signature and load without UB, hangs or unbounded memory. An input that starts
// with "TQDELTA1" + u32 LE n is a base file of n bytes followed by a delta patch, and goes
// through delta::apply (fuzz/seed_corpus.hpp makes such pairs).
#include <cstddef>
#include <cstdint>
#include <cstring>

#include "tqlib/core/bytes.hpp"
#include "tqlib/format/delta.hpp"
#include "tqlib/format/mv2.hpp"
#include "seed_corpus.hpp"

namespace {
constexpr char pair_magic[8] = {'T', 'Q', 'D', 'E', 'L', 'T', 'A', '1'};
constexpr std::uint64_t max_raw = 64u << 20;  // keeps every input's decompressed total small
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace tqlib::format;
  std::span<const std::byte> bytes(reinterpret_cast<const std::byte*>(data), size);
  const mv2::reader_options opts{.max_decompressed_bytes = max_raw};
  if (size >= 12 && std::memcmp(data, pair_magic, 8) == 0) {
    const std::uint32_t n = tqlib::load_le<std::uint32_t>(bytes.data() + 8);
    if (n > size - 12) return 0;
    auto out = delta::apply(bytes.subspan(12, n), bytes.subspan(12 + n), opts);
    if (out && !mv2::reader::open(*out, opts)) __builtin_trap();  // apply must produce a readable file
    return 0;
  }
  auto r = mv2::reader::open(bytes, opts);
  if (!r) return 0;
  const auto& rd = **r;
  (void)rd.tensor_sizes();
  (void)rd.load_all(1);  // threads add nothing ASan checks (tests/format run load_all on several)
  (void)rd.verify_all();
  for (const auto& n : rd.tensor_names()) (void)rd.tensor(n);
  for (const auto& f : rd.json_meta().files) (void)rd.read_file(f.name);
  (void)rd.file("config.json");
  if (rd.is_signed()) {
    static const public_key k = public_of(tqlib_fuzz::seed_signing_key());
    (void)rd.verify_signature(std::span(&k, 1));
  }
  return 0;
}
