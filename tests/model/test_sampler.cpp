#include <cmath>
#include <map>
#include <vector>

#include "catch.hpp"
#include "tqlib/model/sampler.hpp"

using namespace tqlib::model;

namespace {
std::int32_t pick(sampler& s, std::vector<float> logits) { return s.sample(logits); }
std::int32_t pick(sampler&& s, std::vector<float> logits) { return s.sample(logits); }
}  // namespace

TEST_CASE("greedy and top-k 1 pick the arg max", "[sampler]") {
  std::vector<float> l = {0.1f, 2.0f, -1.0f, 1.9f};
  sampler_options o;
  o.temperature = 0;
  CHECK(pick(sampler(o), l) == 1);
  o.temperature = 5.0f;
  o.top_k = 1;
  sampler s(o);
  for (int i = 0; i < 50; ++i) CHECK(pick(s, l) == 1);
}

TEST_CASE("sampling follows softmax(logits / T) and is reproducible from the seed", "[sampler]") {
  const std::vector<float> l = {0.0f, std::log(2.0f), std::log(5.0f)};  // probabilities 1:2:5 at T = 1
  sampler_options o;
  o.temperature = 1.0f;
  o.top_k = 0;
  o.top_p = 1.0f;
  o.min_p = 0.0f;
  o.seed = 42;
  sampler a(o), b(o);
  std::map<int, int> count;
  const int n = 40000;
  for (int i = 0; i < n; ++i) {
    std::vector<float> x = l, y = l;
    const int t = a.sample(x);
    REQUIRE(t == b.sample(y));
    ++count[t];
  }
  CHECK(std::abs(count[0] / double(n) - 1.0 / 8) < 0.01);
  CHECK(std::abs(count[1] / double(n) - 2.0 / 8) < 0.01);
  CHECK(std::abs(count[2] / double(n) - 5.0 / 8) < 0.01);
}

TEST_CASE("top-p and min-p cut the tail", "[sampler]") {
  const std::vector<float> l = {std::log(0.6f), std::log(0.3f), std::log(0.1f)};
  sampler_options o;
  o.temperature = 1.0f;
  o.top_k = 0;
  o.min_p = 0.0f;
  o.top_p = 0.85f;  // keeps 0.6 + 0.3
  sampler s(o);
  for (int i = 0; i < 2000; ++i) CHECK(pick(s, l) != 2);
  o.top_p = 1.0f;
  o.min_p = 0.6f;  // keeps only p >= 0.36
  sampler m(o);
  for (int i = 0; i < 2000; ++i) CHECK(pick(m, l) == 0);
}

TEST_CASE("repetition penalty lowers recent tokens", "[sampler]") {
  sampler_options o;
  o.temperature = 0;
  o.repeat_penalty = 2.0f;
  std::vector<float> l = {1.0f, 1.5f, -3.0f};
  const std::vector<std::int32_t> recent = {1};
  CHECK(sampler(o).sample(l, recent) == 0);  // 1.5 / 2 < 1.0
  CHECK(l[1] == 0.75f);
  CHECK(is_stop_token(2, std::vector<std::int32_t>{2}));
  CHECK_FALSE(is_stop_token(3, std::vector<std::int32_t>{2}));
}
