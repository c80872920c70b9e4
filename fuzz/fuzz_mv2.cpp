// libFuzzer: MV2 reader on arbitrary bytes; whatever opens must read every blob without UB.
#include <cstddef>
#include <cstdint>

#include "tqlib/format/mv2.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace tqlib::format;
  std::span<const std::byte> bytes(reinterpret_cast<const std::byte*>(data), size);
  auto r = mv2::reader::open(bytes, {.max_decompressed_bytes = 64u << 20});
  if (!r) return 0;
  (void)(*r)->verify_all();
  for (const auto& n : (*r)->tensor_names()) (void)(*r)->tensor(n);
  (void)(*r)->file("config.json");
  return 0;
}
