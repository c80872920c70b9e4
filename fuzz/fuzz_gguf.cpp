// libFuzzer: GGUF reader on arbitrary bytes. Whatever parses must list its metadata (every array
// walked, nested ones too, through each typed getter), give every tensor a byte range inside the
// file whose size follows from its type and shape, and serve the tensors tqlib has a codec for
// as views whose first row decodes, without UB, hangs or unbounded memory.
#include <cstddef>
#include <cstdint>
#include <vector>

#include "tqlib/codec/registry.hpp"
#include "tqlib/format/gguf.hpp"

namespace {

using namespace tqlib::format;

std::size_t walk(const gguf::value& v, std::size_t depth) {
  if (depth > gguf::max_array_depth) __builtin_trap();  // the parser bounds nesting
  std::size_t n = v.payload.size();
  if (v.type == gguf::value_type::array)
    for (const auto& e : gguf::elements(v)) n += walk(e, depth + 1);
  return n;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::span<const std::byte> file(reinterpret_cast<const std::byte*>(data), size);
  auto v = gguf::view::parse(file);
  if (!v) return 0;
  for (const auto& kv : v->metadata()) {
    if (v->find(kv.key) != &kv.val) __builtin_trap();  // keys are unique and indexed
    (void)walk(kv.val, 0);
    (void)v->get_strings(kv.key);
    (void)v->get_ints(kv.key);
    (void)v->get_f32s(kv.key);
    (void)v->get_uint(kv.key);
    (void)v->get_float(kv.key);
    (void)v->get_string(kv.key);
  }
  for (const auto& t : v->tensors()) {
    const std::uint64_t want = t.elements() / t.type->block_size * t.type->type_size;
    if (want != t.size || t.ne[0] % t.type->block_size != 0) __builtin_trap();
    auto b = v->bytes(t);
    if (b.size() != t.size) __builtin_trap();
    if (!b.empty()) {
      if (b.data() < file.data() || b.data() + b.size() > file.data() + file.size()) __builtin_trap();
      (void)b[b.size() - 1];
    }
    auto tv = v->tensor(t.name);
    if (!tv || !*tv) continue;
    const auto& view = **tv;
    if (view.bytes.size() != t.size) __builtin_trap();
    const auto* ops = tqlib::codec::find(view.codec);
    const std::size_t rows = view.shape.size() >= 2 ? view.shape[0] : 1;
    const std::size_t cols = view.shape.size() >= 2 ? view.cols() : view.shape[0];
    if (ops && rows > 0 && cols > 0 && cols <= (std::size_t(1) << 20)) {
      std::vector<float> row(cols);
      ops->decode_row(view.bytes, rows, cols, 0, row.data());
    }
  }
  (void)v->tensor_names();
  return 0;
}
