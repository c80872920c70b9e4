#pragma once
// An AQLM encoder (arXiv 2401.06118, section 3) for tests and small models: data-free, so it
// minimises the plain reconstruction error ||W - W_hat||^2 instead of AQLM's output-aware
// ||WX - W_hat X||^2, and has no fine-tuning. Steps:
//  1. one scale per output group: the RMS of its weights (AQLM's scales are per output group too);
//  2. residual k-means initialisation: codebook 1 is k-means on the scaled weight groups,
//     codebook 2 k-means on what codebook 1 leaves, and so on (the paper's "residual K-means");
//  3. alternating rounds: re-fit each codebook by least squares with the codes fixed (block
//     coordinate descent: codeword k of codebook c becomes the mean of the residuals, without
//     codebook c, of the groups that use it), then re-search the codes by beam search (the
//     paper's section 3.2: for each codebook in turn, try every codeword in every beam entry,
//     keep the best `beam` code tuples).
// Codebooks are rounded to f16 after every fit, so the codes are searched against the values
// the blob stores. Deterministic: one thread, xoshiro256** from the seed.
#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <numeric>
#include <vector>

#include "tqlib/codec/aqlm_layout.hpp"
#include "tqlib/core/float16.hpp"
#include "tqlib/core/result.hpp"
#include "tqlib/core/rng.hpp"

namespace tqlib::codec::aqlm {

struct encoder_options {
  config cfg;
  int beam = 8;
  int rounds = 2;                  // alternating (re-fit codebooks, re-search codes) rounds
  int kmeans_iterations = 12;
  std::size_t kmeans_samples_per_codeword = 64;  // k-means fits on at most this many groups per codeword
  std::uint64_t seed = 0x7471'6c69'6200'0001ull;
};

// The encoder's working state, in floats: what the blob will hold before packing.
struct additive_code {
  layout L;
  std::size_t dim = 0;               // out_group * in_group
  std::vector<float> scales;         // [out_groups], f16-representable
  std::vector<float> codebooks;      // [C][K][dim], f16-representable
  std::vector<std::uint32_t> codes;  // [out_groups * in_groups][C]
};

namespace detail {

inline float round_to_f16(float f) noexcept { return f16_to_f32(f32_to_f16(f)); }

// Nearest codeword search with the codebook transposed to [dim][K] so the distances to all
// codewords are computed by loops over K that the compiler vectorises.
class nearest_search {
 public:
  nearest_search(const float* codebook, std::size_t K, std::size_t dim) : K_(K), dim_(dim), cbT_(K * dim), norms_(K), scores_(K) {
    for (std::size_t k = 0; k < K; ++k) {
      double n = 0;
      for (std::size_t j = 0; j < dim; ++j) {
        const float c = codebook[k * dim + j];
        cbT_[j * K + k] = c;
        n += double(c) * c;
      }
      norms_[k] = float(n);
    }
  }
  // ||t - c_k||^2 - ||t||^2 for every k, into scores().
  const float* scores(const float* t) {
    for (std::size_t k = 0; k < K_; ++k) scores_[k] = norms_[k];
    for (std::size_t j = 0; j < dim_; ++j) {
      const float m = -2.f * t[j];
      const float* row = cbT_.data() + j * K_;
      for (std::size_t k = 0; k < K_; ++k) scores_[k] += m * row[k];
    }
    return scores_.data();
  }
  std::uint32_t nearest(const float* t) {
    const float* s = scores(t);
    std::size_t best = 0;
    for (std::size_t k = 1; k < K_; ++k)
      if (s[k] < s[best]) best = k;
    return std::uint32_t(best);
  }

 private:
  std::size_t K_, dim_;
  std::vector<float> cbT_, norms_, scores_;
};

// Distinct random indices into [0, n): the first m of a seeded Fisher-Yates shuffle.
inline std::vector<std::size_t> sample_indices(std::size_t n, std::size_t m, xoshiro256ss& rng) {
  std::vector<std::size_t> idx(n);
  std::iota(idx.begin(), idx.end(), std::size_t(0));
  m = std::min(m, n);
  for (std::size_t i = 0; i < m; ++i) std::swap(idx[i], idx[i + std::size_t(rng.next() % (n - i))]);
  idx.resize(m);
  return idx;
}

// Lloyd's k-means of the rows of `points` [n][dim] into K centroids, written to `centroids`.
inline void kmeans(const std::vector<float>& points, std::size_t n, std::size_t dim, std::size_t K,
                   const encoder_options& opt, xoshiro256ss& rng, float* centroids) {
  const auto sample = sample_indices(n, std::max<std::size_t>(K, opt.kmeans_samples_per_codeword * K), rng);
  const std::size_t m = sample.size();
  // Initial centroids: distinct sampled points; when there are fewer points than codewords the
  // points repeat, and every point keeps an exact codeword.
  for (std::size_t k = 0; k < K; ++k)
    std::copy_n(points.data() + sample[k % m] * dim, dim, centroids + k * dim);
  std::vector<double> sums(K * dim);
  std::vector<std::size_t> counts(K);
  for (int it = 0; it < opt.kmeans_iterations && m > K; ++it) {
    nearest_search search(centroids, K, dim);
    std::fill(sums.begin(), sums.end(), 0.0);
    std::fill(counts.begin(), counts.end(), 0);
    for (std::size_t i : sample) {
      const float* p = points.data() + i * dim;
      const std::uint32_t k = search.nearest(p);
      ++counts[k];
      for (std::size_t j = 0; j < dim; ++j) sums[k * dim + j] += p[j];
    }
    for (std::size_t k = 0; k < K; ++k) {
      if (counts[k] == 0) {  // empty cluster: restart it at a random sampled point
        std::copy_n(points.data() + sample[std::size_t(rng.next() % m)] * dim, dim, centroids + k * dim);
        continue;
      }
      for (std::size_t j = 0; j < dim; ++j) centroids[k * dim + j] = float(sums[k * dim + j] / double(counts[k]));
    }
  }
}

inline void round_codebooks(additive_code& a) {
  for (float& f : a.codebooks) f = round_to_f16(f);
}

// Reconstruction of group n (unscaled) into out[dim].
inline void reconstruct_group(const additive_code& a, std::size_t n, float* out) {
  const std::size_t C = a.L.cfg.num_codebooks, K = a.L.codebook_entries;
  std::fill_n(out, a.dim, 0.f);
  for (std::size_t c = 0; c < C; ++c) {
    const float* cw = a.codebooks.data() + (c * K + a.codes[n * C + c]) * a.dim;
    for (std::size_t j = 0; j < a.dim; ++j) out[j] += cw[j];
  }
}

// Least-squares re-fit, one codebook at a time with the others and all codes fixed.
inline void refit_codebooks(additive_code& a, const std::vector<float>& groups) {
  const std::size_t C = a.L.cfg.num_codebooks, K = a.L.codebook_entries, D = a.dim;
  const std::size_t N = a.codes.size() / C;
  std::vector<double> sums(K * D);
  std::vector<std::size_t> counts(K);
  std::vector<float> recon(D);
  for (std::size_t c = 0; c < C; ++c) {
    std::fill(sums.begin(), sums.end(), 0.0);
    std::fill(counts.begin(), counts.end(), 0);
    for (std::size_t n = 0; n < N; ++n) {
      reconstruct_group(a, n, recon.data());
      const std::uint32_t k = a.codes[n * C + c];
      const float* own = a.codebooks.data() + (c * K + k) * D;
      ++counts[k];
      for (std::size_t j = 0; j < D; ++j) sums[k * D + j] += double(groups[n * D + j]) - (recon[j] - own[j]);
    }
    for (std::size_t k = 0; k < K; ++k)
      if (counts[k] != 0)
        for (std::size_t j = 0; j < D; ++j) a.codebooks[(c * K + k) * D + j] = round_to_f16(float(sums[k * D + j] / double(counts[k])));
  }
}

// Beam search over the codes of every group, starting from the current codes (so a group's
// error never increases).
inline void search_codes(additive_code& a, const std::vector<float>& groups, std::size_t beam) {
  const std::size_t C = a.L.cfg.num_codebooks, K = a.L.codebook_entries, D = a.dim;
  const std::size_t N = a.codes.size() / C;
  std::vector<nearest_search> searches;
  for (std::size_t c = 0; c < C; ++c) searches.emplace_back(a.codebooks.data() + c * K * D, K, D);
  if (C == 1) {  // one codebook: the beam is exactly the nearest codeword
    for (std::size_t n = 0; n < N; ++n) a.codes[n] = searches[0].nearest(groups.data() + n * D);
    return;
  }
  // Beam entries in flat arrays (codes [beam][C], reconstructions [beam][D]): no allocation per group.
  struct candidate {
    float score;
    std::size_t parent;
    std::uint32_t k;
  };
  std::vector<std::uint32_t> cur_codes(beam * C), next_codes(beam * C);
  std::vector<float> cur_recon(beam * D), next_recon(beam * D);
  std::vector<candidate> best;
  best.reserve(beam + 1);
  std::vector<float> t(D);
  for (std::size_t n = 0; n < N; ++n) {
    const float* v = groups.data() + n * D;
    std::size_t entries = 1;
    std::copy_n(a.codes.begin() + n * C, C, cur_codes.begin());
    reconstruct_group(a, n, cur_recon.data());
    for (std::size_t c = 0; c < C; ++c) {
      best.clear();
      for (std::size_t b = 0; b < entries; ++b) {
        const std::uint32_t* bc = cur_codes.data() + b * C;
        const float* br = cur_recon.data() + b * D;
        // t = v minus every codebook but c; candidate error = ||t||^2 + score[k].
        const float* own = a.codebooks.data() + (c * K + bc[c]) * D;
        double tt = 0;
        for (std::size_t j = 0; j < D; ++j) {
          t[j] = v[j] - (br[j] - own[j]);
          tt += double(t[j]) * t[j];
        }
        const float* s = searches[c].scores(t.data());
        for (std::size_t k = 0; k < K; ++k) {
          const float score = float(tt) + s[k];
          if (best.size() == beam && !(score < best.back().score)) continue;
          // Skip a tuple already kept (two entries that differ only in code c meet here).
          bool duplicate = false;
          for (const auto& q : best) {
            if (q.k != k) continue;
            const std::uint32_t* qc = cur_codes.data() + q.parent * C;
            bool same = true;
            for (std::size_t c2 = 0; c2 < C && same; ++c2) same = c2 == c || qc[c2] == bc[c2];
            if (same) {
              duplicate = true;
              break;
            }
          }
          if (duplicate) continue;
          const candidate cand{score, b, std::uint32_t(k)};
          auto pos = std::upper_bound(best.begin(), best.end(), cand,
                                      [](const candidate& x, const candidate& y) { return x.score < y.score; });
          best.insert(pos, cand);
          if (best.size() > beam) best.pop_back();
        }
      }
      for (std::size_t e = 0; e < best.size(); ++e) {
        const candidate& q = best[e];
        std::uint32_t* ec = next_codes.data() + e * C;
        float* er = next_recon.data() + e * D;
        std::copy_n(cur_codes.data() + q.parent * C, C, ec);
        std::copy_n(cur_recon.data() + q.parent * D, D, er);
        const float* old_cw = a.codebooks.data() + (c * K + ec[c]) * D;
        const float* new_cw = a.codebooks.data() + (c * K + q.k) * D;
        for (std::size_t j = 0; j < D; ++j) er[j] += new_cw[j] - old_cw[j];
        ec[c] = q.k;
      }
      entries = best.size();
      std::swap(cur_codes, next_codes);
      std::swap(cur_recon, next_recon);
    }
    std::copy_n(cur_codes.begin(), C, a.codes.begin() + n * C);
  }
}

}  // namespace detail

// Squared error of the scaled groups against their reconstruction, summed (the encoder's
// objective; tests compare it across settings).
inline double reconstruction_error(const additive_code& a, const std::vector<float>& groups) {
  const std::size_t C = a.L.cfg.num_codebooks, D = a.dim, N = a.codes.size() / C;
  std::vector<float> recon(D);
  double e = 0;
  for (std::size_t n = 0; n < N; ++n) {
    detail::reconstruct_group(a, n, recon.data());
    const double s = a.scales[n / a.L.in_groups];
    for (std::size_t j = 0; j < D; ++j) {
      const double d = s * (double(groups[n * D + j]) - recon[j]);
      e += d * d;
    }
  }
  return e;
}

// Weight groups [out_groups * in_groups][out_group * in_group], each divided by its scale.
inline std::vector<float> scaled_groups(const float* w, const layout& L, const std::vector<float>& scales) {
  const std::size_t Go = L.cfg.out_group, Gi = L.cfg.in_group, D = Go * Gi;
  std::vector<float> g(L.out_groups * L.in_groups * D);
  for (std::size_t og = 0; og < L.out_groups; ++og) {
    const float inv = scales[og] > 0 ? 1.f / scales[og] : 0.f;
    for (std::size_t ig = 0; ig < L.in_groups; ++ig)
      for (std::size_t r = 0; r < Go; ++r)
        for (std::size_t j = 0; j < Gi; ++j)
          g[(og * L.in_groups + ig) * D + r * Gi + j] = w[(og * Go + r) * L.cols + ig * Gi + j] * inv;
  }
  return g;
}

inline result<additive_code> fit_additive_code(const float* w, std::size_t rows, std::size_t cols, const encoder_options& opt) {
  auto L = make_layout(opt.cfg, rows, cols);
  if (!L) return make_error(errc::invalid_argument, L.err().message);
  if (opt.beam < 1) return make_error(errc::invalid_argument, "aqlm beam must be at least 1");
  for (std::size_t i = 0; i < rows * cols; ++i)
    if (!std::isfinite(w[i])) return make_error(errc::invalid_argument, "aqlm encode: weight " + std::to_string(i) + " is not finite");
  additive_code a;
  a.L = *L;
  a.dim = L->codeword_floats();
  const std::size_t C = L->cfg.num_codebooks, K = L->codebook_entries, D = a.dim, Go = L->cfg.out_group;
  const std::size_t N = L->out_groups * L->in_groups;
  a.scales.resize(L->out_groups);
  for (std::size_t og = 0; og < L->out_groups; ++og) {
    double ss = 0;
    for (std::size_t i = og * Go * cols; i < (og + 1) * Go * cols; ++i) ss += double(w[i]) * w[i];
    const float rms = detail::round_to_f16(float(std::sqrt(ss / double(Go * cols))));
    if (!std::isfinite(rms)) return make_error(errc::invalid_argument, "aqlm encode: output group " + std::to_string(og) + " exceeds f16 range");
    a.scales[og] = rms;
  }
  const std::vector<float> groups = scaled_groups(w, *L, a.scales);
  xoshiro256ss rng(opt.seed);
  // Residual k-means initialisation.
  a.codebooks.assign(C * K * D, 0.f);
  a.codes.assign(N * C, 0);
  std::vector<float> residual = groups;
  for (std::size_t c = 0; c < C; ++c) {
    float* book = a.codebooks.data() + c * K * D;
    detail::kmeans(residual, N, D, K, opt, rng, book);
    for (std::size_t j = 0; j < K * D; ++j) book[j] = detail::round_to_f16(book[j]);
    detail::nearest_search search(book, K, D);
    for (std::size_t n = 0; n < N; ++n) {
      const std::uint32_t k = search.nearest(residual.data() + n * D);
      a.codes[n * C + c] = k;
      for (std::size_t j = 0; j < D; ++j) residual[n * D + j] -= book[k * D + j];
    }
  }
  for (int round = 0; round < opt.rounds; ++round) {
    detail::refit_codebooks(a, groups);
    detail::search_codes(a, groups, std::size_t(opt.beam));
  }
  return a;
}

inline std::vector<std::byte> pack(const additive_code& a) {
  const layout& L = a.L;
  std::vector<std::byte> blob(L.total_bytes);
  write_header(blob.data(), L);
  for (std::size_t i = 0; i < a.codebooks.size(); ++i)
    store_le<std::uint16_t>(blob.data() + L.codebooks_offset + 2 * i, f32_to_f16(a.codebooks[i]));
  for (std::size_t o = 0; o < a.scales.size(); ++o)
    store_le<std::uint16_t>(blob.data() + L.scales_offset + 2 * o, f32_to_f16(a.scales[o]));
  for (std::size_t i = 0; i < a.codes.size(); ++i) {
    if (L.code_bytes == 1)
      blob[L.codes_offset + i] = std::byte(a.codes[i]);
    else
      store_le<std::uint16_t>(blob.data() + L.codes_offset + 2 * i, std::uint16_t(a.codes[i]));
  }
  return blob;
}

inline result<std::vector<std::byte>> encode(const float* w, std::size_t rows, std::size_t cols, const encoder_options& opt) {
  auto a = fit_additive_code(w, rows, cols, opt);
  TQLIB_TRY(a);
  return pack(*a);
}

}  // namespace tqlib::codec::aqlm
