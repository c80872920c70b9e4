// tq chat MODEL [--system TEXT] [-n N] [--temp T] [--top-k K] [--top-p P] [--min-p P] [--seed S] [-t T] [--ctx C] [--kv-bits B]
// Interactive chat in the model's template: one user message per line on stdin; the reply
// streams to stdout, then a line on stderr says how many tokens the turn ran and how many it
// found in the cache. The session keeps the conversation in its KV cache, so each turn only runs
// its new tokens.
#include <cstdio>
#include <iostream>
#include <string>
#include <vector>

#include "cli.hpp"
#include "command.hpp"
#include "run_args.hpp"
#include "sampling_args.hpp"
#include "tqlib/api/session.hpp"

namespace {

int chat_cmd(tq::args_t args) {
  tq::cli c(args, {"system", "n", "temp", "top-k", "top-p", "min-p", "repeat-penalty", "seed", "t", "threads", "ctx", "kv-bits"});
  if (!c.ok()) return tq::usage_error("chat", c.error());
  if (c.positional().size() != 1) return tq::usage_error("chat", "usage: tq chat MODEL [--system TEXT]");
  tqlib::model::sampler_options chat_defaults;
  chat_defaults.temperature = 0.7f;
  chat_defaults.top_k = 20;
  chat_defaults.top_p = 0.8f;
  chat_defaults.min_p = 0.0f;
  chat_defaults.repeat_penalty = 1.05f;
  tqlib::generate_options g;
  g.sampling = tq::sampling_args(c, chat_defaults);
  g.max_tokens = c.number<int>("n", 512);
  tqlib::model::run_options ro;
  ro.context = c.number<int>("ctx", 4096);
  if (auto e = tq::run_args(c, ro)) return tq::usage_error("chat", *e);
  if (!c.ok()) return tq::usage_error("chat", c.error());
  auto m = tqlib::open_model(c.positional()[0]);
  if (!m) return tq::fail("chat", m.err());
  if (!m->tokenizer()) return tq::usage_error("chat", "the model has no tokenizer files");
  auto s = m->new_session(ro);
  if (!s) return tq::fail("chat", s.err());
  std::string line;
  std::fprintf(stderr, "> ");
  while (std::getline(std::cin, line)) {
    std::vector<tqlib::tokenizer::chat_message> msgs;
    if (auto sys = c.get("system"); sys && s->tokens().empty()) msgs.push_back({"system", *sys});
    msgs.push_back({"user", line});
    auto r = s->chat(msgs, g, [](const tqlib::token_event& e) {
      std::fwrite(e.text.data(), 1, e.text.size(), stdout);
      std::fflush(stdout);
      return true;
    });
    if (!r) return tq::fail("chat", r.err());
    std::printf("\n");
    std::fflush(stdout);
    const auto& st = r->stats;
    std::fprintf(stderr, "[%zu new tokens, %zu from the cache; %zu generated, %.1f tokens/s]\n> ", st.prompt_tokens, st.cached_tokens,
                 st.generated_tokens, st.decode_tokens_per_second());
  }
  return 0;
}

}  // namespace

TQ_COMMAND("chat", "chat MODEL [--system TEXT] [-n N] [--temp T] [-t T] [--kv-bits B]: interactive chat in the model's template", chat_cmd);
