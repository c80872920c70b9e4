#pragma once
// Quantizing a model into an MV2 file: each tensor of a Hugging Face checkpoint (folder or
// .safetensors file) or of an MV2 file (requantized from its decoded weights) is encoded with
// the codec the policy picks (model/quantize_policy.hpp), its error measured, and the file
// written atomically (only replaced once complete), optionally zstd-compressed and signed.
// config.json and the tokenizer files present are embedded; a checkpoint without tokenizer files
// still quantizes (the model then takes token ids).
//
// Already-quantized checkpoints are imported, not re-quantized (model/checkpoint_import.hpp): an
// AQLM folder (quantization_config.quant_method "aqlm") stores each X.codes/X.codebooks/X.scales
// as X.weight with codec aqlm, a BitNet packed folder (U8 X.weight + X.weight.scales) each pair
// as X.weight with codec bitnet. The policy's linear_codec may then be empty: it only applies to
// float linear weights the checkpoint has (kept as keep_codec when empty). A keep or override
// pattern that matches an imported tensor decodes it and stores it as asked.
// A GGUF file's quantized tensors (Q8_0, Q4_0, Q4_K, Q6_K, ...: codecs q8, q4_0, q4_k, q6_k, ...)
// are imported the same way when linear_codec is empty: kept byte for byte, its float tensors
// kept as keep_codec; with a linear_codec, every tensor is decoded and re-quantized by the policy.
//
// The result is data (quantize_report): per tensor its codec, bytes, bits per weight, relative
// error ||W - W'|| / ||W|| and where the decision came from; `tq quantize` prints it.
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "tqlib/api/open_model.hpp"
#include "tqlib/codec/registry.hpp"
#include "tqlib/core/bytes.hpp"
#include "tqlib/core/float16.hpp"
#include "tqlib/format/gguf_model.hpp"
#include "tqlib/format/mv2_writer.hpp"
#include "tqlib/format/signature.hpp"
#include "tqlib/model/checkpoint_import.hpp"
#include "tqlib/model/quantize_policy.hpp"
#include "tqlib/tokenizer/load.hpp"

namespace tqlib {

using model::decision_source;
using model::quantize_policy;

struct tensor_report {
  std::string name;
  std::vector<std::uint64_t> shape;
  std::string codec;         // as asked for ("aqlm-2x8")
  std::string stored_codec;  // as the MV2 header records it ("aqlm")
  model::tensor_role role = model::tensor_role::other;
  decision_source source = decision_source::role;
  std::string pattern;              // the keep pattern or override rule that decided, if any
  bool decoded_from_import = false;  // an imported layer a keep / override pattern re-encoded
  std::string fallback_error;        // why the decided codec refused it (source == fallback)
  std::string reason;                // the decision in words, as `tq quantize` prints it
  std::uint64_t params = 0;
  std::uint64_t input_bytes = 0;  // as the checkpoint stored it
  std::uint64_t bytes = 0;        // as the MV2 file stores it (before zstd)
  double bits_per_weight = 0;
  double rel_error = 0;  // ||W - W'|| / ||W||; for imports, against the checkpoint's own dequantization
};

struct quantize_report {
  std::string policy;              // model::describe(policy)
  std::string import_description;  // the imported checkpoint ("AQLM 2x8 ..."), empty for a plain one
  std::string imported_codec;      // "aqlm" / "bitnet" when importing
  std::size_t import_tensors = 0;  // quantized layers the checkpoint has
  std::size_t total_tensors = 0;   // planned (known before the first one is encoded)
  std::vector<tensor_report> tensors;
  std::vector<std::string> embedded_files;
  bool has_tokenizer = false;
  bool is_signed = false;
  int zstd_level = 0;
  std::uint64_t file_bytes = 0;
  double seconds = 0;

  struct codec_total {
    std::string codec;
    std::uint64_t params = 0, bytes = 0;
  };
  // Parameters and bytes per codec (as asked for), sorted by codec name.
  std::vector<codec_total> per_codec() const {
    std::map<std::string, codec_total> m;
    for (const auto& t : tensors) {
      auto& c = m[t.codec];
      c.codec = t.codec;
      c.params += t.params;
      c.bytes += t.bytes;
    }
    std::vector<codec_total> out;
    for (auto& [k, v] : m) out.push_back(v);
    return out;
  }
  std::uint64_t params() const { return sum(&tensor_report::params); }
  std::uint64_t input_bytes() const { return sum(&tensor_report::input_bytes); }
  std::uint64_t tensor_bytes() const { return sum(&tensor_report::bytes); }
  // Parameter-weighted bits per weight of the linear layers; 0 when there are none.
  double linear_bits_per_weight() const {
    double bits = 0, n = 0;
    for (const auto& t : tensors)
      if (t.role == model::tensor_role::linear) bits += t.bits_per_weight * double(t.params), n += double(t.params);
    return n > 0 ? bits / n : 0.0;
  }
  std::size_t count(decision_source s) const {
    return std::size_t(std::count_if(tensors.begin(), tensors.end(), [&](const auto& t) { return t.source == s; }));
  }

 private:
  std::uint64_t sum(std::uint64_t tensor_report::*f) const {
    std::uint64_t n = 0;
    for (const auto& t : tensors) n += t.*f;
    return n;
  }
};

struct quantize_options {
  int zstd_level = 0;          // 1..22; 0: off
  bool page_aligned = false;   // 4096-byte aligned tensors (for mapping in place); excludes zstd
  std::optional<format::secret_key> signing_key;
  std::uint64_t seed = codec::encode_options{}.seed;  // randomized encoders (rotations, k-means)
  std::optional<std::string> fallback_codec;           // for tensors the chosen codec refuses
  std::optional<std::filesystem::path> tokenizer_dir;  // tokenizer files from here, not the source
  std::string quantized_by = "tqlib::quantize_model";  // recorded in the file's metadata
  // Called once the plan is known (policy, import, tensor count), before any tensor is encoded.
  std::function<void(const quantize_report&)> on_start;
  // Called before each tensor is encoded (index counts from 0) and after it is, with its report.
  std::function<void(std::size_t index, std::size_t total, std::string_view name)> on_progress;
  std::function<void(const tensor_report&)> on_tensor;
};

namespace detail {

inline bool is_dense_codec(std::string_view codec) { return codec == "f32" || codec == "f16" || codec == "bf16"; }

// Codec names that pick a configuration of a registered codec: AQLM's codebook shape is not
// implied by its codec id (it lives in the blob header), so `aqlm-2x8` and `aqlm-1x16` (the names
// the published AQLM checkpoints use: codebooks x bits, groups of 8) select encode options; the
// tensor is stored under the codec's own name, "aqlm".
struct codec_choice {
  const codec::codec_ops* ops = nullptr;
  codec::encode_options options;
};

inline std::optional<codec_choice> resolve_codec(std::string_view name, const codec::encode_options& base) {
  codec_choice c;
  c.options = base;
  if (name == "aqlm-2x8" || name == "aqlm-1x16") {
    c.ops = codec::find("aqlm");
    c.options.aqlm_num_codebooks = name == "aqlm-2x8" ? 2 : 1;
    c.options.aqlm_nbits = name == "aqlm-2x8" ? 8 : 16;
  } else {
    c.ops = codec::find(name);
  }
  if (!c.ops) return std::nullopt;
  return c;
}

inline std::uint64_t element_count(std::span<const std::size_t> shape) {
  std::uint64_t n = 1;
  for (auto d : shape) n *= d;
  return n;
}

// Any stored tensor as floats: dense types converted, other codecs decoded row by row.
inline result<std::vector<float>> to_float(const format::tensor_view& t) {
  const std::uint64_t n = element_count(t.shape);
  std::vector<float> out(n);
  const std::byte* p = t.bytes.data();
  switch (t.codec) {
    case codec::codec_id::f32:
      for (std::uint64_t i = 0; i < n; ++i) out[i] = load_le<float>(p + 4 * i);
      return out;
    case codec::codec_id::f16:
      for (std::uint64_t i = 0; i < n; ++i) out[i] = f16_to_f32(load_le<std::uint16_t>(p + 2 * i));
      return out;
    case codec::codec_id::bf16:
      for (std::uint64_t i = 0; i < n; ++i) out[i] = bf16_to_f32(load_le<std::uint16_t>(p + 2 * i));
      return out;
    default: {
      const auto* ops = codec::find(t.codec);
      if (!ops) return make_error(errc::unsupported, t.name + ": its codec is not available in this build");
      const std::size_t rows = t.shape.size() >= 2 ? t.shape[0] : 1;
      const std::size_t cols = rows ? std::size_t(n / rows) : 0;
      for (std::size_t r = 0; r < rows; ++r) ops->decode_row(t.bytes, rows, cols, r, out.data() + r * cols);
      return out;
    }
  }
}

inline std::vector<std::byte> encode_dense(std::string_view codec, const std::vector<float>& w) {
  const std::size_t es = codec == "f32" ? 4 : 2;
  std::vector<std::byte> b(w.size() * es);
  for (std::size_t i = 0; i < w.size(); ++i) {
    if (codec == "f32")
      store_le<float>(b.data() + 4 * i, w[i]);
    else
      store_le<std::uint16_t>(b.data() + 2 * i, codec == "f16" ? f32_to_f16(w[i]) : f32_to_bf16(w[i]));
  }
  return b;
}

struct encoded {
  std::string stored;  // the codec name the MV2 header records
  std::vector<std::byte> bytes;
  double bpw = 0;
  double rel_err = 0;
};

// Encodes w ([rows x cols]) with `codec` and measures what it costs.
inline result<encoded> encode_tensor(const std::string& codec_name, const std::vector<float>& w, std::size_t rows, std::size_t cols,
                                     const codec::encode_options& opt) {
  encoded e;
  e.stored = codec_name;
  std::vector<float> back(w.size());
  if (is_dense_codec(codec_name)) {
    e.bytes = encode_dense(codec_name, w);
    e.bpw = codec_name == "f32" ? 32 : 16;
    format::tensor_view v;
    v.codec = codec_name == "f32" ? codec::codec_id::f32 : codec_name == "f16" ? codec::codec_id::f16 : codec::codec_id::bf16;
    v.shape = {w.size()};
    v.bytes = e.bytes;
    auto f = to_float(v);
    if (!f) return std::move(f).err();
    back = std::move(*f);
  } else {
    const auto choice = resolve_codec(codec_name, opt);
    if (!choice) return make_error(errc::invalid_argument, "codec '" + codec_name + "' is not available in this build");
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

// The files an MV2 model embeds beside its tensors, when the source has them.
inline constexpr const char* embedded_files[] = {"tokenizer.json",        "vocab.json",        "merges.txt",
                                                 "tokenizer_config.json", "added_tokens.json", "special_tokens_map.json",
                                                 "vocab_remap.json",      "generation_config.json"};

}  // namespace detail

// The codec names quantize_model accepts: dense types, every registered codec, AQLM's presets.
inline std::string quantize_codec_names() {
  std::string s = "f32, f16, bf16";
  for (const auto* c : codec::all_codecs()) {
    s += ", " + std::string(c->name);
    if (c->name == "aqlm") s += " (aqlm-2x8, aqlm-1x16)";
  }
  return s;
}

// What quantize_model checks before it opens anything: codecs exist, keep_codec is dense, the
// zstd level and the alignment agree.
inline result<void> check_quantize_request(const quantize_policy& policy, const quantize_options& opt) {
  if (!detail::is_dense_codec(policy.keep_codec))
    return make_error(errc::invalid_argument, "the keep codec must be f16, bf16 or f32, not '" + policy.keep_codec + "'");
  std::vector<std::string> wanted;
  if (!policy.linear_codec.empty()) wanted.push_back(policy.linear_codec);
  if (policy.embed_codec) wanted.push_back(*policy.embed_codec);
  if (opt.fallback_codec) wanted.push_back(*opt.fallback_codec);
  for (const auto& r : policy.overrides) wanted.push_back(r.codec);
  for (const auto& w : wanted)
    if (!detail::is_dense_codec(w) && !detail::resolve_codec(w, {}))
      return make_error(errc::invalid_argument, "codec '" + w + "' is not available in this build; codecs: " + quantize_codec_names());
  if (opt.zstd_level < 0 || opt.zstd_level > 22) return make_error(errc::invalid_argument, "zstd level must be 1..22 (0: off)");
  if (opt.page_aligned && opt.zstd_level > 0)
    return make_error(errc::invalid_argument, "page-aligned tensors and zstd exclude each other (compressed tensors cannot be mapped in place)");
  return {};
}

// Quantizes the model at `source` (see the top of this file) into the MV2 file `out`.
inline result<quantize_report> quantize_model(const std::string& source, const std::string& out, quantize_policy policy,
                                              const quantize_options& opt = {}) {
  namespace mv2 = format::mv2;
  TQLIB_TRY(check_quantize_request(policy, opt));
  {
    std::error_code ec;
    if (std::filesystem::exists(out, ec) && std::filesystem::equivalent(source, out, ec))
      return make_error(errc::invalid_argument, out + " is the input file");
  }
  auto src = open_tensor_source(source);
  if (!src) return std::move(src).err();
  const format::tensor_source& in = **src;
  auto cfg_text = in.file("config.json");
  if (!cfg_text) return make_error(errc::invalid_argument, source + ": no config.json");
  auto config = nlohmann::json::parse(*cfg_text, nullptr, false);
  if (config.is_discarded() || !config.is_object()) return make_error(errc::corrupt, source + ": config.json is not a JSON object");

  // AQLM / BitNet packed checkpoints: their quantized layers are imported as they are.
  model::checkpoint_import imports;
  const auto* folder = dynamic_cast<const format::hf_folder*>(&in);
  if (folder) {
    auto im = model::import_quantized_checkpoint(*cfg_text, *folder);
    if (!im) return make_error(im.err().code, source + ": " + im.err().message);
    imports = std::move(*im);
  }
  // A GGUF file without a linear codec: its quantized tensors are kept as they are.
  const bool keep_gguf = policy.linear_codec.empty() && dynamic_cast<const format::gguf::model_source*>(&in) != nullptr;
  const bool importing = imports.kind != model::checkpoint_kind::plain;
  if (policy.linear_codec.empty()) {
    if (!importing && !keep_gguf)
      return make_error(errc::invalid_argument,
                        "the linear layers need a codec (quantize_policy::linear_codec, tq quantize --codec): only AQLM and "
                        "BitNet packed checkpoints and GGUF files, which are imported, may leave it out");
    policy.linear_codec = policy.keep_codec;
  }
  std::map<std::string, model::imported_tensor*, std::less<>> imported;
  for (auto& t : imports.tensors) imported[t.name] = &t;

  quantize_report rep;
  rep.policy = model::describe(policy);
  rep.zstd_level = opt.zstd_level;
  rep.is_signed = opt.signing_key.has_value();
  if (keep_gguf) rep.import_description = "GGUF (llama.cpp)", rep.imported_codec = "as stored";
  if (importing) {
    rep.import_description = imports.description;
    rep.imported_codec = imports.tensors.front().codec;
    rep.import_tensors = imports.tensors.size();
  }
  // Output names: the checkpoint's tensors less those folded into imports, plus the imports.
  std::vector<std::string> names;
  for (auto& n : in.tensor_names())
    if (!imports.consumed.count(n) && !imported.count(n)) names.push_back(std::move(n));
  for (const auto& [n, t] : imported) names.push_back(n);
  std::sort(names.begin(), names.end());
  rep.total_tensors = names.size();
  if (opt.on_start) opt.on_start(rep);

  codec::encode_options eo;
  eo.seed = opt.seed;
  std::vector<std::vector<std::byte>> blobs;
  std::vector<mv2::tensor_input> tensors;
  blobs.reserve(names.size());
  const auto t0 = std::chrono::steady_clock::now();
  for (std::size_t i = 0; i < names.size(); ++i) {
    const auto& name = names[i];
    if (opt.on_progress) opt.on_progress(i, names.size(), name);
    tensor_report tr;
    tr.name = name;
    std::vector<float> w;
    std::optional<detail::encoded> e;
    model::quantize_decision d;
    if (auto it = imported.find(name); it != imported.end()) {
      auto& im = *it->second;
      tr.shape = {im.rows, im.cols};
      d = model::decide(policy, name, tr.shape);
      for (const auto& s : im.sources)
        if (const auto* info = folder->raw_info(s)) tr.input_bytes += info->end - info->begin;
      const auto* ops = codec::find(im.codec);
      if (d.source == decision_source::role) {
        // Kept as it is: the checkpoint's quantized bytes, in the matching codec.
        detail::encoded k;
        k.stored = im.codec;
        k.bytes = std::move(im.blob);  // not needed again: each name is visited once
        k.bpw = ops->bits_per_weight(k.bytes, im.rows, im.cols);
        k.rel_err = im.rel_err;
        e = std::move(k);
        d.codec = im.codec;
        d.source = decision_source::imported;
        d.reason = "imported (" + std::string(im.codec == "aqlm" ? "codes, codebooks, scales" : "packed weight, scales") + ")";
      } else {
        // A keep / override pattern named this tensor: decode the imported layer, store it as asked.
        w.resize(im.rows * im.cols);
        for (std::size_t r = 0; r < im.rows; ++r) ops->decode_row(im.blob, im.rows, im.cols, r, w.data() + r * im.cols);
        tr.decoded_from_import = true;
        d.reason += " (decoded from the imported " + im.codec + " layer)";
      }
    } else {
      auto tv = in.tensor(name);
      if (!tv) return make_error(tv.err().code, name + ": " + tv.err().message);
      if (!*tv) continue;
      const auto& t = **tv;
      tr.shape.assign(t.shape.begin(), t.shape.end());
      d = model::decide(policy, name, tr.shape);
      tr.input_bytes = t.bytes.size();
      const auto* ops = codec::find(t.codec);
      if (keep_gguf && d.source == decision_source::role && ops && !detail::is_dense_codec(std::string(ops->name))) {
        // Kept as the GGUF file stores it: its blocks are this codec's bytes.
        detail::encoded k;
        k.stored = std::string(ops->name);
        k.bytes.assign(t.bytes.begin(), t.bytes.end());
        const bool matrix = t.shape.size() >= 2;
        k.bpw = ops->bits_per_weight(k.bytes, matrix ? t.rows() : 1, t.cols());
        e = std::move(k);
        d.codec = e->stored;
        d.source = decision_source::imported;
        d.reason = "imported (GGUF " + std::string(format::gguf::ggml_type_of(t.codec)->name) + ", kept as stored)";
        ++rep.import_tensors;
      } else {
        auto f = detail::to_float(t);
        if (!f) return std::move(f).err();
        w = std::move(*f);
      }
    }
    const std::size_t rows = tr.shape.size() >= 2 ? std::size_t(tr.shape[0]) : 1;
    tr.params = 1;
    for (auto s : tr.shape) tr.params *= s;
    const std::size_t cols = rows ? std::size_t(tr.params / rows) : 0;
    tr.codec = d.codec;
    if (!e) {
      auto r = detail::encode_tensor(d.codec, w, rows, cols, eo);
      if (!r && opt.fallback_codec && d.quantized) {
        tr.fallback_error = r.err().message;
        d.reason += " (fallback: " + r.err().message + ")";
        d.source = decision_source::fallback;
        tr.codec = *opt.fallback_codec;
        r = detail::encode_tensor(*opt.fallback_codec, w, rows, cols, eo);
      }
      if (!r)
        return make_error(r.err().code, name + " [" + std::to_string(rows) + " x " + std::to_string(cols) + "] with codec " + tr.codec +
                                            ": " + r.err().message + " (keep or override this tensor, or give a fallback codec)");
      e = std::move(*r);
    }
    tr.stored_codec = e->stored;
    tr.role = d.role;
    tr.source = d.source;
    tr.pattern = d.pattern;
    tr.reason = d.reason;
    tr.bytes = e->bytes.size();
    tr.bits_per_weight = e->bpw;
    tr.rel_error = e->rel_err;
    blobs.push_back(std::move(e->bytes));
    tensors.push_back(mv2::tensor_input{name, e->stored, tr.shape, blobs.back()});
    if (opt.on_tensor) opt.on_tensor(tr);
    rep.tensors.push_back(std::move(tr));
  }

  // Embedded files: tokenizer files from tokenizer_dir when given (else from the source).
  std::vector<std::string> file_texts;
  std::vector<mv2::file_input> files;
  file_texts.reserve(std::size(detail::embedded_files));
  for (const char* f : detail::embedded_files) {
    std::optional<std::string> text;
    if (opt.tokenizer_dir && std::string_view(f) != "generation_config.json")
      text = tokenizer::read_text_file(*opt.tokenizer_dir / f);
    if (!text) text = in.file(f);
    if (!text) continue;
    file_texts.push_back(std::move(*text));
    files.push_back(mv2::file_input{f, std::as_bytes(std::span(file_texts.back()))});
    rep.embedded_files.push_back(f);
  }
  rep.has_tokenizer = std::any_of(files.begin(), files.end(), [](const auto& f) { return f.name == "tokenizer.json" || f.name == "merges.txt"; });

  mv2::writer_options wo;
  wo.zstd_level = opt.zstd_level;
  wo.alignment = opt.page_aligned ? 4096 : 64;
  wo.signing_key = opt.signing_key;
  wo.metadata = mv2::json::object();
  wo.metadata["quantized_by"] = opt.quantized_by;
  wo.metadata["codec"] = policy.linear_codec;
  wo.metadata["policy"] = rep.policy;
  wo.metadata["source"] = std::filesystem::path(source).filename().string();
  wo.metadata["encode_seed"] = opt.seed;
  if (keep_gguf && rep.import_tensors) {
    wo.metadata["imported"] = rep.import_description;
    wo.metadata["codec"] = "as the GGUF file stores each tensor";
  }
  if (importing) {
    // The tensors are MV2 codecs now: the checkpoint's quantization_config moves to the metadata.
    wo.metadata["imported"] = imports.description;
    wo.metadata["codec"] = rep.imported_codec;
    wo.metadata["imported_quantization_config"] = config.value("quantization_config", nlohmann::json::object());
    config.erase("quantization_config");
  }
  auto wr = mv2::write(out, config, files, tensors, wo);
  if (!wr) return make_error(wr.err().code, out + ": " + wr.err().message);
  rep.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  std::error_code ec;
  rep.file_bytes = std::filesystem::file_size(out, ec);
  return rep;
}

}  // namespace tqlib
