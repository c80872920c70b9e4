// libFuzzer: safetensors parser on arbitrary bytes, and the same bytes as the text of a sharded
// model.safetensors.index.json.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "tqlib/format/hf_folder.hpp"
#include "tqlib/format/safetensors.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace tqlib::format;
  (void)parse_safetensors_index({reinterpret_cast<const char*>(data), size});
  auto v = safetensors::view::parse({reinterpret_cast<const std::byte*>(data), size});
  if (!v) return 0;
  for (const auto& t : v->tensors()) {
    auto b = v->bytes(t);
    if (b.size()) (void)b[b.size() - 1];
    if (auto tv = v->tensor(t.name); tv && *tv) {
      // A typed view's size must agree with its shape and codec.
      std::uint64_t n = (*tv)->codec == tqlib::codec::codec_id::f32 ? 4 : 2;
      for (auto d : (*tv)->shape) n *= d;
      if (n != (*tv)->bytes.size()) __builtin_trap();
    }
  }
  (void)v->tensor_names();
  return 0;
}
