// tq run MODEL [--prompt TEXT | --ids 1,2,3] [-n N] [--temp T] [--top-k K] [--top-p P] [--min-p P]
//        [--repeat-penalty R] [--seed S] [--chat] [--system TEXT] [--stop TEXT]... [--print-ids]
//        [-t THREADS] [--kv-bits 2|3|4|16]
// Generates up to N tokens after the prompt, streaming the text to stdout (ids when the model
// has no tokenizer, or with --print-ids: one line of comma-separated generated ids at the end).
// --temp 0 is greedy. --kv-bits 2..4 stores the KV cache TurboQuant-compressed (default f16).
// Timings go to stderr.
#include <cstdio>
#include <string>
#include <vector>

#include "cli.hpp"
#include "command.hpp"
#include "run_args.hpp"
#include "sampling_args.hpp"
#include "tqlib/api/session.hpp"

namespace {

int run(tq::args_t args) {
  tq::cli c(args, {"prompt", "ids", "n", "temp", "top-k", "top-p", "min-p", "repeat-penalty", "seed", "t", "threads", "system", "kv-bits", "stop"},
            {"chat", "print-ids"});
  if (!c.ok()) return tq::usage_error("run", c.error());
  if (c.positional().size() != 1) return tq::usage_error("run", "expected one MODEL (MV2 file or Hugging Face folder)");
  if (c.has("prompt") == c.has("ids")) return tq::usage_error("run", "give exactly one of --prompt TEXT or --ids 1,2,3");
  tqlib::generate_options g;
  g.max_tokens = c.number<int>("n", 128);
  g.sampling = tq::sampling_args(c, {});
  g.stop_strings = c.all("stop");
  tqlib::model::run_options ro;
  if (auto e = tq::run_args(c, ro)) return tq::usage_error("run", *e);
  if (!c.ok()) return tq::usage_error("run", c.error());
  if (g.max_tokens < 0) return tq::usage_error("run", "-n must be >= 0 and -t >= 1");

  std::vector<std::int32_t> prompt;
  if (auto ids = c.get("ids")) {
    auto p = tq::parse_ids(*ids);
    if (!p) return tq::usage_error("run", "--ids must be comma-separated non-negative integers");
    prompt = *p;
  }
  auto m = tqlib::open_model(c.positional()[0]);
  if (!m) return tq::fail("run", m.err());
  if (auto text = c.get("prompt")) {
    if (!m->tokenizer()) return tq::usage_error("run", "the model has no tokenizer files: use --ids");
    std::string full = *text;
    if (c.has("chat")) {
      std::vector<tqlib::tokenizer::chat_message> msgs;
      if (auto sys = c.get("system")) msgs.push_back({"system", *sys});
      msgs.push_back({"user", *text});
      auto t = m->render_chat(msgs);
      if (!t) return tq::fail("run", t.err());
      full = *t;
    }
    auto ids = m->tokenize(full);
    if (!ids) return tq::fail("run", ids.err());
    prompt = std::move(*ids);
  }
  if (prompt.empty()) return tq::usage_error("run", "empty prompt");
  if (std::int64_t(prompt.size()) + g.max_tokens > m->config().max_seq_len)
    return tq::usage_error("run", "prompt (" + std::to_string(prompt.size()) + ") + -n exceeds max_position_embeddings (" +
                                      std::to_string(m->config().max_seq_len) + ")");
  ro.context = int(prompt.size()) + std::max(g.max_tokens, 1);  // the KV cache holds exactly what is run
  auto s = m->new_session(ro);
  if (!s) return tq::fail("run", s.err());

  const bool print_ids = c.has("print-ids") || !m->tokenizer();
  auto out = s->generate(prompt, g, [&](const tqlib::token_event& e) {
    if (!print_ids) {
      std::fwrite(e.text.data(), 1, e.text.size(), stdout);
      std::fflush(stdout);
    }
    return true;
  });
  if (!out) return tq::fail("run", out.err());
  if (!print_ids) std::printf("\n");
  if (print_ids) {
    for (std::size_t i = 0; i < out->tokens.size(); ++i) std::printf("%s%d", i ? "," : "", out->tokens[i]);
    std::printf("\n");
  }
  const auto& st = out->stats;
  std::fflush(stdout);  // the text's last newline before the statistics on a shared terminal
  std::fprintf(stderr, "prompt: %zu tokens, %.1f tokens/s; generated: %zu tokens, %.1f tokens/s (%d threads)\n", st.prompt_tokens,
               st.prefill_tokens_per_second(), st.generated_tokens, st.decode_tokens_per_second(), s->threads());
  return 0;
}

}  // namespace

TQ_COMMAND("run",
           "run MODEL (--prompt TEXT | --ids 1,2,3) [-n N] [--temp T] [--top-k K] [--top-p P] [--min-p P] "
           "[--repeat-penalty R] [--seed S] [--chat] [--stop TEXT]... [--print-ids] [-t THREADS] [--kv-bits B]: generate text",
           run);
