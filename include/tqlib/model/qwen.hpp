#pragma once
// The Qwen2 / Qwen3 forward pass, in the manner of llama2.c: a config, the weights, a run state
// and named steps (rmsnorm, rope, attention, swiglu, matmul). Speed comes from the codec
// kernels (matvec for one token, matmul for a batch of prompt tokens) and from the thread pool,
// which splits the rows of every matrix product across threads; every output element is
// computed by one thread with the same arithmetic, so results do not depend on the thread count.
//
// One transformer block (pre-norm, residual):
//   h   = x + o_proj(attention(rope(q_proj(rmsnorm(x))), rope(k_proj(..)), v_proj(..)))
//   out = h + down_proj(silu(gate_proj(rmsnorm(h))) * up_proj(rmsnorm(h)))
// Qwen2 adds a bias to q, k and v; Qwen3 has none but applies RMSNorm over each head of q and
// k before RoPE. RoPE pairs element i with i + head_dim/2 ("rotate half").
#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "tqlib/core/result.hpp"
#include "tqlib/core/thread_pool.hpp"
#include "tqlib/model/config.hpp"
#include "tqlib/model/kv_cache.hpp"
#include "tqlib/model/weights.hpp"
#include "tqlib/simd/vector_ops.hpp"

namespace tqlib::model {

struct run_options {
  int threads = 1;
  int context = 4096;   // KV cache positions (capped at the config's max_position_embeddings)
  int max_batch = 64;   // prompt tokens processed per matmul (longer prompts go in chunks)
  kv_type kv = kv_type::f16;  // kv_type_for_bits(2 | 3 | 4) for a TurboQuant-compressed cache
};

// Scratch memory for one forward call, allocated once: a decode step allocates nothing.
struct run_state {
  std::vector<float> x;       // residual stream        [batch x dim]
  std::vector<float> xb;      // normed input / output  [batch x dim]
  std::vector<float> q;       // queries                [batch x q_dim]
  std::vector<float> k, v;    // new keys / values      [batch x kv_dim]
  std::vector<float> att;     // attention output       [batch x q_dim]
  std::vector<float> hb, hb2; // gate, up               [batch x hidden]
  std::vector<float> scores;  // attention weights      [threads x group x context]
  std::vector<float> kv_row;  // attention scratch      [threads x kv_row_floats()]
  std::vector<float> cos, sin;  // RoPE for the batch   [batch x head_dim/2]
};

// ---- the named steps ----

inline void rmsnorm(float* out, const float* x, const float* weight, int n, float eps) {
  double ss = 0;
  for (int i = 0; i < n; ++i) ss += double(x[i]) * double(x[i]);
  const float inv = float(1.0 / std::sqrt(ss / n + double(eps)));
  for (int i = 0; i < n; ++i) out[i] = weight[i] * (x[i] * inv);
}

// cos/sin of position * inv_freq[i], with inv_freq computed in float32 as transformers does
// (inv_freq = 1 / theta^(2i/d), angles in float32), so long positions round the same way.
inline void rope_angles(int pos, int head_dim, double theta, float* cos_out, float* sin_out) {
  const int half = head_dim / 2;
  for (int i = 0; i < half; ++i) {
    const float inv_freq = 1.0f / std::pow(float(theta), float(2 * i) / float(head_dim));
    const float angle = float(pos) * inv_freq;
    cos_out[i] = float(std::cos(double(angle)));
    sin_out[i] = float(std::sin(double(angle)));
  }
}

// Rotate-half RoPE on one head: (x_i, x_{i+d/2}) -> (x_i cos - x_{i+d/2} sin, x_{i+d/2} cos + x_i sin).
inline void rope(float* head, int head_dim, const float* cos, const float* sin) {
  const int half = head_dim / 2;
  for (int i = 0; i < half; ++i) {
    const float a = head[i], b = head[i + half];
    head[i] = a * cos[i] - b * sin[i];
    head[i + half] = b * cos[i] + a * sin[i];
  }
}

inline void softmax(float* x, int n) {
  float max = x[0];
  for (int i = 1; i < n; ++i) max = std::max(max, x[i]);
  float sum = 0;
  for (int i = 0; i < n; ++i) {
    x[i] = std::exp(x[i] - max);
    sum += x[i];
  }
  const float inv = 1.0f / sum;
  for (int i = 0; i < n; ++i) x[i] *= inv;
}

// gate[i] = silu(gate[i]) * up[i]
inline void swiglu(float* gate, const float* up, std::size_t n) {
  for (std::size_t i = 0; i < n; ++i) gate[i] = gate[i] / (1.0f + std::exp(-gate[i])) * up[i];
}

class qwen {
 public:
  // Takes the weights (views into a tensor source the caller keeps alive).
  static result<std::unique_ptr<qwen>> create(const config& c, weights w, run_options opt = {}) {
    if (int(w.layers.size()) != c.n_layers) return make_error(errc::invalid_argument, "weights do not match config");
    opt.context = std::max(1, std::min(opt.context, c.max_seq_len));
    opt.max_batch = std::max(1, opt.max_batch);
    opt.threads = std::max(1, opt.threads);
    TQLIB_TRY(kv_cache::check(opt.kv, c.head_dim));
    return std::unique_ptr<qwen>(new qwen(c, std::move(w), opt));
  }

  const config& cfg() const { return c_; }
  const weights& w() const { return w_; }
  int context() const { return opt_.context; }
  int threads() const { return pool_.size(); }
  const kv_cache& cache() const { return cache_; }

  // Runs tokens[0..T) at positions pos..pos+T-1 (keys/values of earlier positions must be in
  // the cache). Writes the logits after the last token to logits[vocab], or, when all_logits,
  // the logits after every token to logits[T x vocab].
  result<void> forward(std::span<const std::int32_t> tokens, int pos, float* logits, bool all_logits = false) {
    const int T = int(tokens.size());
    if (T == 0) return make_error(errc::invalid_argument, "forward: no tokens");
    if (pos < 0 || pos + T > opt_.context)
      return make_error(errc::invalid_argument, "forward: positions " + std::to_string(pos) + ".." +
                                                    std::to_string(pos + T - 1) + " exceed the context of " +
                                                    std::to_string(opt_.context));
    for (auto t : tokens)
      if (t < 0 || t >= c_.vocab_size)
        return make_error(errc::invalid_argument, "forward: token id " + std::to_string(t) + " is outside the vocabulary (" +
                                                      std::to_string(c_.vocab_size) + ")");
    for (int t0 = 0; t0 < T; t0 += opt_.max_batch) {
      const int n = std::min(opt_.max_batch, T - t0);
      const bool last_chunk = t0 + n == T;
      float* out = all_logits ? logits + std::size_t(t0) * std::size_t(c_.vocab_size) : (last_chunk ? logits : nullptr);
      forward_chunk(tokens.data() + t0, n, pos + t0, out, all_logits);
    }
    return {};
  }

 private:
  qwen(const config& c, weights w, const run_options& opt)
      : c_(c), w_(std::move(w)), opt_(opt), pool_(opt.threads),
        cache_(c.n_layers, opt.context, c.n_kv_heads, c.head_dim, opt.kv) {
    const std::size_t B = std::size_t(opt.max_batch);
    s_.x.resize(B * std::size_t(c.dim));
    s_.xb.resize(B * std::size_t(c.dim));
    s_.q.resize(B * std::size_t(c.q_dim()));
    s_.k.resize(B * std::size_t(c.kv_dim()));
    s_.v.resize(B * std::size_t(c.kv_dim()));
    s_.att.resize(B * std::size_t(c.q_dim()));
    s_.hb.resize(B * std::size_t(c.hidden_dim));
    s_.hb2.resize(B * std::size_t(c.hidden_dim));
    s_.scores.resize(std::size_t(pool_.size()) * std::size_t(c.n_heads / c.n_kv_heads) * std::size_t(opt.context));
    s_.kv_row.resize(std::size_t(pool_.size()) * kv_row_floats());
    s_.cos.resize(B * std::size_t(c.head_dim / 2));
    s_.sin.resize(B * std::size_t(c.head_dim / 2));
  }

  // out[t x m.rows] = X[t x m.cols] . m^T for every (matrix, output) pair, rows split across threads.
  struct product {
    const matrix* m;
    float* out;
  };
  template <std::size_t N, class After>
  void matmul(const product (&ps)[N], const float* X, int T, After&& after) {
    pool_.run([&](int i, int n) {
      for (const auto& p : ps) {
        const auto [r0, r1] = thread_pool::split(p.m->rows, i, n);
        if (r0 == r1) continue;
        if (T == 1)
          p.m->matvec(X, p.out, r0, r1);
        else
          p.m->matmul(X, std::size_t(T), p.out, r0, r1);
      }
      after(i, n);
    });
  }
  template <std::size_t N>
  void matmul(const product (&ps)[N], const float* X, int T) {
    matmul(ps, X, T, [](int, int) {});
  }

  // Causal attention of T new queries (positions pos..pos+T-1) over the cache. Work items are
  // (token, KV head) pairs split across threads: the query heads of one group share their keys
  // and values, so each cached row is converted (f16) or unpacked (TurboQuant) once per group
  // rather than once per query head. Every head's scores and sums are still computed alone, in
  // position order, so results do not depend on the thread count.
  void attention(int layer, int T, int pos) {
    if (cache_.turbo()) return attention_turbo(layer, T, pos);
    const int hd = c_.head_dim, q_dim = c_.q_dim(), group = c_.n_heads / c_.n_kv_heads;
    const float scale = 1.0f / std::sqrt(float(hd));
    const float* f16 = cache_.type() == kv_type::f16 ? f16_table() : nullptr;
    const std::size_t ctx = std::size_t(opt_.context);
    pool_.run([&](int ti, int nt) {
      const auto [w0, w1] = thread_pool::split(std::size_t(T) * std::size_t(c_.n_kv_heads), ti, nt, 1);
      float* scores = s_.scores.data() + std::size_t(ti) * std::size_t(group) * ctx;  // [group x context]
      float* row = s_.kv_row.data() + std::size_t(ti) * kv_row_floats();
      for (std::size_t work = w0; work < w1; ++work) {
        const int t = int(work / std::size_t(c_.n_kv_heads)), kvh = int(work % std::size_t(c_.n_kv_heads));
        const int kv_off = kvh * hd, n_pos = pos + t + 1;
        const float* q = s_.q.data() + std::size_t(t) * std::size_t(q_dim) + std::size_t(kvh * group * hd);
        float* out = s_.att.data() + std::size_t(t) * std::size_t(q_dim) + std::size_t(kvh * group * hd);
        for (int s = 0; s < n_pos; ++s) {
          const float* k = f16 ? to_f32(cache_.key16(layer, s) + kv_off, hd, f16, row) : cache_.key32(layer, s) + kv_off;
          for (int g = 0; g < group; ++g) scores[std::size_t(g) * ctx + std::size_t(s)] = simd::dot(q + g * hd, k, std::size_t(hd)) * scale;
        }
        for (int g = 0; g < group; ++g) softmax(scores + std::size_t(g) * ctx, n_pos);
        std::fill(out, out + group * hd, 0.0f);
        for (int s = 0; s < n_pos; ++s) {
          const float* v = f16 ? to_f32(cache_.value16(layer, s) + kv_off, hd, f16, row) : cache_.value32(layer, s) + kv_off;
          for (int g = 0; g < group; ++g) simd::axpy(scores[std::size_t(g) * ctx + std::size_t(s)], v, out + g * hd, std::size_t(hd));
        }
      }
    });
  }

  // The same over a TurboQuant cache, in the rotated domain (model/turbo_kv.hpp): each query
  // head is rotated once, scores are dot products with each key's levels times its scale, values
  // are accumulated as levels and rotated back once per head.
  void attention_turbo(int layer, int T, int pos) {
    const int hd = c_.head_dim, q_dim = c_.q_dim(), group = c_.n_heads / c_.n_kv_heads;
    const float scale = 1.0f / std::sqrt(float(hd));
    const turbo_kv_codec& tc = *cache_.turbo();
    const std::size_t d = tc.dim(), ctx = std::size_t(opt_.context);
    pool_.run([&](int ti, int nt) {
      const auto [w0, w1] = thread_pool::split(std::size_t(T) * std::size_t(c_.n_kv_heads), ti, nt, 1);
      float* scores = s_.scores.data() + std::size_t(ti) * std::size_t(group) * ctx;  // [group x context]
      float* lv = s_.kv_row.data() + std::size_t(ti) * kv_row_floats();  // levels of one row [d]
      float* qr = lv + d;                                                  // rotated queries [group x d]
      float* acc = qr + std::size_t(group) * d;                            // rotated sums    [group x d]
      for (std::size_t work = w0; work < w1; ++work) {
        const int t = int(work / std::size_t(c_.n_kv_heads)), kvh = int(work % std::size_t(c_.n_kv_heads));
        const int n_pos = pos + t + 1;
        const float* q = s_.q.data() + std::size_t(t) * std::size_t(q_dim) + std::size_t(kvh * group * hd);
        float* out = s_.att.data() + std::size_t(t) * std::size_t(q_dim) + std::size_t(kvh * group * hd);
        for (int g = 0; g < group; ++g) tc.rotate(q + g * hd, qr + std::size_t(g) * d);
        for (int s = 0; s < n_pos; ++s) {
          tc.unpack_levels(cache_.key_code(layer, s, kvh), lv);
          const float ks = cache_.key_scale(layer, s, kvh) * scale;
          for (int g = 0; g < group; ++g) scores[std::size_t(g) * ctx + std::size_t(s)] = simd::dot(qr + std::size_t(g) * d, lv, d) * ks;
        }
        for (int g = 0; g < group; ++g) softmax(scores + std::size_t(g) * ctx, n_pos);
        std::fill(acc, acc + std::size_t(group) * d, 0.0f);
        for (int s = 0; s < n_pos; ++s) {
          tc.unpack_levels(cache_.value_code(layer, s, kvh), lv);
          const float vs = cache_.value_scale(layer, s, kvh);
          for (int g = 0; g < group; ++g)
            simd::axpy(scores[std::size_t(g) * ctx + std::size_t(s)] * vs, lv, acc + std::size_t(g) * d, d);
        }
        for (int g = 0; g < group; ++g) tc.unrotate(acc + std::size_t(g) * d, out + g * hd);
      }
    });
  }

  // Per-thread scratch of attention: one converted f16 row, or a TurboQuant row of levels plus
  // the group's rotated queries and sums.
  std::size_t kv_row_floats() const {
    const std::size_t group = std::size_t(c_.n_heads / c_.n_kv_heads);
    return cache_.turbo() ? (1 + 2 * group) * cache_.turbo()->dim() : std::size_t(c_.head_dim);
  }

  static const float* to_f32(const std::uint16_t* h, int n, const float* table, float* out) {
    for (int i = 0; i < n; ++i) out[i] = table[h[i]];
    return out;
  }

  void forward_chunk(const std::int32_t* tokens, int T, int pos, float* logits, bool all_logits) {
    const int dim = c_.dim, hd = c_.head_dim, half = hd / 2, q_dim = c_.q_dim(), kv_dim = c_.kv_dim();
    const std::size_t hidden = std::size_t(c_.hidden_dim);
    float* x = s_.x.data();
    float* xb = s_.xb.data();

    for (int t = 0; t < T; ++t) {
      w_.embed.row(std::size_t(tokens[t]), x + std::size_t(t) * std::size_t(dim));
      rope_angles(pos + t, hd, c_.rope_theta, s_.cos.data() + std::size_t(t * half), s_.sin.data() + std::size_t(t * half));
    }

    for (int l = 0; l < c_.n_layers; ++l) {
      const layer_weights& L = w_.layers[std::size_t(l)];

      // attention
      for (int t = 0; t < T; ++t) rmsnorm(xb + t * dim, x + t * dim, L.attn_norm.data(), dim, c_.norm_eps);
      matmul({product{&L.wq, s_.q.data()}, product{&L.wk, s_.k.data()}, product{&L.wv, s_.v.data()}}, xb, T);
      for (int t = 0; t < T; ++t) {
        float* q = s_.q.data() + std::size_t(t) * std::size_t(q_dim);
        float* k = s_.k.data() + std::size_t(t) * std::size_t(kv_dim);
        float* v = s_.v.data() + std::size_t(t) * std::size_t(kv_dim);
        if (c_.qkv_bias) {
          for (int i = 0; i < q_dim; ++i) q[i] += L.bq[std::size_t(i)];
          for (int i = 0; i < kv_dim; ++i) k[i] += L.bk[std::size_t(i)];
          for (int i = 0; i < kv_dim; ++i) v[i] += L.bv[std::size_t(i)];
        }
        const float* cos = s_.cos.data() + std::size_t(t * half);
        const float* sin = s_.sin.data() + std::size_t(t * half);
        for (int h = 0; h < c_.n_heads; ++h) {
          float* qh = q + h * hd;
          if (c_.qk_norm) rmsnorm(qh, qh, L.q_norm.data(), hd, c_.norm_eps);
          rope(qh, hd, cos, sin);
        }
        for (int h = 0; h < c_.n_kv_heads; ++h) {
          float* kh = k + h * hd;
          if (c_.qk_norm) rmsnorm(kh, kh, L.k_norm.data(), hd, c_.norm_eps);
          rope(kh, hd, cos, sin);
        }
        cache_.store(l, pos + t, k, v);
      }
      attention(l, T, pos);
      matmul({product{&L.wo, xb}}, s_.att.data(), T);
      for (std::size_t i = 0; i < std::size_t(T) * std::size_t(dim); ++i) x[i] += xb[i];

      // feed-forward: each thread applies SwiGLU to the rows of gate/up it computed
      for (int t = 0; t < T; ++t) rmsnorm(xb + t * dim, x + t * dim, L.ffn_norm.data(), dim, c_.norm_eps);
      matmul({product{&L.w_gate, s_.hb.data()}, product{&L.w_up, s_.hb2.data()}}, xb, T, [&](int i, int n) {
        const auto [r0, r1] = thread_pool::split(hidden, i, n);
        for (int t = 0; t < T; ++t)
          swiglu(s_.hb.data() + std::size_t(t) * hidden + r0, s_.hb2.data() + std::size_t(t) * hidden + r0, r1 - r0);
      });
      matmul({product{&L.w_down, xb}}, s_.hb.data(), T);
      for (std::size_t i = 0; i < std::size_t(T) * std::size_t(dim); ++i) x[i] += xb[i];
    }

    if (!logits) return;
    if (all_logits) {
      for (int t = 0; t < T; ++t) rmsnorm(xb + t * dim, x + t * dim, w_.final_norm.data(), dim, c_.norm_eps);
      matmul({product{&w_.lm_head, logits}}, xb, T);
    } else {
      rmsnorm(xb, x + (T - 1) * dim, w_.final_norm.data(), dim, c_.norm_eps);
      matmul({product{&w_.lm_head, logits}}, xb, 1);
    }
  }

  config c_;
  weights w_;
  run_options opt_;
  thread_pool pool_;
  kv_cache cache_;
  run_state s_;
};

}  // namespace tqlib::model
