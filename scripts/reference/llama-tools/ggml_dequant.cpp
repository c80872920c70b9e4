// tq-ggml-dequant FILE.gguf TENSOR ROWS OUT
//
// ggml's own dequantization of the first ROWS rows of one GGUF tensor, for tqlib's codec tests:
// reads the tensor's info with gguf.h, its bytes straight from the file, and converts them with
// ggml_get_type_traits(type)->to_float (ggml.h). Writes OUT.raw (the ROWS rows' bytes as stored)
// and OUT.f32 (ROWS x ne[0] float32 little-endian values), and prints "ID NAME ne0 rows" (the ggml
// type's id and name, the row length, the rows in the tensor) on stdout.
//
// Written against ggml's public API; built by scripts/reference/build-llama-cpp.
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "ggml.h"
#include "gguf.h"

int main(int argc, char** argv) {
  if (argc != 5) {
    std::fprintf(stderr, "usage: %s FILE.gguf TENSOR ROWS OUT (writes OUT.raw, OUT.f32)\n", argv[0]);
    return 2;
  }
  gguf_init_params params{};
  params.no_alloc = true;
  params.ctx = nullptr;
  gguf_context* g = gguf_init_from_file(argv[1], params);
  if (!g) {
    std::fprintf(stderr, "cannot read %s as GGUF\n", argv[1]);
    return 1;
  }
  const int64_t id = gguf_find_tensor(g, argv[2]);
  if (id < 0) {
    std::fprintf(stderr, "no tensor %s in %s\n", argv[2], argv[1]);
    return 1;
  }
  const ggml_type type = gguf_get_tensor_type(g, id);
  const int64_t* ne = gguf_get_tensor_ne(g, id);
  const int64_t total_rows = ne[1] * ne[2] * ne[3];
  const int64_t rows = std::atoll(argv[3]);
  if (rows < 1 || rows > total_rows) {
    std::fprintf(stderr, "ROWS must be 1..%lld\n", (long long)total_rows);
    return 1;
  }
  const ggml_type_traits* tr = ggml_get_type_traits(type);
  if (!tr->to_float) {
    std::fprintf(stderr, "ggml has no to_float for %s\n", tr->type_name);
    return 1;
  }
  const size_t row_bytes = ggml_row_size(type, ne[0]);
  std::vector<uint8_t> raw(row_bytes * size_t(rows));
  std::FILE* f = std::fopen(argv[1], "rb");
  const long long at = (long long)(gguf_get_data_offset(g) + gguf_get_tensor_offset(g, id));
  if (!f || fseeko(f, off_t(at), SEEK_SET) != 0 || std::fread(raw.data(), 1, raw.size(), f) != raw.size()) {
    std::fprintf(stderr, "cannot read %zu bytes of %s at %lld\n", raw.size(), argv[2], at);
    return 1;
  }
  std::fclose(f);
  std::vector<float> out(size_t(ne[0]) * size_t(rows));
  for (int64_t r = 0; r < rows; ++r) tr->to_float(raw.data() + size_t(r) * row_bytes, out.data() + size_t(r) * size_t(ne[0]), ne[0]);
  const std::string prefix = argv[4];
  std::FILE* o = std::fopen((prefix + ".raw").c_str(), "wb");
  if (!o || std::fwrite(raw.data(), 1, raw.size(), o) != raw.size() || std::fclose(o) != 0) {
    std::fprintf(stderr, "cannot write %s.raw\n", argv[4]);
    return 1;
  }
  o = std::fopen((prefix + ".f32").c_str(), "wb");  // x86-64 / aarch64 hosts: float32 little-endian
  if (!o || std::fwrite(out.data(), sizeof(float), out.size(), o) != out.size() || std::fclose(o) != 0) {
    std::fprintf(stderr, "cannot write %s.f32\n", argv[4]);
    return 1;
  }
  std::printf("%d %s %lld %lld\n", int(type), tr->type_name, (long long)ne[0], (long long)total_rows);
  gguf_free(g);
  return 0;
}
