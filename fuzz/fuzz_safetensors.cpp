// libFuzzer: safetensors parser on arbitrary bytes.
#include <cstddef>
#include <cstdint>

#include "tqlib/format/safetensors.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace tqlib::format;
  auto v = safetensors::view::parse({reinterpret_cast<const std::byte*>(data), size});
  if (!v) return 0;
  for (const auto& t : v->tensors()) {
    auto b = v->bytes(t);
    if (b.size()) (void)b[b.size() - 1];
    (void)v->tensor(t.name);
  }
  return 0;
}
