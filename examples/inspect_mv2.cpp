// List an MV2 file's tensors and codecs and check its signature against a public key.
//   example_inspect_mv2 FILE.mv2 [KEY.pub]
#include <cstdio>
#include <string>

#include <tqlib/tqlib.hpp>

int main(int argc, char** argv) {
  if (argc < 2) return std::fprintf(stderr, "usage: %s FILE.mv2 [KEY.pub]\n", argv[0]), 2;
  auto file = tqlib::format::mv2::open_file(argv[1]);  // memory-mapped; checksums checked on use
  if (!file) return std::fprintf(stderr, "%s\n", file.err().what().c_str()), 1;
  const auto& r = **file;

  for (const auto& t : r.tensors()) {
    std::string shape;
    for (auto d : t.shape) shape += (shape.empty() ? "" : "x") + std::to_string(d);
    std::printf("%-44s %-8s %-10s %10llu bytes%s\n", t.name.c_str(), std::string(t.codec.name).c_str(), shape.c_str(),
                static_cast<unsigned long long>(t.data.raw_size), t.data.comp == tqlib::format::mv2::compression::zstd ? " (zstd)" : "");
  }
  const auto sizes = r.tensor_sizes();
  std::printf("%zu tensors, %llu bytes stored, %llu bytes decompressed\n", r.tensors().size(),
              static_cast<unsigned long long>(sizes.stored), static_cast<unsigned long long>(sizes.raw));

  if (argc < 3) {
    std::printf("signature: %s (give a public key to verify it)\n", r.is_signed() ? "present" : "none");
    return 0;
  }
  auto key = tqlib::format::load_public_key(argv[2]);
  if (!key) return std::fprintf(stderr, "%s\n", key.err().what().c_str()), 1;
  auto v = r.verify_signature(std::span(&*key, 1));
  std::printf("signature: %s\n", v ? "verified" : ("REFUSED: " + v.err().message).c_str());
  return v ? 0 : 1;
}
