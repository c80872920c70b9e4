// tq export-gguf MODEL OUT.gguf: writes a model (MV2 file, HF folder, .safetensors, GGUF) as a
// GGUF file llama.cpp reads: tensors of the codecs ggml has (f32, f16, bf16, q8 = Q8_0, q4_0,
// tq1_0, tq2_0) as they are, llama.cpp's names and hyperparameters, the tokenizer as
// tokenizer.ggml.*. Other codecs are refused with the tensor's name (quantize to q8 or q4_0 first).
#include <cstdio>
#include <string>

#include "cli.hpp"
#include "command.hpp"
#include "run_args.hpp"
#include "tqlib/api/open_model.hpp"
#include "tqlib/format/gguf_export.hpp"

namespace {

int run_export_gguf(tq::args_t args) {
  tq::cli c(args, {}, {});
  if (!c.ok()) return tq::usage_error("export-gguf", c.error());
  if (c.positional().size() != 2) return tq::usage_error("export-gguf", "usage: tq export-gguf MODEL OUT.gguf");
  const std::string in = c.positional()[0], out = c.positional()[1];
  auto src = tqlib::open_tensor_source(in);
  if (!src) return tq::fail("export-gguf", src.err());
  if (auto r = tqlib::format::gguf::export_gguf(**src, out); !r) return tq::fail("export-gguf", r.err());
  std::printf("wrote %s\n", out.c_str());
  return 0;
}

}  // namespace

TQ_COMMAND("export-gguf", "export-gguf MODEL OUT.gguf   write a model as a GGUF file for llama.cpp (codecs ggml has)", run_export_gguf);
