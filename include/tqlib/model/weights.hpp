#pragma once
// A Qwen model's weights: one field per tensor, found by its Hugging Face name in a
// format::tensor_source and checked against the config. Matrices stay packed in whatever codec
// the file holds (any mix per tensor) and are used in place: a `matrix` is a view into the
// source's bytes, so the source must outlive the weights. Only the 1-D tensors (norm weights,
// biases: a few KB) are decoded to float.
#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

#include "tqlib/codec/codec.hpp"
#include "tqlib/codec/registry.hpp"
#include "tqlib/core/bytes.hpp"
#include "tqlib/core/float16.hpp"
#include "tqlib/core/result.hpp"
#include "tqlib/core/shape_text.hpp"
#include "tqlib/format/tensor_source.hpp"
#include "tqlib/model/config.hpp"

namespace tqlib::model {

// A packed [rows x cols] matrix (out x in, as PyTorch stores linear weights) and its codec.
struct matrix {
  const codec::codec_ops* ops = nullptr;
  std::span<const std::byte> bytes;
  std::size_t rows = 0, cols = 0;

  // y[r] = W[r, :] . x for r in [r0, r1)
  void matvec(const float* x, float* y, std::size_t r0, std::size_t r1) const {
    ops->matvec(bytes, rows, cols, x, y, r0, r1);
  }
  // Y[t, r] = W[r, :] . X[t, :] for t < T, r in [r0, r1)
  void matmul(const float* X, std::size_t T, float* Y, std::size_t r0, std::size_t r1) const {
    ops->matmul(bytes, rows, cols, X, T, Y, r0, r1);
  }
  void row(std::size_t r, float* out) const { ops->decode_row(bytes, rows, cols, r, out); }
};

struct layer_weights {
  std::vector<float> attn_norm;       // input_layernorm [dim]
  matrix wq, wk, wv, wo;              // [q_dim x dim], [kv_dim x dim] x2, [dim x q_dim]
  std::vector<float> bq, bk, bv;      // Qwen2 only
  std::vector<float> q_norm, k_norm;  // Qwen3 only, [head_dim]
  std::vector<float> ffn_norm;        // post_attention_layernorm [dim]
  matrix w_gate, w_up, w_down;        // [hidden x dim] x2, [dim x hidden]
};

struct weights {
  matrix embed;  // [vocab x dim]
  std::vector<layer_weights> layers;
  std::vector<float> final_norm;  // [dim]
  matrix lm_head;                 // [vocab x dim]; the embedding itself when tied

  // Bytes of weights read per decoded token (every matrix once, plus the output head).
  std::size_t bytes_per_token() const {
    std::size_t n = lm_head.bytes.size();
    for (const auto& l : layers)
      for (const matrix* m : {&l.wq, &l.wk, &l.wv, &l.wo, &l.w_gate, &l.w_up, &l.w_down}) n += m->bytes.size();
    return n;
  }
};

// Finds a codec's kernels by id; the registry unless a test supplies its own.
using codec_lookup = const codec::codec_ops* (*)(codec::codec_id);
inline const codec::codec_ops* registry_codec(codec::codec_id id) { return codec::find(id); }

namespace detail {

class weight_loader {
 public:
  weight_loader(const format::tensor_source& src, codec_lookup lookup) : src_(src), lookup_(lookup) {}

  result<matrix> load_matrix(const std::string& name, std::size_t rows, std::size_t cols) {
    auto v = require(name);
    if (!v) return std::move(v).err();
    const auto& t = *v;
    if (t.shape.size() != 2 || t.shape[0] != rows || t.shape[1] != cols)
      return make_error(errc::corrupt, "tensor " + name + " has shape " + shape_text(t.shape) + ", config needs [" +
                                           std::to_string(rows) + ", " + std::to_string(cols) + "]");
    const auto* ops = lookup_(t.codec);
    if (!ops)
      return make_error(errc::unsupported, "tensor " + name + ": codec " + std::to_string(int(t.codec)) +
                                               " is not available in this build");
    return matrix{ops, t.bytes, rows, cols};
  }

  // A 1-D tensor (norm weight, bias) decoded to float. Missing is an error unless optional.
  result<std::vector<float>> load_vector(const std::string& name, std::size_t n) {
    auto v = require(name);
    if (!v) return std::move(v).err();
    const auto& t = *v;
    if (t.shape.size() != 1 || t.shape[0] != n)
      return make_error(errc::corrupt, "tensor " + name + " has shape " + shape_text(t.shape) + ", config needs [" +
                                           std::to_string(n) + "]");
    std::vector<float> out(n);
    // Dense vectors are read directly (a few KB); anything else through its codec.
    using codec::codec_id;
    if (t.codec == codec_id::f32 && t.bytes.size() == 4 * n) {
      for (std::size_t i = 0; i < n; ++i) out[i] = load_le<float>(t.bytes.data() + 4 * i);
      return out;
    }
    if ((t.codec == codec_id::f16 || t.codec == codec_id::bf16) && t.bytes.size() == 2 * n) {
      for (std::size_t i = 0; i < n; ++i) {
        const auto h = load_le<std::uint16_t>(t.bytes.data() + 2 * i);
        out[i] = t.codec == codec_id::f16 ? f16_to_f32(h) : bf16_to_f32(h);
      }
      return out;
    }
    const auto* ops = lookup_(t.codec);
    if (!ops)
      return make_error(errc::unsupported, "tensor " + name + ": codec " + std::to_string(int(t.codec)) +
                                               " is not available in this build");
    ops->decode_row(t.bytes, 1, n, 0, out.data());
    return out;
  }

  bool has(const std::string& name) const {
    auto t = src_.tensor(name);
    return t.ok() && t->has_value();
  }

 private:
  result<format::tensor_view> require(const std::string& name) {
    auto t = src_.tensor(name);
    if (!t) return make_error(t.err().code, "tensor " + name + ": " + t.err().message);
    if (!t->has_value()) return make_error(errc::corrupt, "missing tensor " + name);
    return std::move(**t);
  }
  const format::tensor_source& src_;
  codec_lookup lookup_;
};

}  // namespace detail

inline result<weights> load_weights(const format::tensor_source& src, const config& c,
                                    codec_lookup lookup = registry_codec) {
  detail::weight_loader ld(src, lookup);
  const std::size_t dim = c.dim, hidden = c.hidden_dim, q_dim = c.q_dim(), kv_dim = c.kv_dim(), vocab = c.vocab_size;
  weights w;
  // Each load either fills its field or returns the error naming the tensor.
#define TQLIB_LOAD(field, expr)            \
  do {                                     \
    auto r_ = (expr);                      \
    if (!r_) return std::move(r_).err();   \
    field = std::move(*r_);                \
  } while (0)
  TQLIB_LOAD(w.embed, ld.load_matrix("model.embed_tokens.weight", vocab, dim));
  w.layers.resize(std::size_t(c.n_layers));
  for (int i = 0; i < c.n_layers; ++i) {
    const std::string p = "model.layers." + std::to_string(i) + ".";
    auto& l = w.layers[std::size_t(i)];
    TQLIB_LOAD(l.attn_norm, ld.load_vector(p + "input_layernorm.weight", dim));
    TQLIB_LOAD(l.wq, ld.load_matrix(p + "self_attn.q_proj.weight", q_dim, dim));
    TQLIB_LOAD(l.wk, ld.load_matrix(p + "self_attn.k_proj.weight", kv_dim, dim));
    TQLIB_LOAD(l.wv, ld.load_matrix(p + "self_attn.v_proj.weight", kv_dim, dim));
    TQLIB_LOAD(l.wo, ld.load_matrix(p + "self_attn.o_proj.weight", dim, q_dim));
    if (c.qkv_bias) {
      TQLIB_LOAD(l.bq, ld.load_vector(p + "self_attn.q_proj.bias", q_dim));
      TQLIB_LOAD(l.bk, ld.load_vector(p + "self_attn.k_proj.bias", kv_dim));
      TQLIB_LOAD(l.bv, ld.load_vector(p + "self_attn.v_proj.bias", kv_dim));
    }
    if (c.qk_norm) {
      TQLIB_LOAD(l.q_norm, ld.load_vector(p + "self_attn.q_norm.weight", std::size_t(c.head_dim)));
      TQLIB_LOAD(l.k_norm, ld.load_vector(p + "self_attn.k_norm.weight", std::size_t(c.head_dim)));
    }
    TQLIB_LOAD(l.ffn_norm, ld.load_vector(p + "post_attention_layernorm.weight", dim));
    TQLIB_LOAD(l.w_gate, ld.load_matrix(p + "mlp.gate_proj.weight", hidden, dim));
    TQLIB_LOAD(l.w_up, ld.load_matrix(p + "mlp.up_proj.weight", hidden, dim));
    TQLIB_LOAD(l.w_down, ld.load_matrix(p + "mlp.down_proj.weight", dim, hidden));
  }
  TQLIB_LOAD(w.final_norm, ld.load_vector("model.norm.weight", dim));
  if (c.tied_embeddings && !ld.has("lm_head.weight")) {
    w.lm_head = w.embed;
  } else {
    TQLIB_LOAD(w.lm_head, ld.load_matrix("lm_head.weight", vocab, dim));
  }
#undef TQLIB_LOAD
  return w;
}

}  // namespace tqlib::model
