#pragma once
// Compile-time design of MSE-optimal scalar quantizers (Lloyd 1957 / Max 1960) for two laws:
//  - the standard Gaussian N(0, 1) (TQ4_1S's codebook; compare Max 1960, Table I);
//  - one coordinate of a uniformly random unit vector in R^d, density proportional to
//    (1 - x^2)^((d-3)/2) on [-1, 1] (TurboQuant, arXiv 2504.19874, Lemma 1), expressed in the
//    scaled variable y = sqrt(d) x so that the quantizer's MSE *is* TurboQuant's D_mse for unit
//    vectors and tends to the Gaussian design as d grows.
//
// Method (docs/codecs/lloyd_max.md): the law's density (unnormalized) is tabulated on a uniform
// grid of `grid_cells` cells over [0, support]; cumulative mass, first and second moments are
// integrated with Simpson's rule per cell (and per partial cell at a threshold), which is accurate
// to ~1e-12 here. The quantizer is symmetric, so only the positive half is iterated: thresholds =
// midpoints of neighbouring levels (nearest-neighbour condition), levels = conditional means of
// their cells (centroid condition), with over-relaxation 1.7 to cut the ~500 plain Lloyd
// iterations that 16 levels need to ~250. All of it is constexpr and stays within GCC's default
// -fconstexpr-ops-limit and clang 14's -fconstexpr-steps when one design is one constant.
#include <array>
#include <cstddef>
#include <cstdint>

namespace tqlib::codec::lloyd_max {

// --- constexpr elementary functions (double; only what the designs need) ---------------------
constexpr double sqrt(double x) noexcept {
  if (!(x > 0)) return 0;
  // Bring x into [1, 4) by powers of 4 (exact), Newton from 1.5 (quadratic), scale back.
  // No std::bit_cast: em++ 3.1.6's libc++ lacks it.
  double scale = 1;
  while (x >= 4) x *= 0.25, scale *= 2;
  while (x < 1) x *= 4, scale *= 0.5;
  double r = 1.5;
  for (int i = 0; i < 6; ++i) r = 0.5 * (r + x / r);
  return r * scale;
}

constexpr double pow_int(double base, unsigned e) noexcept {
  double r = 1;
  while (e) {
    if (e & 1u) r *= base;
    base *= base;
    e >>= 1;
  }
  return r;
}

constexpr double exp(double x) noexcept {
  if (x < -700) return 0;
  // x = n ln2 + r, |r| <= ln2 / 2; exp(r) by Taylor series, 2^n by squaring.
  constexpr double ln2 = 0.69314718055994530942;
  const double nf = x / ln2;
  const long long n = (long long)(nf < 0 ? nf - 0.5 : nf + 0.5);
  const double r = x - double(n) * ln2;
  double term = 1, sum = 1;
  for (int k = 1; k < 13; ++k) {  // |r|^13 / 13! < 3e-16
    term *= r / k;
    sum += term;
  }
  return n >= 0 ? sum * pow_int(2.0, unsigned(n)) : sum / pow_int(2.0, unsigned(-n));
}

// --- the two laws, as unnormalized densities on y >= 0 ---------------------------------------
struct gaussian_law {
  // Beyond 12 the mass is below 1e-32: irrelevant at double precision.
  constexpr double support() const noexcept { return 12.0; }
  constexpr double density(double y) const noexcept { return exp(-0.5 * y * y); }
};

// Coordinate of a uniform unit vector in R^d (d >= 3), scaled by sqrt(d):
// density proportional to (1 - y^2 / d)^((d - 3) / 2) on [0, sqrt(d)].
struct sphere_coordinate_law {
  unsigned d;
  constexpr double support() const noexcept {
    const double s = sqrt(double(d));
    return s < 12.0 ? s : 12.0;  // beyond 12 the mass is below the Gaussian's 1e-32
  }
  constexpr double density(double y) const noexcept {
    const double u = 1.0 - y * y / double(d);
    if (u <= 0) return 0;
    const unsigned twice_k = d - 3;  // exponent (d - 3) / 2
    double v = pow_int(u, twice_k / 2);
    if (twice_k % 2) v *= sqrt(u);
    return v;
  }
};

// --- the designed quantizer ---------------------------------------------------------------
template <int Bits>
struct quantizer {
  static constexpr int size = 1 << Bits;
  std::array<double, size> levels{};          // ascending, symmetric: levels[i] = -levels[size-1-i]
  std::array<double, size - 1> thresholds{};  // thresholds[i] separates levels[i] and levels[i+1]
  double mse = 0;                             // E[(Y - q(Y))^2] under the law
  int iterations = 0;                         // Lloyd iterations used (for the record)

  // Index of the nearest level (ties to the upper one), by the thresholds.
  constexpr int index_of(double y) const noexcept {
    int i = 0;
    while (i < size - 1 && y >= thresholds[std::size_t(i)]) ++i;
    return i;
  }
};

namespace detail {

inline constexpr int grid_cells = 1024;

// Cumulative integrals from 0 of f, y f and y^2 f on the grid, plus partial-cell evaluation.
template <class Law>
struct moment_table {
  Law law;
  double step = 0;
  std::array<double, grid_cells + 1> density{}, mass{}, first{}, second{};

  constexpr explicit moment_table(Law l) : law(l), step(l.support() / grid_cells) {
    for (int j = 0; j <= grid_cells; ++j) density[std::size_t(j)] = law.density(j * step);
    for (int j = 0; j < grid_cells; ++j) {
      const double a = j * step;
      const auto cell = simpson(a, a + step, density[std::size_t(j)], density[std::size_t(j) + 1]);
      mass[std::size_t(j) + 1] = mass[std::size_t(j)] + cell[0];
      first[std::size_t(j) + 1] = first[std::size_t(j)] + cell[1];
      second[std::size_t(j) + 1] = second[std::size_t(j)] + cell[2];
    }
  }

  // Simpson's rule for (f, y f, y^2 f) over [a, b], given f(a) and f(b).
  constexpr std::array<double, 3> simpson(double a, double b, double fa, double fb) const {
    const double m = 0.5 * (a + b), fm = law.density(m);
    const double w = (b - a) / 6.0;
    return {w * (fa + 4 * fm + fb), w * (a * fa + 4 * m * fm + b * fb), w * (a * a * fa + 4 * m * m * fm + b * b * fb)};
  }

  // (mass, first, second) integrated over [0, t].
  constexpr std::array<double, 3> upto(double t) const {
    if (t >= law.support()) return {mass[grid_cells], first[grid_cells], second[grid_cells]};
    if (t <= 0) return {0, 0, 0};
    int j = int(t / step);
    if (j >= grid_cells) j = grid_cells - 1;
    const auto k = std::size_t(j);
    const auto part = simpson(j * step, t, density[k], law.density(t));
    return {mass[k] + part[0], first[k] + part[1], second[k] + part[2]};
  }
};

// Levels of the positive half while iterating.
template <int Bits>
struct lloyd_state {
  static constexpr int half = (1 << Bits) / 2;
  std::array<double, half> level{};
  int iterations = 0;
  bool converged = false;
};

template <int Bits>
constexpr lloyd_state<Bits> initial_state() {
  lloyd_state<Bits> s;
  for (int i = 0; i < s.half; ++i) s.level[std::size_t(i)] = (i + 0.5) * 3.0 / s.half;  // any spread start works
  return s;
}

// Positive-half thresholds (edge[0] = 0, edge[half] = support) and the moments up to each.
template <int Bits, class Table>
struct cells {
  static constexpr int half = lloyd_state<Bits>::half;
  std::array<double, half + 1> edge{};
  std::array<std::array<double, 3>, half + 1> at{};

  constexpr cells(const Table& table, const lloyd_state<Bits>& s) {
    edge[half] = table.law.support();
    at[half] = table.upto(edge[half]);
    for (int i = 1; i < half; ++i) {
      edge[std::size_t(i)] = 0.5 * (s.level[std::size_t(i) - 1] + s.level[std::size_t(i)]);
      at[std::size_t(i)] = table.upto(edge[std::size_t(i)]);
    }
  }
  constexpr double moment(int i, int k) const { return at[std::size_t(i) + 1][std::size_t(k)] - at[std::size_t(i)][std::size_t(k)]; }
  constexpr double centroid(int i, double fallback) const {
    const double p = moment(i, 0);
    return p > 0 ? moment(i, 1) / p : fallback;
  }
};

// Up to `max_iterations` over-relaxed Lloyd iterations (stops once levels move < 1e-11).
template <int Bits, class Table>
constexpr lloyd_state<Bits> lloyd_rounds(const Table& table, lloyd_state<Bits> s, int max_iterations) {
  constexpr double relax = 1.7;
  for (int it = 0; it < max_iterations && !s.converged; ++it) {
    const cells<Bits, Table> c(table, s);
    double change = 0;
    for (int i = 0; i < s.half; ++i) {
      const double delta = relax * (c.centroid(i, s.level[std::size_t(i)]) - s.level[std::size_t(i)]);
      s.level[std::size_t(i)] += delta;
      const double size = delta < 0 ? -delta : delta;
      change = change > size ? change : size;
    }
    ++s.iterations;
    s.converged = change < 1e-11;
  }
  return s;
}

// Final plain centroid step, thresholds, MSE, and the full symmetric arrays.
template <int Bits, class Table>
constexpr quantizer<Bits> finish(const Table& table, lloyd_state<Bits> s) {
  constexpr int half = lloyd_state<Bits>::half;
  {
    const cells<Bits, Table> c(table, s);
    for (int i = 0; i < half; ++i) s.level[std::size_t(i)] = c.centroid(i, s.level[std::size_t(i)]);
  }
  const cells<Bits, Table> c(table, s);
  // MSE over the positive half (the law is symmetric): per cell second - 2 l first + l^2 mass.
  double err = 0;
  for (int i = 0; i < half; ++i) {
    const double l = s.level[std::size_t(i)];
    err += c.moment(i, 2) - 2 * l * c.moment(i, 1) + l * l * c.moment(i, 0);
  }
  quantizer<Bits> q;
  q.mse = err / table.mass[grid_cells];
  q.iterations = s.iterations;
  for (int i = 0; i < half; ++i) {
    q.levels[std::size_t(half + i)] = s.level[std::size_t(i)];
    q.levels[std::size_t(half - 1 - i)] = -s.level[std::size_t(i)];
  }
  q.thresholds[std::size_t(half - 1)] = 0;
  for (int i = 1; i < half; ++i) {
    q.thresholds[std::size_t(half - 1 + i)] = c.edge[std::size_t(i)];
    q.thresholds[std::size_t(half - 1 - i)] = -c.edge[std::size_t(i)];
  }
  return q;
}

template <int Bits, class Law>
constexpr quantizer<Bits> design(Law law) {
  const moment_table<Law> table(law);
  return finish<Bits>(table, lloyd_rounds<Bits>(table, initial_state<Bits>(), 4000));
}

// --- compile-time evaluation in slices -------------------------------------------------------
// clang counts constexpr steps per constant (-fconstexpr-steps, 2^20 by default), so the table
// and every 48 iterations are separate constants, each well within the limit.
template <unsigned D>
struct sphere_law_of : sphere_coordinate_law {
  constexpr sphere_law_of() : sphere_coordinate_law{D} {}
};

template <class Law>
inline constexpr moment_table<Law> table_of{Law{}};

inline constexpr int slice_iterations = 48;
inline constexpr int slices = 16;  // 768 iterations at most; 4 bits need ~360

template <int Bits, class Law, int Slice>
inline constexpr lloyd_state<Bits> state_after =
    lloyd_rounds<Bits>(table_of<Law>, state_after<Bits, Law, Slice - 1>, slice_iterations);
template <int Bits, class Law>
inline constexpr lloyd_state<Bits> state_after<Bits, Law, 0> = initial_state<Bits>();

}  // namespace detail

// The b-bit Lloyd-Max quantizer of N(0, 1), computed at run time (same code as the constants).
template <int Bits>
constexpr quantizer<Bits> design_gaussian() {
  static_assert(Bits >= 1 && Bits <= 4, "designs are tabulated for 1 to 4 bits");
  return detail::design<Bits>(gaussian_law{});
}

// The b-bit Lloyd-Max quantizer of sqrt(d) times a coordinate of a uniform unit vector in R^d.
template <int Bits>
constexpr quantizer<Bits> design_sphere(unsigned d) {
  static_assert(Bits >= 1 && Bits <= 4, "designs are tabulated for 1 to 4 bits");
  return detail::design<Bits>(sphere_coordinate_law{d < 3 ? 3u : d});
}

// Compile-time constants: instantiated (and evaluated) only where used.
template <int Bits>
inline constexpr quantizer<Bits> gaussian =
    detail::finish<Bits>(detail::table_of<gaussian_law>, detail::state_after<Bits, gaussian_law, detail::slices>);

template <int Bits, unsigned D>
inline constexpr quantizer<Bits> sphere = detail::finish<Bits>(
    detail::table_of<detail::sphere_law_of<D>>, detail::state_after<Bits, detail::sphere_law_of<D>, detail::slices>);

}  // namespace tqlib::codec::lloyd_max
