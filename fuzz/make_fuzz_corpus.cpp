// Writes the fuzzers' seed corpus (fuzz/seed_corpus.hpp) to DIR/<target>/<name>:
//   make_fuzz_corpus fuzz/corpus
#include <cstdio>
#include <exception>
#include <filesystem>
#include <fstream>

#include "seed_corpus.hpp"

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: make_fuzz_corpus DIR\n");
    return 2;
  }
  try {
    namespace fs = std::filesystem;
    for (const auto& s : tqlib_fuzz::make_seeds()) {
      const fs::path dir = fs::path(argv[1]) / s.target;
      fs::create_directories(dir);
      std::ofstream f(dir / s.name, std::ios::binary | std::ios::trunc);
      f.write(reinterpret_cast<const char*>(s.bytes.data()), std::streamsize(s.bytes.size()));
      if (!f) throw std::runtime_error("cannot write " + (dir / s.name).string());
      std::printf("%-18s %-34s %6zu bytes\n", s.target.c_str(), s.name.c_str(), s.bytes.size());
    }
  } catch (const std::exception& e) {
    std::fprintf(stderr, "make_fuzz_corpus: %s\n", e.what());
    return 1;
  }
  return 0;
}
