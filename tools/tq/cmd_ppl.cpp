// tq ppl MODEL (--ids-file FILE | --text-file FILE) --window W [-t THREADS] [--kv-bits B]
// Perplexity over consecutive non-overlapping windows of W tokens (a trailing partial window
// is dropped), each run from an empty cache; in each window the tokens at positions 1..W-1 are
// scored. --ids-file holds uint32 LE ids. Last line: {"ppl":..,"nll":..,"tokens":..} with nll
// the mean negative log-likelihood per scored token (natural log), ppl = exp(nll).
#include <cmath>
#include <cstdio>
#include <vector>

#include "cli.hpp"
#include "command.hpp"
#include "model_loader.hpp"
#include "tqlib/core/bytes.hpp"

namespace {

int ppl_cmd(tq::args_t args) {
  tq::cli c(args, {"ids-file", "text-file", "window", "t", "threads", "kv-bits"});
  if (!c.ok()) return tq::usage_error("ppl", c.error());
  if (c.positional().size() != 1 || c.has("ids-file") == c.has("text-file") || !c.has("window"))
    return tq::usage_error("ppl", "usage: tq ppl MODEL (--ids-file FILE | --text-file FILE) --window W");
  const int W = c.number<int>("window", 0);
  tqlib::model::run_options ro;
  ro.threads = c.number<int>("t", c.number<int>("threads", 1));
  if (!c.ok()) return tq::usage_error("ppl", c.error());
  if (auto e = tq::apply_kv_bits(c, ro)) return tq::usage_error("ppl", *e);
  if (W < 2 || ro.threads < 1) return tq::usage_error("ppl", "--window must be >= 2 and -t >= 1");
  auto lm = tq::load_model(c.positional()[0]);
  if (!lm) return tq::fail("ppl", lm.err());
  std::vector<std::int32_t> ids;
  if (auto p = c.get("ids-file")) {
    auto text = tqlib::tokenizer::read_text_file(*p);
    if (!text || text->size() % 4 != 0) return tq::usage_error("ppl", "cannot read " + *p + " as uint32 LE ids");
    for (std::size_t i = 0; i < text->size(); i += 4) {
      const auto v = tqlib::load_le<std::uint32_t>(reinterpret_cast<const std::byte*>(text->data() + i));
      if (v >= std::uint32_t(lm->cfg.vocab_size)) return tq::usage_error("ppl", "id " + std::to_string(v) + " outside the vocabulary");
      ids.push_back(std::int32_t(v));
    }
  } else {
    if (!lm->tok) return tq::usage_error("ppl", "the model has no tokenizer files: use --ids-file");
    auto text = tqlib::tokenizer::read_text_file(*c.get("text-file"));
    if (!text) return tq::usage_error("ppl", "cannot read " + *c.get("text-file"));
    auto enc = lm->tok->encode(*text, {false});
    if (!enc) return tq::fail("ppl", enc.err());
    for (auto id : *enc) ids.push_back(std::int32_t(id));
  }
  if (W > lm->cfg.max_seq_len) return tq::usage_error("ppl", "--window exceeds max_position_embeddings");
  ro.context = W;
  if (auto r = lm->start(ro); !r) return tq::fail("ppl", r.err());
  const std::size_t V = std::size_t(lm->cfg.vocab_size), windows = ids.size() / std::size_t(W);
  if (windows == 0) return tq::usage_error("ppl", "fewer tokens than one window");
  const int chunk = 64;  // logits of 64 positions at a time
  std::vector<float> logits(std::size_t(chunk) * V);
  double nll = 0;
  std::size_t scored = 0;
  for (std::size_t w = 0; w < windows; ++w) {
    const std::int32_t* win = ids.data() + w * std::size_t(W);
    double wnll = 0;
    for (int t0 = 0; t0 < W; t0 += chunk) {
      const int n = std::min(chunk, W - t0);
      if (auto r = lm->model->forward(std::span(win + t0, std::size_t(n)), t0, logits.data(), true); !r) return tq::fail("ppl", r.err());
      for (int i = 0; i < n && t0 + i + 1 < W; ++i) {
        const float* l = logits.data() + std::size_t(i) * V;
        float mx = l[0];
        for (std::size_t v = 1; v < V; ++v) mx = std::max(mx, l[v]);
        double s = 0;
        for (std::size_t v = 0; v < V; ++v) s += std::exp(double(l[v] - mx));
        wnll += std::log(s) + double(mx) - double(l[win[t0 + i + 1]]);
      }
    }
    nll += wnll;
    scored += std::size_t(W - 1);
    std::printf("window %zu/%zu: ppl %.4f\n", w + 1, windows, std::exp(wnll / (W - 1)));
  }
  const double mean = nll / double(scored);
  std::printf("{\"ppl\":%.6f,\"nll\":%.6f,\"tokens\":%zu}\n", std::exp(mean), mean, scored);
  return 0;
}

}  // namespace

TQ_COMMAND("ppl", "ppl MODEL (--ids-file FILE | --text-file FILE) --window W [-t T] [--kv-bits B]: perplexity over windows", ppl_cmd);
