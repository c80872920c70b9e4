// tq ppl MODEL (--ids-file FILE | --text-file FILE) --window W [-t THREADS] [--kv-bits B]
// Perplexity over consecutive non-overlapping windows of W tokens (tqlib::perplexity: a trailing
// partial window is dropped, each window runs from an empty cache, positions 1..W-1 are scored).
// --ids-file holds uint32 LE ids. Last line: {"ppl":..,"nll":..,"tokens":..} with nll the mean
// negative log-likelihood per scored token (natural log), ppl = exp(nll).
#include <cmath>
#include <cstdio>
#include <vector>

#include "cli.hpp"
#include "command.hpp"
#include "run_args.hpp"
#include "tqlib/api/evaluate.hpp"
#include "tqlib/core/bytes.hpp"

namespace {

int ppl_cmd(tq::args_t args) {
  tq::cli c(args, {"ids-file", "text-file", "window", "t", "threads", "kv-bits"});
  if (!c.ok()) return tq::usage_error("ppl", c.error());
  if (c.positional().size() != 1 || c.has("ids-file") == c.has("text-file") || !c.has("window"))
    return tq::usage_error("ppl", "usage: tq ppl MODEL (--ids-file FILE | --text-file FILE) --window W");
  tqlib::perplexity_options po;
  po.window = c.number<int>("window", 0);
  if (!c.ok()) return tq::usage_error("ppl", c.error());
  if (auto e = tq::run_args(c, po.run)) return tq::usage_error("ppl", *e);
  if (po.window < 2) return tq::usage_error("ppl", "--window must be >= 2 and -t >= 1");
  auto m = tqlib::open_model(c.positional()[0]);
  if (!m) return tq::fail("ppl", m.err());
  std::vector<std::int32_t> ids;
  if (auto p = c.get("ids-file")) {
    auto text = tqlib::tokenizer::read_text_file(*p);
    if (!text || text->size() % 4 != 0) return tq::usage_error("ppl", "cannot read " + *p + " as uint32 LE ids");
    for (std::size_t i = 0; i < text->size(); i += 4) {
      const auto v = tqlib::load_le<std::uint32_t>(reinterpret_cast<const std::byte*>(text->data() + i));
      if (v >= std::uint32_t(m->config().vocab_size)) return tq::usage_error("ppl", "id " + std::to_string(v) + " outside the vocabulary");
      ids.push_back(std::int32_t(v));
    }
  } else {
    if (!m->tokenizer()) return tq::usage_error("ppl", "the model has no tokenizer files: use --ids-file");
    auto text = tqlib::tokenizer::read_text_file(*c.get("text-file"));
    if (!text) return tq::usage_error("ppl", "cannot read " + *c.get("text-file"));
    auto enc = m->tokenize(*text, false);
    if (!enc) return tq::fail("ppl", enc.err());
    ids = std::move(*enc);
  }
  po.on_window = [](std::size_t w, std::size_t windows, double ppl) { std::printf("window %zu/%zu: ppl %.4f\n", w + 1, windows, ppl); };
  auto r = tqlib::perplexity(*m, ids, po);
  if (!r) return tq::fail("ppl", r.err());
  std::printf("{\"ppl\":%.6f,\"nll\":%.6f,\"tokens\":%zu}\n", r->ppl, r->nll, r->tokens);
  return 0;
}

}  // namespace

TQ_COMMAND("ppl", "ppl MODEL (--ids-file FILE | --text-file FILE) --window W [-t T] [--kv-bits B]: perplexity over windows", ppl_cmd);
