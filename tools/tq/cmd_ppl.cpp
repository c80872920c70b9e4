// tq ppl MODEL (--ids-file FILE | --text-file FILE) --window W [--llama-perplexity] [-t THREADS] [--kv-bits B]
// Perplexity over consecutive non-overlapping windows of W tokens (tqlib::perplexity: a trailing
// partial window is dropped, each window runs from an empty cache, positions 1..W-1 are scored).
// --llama-perplexity scores as llama.cpp's `llama-perplexity -c W -f FILE` does
// (tqlib::llama_perplexity_options): only positions W/2+1..W-1 of each window, a final newline of
// the text file dropped, and, for a GGUF whose tokenizer.ggml.add_bos_token is true, BOS put in
// front of the ids and in place of each window's first id; at least 2 x W tokens. It also prints
// llama-perplexity's "Final estimate" line.
// --ids-file holds uint32 LE ids. Last line: {"ppl":..,"nll":..,"tokens":..} with nll the mean
// negative log-likelihood per scored token (natural log), ppl = exp(nll).
#include <cmath>
#include <cstdio>
#include <optional>
#include <vector>

#include "cli.hpp"
#include "command.hpp"
#include "run_args.hpp"
#include "tqlib/api/evaluate.hpp"
#include "tqlib/core/bytes.hpp"
#include "tqlib/format/gguf_model.hpp"

namespace {

// The BOS id llama-perplexity puts first, or nullopt: GGUF files only (llama.cpp's own models),
// when tokenizer.ggml.add_bos_token is true (llama.cpp's default for the qwen2 pre-tokenizer,
// the only one tqlib reads, is false; Qwen's files and tq export-gguf write false).
tqlib::result<std::optional<std::int32_t>> llama_bos(const tqlib::model_handle& m) {
  const auto* g = dynamic_cast<const tqlib::format::gguf::model_source*>(&m.source());
  if (!g || !g->gguf().has("tokenizer.ggml.add_bos_token")) return std::optional<std::int32_t>();
  auto add = g->gguf().get_bool("tokenizer.ggml.add_bos_token");
  if (!add) return std::move(add).err();
  if (!*add) return std::optional<std::int32_t>();
  auto id = g->gguf().get_uint("tokenizer.ggml.bos_token_id");
  if (!id) return std::move(id).err();
  if (*id >= std::uint64_t(m.config().vocab_size))
    return tqlib::make_error(tqlib::errc::corrupt, "tokenizer.ggml.bos_token_id " + std::to_string(*id) + " is outside the vocabulary");
  return std::optional<std::int32_t>(std::int32_t(*id));
}

int ppl_cmd(tq::args_t args) {
  tq::cli c(args, {"ids-file", "text-file", "window", "t", "threads", "kv-bits"}, {"llama-perplexity"});
  if (!c.ok()) return tq::usage_error("ppl", c.error());
  if (c.positional().size() != 1 || c.has("ids-file") == c.has("text-file") || !c.has("window"))
    return tq::usage_error("ppl", "usage: tq ppl MODEL (--ids-file FILE | --text-file FILE) --window W [--llama-perplexity]");
  const bool llama = c.has("llama-perplexity");
  tqlib::perplexity_options po;
  po.window = c.number<int>("window", 0);
  if (!c.ok()) return tq::usage_error("ppl", c.error());
  if (auto e = tq::run_args(c, po.run)) return tq::usage_error("ppl", *e);
  if (po.window < (llama ? 3 : 2)) return tq::usage_error("ppl", "--window must be >= 2 (>= 3 with --llama-perplexity) and -t >= 1");
  auto m = tqlib::open_model(c.positional()[0]);
  if (!m) return tq::fail("ppl", m.err());
  std::vector<std::int32_t> ids;
  if (llama) {
    auto bos = llama_bos(*m);
    if (!bos) return tq::fail("ppl", bos.err());
    const auto run = po.run;
    po = tqlib::llama_perplexity_options(po.window, *bos);
    po.run = run;
    if (*bos) ids.push_back(**bos);
  }
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
    if (llama && !text->empty() && text->back() == '\n') text->pop_back();  // as llama.cpp's -f does
    auto enc = m->tokenize(*text, false);
    if (!enc) return tq::fail("ppl", enc.err());
    ids.insert(ids.end(), enc->begin(), enc->end());
  }
  if (llama && ids.size() < 2 * std::size_t(po.window))
    return tq::usage_error("ppl", "--llama-perplexity needs at least 2 x window tokens (" + std::to_string(2 * po.window) + "), as llama-perplexity does; the input has " +
                                      std::to_string(ids.size()));
  po.on_window = [](std::size_t w, std::size_t windows, double ppl) { std::printf("window %zu/%zu: ppl %.4f\n", w + 1, windows, ppl); };
  auto r = tqlib::perplexity(*m, ids, po);
  if (!r) return tq::fail("ppl", r.err());
  if (llama) std::printf("Final estimate: PPL = %.4f +/- %.5f\n", r->ppl, r->ppl_error);
  std::printf("{\"ppl\":%.6f,\"nll\":%.6f,\"tokens\":%zu}\n", r->ppl, r->nll, r->tokens);
  return 0;
}

}  // namespace

TQ_COMMAND("ppl", "ppl MODEL (--ids-file FILE | --text-file FILE) --window W [--llama-perplexity] [-t T] [--kv-bits B]: perplexity over windows",
           ppl_cmd);
