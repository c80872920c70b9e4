// Use one codec directly: encode a float matrix, multiply it by a vector in its packed form,
// and compare with the float product.
//   example_custom_matvec [CODEC]     (default: q8; any name `tq quantize` lists)
#include <cmath>
#include <cstdio>
#include <string>
#include <vector>

#include <tqlib/tqlib.hpp>

int main(int argc, char** argv) {
  const std::string name = argc > 1 ? argv[1] : "q8";
  const tqlib::codec::codec_ops* codec = tqlib::codec::find(name);
  if (!codec) return std::fprintf(stderr, "no codec '%s' in this build\n", name.c_str()), 1;

  const std::size_t rows = 256, cols = 512;  // out x in, as PyTorch stores a linear layer
  std::vector<float> w(rows * cols), x(cols), want(rows, 0.0f), got(rows);
  tqlib::xoshiro256ss rng(42);
  auto uniform = [&] { return float(rng.uniform()) * 2.0f - 1.0f; };
  for (auto& v : w) v = 0.05f * uniform();
  for (auto& v : x) v = uniform();
  for (std::size_t r = 0; r < rows; ++r)
    for (std::size_t c = 0; c < cols; ++c) want[r] += w[r * cols + c] * x[c];

  auto blob = codec->encode(w.data(), rows, cols, {});
  if (!blob) return std::fprintf(stderr, "%s\n", blob.err().what().c_str()), 1;
  codec->matvec(*blob, rows, cols, x.data(), got.data(), 0, rows);  // all rows; threads split [r0, r1)

  double num = 0, den = 0;
  for (std::size_t r = 0; r < rows; ++r) num += double(got[r] - want[r]) * double(got[r] - want[r]), den += double(want[r]) * double(want[r]);
  const double rel = std::sqrt(num / den);
  std::printf("%s: %zu x %zu matrix in %zu bytes (%.3f bits per weight); matvec relative error vs float %.4f\n", name.c_str(), rows,
              cols, blob->size(), codec->bits_per_weight(*blob, rows, cols), rel);
  // Uniform random weights are hard on few bits: 8-bit codecs land near 0.005, 4-bit near 0.1, ternary
  // ones near 0.5 (trained weights, bell-shaped, fare better).
  return rel < 0.6 ? 0 : 1;
}
