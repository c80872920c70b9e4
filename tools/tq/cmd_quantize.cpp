// tq quantize IN OUT.mv2 --codec C [--embed-codec C] [--keep PATTERN]... [--override PATTERN=CODEC]...
//             [--keep-codec f16|bf16|f32] [--fallback CODEC] [--tokenizer DIR] [--zstd LEVEL]
//             [--sign KEYFILE] [--mmap] [--seed N] [--quiet]
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

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "cli.hpp"
#include "command.hpp"
#include "model_loader.hpp"
#include "tqlib/codec/registry.hpp"
#include "tqlib/core/float16.hpp"
#include "tqlib/format/mv2_writer.hpp"
#include "tqlib/format/signature.hpp"
#include "tqlib/format/tensor_layout.hpp"
#include "tqlib/model/checkpoint_import.hpp"
#include "tqlib/model/quantize_policy.hpp"

namespace {

using tqlib::errc;
using tqlib::make_error;
using tqlib::result;
namespace mv2 = tqlib::format::mv2;

constexpr const char* embedded_files[] = {"tokenizer.json",          "vocab.json",        "merges.txt",
                                          "tokenizer_config.json",   "added_tokens.json", "special_tokens_map.json",
                                          "vocab_remap.json",        "generation_config.json"};

bool is_dense(std::string_view codec) { return codec == "f32" || codec == "f16" || codec == "bf16"; }

// Codec names on the command line that pick a configuration of a registered codec: AQLM's
// codebook shape is not implied by its codec id (it lives in the blob header), so `aqlm-2x8`
// and `aqlm-1x16` (the names the published AQLM checkpoints use: codebooks x bits, groups of 8)
// select encode options; the tensor is stored under the codec's own name, "aqlm".
struct codec_choice {
  const tqlib::codec::codec_ops* ops = nullptr;
  tqlib::codec::encode_options options;
};

std::optional<codec_choice> resolve_codec(std::string_view name, const tqlib::codec::encode_options& base) {
  codec_choice c;
  c.options = base;
  if (name == "aqlm-2x8" || name == "aqlm-1x16") {
    c.ops = tqlib::codec::find("aqlm");
    c.options.aqlm_num_codebooks = name == "aqlm-2x8" ? 2 : 1;
    c.options.aqlm_nbits = name == "aqlm-2x8" ? 8 : 16;
  } else {
    c.ops = tqlib::codec::find(name);
  }
  if (!c.ops) return std::nullopt;
  return c;
}

std::string codec_names() {
  std::string s = "f32, f16, bf16";
  for (const auto* c : tqlib::codec::all_codecs()) {
    s += ", " + std::string(c->name);
    if (c->name == "aqlm") s += " (aqlm-2x8, aqlm-1x16)";
  }
  return s;
}

std::uint64_t element_count(const std::vector<std::size_t>& shape) {
  std::uint64_t n = 1;
  for (auto d : shape) n *= d;
  return n;
}

// Any stored tensor as floats: dense types converted, other codecs decoded row by row.
result<std::vector<float>> to_float(const tqlib::format::tensor_view& t) {
  const std::uint64_t n = element_count(t.shape);
  std::vector<float> out(n);
  const std::byte* p = t.bytes.data();
  switch (t.codec) {
    case tqlib::codec::codec_id::f32:
      for (std::uint64_t i = 0; i < n; ++i) out[i] = tqlib::load_le<float>(p + 4 * i);
      return out;
    case tqlib::codec::codec_id::f16:
      for (std::uint64_t i = 0; i < n; ++i) out[i] = tqlib::f16_to_f32(tqlib::load_le<std::uint16_t>(p + 2 * i));
      return out;
    case tqlib::codec::codec_id::bf16:
      for (std::uint64_t i = 0; i < n; ++i) out[i] = tqlib::bf16_to_f32(tqlib::load_le<std::uint16_t>(p + 2 * i));
      return out;
    default: {
      const auto* ops = tqlib::codec::find(t.codec);
      if (!ops) return make_error(errc::unsupported, t.name + ": its codec is not available in this build");
      const std::size_t rows = t.shape.size() >= 2 ? t.shape[0] : 1;
      const std::size_t cols = rows ? std::size_t(n / rows) : 0;
      for (std::size_t r = 0; r < rows; ++r) ops->decode_row(t.bytes, rows, cols, r, out.data() + r * cols);
      return out;
    }
  }
}

std::vector<std::byte> encode_dense(std::string_view codec, const std::vector<float>& w) {
  const std::size_t es = codec == "f32" ? 4 : 2;
  std::vector<std::byte> b(w.size() * es);
  for (std::size_t i = 0; i < w.size(); ++i) {
    if (codec == "f32")
      tqlib::store_le<float>(b.data() + 4 * i, w[i]);
    else
      tqlib::store_le<std::uint16_t>(b.data() + 2 * i, codec == "f16" ? tqlib::f32_to_f16(w[i]) : tqlib::f32_to_bf16(w[i]));
  }
  return b;
}

struct encoded {
  std::string codec;   // as asked for (aqlm-2x8)
  std::string stored;  // the codec name the MV2 header records (aqlm)
  std::vector<std::byte> bytes;
  double bpw = 0;
  double rel_err = 0;
  bool fell_back = false;
};

// Encodes w ([rows x cols]) with `codec` and measures what it costs.
result<encoded> encode_tensor(const std::string& codec, const std::vector<float>& w, std::size_t rows, std::size_t cols,
                              const tqlib::codec::encode_options& opt) {
  encoded e;
  e.codec = codec;
  e.stored = codec;
  std::vector<float> back(w.size());
  if (is_dense(codec)) {
    e.bytes = encode_dense(codec, w);
    e.bpw = codec == "f32" ? 32 : 16;
    tqlib::format::tensor_view v;
    v.codec = codec == "f32"   ? tqlib::codec::codec_id::f32
              : codec == "f16" ? tqlib::codec::codec_id::f16
                               : tqlib::codec::codec_id::bf16;
    v.shape = {w.size()};
    v.bytes = e.bytes;
    auto f = to_float(v);
    if (!f) return std::move(f).err();
    back = std::move(*f);
  } else {
    const auto choice = resolve_codec(codec, opt);
    if (!choice) return make_error(errc::invalid_argument, "codec '" + codec + "' is not available; codecs: " + codec_names());
    const auto* ops = choice->ops;
    e.stored = std::string(ops->name);
    auto b = ops->encode(w.data(), rows, cols, choice->options);
    if (!b) return std::move(b).err();
    e.bytes = std::move(*b);
    auto ok = ops->validate(e.bytes, rows, cols);
    if (!ok) return make_error(ok.err().code, "encoder output does not validate: " + ok.err().message);
    e.bpw = ops->bits_per_weight(e.bytes, rows, cols);
    for (std::size_t r = 0; r < rows; ++r) ops->decode_row(e.bytes, rows, cols, r, back.data() + r * cols);
  }
  double num = 0, den = 0;
  for (std::size_t i = 0; i < w.size(); ++i) {
    const double d = double(w[i]) - double(back[i]);
    num += d * d;
    den += double(w[i]) * double(w[i]);
  }
  e.rel_err = den > 0 ? std::sqrt(num / den) : (num > 0 ? 1.0 : 0.0);
  return e;
}

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

int quantize(tq::args_t args) {
  tq::cli c(args, {"codec", "embed-codec", "keep", "override", "keep-codec", "fallback", "tokenizer", "zstd", "sign", "seed"},
            {"mmap", "quiet"});
  if (!c.ok()) return tq::usage_error("quantize", c.error());
  if (c.positional().size() != 2)
    return tq::usage_error("quantize", "usage: tq quantize IN OUT.mv2 --codec C [--keep PATTERN]... [--zstd LEVEL] [--sign KEYFILE] [--mmap]");
  const std::string in = c.positional()[0], out = c.positional()[1];
  const int zstd_level = c.number<int>("zstd", 0);
  const auto seed = c.number<std::uint64_t>("seed", tqlib::codec::encode_options{}.seed);
  if (!c.ok()) return tq::usage_error("quantize", c.error());

  tqlib::model::quantize_policy policy;
  if (auto k = c.get("keep-codec")) policy.keep_codec = *k;
  policy.linear_codec = c.get("codec").value_or(policy.keep_codec);  // checked below: only imports may omit it
  if (auto e = c.get("embed-codec")) policy.embed_codec = *e;
  policy.keep = c.all("keep");
  for (const auto& o : c.all("override")) {
    auto r = tqlib::model::quantize_policy::parse_override(o);
    if (!r) return tq::usage_error("quantize", "--override '" + o + "': expected PATTERN=CODEC");
    policy.overrides.push_back(*r);
  }
  if (!is_dense(policy.keep_codec)) return tq::usage_error("quantize", "--keep-codec must be f16, bf16 or f32");
  std::vector<std::string> wanted = {policy.linear_codec};
  if (policy.embed_codec) wanted.push_back(*policy.embed_codec);
  if (auto f = c.get("fallback")) wanted.push_back(*f);
  for (const auto& r : policy.overrides) wanted.push_back(r.codec);
  for (const auto& w : wanted)
    if (!is_dense(w) && !resolve_codec(w, {}))
      return tq::usage_error("quantize", "codec '" + w + "' is not available in this build; codecs: " + codec_names());
  if (zstd_level < 0 || zstd_level > 22) return tq::usage_error("quantize", "--zstd LEVEL must be 1..22 (0: off)");
  if (c.has("mmap") && zstd_level > 0)
    return tq::usage_error("quantize", "--mmap and --zstd exclude each other (compressed tensors cannot be mapped in place)");
  {
    std::error_code ec;
    if (std::filesystem::exists(out, ec) && std::filesystem::equivalent(in, out, ec))
      return tq::usage_error("quantize", "OUT is the input file");
  }

  mv2::writer_options wo;
  wo.zstd_level = zstd_level;
  wo.alignment = c.has("mmap") ? 4096 : 64;
  if (auto keyfile = c.get("sign")) {
    auto text = tqlib::tokenizer::read_text_file(*keyfile);
    if (!text) return tq::fail("quantize", make_error(errc::io, *keyfile + ": cannot read the secret key file"));
    auto key = tqlib::format::parse_secret_key(*text, *keyfile);
    if (!key) return tq::fail("quantize", key.err());
    wo.signing_key = *key;
  }

  auto src = tq::open_model_source(in);
  if (!src) return tq::fail("quantize", src.err());
  const auto& source = **src;
  auto cfg_text = source.file("config.json");
  if (!cfg_text) return tq::fail("quantize", make_error(errc::invalid_argument, in + ": no config.json"));
  auto config = nlohmann::json::parse(*cfg_text, nullptr, false);
  if (config.is_discarded() || !config.is_object())
    return tq::fail("quantize", make_error(errc::corrupt, in + ": config.json is not a JSON object"));

  // AQLM / BitNet packed checkpoints: their quantized layers are imported as they are.
  tqlib::model::checkpoint_import imports;
  const auto* folder = dynamic_cast<const tqlib::format::hf_folder*>(&source);
  if (folder) {
    auto im = tqlib::model::import_quantized_checkpoint(*cfg_text, *folder);
    if (!im) return tq::fail("quantize", make_error(im.err().code, in + ": " + im.err().message));
    imports = std::move(*im);
  }
  const bool importing = imports.kind != tqlib::model::checkpoint_kind::plain;
  if (!importing && !c.get("codec"))
    return tq::usage_error("quantize", "--codec C is required (only AQLM and BitNet packed checkpoints, which are imported, may omit it)");
  std::map<std::string, tqlib::model::imported_tensor*, std::less<>> imported;
  for (auto& t : imports.tensors) imported[t.name] = &t;

  const bool quiet = c.has("quiet");
  const bool tty = !quiet && isatty(fileno(stderr));
  std::printf("%s\n", tqlib::model::describe(policy).c_str());
  if (importing)
    std::printf("import: %s checkpoint: %zu tensors kept as codec %s, not re-quantized; the policy applies to the other tensors\n",
                imports.description.c_str(), imports.tensors.size(), imports.tensors.front().codec.c_str());

  tqlib::codec::encode_options eo;
  eo.seed = seed;
  // Output names: the checkpoint's tensors less those folded into imports, plus the imports.
  std::vector<std::string> names;
  for (auto& n : source.tensor_names())
    if (!imports.consumed.count(n) && !imported.count(n)) names.push_back(std::move(n));
  for (const auto& [n, t] : imported) names.push_back(n);
  std::sort(names.begin(), names.end());
  std::vector<std::vector<std::byte>> blobs;
  std::vector<mv2::tensor_input> tensors;
  blobs.reserve(names.size());
  std::uint64_t src_bytes = 0, out_bytes = 0, params = 0, quant_params = 0;
  double quant_bits = 0;
  int fallbacks = 0, n_imported = 0;
  std::map<std::string, std::pair<std::uint64_t, std::uint64_t>> per_codec;  // codec -> (params, bytes)
  const auto t0 = std::chrono::steady_clock::now();
  if (!quiet) std::printf("%-48s %-14s %-8s %7s %10s %s\n", "tensor", "shape", "codec", "bpw", "rel.err", "reason");
  for (std::size_t i = 0; i < names.size(); ++i) {
    const auto& name = names[i];
    if (tty) std::fprintf(stderr, "\r\033[K[%zu/%zu] %s", i + 1, names.size(), name.c_str()), std::fflush(stderr);
    std::vector<std::uint64_t> shape;
    std::vector<float> w;
    std::string reason;
    std::optional<encoded> e;
    std::uint64_t in_bytes = 0;
    auto d = tqlib::model::quantize_decision{};
    if (auto it = imported.find(name); it != imported.end()) {
      auto& im = *it->second;
      shape = {im.rows, im.cols};
      d = tqlib::model::decide(policy, name, shape);
      for (const auto& s : im.sources)
        if (const auto* info = folder->raw_info(s)) in_bytes += info->end - info->begin;
      const auto* ops = tqlib::codec::find(im.codec);
      const bool asked = d.reason.rfind("override ", 0) == 0 || d.reason.rfind("keep ", 0) == 0;
      if (!asked) {
        // Kept as it is: the checkpoint's quantized bytes, in the matching codec.
        encoded k;
        k.codec = k.stored = im.codec;
        k.bytes = std::move(im.blob);  // not needed again: each name is visited once
        k.bpw = ops->bits_per_weight(k.bytes, im.rows, im.cols);
        k.rel_err = im.rel_err;
        e = std::move(k);
        d.codec = im.codec;
        reason = "imported (" + std::string(im.codec == "aqlm" ? "codes, codebooks, scales" : "packed weight, scales") + ")";
        ++n_imported;
      } else {
        // --keep / --override named this tensor: decode the imported layer and store it as asked.
        w.resize(im.rows * im.cols);
        for (std::size_t r = 0; r < im.rows; ++r) ops->decode_row(im.blob, im.rows, im.cols, r, w.data() + r * im.cols);
        reason = d.reason + " (decoded from the imported " + im.codec + " layer)";
      }
    } else {
      auto tv = source.tensor(name);
      if (!tv) return tq::fail("quantize", make_error(tv.err().code, name + ": " + tv.err().message));
      if (!*tv) continue;
      const auto& t = **tv;
      shape.assign(t.shape.begin(), t.shape.end());
      d = tqlib::model::decide(policy, name, shape);
      reason = d.reason;
      in_bytes = t.bytes.size();
      auto f = to_float(t);
      if (!f) return tq::fail("quantize", f.err());
      w = std::move(*f);
    }
    const std::size_t rows = shape.size() >= 2 ? std::size_t(shape[0]) : 1;
    std::uint64_t n = 1;
    for (auto s : shape) n *= s;
    const std::size_t cols = rows ? std::size_t(n / rows) : 0;
    if (!e) {
      auto r = encode_tensor(d.codec, w, rows, cols, eo);
      if (!r && c.get("fallback") && d.quantized) {
        reason += " (fallback: " + r.err().message + ")";
        r = encode_tensor(*c.get("fallback"), w, rows, cols, eo);
        if (r) r->fell_back = true, ++fallbacks;
      }
      if (!r)
        return tq::fail("quantize", make_error(r.err().code, name + " [" + std::to_string(rows) + " x " + std::to_string(cols) +
                                                                 "] with codec " + d.codec + ": " + r.err().message +
                                                                 " (use --keep, --override or --fallback for this tensor)"));
      e = std::move(*r);
    }
    std::string shape_s;
    for (std::size_t k = 0; k < shape.size(); ++k) shape_s += (k ? "x" : "") + std::to_string(shape[k]);
    if (tty) std::fprintf(stderr, "\r\033[K");
    if (!quiet)
      std::printf("%-48s %-14s %-8s %7.3f %10.3e %s\n", name.c_str(), shape_s.c_str(), e->codec.c_str(), e->bpw, e->rel_err,
                  reason.c_str());
    src_bytes += in_bytes;
    out_bytes += e->bytes.size();
    params += n;
    per_codec[e->codec].first += n;
    per_codec[e->codec].second += e->bytes.size();
    if (d.role == tqlib::model::tensor_role::linear) quant_params += n, quant_bits += e->bpw * double(n);
    blobs.push_back(std::move(e->bytes));
    tensors.push_back(mv2::tensor_input{name, e->stored, shape, blobs.back()});
  }
  if (tty) std::fprintf(stderr, "\r\033[K");

  // Embedded files: tokenizer files from --tokenizer DIR when given (else from IN).
  std::vector<std::string> file_texts;
  std::vector<mv2::file_input> files;
  file_texts.reserve(std::size(embedded_files));
  for (const char* f : embedded_files) {
    std::optional<std::string> text;
    if (auto dir = c.get("tokenizer"); dir && std::strcmp(f, "generation_config.json") != 0)
      text = tqlib::tokenizer::read_text_file(std::filesystem::path(*dir) / f);
    if (!text) text = source.file(f);
    if (!text) continue;
    file_texts.push_back(std::move(*text));
    files.push_back(mv2::file_input{f, std::as_bytes(std::span(file_texts.back()))});
  }
  const bool has_tok = std::any_of(files.begin(), files.end(), [](const auto& f) { return f.name == "tokenizer.json" || f.name == "merges.txt"; });

  wo.metadata = mv2::json::object();
  wo.metadata["quantized_by"] = "tq quantize";
  wo.metadata["codec"] = policy.linear_codec;
  wo.metadata["policy"] = tqlib::model::describe(policy);
  wo.metadata["source"] = std::filesystem::path(in).filename().string();
  wo.metadata["encode_seed"] = seed;
  if (importing) {
    // The tensors are MV2 codecs now: the checkpoint's quantization_config moves to the metadata.
    wo.metadata["imported"] = imports.description;
    wo.metadata["codec"] = imports.tensors.front().codec;
    wo.metadata["imported_quantization_config"] = config.value("quantization_config", nlohmann::json::object());
    config.erase("quantization_config");
  }
  auto wr = mv2::write(out, config, files, tensors, wo);
  if (!wr) return tq::fail("quantize", make_error(wr.err().code, out + ": " + wr.err().message));
  const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();

  std::error_code ec;
  const auto file_size = std::filesystem::file_size(out, ec);
  std::printf("\n%zu tensors, %llu parameters in %.1f s\n", tensors.size(), static_cast<unsigned long long>(params), secs);
  for (const auto& [codec, pb] : per_codec)
    std::printf("  %-8s %12llu params  %s  (%.3f bpw)\n", codec.c_str(), static_cast<unsigned long long>(pb.first),
                human_bytes(double(pb.second)).c_str(), pb.first ? 8.0 * double(pb.second) / double(pb.first) : 0.0);
  if (quant_params)
    std::printf("linear layers: %.3f bpw\n", quant_bits / double(quant_params));
  std::printf("all tensors: %.3f bpw (tensor bytes %s); file %s: %s; compression vs input tensors %.2fx, vs f16 %.2fx\n",
              params ? 8.0 * double(out_bytes) / double(params) : 0.0, human_bytes(double(out_bytes)).c_str(), out.c_str(),
              human_bytes(double(file_size)).c_str(), file_size ? double(src_bytes) / double(file_size) : 0.0,
              file_size ? 2.0 * double(params) / double(file_size) : 0.0);
  std::printf("embedded files: %zu%s%s%s\n", files.size(), has_tok ? "" : " (no tokenizer: the model takes --ids)",
              wo.signing_key ? "; signed" : "", zstd_level ? "; zstd" : "");
  if (n_imported) std::printf("imported: %d tensor(s) kept as the checkpoint stored them (%s)\n", n_imported, imports.description.c_str());
  if (fallbacks) std::printf("warning: %d tensor(s) used the --fallback codec\n", fallbacks);
  return 0;
}

}  // namespace

TQ_COMMAND("quantize",
           "quantize IN OUT.mv2 --codec C [--embed-codec C] [--keep PATTERN]... [--override PATTERN=CODEC]... [--zstd LEVEL] "
           "[--sign KEYFILE] [--mmap]   quantize a Hugging Face model into an MV2 file (AQLM and BitNet packed checkpoints: "
           "imported as they are, --codec optional)",
           quantize);
