// tq run MODEL [--prompt TEXT | --ids 1,2,3] [-n N] [--temp T] [--top-k K] [--top-p P] [--min-p P]
//        [--repeat-penalty R] [--seed S] [--chat] [--print-ids] [-t THREADS] [--kv-bits 2|3|4|16]
// Generates up to N tokens after the prompt, streaming the text to stdout (ids when the model
// has no tokenizer, or with --print-ids: one line of comma-separated generated ids at the end).
// --temp 0 is greedy. --kv-bits 2..4 stores the KV cache TurboQuant-compressed (default f16).
// Timings go to stderr.
#include <chrono>
#include <cstdio>
#include <string>
#include <vector>

#include "cli.hpp"
#include "command.hpp"
#include "model_loader.hpp"
#include "sampling_args.hpp"
#include "tqlib/tokenizer/chat_template.hpp"

namespace {

using clock_type = std::chrono::steady_clock;

int run(tq::args_t args) {
  tq::cli c(args, {"prompt", "ids", "n", "temp", "top-k", "top-p", "min-p", "repeat-penalty", "seed", "t", "threads", "system", "kv-bits"},
            {"chat", "print-ids"});
  if (!c.ok()) return tq::usage_error("run", c.error());
  if (c.positional().size() != 1) return tq::usage_error("run", "expected one MODEL (MV2 file or Hugging Face folder)");
  if (c.has("prompt") == c.has("ids")) return tq::usage_error("run", "give exactly one of --prompt TEXT or --ids 1,2,3");
  const int n_gen = c.number<int>("n", 128);
  const tqlib::model::sampler_options so = tq::sampling_args(c, {});
  tqlib::model::run_options ro;
  ro.threads = c.number<int>("t", c.number<int>("threads", 1));
  if (!c.ok()) return tq::usage_error("run", c.error());
  if (auto e = tq::apply_kv_bits(c, ro)) return tq::usage_error("run", *e);
  if (n_gen < 0 || ro.threads < 1) return tq::usage_error("run", "-n must be >= 0 and -t >= 1");

  std::vector<std::int32_t> prompt;
  if (auto ids = c.get("ids")) {
    auto p = tq::parse_ids(*ids);
    if (!p) return tq::usage_error("run", "--ids must be comma-separated non-negative integers");
    prompt = *p;
  }
  auto lm = tq::load_model(c.positional()[0]);
  if (!lm) return tq::fail("run", lm.err());
  auto& m = *lm;
  if (auto text = c.get("prompt")) {
    if (!m.tok) return tq::usage_error("run", "the model has no tokenizer files: use --ids");
    std::string full = *text;
    if (c.has("chat")) {
      tqlib::tokenizer::chat_template_options co;
      if (auto tc = m.source->file("tokenizer_config.json")) {
        auto j = nlohmann::json::parse(*tc, nullptr, false);
        if (!j.is_discarded() && j.contains("chat_template") && j["chat_template"].is_string())
          co = tqlib::tokenizer::chat_options_for_template(j["chat_template"].get<std::string>());
      }
      std::vector<tqlib::tokenizer::chat_message> msgs;
      if (auto sys = c.get("system")) msgs.push_back({"system", *sys});
      msgs.push_back({"user", *text});
      auto t = tqlib::tokenizer::apply_chat_template(msgs, co);
      if (!t) return tq::fail("run", t.err());
      full = *t;
    }
    auto ids = m.tok->encode(full);
    if (!ids) return tq::fail("run", ids.err());
    for (auto id : *ids) prompt.push_back(std::int32_t(id));
  }
  if (prompt.empty()) return tq::usage_error("run", "empty prompt");
  if (std::int64_t(prompt.size()) + n_gen > m.cfg.max_seq_len)
    return tq::usage_error("run", "prompt (" + std::to_string(prompt.size()) + ") + -n exceeds max_position_embeddings (" +
                                      std::to_string(m.cfg.max_seq_len) + ")");
  ro.context = int(prompt.size()) + std::max(n_gen, 1);  // the KV cache holds exactly what is run
  if (auto r = m.start(ro); !r) return tq::fail("run", r.err());

  const bool print_ids = c.has("print-ids") || !m.tok;
  std::optional<tqlib::tokenizer::detokenizer_stream> detok;
  if (m.tok && !c.has("print-ids")) detok.emplace(*m.tok, true);

  tqlib::model::sampler samp(so);
  std::vector<float> logits(std::size_t(m.cfg.vocab_size));
  std::vector<std::int32_t> history = prompt, generated;
  const auto t0 = clock_type::now();
  if (auto r = m.model->forward(prompt, 0, logits.data()); !r) return tq::fail("run", r.err());
  const auto t1 = clock_type::now();
  int pos = int(prompt.size());
  for (int i = 0; i < n_gen; ++i) {
    const std::int32_t next = samp.sample(logits, history);
    if (tqlib::model::is_stop_token(next, m.stop_ids)) break;
    generated.push_back(next);
    history.push_back(next);
    if (detok) {
      const std::string piece = detok->push(tqlib::tokenizer::token_id(next));
      std::fwrite(piece.data(), 1, piece.size(), stdout);
      std::fflush(stdout);
    }
    if (i + 1 == n_gen) break;
    if (auto r = m.model->forward(std::span(&generated.back(), 1), pos++, logits.data()); !r) return tq::fail("run", r.err());
  }
  const auto t2 = clock_type::now();
  if (detok) {
    const std::string tail = detok->finish();
    std::fwrite(tail.data(), 1, tail.size(), stdout);
    std::printf("\n");
  }
  if (print_ids) {
    for (std::size_t i = 0; i < generated.size(); ++i) std::printf("%s%d", i ? "," : "", generated[i]);
    std::printf("\n");
  }
  const double pp_s = std::chrono::duration<double>(t1 - t0).count();
  const double dec_s = std::chrono::duration<double>(t2 - t1).count();
  std::fflush(stdout);  // the text's last newline before the statistics on a shared terminal
  std::fprintf(stderr, "prompt: %zu tokens, %.1f tokens/s; generated: %zu tokens, %.1f tokens/s (%d threads)\n", prompt.size(),
               double(prompt.size()) / pp_s, generated.size(),
               generated.size() > 1 ? double(generated.size() - 1) / dec_s : 0.0, m.model->threads());
  return 0;
}

}  // namespace

TQ_COMMAND("run",
           "run MODEL (--prompt TEXT | --ids 1,2,3) [-n N] [--temp T] [--top-k K] [--top-p P] [--min-p P] "
           "[--repeat-penalty R] [--seed S] [--chat] [--print-ids] [-t THREADS] [--kv-bits B]: generate text",
           run);
