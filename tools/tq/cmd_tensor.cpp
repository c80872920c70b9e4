// tq tensor FILE NAME [--raw] [--limit N]: a tensor's values as text (dense float codecs, or
// decoded rows through the codec), or its raw bytes on stdout.
#include <vector>

#include "cli.hpp"
#include "format_source.hpp"
#include "tqlib/core/float16.hpp"

namespace {

int run_tensor(tq::args_t args) {
  tq::cli c(args, {"limit"}, {"raw"});
  const auto limit = c.number<std::size_t>("limit", 64);
  if (!c.ok()) return tq::usage_error("tensor", c.error());
  if (c.positional().size() != 2) return tq::usage_error("tensor", "usage: tq tensor FILE NAME [--raw] [--limit N]");
  auto src = tq::open_source(c.positional()[0]);
  if (!src) return tq::fail("tensor", src.err().what());
  auto t = src->source->tensor(c.positional()[1]);
  if (!t) return tq::fail("tensor", t.err().what());
  if (!*t) return tq::fail("tensor", "no tensor named '" + c.positional()[1] + "'");
  const auto& v = **t;
  if (c.has("raw")) {
    if (std::fwrite(v.bytes.data(), 1, v.bytes.size(), stdout) != v.bytes.size()) return tq::fail("tensor", "write to stdout failed");
    return 0;
  }
  std::vector<float> vals;
  using tqlib::codec::codec_id;
  const std::size_t n = std::min(limit, v.bytes.size() / (v.codec == codec_id::f32 ? 4 : 2));
  if (v.codec == codec_id::f32 || v.codec == codec_id::f16 || v.codec == codec_id::bf16) {
    for (std::size_t i = 0; i < n; ++i) {
      const std::byte* p = v.bytes.data() + i * (v.codec == codec_id::f32 ? 4 : 2);
      vals.push_back(v.codec == codec_id::f32   ? tqlib::load_le<float>(p)
                     : v.codec == codec_id::f16 ? tqlib::f16_to_f32(tqlib::load_le<std::uint16_t>(p))
                                                : tqlib::bf16_to_f32(tqlib::load_le<std::uint16_t>(p)));
    }
  } else {
    const auto* ops = tqlib::codec::find(v.codec);
    if (!ops || v.shape.empty()) return tq::fail("tensor", "cannot decode codec of '" + v.name + "' here; use --raw");
    const std::size_t rows = v.shape.size() >= 2 ? v.shape[0] : 1;
    std::size_t cols = 1;
    for (std::size_t i = v.shape.size() >= 2 ? 1 : 0; i < v.shape.size(); ++i) cols *= v.shape[i];
    std::vector<float> row(cols);
    for (std::size_t r = 0; r < rows && vals.size() < limit; ++r) {
      ops->decode_row(v.bytes, rows, cols, r, row.data());
      for (std::size_t k = 0; k < cols && vals.size() < limit; ++k) vals.push_back(row[k]);
    }
  }
  for (std::size_t i = 0; i < vals.size(); ++i) std::printf("%.8g%c", double(vals[i]), (i + 1) % 8 == 0 ? '\n' : ' ');
  std::printf("\n");
  return 0;
}

}  // namespace

TQ_COMMAND("tensor", "tensor FILE NAME [--raw] [--limit N]      print a tensor's first values (or raw bytes)", run_tensor);
