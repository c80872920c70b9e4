#pragma once
// Importers for Hugging Face checkpoints whose linear layers are already quantized: their bytes
// become MV2 tensors of the matching codec as they are, never decoded and re-quantized
// (`tq quantize` uses them; layouts and sources in docs/codecs/aqlm.md and docs/codecs/bitnet.md).
//
//  - AQLM: config.json `quantization_config.quant_method == "aqlm"` (transformers' AqlmConfig:
//    in_group_size, out_group_size, num_codebooks, nbits_per_codebook,
//    linear_weights_not_to_quantize). Each quantized linear layer X is stored as the aqlm
//    package's QuantizedLinear parameters `X.codes` (int8/int16 [out/out_group, in/in_group,
//    num_codebooks]), `X.codebooks` (fp16 [num_codebooks, 2^nbits, out_group, in_group]),
//    `X.scales` (fp16 [out/out_group, 1, 1, 1]) and an optional `X.bias`
//    (Vahe1994/AQLM inference_lib/src/aqlm/inference.py). X.codes + X.codebooks + X.scales
//    become the MV2 tensor `X.weight`, codec aqlm; X.bias and every other tensor stay ordinary.
//  - BitNet packed ternary, seed 002 (tzervas/qwen2.5-coder-32b-bitnet-1.58b): a packed weight
//    is `X.weight` U8 [out, in/4] (4 trits per byte, base 3) with `X.weight.scales` F32
//    [out, in/64] beside it (tzervas/ternary-inference-rs src/loader.rs, src/unpack.rs). Found by
//    those tensor pairs (the seed's card documents no config field); a config that says
//    `quant_method: "bitnet_158"` (the same author's later quantize_ternary.py) must also say
//    `packing: "base3_columns"` and group_size 64. The pair becomes `X.weight`, codec bitnet.
//
// Everything is checked: dtypes, every shape against the others and, when config.json parses
// as a Qwen config, against the shape the model needs for that tensor name; the blob is then
// validated by its codec. Each imported tensor carries the relative difference between its
// decoded blob and the checkpoint's own dequantization (0 when the checkpoint's floats are f16;
// BitNet's F32 scales are rounded to f16).
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <set>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "tqlib/codec/aqlm_import.hpp"
#include "tqlib/core/json_depth.hpp"
#include "tqlib/core/shape_text.hpp"
#include "tqlib/codec/registry.hpp"
#include "tqlib/codec/ternary.hpp"
#include "tqlib/format/hf_folder.hpp"
#include "tqlib/model/config.hpp"
#include "tqlib/model/quantize_policy.hpp"

namespace tqlib::model {

enum class checkpoint_kind { plain, aqlm, bitnet };

struct imported_tensor {
  std::string name;   // the MV2 tensor: "model.layers.0.mlp.up_proj.weight"
  std::string codec;  // "aqlm" or "bitnet"
  std::size_t rows = 0, cols = 0;
  std::vector<std::byte> blob;
  std::vector<std::string> sources;  // the checkpoint tensors it was built from
  double rel_err = 0;                // ||decode(blob) - checkpoint dequantized|| / ||checkpoint dequantized||
};

struct checkpoint_import {
  checkpoint_kind kind = checkpoint_kind::plain;
  std::string description;  // "AQLM 2x8 (in_group 8, out_group 1)", for the report
  std::vector<imported_tensor> tensors;
  std::set<std::string, std::less<>> consumed;  // checkpoint tensors folded into `tensors`
};

namespace import_detail {

inline error bad(std::string_view tensor, std::string why) {
  return make_error(errc::invalid_argument, std::string(tensor) + ": " + std::move(why));
}

// The [rows x cols] a Qwen model needs for a matrix name; nullopt for names it does not load.
inline std::optional<std::pair<std::size_t, std::size_t>> expected_matrix_shape(const config& c, std::string_view name) {
  const std::size_t dim = std::size_t(c.dim), hidden = std::size_t(c.hidden_dim), q = std::size_t(c.q_dim()),
                    kv = std::size_t(c.kv_dim()), vocab = std::size_t(c.vocab_size);
  if (name == "model.embed_tokens.weight" || name == "lm_head.weight") return std::pair{vocab, dim};
  constexpr std::string_view prefix = "model.layers.";
  if (name.substr(0, prefix.size()) != prefix) return std::nullopt;
  name.remove_prefix(prefix.size());
  std::size_t layer = 0, digits = 0;
  while (digits < name.size() && digits < 9 && name[digits] >= '0' && name[digits] <= '9')
    layer = layer * 10 + std::size_t(name[digits++] - '0');
  if (digits == 0 || digits >= name.size() || name[digits] != '.' || layer >= std::size_t(c.n_layers)) return std::nullopt;
  const std::string_view rest = name.substr(digits + 1);
  const std::pair<std::string_view, std::pair<std::size_t, std::size_t>> table[] = {
      {"self_attn.q_proj.weight", {q, dim}},   {"self_attn.k_proj.weight", {kv, dim}}, {"self_attn.v_proj.weight", {kv, dim}},
      {"self_attn.o_proj.weight", {dim, q}},   {"mlp.gate_proj.weight", {hidden, dim}}, {"mlp.up_proj.weight", {hidden, dim}},
      {"mlp.down_proj.weight", {dim, hidden}}};
  for (const auto& [suffix, shape] : table)
    if (rest == suffix) return shape;
  return std::nullopt;
}

inline result<void> check_model_shape(const std::optional<config>& cfg, const std::string& name, std::string_view from,
                                      std::size_t rows, std::size_t cols) {
  if (!cfg) return {};
  const auto want = expected_matrix_shape(*cfg, name);
  if (want && (want->first != rows || want->second != cols))
    return bad(from, "gives a [" + std::to_string(rows) + " x " + std::to_string(cols) + "] weight, config.json needs " + name +
                         " to be [" + std::to_string(want->first) + " x " + std::to_string(want->second) + "]");
  return {};
}

inline std::optional<codec::aqlm::float_dtype> float_dtype_of(std::string_view d) {
  using codec::aqlm::float_dtype;
  if (d == "F16") return float_dtype::f16;
  if (d == "BF16") return float_dtype::bf16;
  if (d == "F32") return float_dtype::f32;
  return std::nullopt;
}

inline std::optional<codec::aqlm::int_dtype> int_dtype_of(std::string_view d) {
  using codec::aqlm::int_dtype;
  if (d == "I8") return int_dtype::i8;
  if (d == "I16") return int_dtype::i16;
  if (d == "I32") return int_dtype::i32;
  return std::nullopt;
}

struct raw {
  const format::safetensors::tensor_info* info = nullptr;
  std::span<const std::byte> bytes;
  std::vector<std::int64_t> shape;
};

inline result<raw> require_raw(const format::hf_folder& src, const std::string& name, std::string_view needed_by) {
  raw r;
  r.info = src.raw_info(name);
  if (!r.info) return bad(needed_by, "needs " + name + ", which the checkpoint does not have");
  r.bytes = src.raw_bytes(*r.info);
  for (auto d : r.info->shape) r.shape.push_back(std::int64_t(d));
  return r;
}

// ||a - b|| / ||b|| accumulated row by row.
struct rel_error {
  double num = 0, den = 0;
  void add(const float* got, const float* want, std::size_t n) {
    for (std::size_t i = 0; i < n; ++i) {
      const double d = double(got[i]) - double(want[i]);
      num += d * d;
      den += double(want[i]) * double(want[i]);
    }
  }
  double value() const { return den > 0 ? std::sqrt(num / den) : (num > 0 ? 1.0 : 0.0); }
};

// --- AQLM ---

struct aqlm_settings {
  codec::aqlm::config cfg;  // from quantization_config (transformers' AqlmConfig defaults: 1x16, groups 8 / 1)
  std::vector<std::string> not_quantized;  // linear_weights_not_to_quantize
};

inline result<aqlm_settings> parse_aqlm_settings(const nlohmann::json& qc) {
  aqlm_settings s;
  s.cfg = {1, 16, 8, 1};
  const auto field = [&](const char* key, unsigned& out, unsigned max) -> result<void> {
    auto it = qc.find(key);
    if (it == qc.end()) return {};
    if (!it->is_number_integer() || it->get<std::int64_t>() < 1 || it->get<std::int64_t>() > std::int64_t(max))
      return make_error(errc::invalid_argument, std::string("config.json: quantization_config.") + key + " must be an integer in 1.." +
                                                    std::to_string(max));
    out = unsigned(it->get<std::int64_t>());
    return {};
  };
  TQLIB_TRY(field("num_codebooks", s.cfg.num_codebooks, codec::aqlm::max_codebooks));
  TQLIB_TRY(field("nbits_per_codebook", s.cfg.nbits, codec::aqlm::max_nbits));
  TQLIB_TRY(field("in_group_size", s.cfg.in_group, codec::aqlm::max_group));
  TQLIB_TRY(field("out_group_size", s.cfg.out_group, codec::aqlm::max_group));
  if (auto it = qc.find("linear_weights_not_to_quantize"); it != qc.end() && !it->is_null()) {
    if (!it->is_array())
      return make_error(errc::invalid_argument, "config.json: quantization_config.linear_weights_not_to_quantize must be a list");
    for (const auto& n : *it) {
      if (!n.is_string())
        return make_error(errc::invalid_argument, "config.json: quantization_config.linear_weights_not_to_quantize holds a non-string");
      s.not_quantized.push_back(n.get<std::string>());
    }
  }
  return s;
}

inline std::string describe_aqlm(const codec::aqlm::config& c) {
  return "AQLM " + std::to_string(c.num_codebooks) + "x" + std::to_string(c.nbits) + " (in_group " + std::to_string(c.in_group) +
         ", out_group " + std::to_string(c.out_group) + ")";
}

// Layer `prefix` ("model.layers.0.mlp.up_proj"): prefix.codes/.codebooks/.scales -> prefix.weight.
inline result<imported_tensor> import_aqlm_layer(const format::hf_folder& src, const std::string& prefix, const aqlm_settings& s,
                                                 const std::optional<config>& model_cfg) {
  namespace aq = codec::aqlm;
  const std::string codes_name = prefix + ".codes", books_name = prefix + ".codebooks", scales_name = prefix + ".scales";
  auto codes = require_raw(src, codes_name, codes_name);
  TQLIB_TRY(codes);
  auto books = require_raw(src, books_name, codes_name);
  TQLIB_TRY(books);
  auto scales = require_raw(src, scales_name, codes_name);
  TQLIB_TRY(scales);
  const auto codes_dt = int_dtype_of(codes->info->dtype->name);
  if (!codes_dt) return bad(codes_name, "dtype " + std::string(codes->info->dtype->name) + " is not I8, I16 or I32");
  if (codes->info->dtype->bytes * 8 < s.cfg.nbits)
    return bad(codes_name, "dtype " + std::string(codes->info->dtype->name) + " cannot hold " + std::to_string(s.cfg.nbits) +
                               "-bit codes (nbits_per_codebook)");
  const auto books_dt = float_dtype_of(books->info->dtype->name);
  if (!books_dt) return bad(books_name, "dtype " + std::string(books->info->dtype->name) + " is not F16, BF16 or F32");
  const auto scales_dt = float_dtype_of(scales->info->dtype->name);
  if (!scales_dt) return bad(scales_name, "dtype " + std::string(scales->info->dtype->name) + " is not F16, BF16 or F32");

  // The shapes quantization_config implies (aqlm QuantizedLinear.__init__).
  const std::vector<std::uint64_t> want_books = {s.cfg.num_codebooks, std::uint64_t(1) << s.cfg.nbits, s.cfg.out_group, s.cfg.in_group};
  if (books->info->shape != want_books)
    return bad(books_name, "shape " + shape_text(books->info->shape) + " is not " + shape_text(want_books) +
                               " ([num_codebooks, 2^nbits_per_codebook, out_group_size, in_group_size] of quantization_config)");
  const auto& cs = codes->info->shape;
  if (cs.size() != 3 || cs[2] != s.cfg.num_codebooks)
    return bad(codes_name, "shape " + shape_text(cs) + " is not [out/out_group_size, in/in_group_size, " +
                               std::to_string(s.cfg.num_codebooks) + "]");
  const std::size_t rows = std::size_t(cs[0]) * s.cfg.out_group, cols = std::size_t(cs[1]) * s.cfg.in_group;
  const std::string weight_name = prefix + ".weight";
  TQLIB_TRY(check_model_shape(model_cfg, weight_name, codes_name + " " + shape_text(cs), rows, cols));

  auto layer = aq::make_aqlm_blob(codes->bytes, *codes_dt, codes->shape, books->bytes, books->shape, scales->bytes, scales->shape,
                                  *books_dt, *scales_dt);
  if (!layer) return make_error(layer.err().code, prefix + ": " + layer.err().message);
  const auto* ops = codec::find("aqlm");
  if (!ops) return make_error(errc::unsupported, prefix + ": the aqlm codec is not in this build");
  if (auto ok = ops->validate(layer->blob, layer->rows, layer->cols); !ok)
    return make_error(ok.err().code, prefix + ": imported blob does not validate: " + ok.err().message);

  imported_tensor t;
  t.name = weight_name;
  t.codec = "aqlm";
  t.rows = layer->rows;
  t.cols = layer->cols;
  t.sources = {codes_name, books_name, scales_name};
  // The checkpoint's own dequantization (aqlm utils._dequantize_weight), row by row.
  const std::size_t C = s.cfg.num_codebooks, K = std::size_t(1) << s.cfg.nbits, og = s.cfg.out_group, ig = s.cfg.in_group;
  const std::size_t in_groups = cols / ig, ib = aq::detail::int_size(*codes_dt), fb = aq::detail::float_size(*books_dt);
  std::vector<float> want(cols), got(cols);
  rel_error err;
  for (std::size_t r = 0; r < rows; ++r) {
    const std::size_t o = r / og, rr = r % og;
    const float scale = aq::detail::load_float(scales->bytes.data() + o * aq::detail::float_size(*scales_dt), *scales_dt);
    for (std::size_t i = 0; i < in_groups; ++i)
      for (std::size_t j = 0; j < ig; ++j) {
        float v = 0;
        for (std::size_t c = 0; c < C; ++c) {
          const std::uint64_t code =
              std::uint64_t(aq::detail::load_int(codes->bytes.data() + ((o * in_groups + i) * C + c) * ib, *codes_dt)) & (K - 1);
          v += aq::detail::load_float(books->bytes.data() + (((c * K + code) * og + rr) * ig + j) * fb, *books_dt);
        }
        want[i * ig + j] = v * scale;
      }
    ops->decode_row(layer->blob, rows, cols, r, got.data());
    err.add(got.data(), want.data(), cols);
  }
  t.rel_err = err.value();
  t.blob = std::move(layer->blob);
  return t;
}

inline result<void> import_aqlm(const format::hf_folder& src, const nlohmann::json& qc, const std::optional<config>& model_cfg,
                                checkpoint_import& out) {
  auto s = parse_aqlm_settings(qc);
  TQLIB_TRY(s);
  out.kind = checkpoint_kind::aqlm;
  out.description = describe_aqlm(s->cfg);
  constexpr std::string_view suffix = ".codes";
  for (const auto& name : src.tensor_names()) {
    if (!ends_with(name, suffix)) continue;
    const std::string prefix = name.substr(0, name.size() - suffix.size());
    for (const auto& n : s->not_quantized)
      if (n == prefix + ".weight")
        return bad(name, "the layer is listed in quantization_config.linear_weights_not_to_quantize but stored as AQLM codes");
    if (src.raw_info(prefix + ".weight"))
      return bad(name, "the checkpoint also has " + prefix + ".weight: which one is the layer?");
    auto t = import_aqlm_layer(src, prefix, *s, model_cfg);
    TQLIB_TRY(t);
    for (const auto& n : t->sources) out.consumed.insert(n);
    out.tensors.push_back(std::move(*t));
  }
  if (out.tensors.empty())
    return make_error(errc::invalid_argument,
                      "config.json says quant_method \"aqlm\" but no tensor is named *.codes (the aqlm package's QuantizedLinear)");
  return {};
}

// --- BitNet packed ternary (seed 002) ---

// `weight_name` U8 [rows, cols/4] + `weight_name`.scales [rows, cols/64] -> bitnet blob.
inline result<imported_tensor> import_bitnet_weight(const format::hf_folder& src, const std::string& weight_name,
                                                    const std::optional<config>& model_cfg) {
  const std::string scales_name = weight_name + ".scales";
  auto packed = require_raw(src, weight_name, weight_name);
  TQLIB_TRY(packed);
  auto scales = require_raw(src, scales_name, weight_name + " (U8, packed ternary)");
  TQLIB_TRY(scales);
  const auto& ps = packed->info->shape;
  if (ps.size() != 2 || ps[0] == 0 || ps[1] == 0)
    return bad(weight_name, "packed ternary shape " + shape_text(ps) + " is not [out_features, in_features/4]");
  const std::size_t rows = std::size_t(ps[0]), cols = std::size_t(ps[1]) * 4;
  if (cols % codec::absmean_group != 0)
    return bad(weight_name, "shape " + shape_text(ps) + ": in_features " + std::to_string(cols) + " is not a multiple of 64 (groups of 64)");
  TQLIB_TRY(check_model_shape(model_cfg, weight_name, weight_name + " " + shape_text(ps), rows, cols));
  const std::size_t groups = cols / codec::absmean_group;
  const auto sdt = float_dtype_of(scales->info->dtype->name);
  if (!sdt) return bad(scales_name, "dtype " + std::string(scales->info->dtype->name) + " is not F32, F16 or BF16");
  const auto& ss = scales->info->shape;
  const bool shape_ok = (ss.size() == 2 && ss[0] == rows && ss[1] == groups) || (ss.size() == 1 && ss[0] == rows * groups);
  if (!shape_ok)
    return bad(scales_name, "shape " + shape_text(ss) + " is not [" + std::to_string(rows) + ", " + std::to_string(groups) +
                                "] (one scale per 64 weights of " + weight_name + ")");
  std::vector<float> sc(rows * groups);
  for (std::size_t i = 0; i < sc.size(); ++i)
    sc[i] = codec::aqlm::detail::load_float(scales->bytes.data() + i * codec::aqlm::detail::float_size(*sdt), *sdt);
  const std::span<const std::uint8_t> bytes(reinterpret_cast<const std::uint8_t*>(packed->bytes.data()), packed->bytes.size());
  auto blob = codec::bitnet_from_seed(bytes, sc, rows, cols);
  if (!blob) return make_error(blob.err().code, weight_name + ": " + blob.err().message);
  const auto* ops = codec::find("bitnet");
  if (!ops) return make_error(errc::unsupported, weight_name + ": the bitnet codec is not in this build");
  if (auto ok = ops->validate(*blob, rows, cols); !ok)
    return make_error(ok.err().code, weight_name + ": imported blob does not validate: " + ok.err().message);

  imported_tensor t;
  t.name = weight_name;
  t.codec = "bitnet";
  t.rows = rows;
  t.cols = cols;
  t.sources = {weight_name, scales_name};
  // The checkpoint's own dequantization (ternary-inference-rs unpack.rs dequantize_weight).
  std::vector<float> want(cols), got(cols);
  rel_error err;
  for (std::size_t r = 0; r < rows; ++r) {
    for (std::size_t j = 0; j < cols / 4; ++j) {
      unsigned v = bytes[r * (cols / 4) + j];
      for (std::size_t k = 0; k < 4; ++k, v /= 3)
        want[4 * j + k] = float(int(v % 3) - 1) * sc[r * groups + (4 * j + k) / codec::absmean_group];
    }
    ops->decode_row(*blob, rows, cols, r, got.data());
    err.add(got.data(), want.data(), cols);
  }
  t.rel_err = err.value();
  t.blob = std::move(*blob);
  return t;
}

inline result<void> import_bitnet(const format::hf_folder& src, const std::optional<config>& model_cfg, checkpoint_import& out) {
  out.kind = checkpoint_kind::bitnet;
  out.description = "BitNet packed ternary (seed 002: U8 *.weight, 4 trits per byte, + *.weight.scales per 64)";
  for (const auto& name : src.tensor_names()) {
    const auto* info = src.raw_info(name);
    if (!info || info->dtype->name != "U8" || !ends_with(name, ".weight")) continue;
    auto t = import_bitnet_weight(src, name, model_cfg);
    TQLIB_TRY(t);
    for (const auto& n : t->sources) out.consumed.insert(n);
    out.tensors.push_back(std::move(*t));
  }
  if (out.tensors.empty())
    return make_error(errc::invalid_argument, "config.json says a BitNet packed checkpoint but no *.weight tensor is U8");
  return {};
}

// True when some U8 `X.weight` has an `X.weight.scales` beside it (seed 002's pairs).
inline bool has_bitnet_pairs(const format::hf_folder& src) {
  for (const auto& name : src.tensor_names()) {
    const auto* info = src.raw_info(name);
    if (info && info->dtype->name == "U8" && ends_with(name, ".weight") && src.raw_info(name + ".scales")) return true;
  }
  return false;
}

}  // namespace import_detail

// What `tq quantize` imports from a checkpoint folder: kind plain (nothing to import) or the
// imported tensors plus the checkpoint tensors they replace. config_text is config.json.
inline result<checkpoint_import> import_quantized_checkpoint(std::string_view config_text, const format::hf_folder& src) {
  using import_detail::bad;
  checkpoint_import out;
  if (!json_depth_within(config_text))
    return make_error(errc::corrupt, "config.json: arrays or objects nested deeper than " + std::to_string(max_json_depth) + " levels");
  auto j = nlohmann::json::parse(config_text.begin(), config_text.end(), nullptr, false);
  if (j.is_discarded() || !j.is_object()) return make_error(errc::corrupt, "config.json is not a JSON object");
  std::optional<config> model_cfg;
  if (auto c = parse_config(config_text)) model_cfg = std::move(*c);

  std::string method;
  const nlohmann::json* qc = nullptr;
  if (auto it = j.find("quantization_config"); it != j.end() && it->is_object()) {
    qc = &*it;
    if (auto m = it->find("quant_method"); m != it->end() && m->is_string()) method = m->get<std::string>();
  }
  if (method == "aqlm") {
    TQLIB_TRY(import_detail::import_aqlm(src, *qc, model_cfg, out));
    return out;
  }
  if (method == "bitnet")  // transformers' BitNetConfig: microsoft/bitnet-b1.58 2-bit row packing + weight_scale
    return make_error(errc::unsupported, "config.json: quant_method \"bitnet\" (2 bits per weight packed along rows, one "
                                         "weight_scale per tensor) is not the seed 002 layout; only that one is imported");
  if (method == "bitnet_158") {
    const auto p = qc->find("packing"), g = qc->find("group_size");
    const bool packing_ok = p == qc->end() || (p->is_string() && p->get<std::string>() == "base3_columns");
    const bool group_ok = g == qc->end() || (g->is_number_integer() && g->get<std::int64_t>() == 64);
    if (!packing_ok || !group_ok)
      return make_error(errc::unsupported, "config.json: bitnet_158 with packing " + (p == qc->end() ? "-" : p->dump()) +
                                               " and group_size " + (g == qc->end() ? "-" : g->dump()) +
                                               ": only base3_columns with groups of 64 (seed 002) is imported");
  } else if (!method.empty()) {
    return make_error(errc::unsupported, "config.json: quantization_config.quant_method \"" + method +
                                             "\" cannot be imported (tq quantize imports aqlm and BitNet seed 002 checkpoints, and "
                                             "quantizes float ones)");
  }
  if (method == "bitnet_158" || import_detail::has_bitnet_pairs(src)) TQLIB_TRY(import_detail::import_bitnet(src, model_cfg, out));
  return out;
}

}  // namespace tqlib::model
