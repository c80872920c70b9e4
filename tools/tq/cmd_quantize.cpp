// tq quantize IN OUT.mv2 --codec C [--embed-codec C] [--keep PATTERN]... [--override PATTERN=CODEC]...
//             [--keep-codec f16|bf16|f32] [--fallback CODEC] [--tokenizer DIR] [--zstd LEVEL]
//             [--sign KEYFILE] [--mmap] [--seed N] [--quiet]
// The work is tqlib::quantize_model (include/tqlib/api/quantize.hpp); this file parses the
// arguments and prints its report.
// IN is a Hugging Face folder (config.json + model.safetensors or shards), a .safetensors file
// with config.json beside it, or an MV2 file (requantized from its decoded weights). The policy
// (include/tqlib/model/quantize_policy.hpp) is printed first: linear layers get C; embeddings,
// lm_head, norms and biases stay f16 unless told otherwise. Then one line per tensor (codec,
// bits per weight, relative error ||W - W'|| / ||W||) and the totals. config.json and the
// tokenizer files present (tokenizer.json or vocab.json + merges.txt, tokenizer_config.json,
// added_tokens.json, special_tokens_map.json, vocab_remap.json, generation_config.json) are
// embedded; a folder without tokenizer files still quantizes. OUT is written atomically: it is
// only replaced once complete.
// Already-quantized checkpoints are imported, not re-quantized (model/checkpoint_import.hpp):
// an AQLM folder (quantization_config.quant_method "aqlm") stores each X.codes/X.codebooks/
// X.scales as X.weight with codec aqlm, a BitNet packed folder (seed 002: U8 X.weight +
// X.weight.scales) each pair as X.weight with codec bitnet; the report says "imported". --codec
// is then optional: it applies only to the float linear weights the checkpoint has (default:
// kept as --keep-codec, f16). --keep / --override patterns that match an imported tensor decode
// it and store it as asked.
#include <unistd.h>

#include <cstdio>
#include <string>

#include "cli.hpp"
#include "command.hpp"
#include "run_args.hpp"
#include "tqlib/api/quantize.hpp"

namespace {

using tqlib::errc;
using tqlib::make_error;

std::string human_bytes(double b) {
  char buf[32];
  if (b >= 1e6)
    std::snprintf(buf, sizeof buf, "%.2f MB", b / 1e6);
  else if (b >= 1e3)
    std::snprintf(buf, sizeof buf, "%.1f kB", b / 1e3);
  else
    std::snprintf(buf, sizeof buf, "%.0f B", b);
  return buf;
}

std::string dims_text(const std::vector<std::uint64_t>& shape) {
  std::string s;
  for (std::size_t k = 0; k < shape.size(); ++k) s += (k ? "x" : "") + std::to_string(shape[k]);
  return s;
}

int quantize(tq::args_t args) {
  tq::cli c(args, {"codec", "embed-codec", "keep", "override", "keep-codec", "fallback", "tokenizer", "zstd", "sign", "seed"},
            {"mmap", "quiet"});
  if (!c.ok()) return tq::usage_error("quantize", c.error());
  if (c.positional().size() != 2)
    return tq::usage_error("quantize", "usage: tq quantize IN OUT.mv2 --codec C [--keep PATTERN]... [--zstd LEVEL] [--sign KEYFILE] [--mmap]");
  const std::string in = c.positional()[0], out = c.positional()[1];
  tqlib::quantize_options qo;
  qo.zstd_level = c.number<int>("zstd", 0);
  qo.seed = c.number<std::uint64_t>("seed", qo.seed);
  if (!c.ok()) return tq::usage_error("quantize", c.error());
  qo.page_aligned = c.has("mmap");
  qo.fallback_codec = c.get("fallback");
  if (auto dir = c.get("tokenizer")) qo.tokenizer_dir = *dir;
  qo.quantized_by = "tq quantize";

  tqlib::quantize_policy policy;
  if (auto k = c.get("keep-codec")) policy.keep_codec = *k;
  policy.linear_codec = c.get("codec").value_or("");  // only imported checkpoints may leave it out
  if (auto e = c.get("embed-codec")) policy.embed_codec = *e;
  policy.keep = c.all("keep");
  for (const auto& o : c.all("override")) {
    auto r = tqlib::quantize_policy::parse_override(o);
    if (!r) return tq::usage_error("quantize", "--override '" + o + "': expected PATTERN=CODEC");
    policy.overrides.push_back(*r);
  }
  if (auto r = tqlib::check_quantize_request(policy, qo); !r) return tq::usage_error("quantize", r.err().message);
  if (auto keyfile = c.get("sign")) {
    auto text = tqlib::tokenizer::read_text_file(*keyfile);
    if (!text) return tq::fail("quantize", make_error(errc::io, *keyfile + ": cannot read the secret key file"));
    auto key = tqlib::format::parse_secret_key(*text, *keyfile);
    if (!key) return tq::fail("quantize", key.err());
    qo.signing_key = *key;
  }

  const bool quiet = c.has("quiet");
  const bool tty = !quiet && isatty(fileno(stderr));
  qo.on_start = [&](const tqlib::quantize_report& r) {
    std::printf("%s\n", r.policy.c_str());
    if (r.import_tensors)
      std::printf("import: %s checkpoint: %zu tensors kept as codec %s, not re-quantized; the policy applies to the other tensors\n",
                  r.import_description.c_str(), r.import_tensors, r.imported_codec.c_str());
    if (!quiet) std::printf("%-48s %-14s %-8s %7s %10s %s\n", "tensor", "shape", "codec", "bpw", "rel.err", "reason");
  };
  if (tty)
    qo.on_progress = [](std::size_t i, std::size_t n, std::string_view name) {
      std::fprintf(stderr, "\r\033[K[%zu/%zu] %.*s", i + 1, n, int(name.size()), name.data());
      std::fflush(stderr);
    };
  qo.on_tensor = [&](const tqlib::tensor_report& t) {
    if (tty) std::fprintf(stderr, "\r\033[K");
    if (!quiet)
      std::printf("%-48s %-14s %-8s %7.3f %10.3e %s\n", t.name.c_str(), dims_text(t.shape).c_str(), t.codec.c_str(),
                  t.bits_per_weight, t.rel_error, t.reason.c_str());
  };
  auto rep = tqlib::quantize_model(in, out, policy, qo);
  if (tty) std::fprintf(stderr, "\r\033[K");
  if (!rep) return tq::fail("quantize", rep.err());
  const auto& r = *rep;

  const auto params = r.params(), out_bytes = r.tensor_bytes();
  std::printf("\n%zu tensors, %llu parameters in %.1f s\n", r.tensors.size(), static_cast<unsigned long long>(params), r.seconds);
  for (const auto& pc : r.per_codec())
    std::printf("  %-8s %12llu params  %s  (%.3f bpw)\n", pc.codec.c_str(), static_cast<unsigned long long>(pc.params),
                human_bytes(double(pc.bytes)).c_str(), pc.params ? 8.0 * double(pc.bytes) / double(pc.params) : 0.0);
  if (const double lb = r.linear_bits_per_weight(); lb > 0) std::printf("linear layers: %.3f bpw\n", lb);
  std::printf("all tensors: %.3f bpw (tensor bytes %s); file %s: %s; compression vs input tensors %.2fx, vs f16 %.2fx\n",
              params ? 8.0 * double(out_bytes) / double(params) : 0.0, human_bytes(double(out_bytes)).c_str(), out.c_str(),
              human_bytes(double(r.file_bytes)).c_str(), r.file_bytes ? double(r.input_bytes()) / double(r.file_bytes) : 0.0,
              r.file_bytes ? 2.0 * double(params) / double(r.file_bytes) : 0.0);
  std::printf("embedded files: %zu%s%s%s\n", r.embedded_files.size(), r.has_tokenizer ? "" : " (no tokenizer: the model takes --ids)",
              r.is_signed ? "; signed" : "", r.zstd_level ? "; zstd" : "");
  if (const auto n = r.count(tqlib::decision_source::imported))
    std::printf("imported: %zu tensor(s) kept as the checkpoint stored them (%s)\n", n, r.import_description.c_str());
  if (const auto n = r.count(tqlib::decision_source::fallback)) std::printf("warning: %zu tensor(s) used the --fallback codec\n", n);
  return 0;
}

}  // namespace

TQ_COMMAND("quantize",
           "quantize IN OUT.mv2 --codec C [--embed-codec C] [--keep PATTERN]... [--override PATTERN=CODEC]... [--zstd LEVEL] "
           "[--sign KEYFILE] [--mmap]   quantize a Hugging Face model into an MV2 file (AQLM and BitNet packed checkpoints: "
           "imported as they are, --codec optional)",
           quantize);
