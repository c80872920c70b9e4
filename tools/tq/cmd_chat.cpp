// tq chat MODEL [--system TEXT] [-n N] [--temp T] [--top-k K] [--top-p P] [--min-p P] [--seed S] [-t T] [--ctx C] [--kv-bits B]
// Interactive ChatML: one user message per line on stdin; the reply streams to stdout. The
// KV cache keeps the conversation, so each turn only runs its new tokens.
#include <cstdio>
#include <iostream>
#include <string>
#include <vector>

#include "cli.hpp"
#include "command.hpp"
#include "model_loader.hpp"
#include "sampling_args.hpp"
#include "tqlib/tokenizer/chat_template.hpp"

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
  const tqlib::model::sampler_options so = tq::sampling_args(c, chat_defaults);
  const int n_max = c.number<int>("n", 512);
  tqlib::model::run_options ro;
  ro.threads = c.number<int>("t", c.number<int>("threads", 1));
  ro.context = c.number<int>("ctx", 4096);
  if (!c.ok()) return tq::usage_error("chat", c.error());
  if (auto e = tq::apply_kv_bits(c, ro)) return tq::usage_error("chat", *e);
  auto lm = tq::load_model(c.positional()[0]);
  if (!lm) return tq::fail("chat", lm.err());
  if (!lm->tok) return tq::usage_error("chat", "the model has no tokenizer files");
  if (auto r = lm->start(ro); !r) return tq::fail("chat", r.err());
  auto& m = *lm->model;
  tqlib::tokenizer::chat_template_options co;
  if (auto tc = lm->source->file("tokenizer_config.json")) {
    auto j = nlohmann::json::parse(*tc, nullptr, false);
    if (!j.is_discarded() && j.contains("chat_template") && j["chat_template"].is_string())
      co = tqlib::tokenizer::chat_options_for_template(j["chat_template"].get<std::string>());
  }
  tqlib::model::sampler samp(so);
  std::vector<float> logits(std::size_t(lm->cfg.vocab_size));
  std::vector<std::int32_t> history;
  bool first = true;
  std::string line;
  std::fprintf(stderr, "> ");
  while (std::getline(std::cin, line)) {
    std::vector<tqlib::tokenizer::chat_message> msgs;
    std::string text;
    if (first) {
      if (auto sys = c.get("system")) msgs.push_back({"system", *sys});
      msgs.push_back({"user", line});
      auto t = tqlib::tokenizer::apply_chat_template(msgs, co);
      if (!t) return tq::fail("chat", t.err());
      text = *t;
    } else {  // the previous reply's <|im_end|> is in the cache; close its line and add the turn
      text = "\n<|im_start|>user\n" + line + "<|im_end|>\n<|im_start|>assistant\n";
    }
    first = false;
    auto ids = lm->tok->encode(text);
    if (!ids) return tq::fail("chat", ids.err());
    std::vector<std::int32_t> turn(ids->begin(), ids->end());
    if (int(history.size() + turn.size()) + n_max > m.context()) {
      std::fprintf(stderr, "tq chat: context of %d tokens is full\n", m.context());
      return 1;
    }
    if (auto r = m.forward(turn, int(history.size()), logits.data()); !r) return tq::fail("chat", r.err());
    history.insert(history.end(), turn.begin(), turn.end());
    tqlib::tokenizer::detokenizer_stream detok(*lm->tok, true);
    for (int i = 0; i < n_max; ++i) {
      const std::int32_t next = samp.sample(logits, history);
      if (auto r = m.forward(std::span(&next, 1), int(history.size()), logits.data()); !r) return tq::fail("chat", r.err());
      history.push_back(next);
      if (tqlib::model::is_stop_token(next, lm->stop_ids)) break;
      const std::string piece = detok.push(tqlib::tokenizer::token_id(next));
      std::fwrite(piece.data(), 1, piece.size(), stdout);
      std::fflush(stdout);
    }
    const std::string tail = detok.finish();
    std::fwrite(tail.data(), 1, tail.size(), stdout);
    std::printf("\n");
    std::fflush(stdout);
    std::fprintf(stderr, "> ");
  }
  return 0;
}

}  // namespace

TQ_COMMAND("chat", "chat MODEL [--system TEXT] [-n N] [--temp T] [-t T] [--kv-bits B]: interactive ChatML conversation", chat_cmd);
