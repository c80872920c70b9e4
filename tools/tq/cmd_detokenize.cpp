// tq detokenize MODEL_OR_TOKENIZER --ids 1,2,3 [--skip-special]: prints the decoded text.
#include <charconv>
#include <cstdio>
#include <string>
#include <vector>

#include "cli.hpp"
#include "command.hpp"
#include "tqlib/api/open_model.hpp"

namespace {

bool parse_ids(std::string_view s, std::vector<tqlib::tokenizer::token_id>& out) {
  while (!s.empty() && (s.front() == '[' || s.front() == ' ')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ']' || s.back() == ' ')) s.remove_suffix(1);
  while (!s.empty()) {
    while (!s.empty() && s.front() == ' ') s.remove_prefix(1);
    tqlib::tokenizer::token_id v = 0;
    auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
    if (ec != std::errc()) return false;
    s.remove_prefix(std::size_t(p - s.data()));
    while (!s.empty() && s.front() == ' ') s.remove_prefix(1);
    if (!s.empty()) {
      if (s.front() != ',') return false;
      s.remove_prefix(1);
    }
    out.push_back(v);
  }
  return true;
}

int run_detokenize(tq::args_t args) {
  tq::cli c(args, {"ids"}, {"skip-special"});
  if (!c.ok()) return tq::usage_error("detokenize", c.error());
  if (c.positional().size() != 1 || !c.get("ids")) return tq::usage_error("detokenize", "usage: tq detokenize MODEL_OR_TOKENIZER --ids 1,2,3");
  std::vector<tqlib::tokenizer::token_id> ids;
  if (!parse_ids(*c.get("ids"), ids)) return tq::usage_error("detokenize", "--ids: '" + *c.get("ids") + "' is not a comma-separated list of ids");
  auto tok = tqlib::open_tokenizer(c.positional()[0]);
  if (!tok) {
    std::fprintf(stderr, "tq detokenize: %s\n", tok.err().what().c_str());
    return 1;
  }
  for (auto id : ids)
    if (tok->token_bytes(id).empty()) std::fprintf(stderr, "tq detokenize: warning: id %u is not in the vocabulary (skipped)\n", id);
  const std::string text = tok->decode(ids, c.has("skip-special"));
  std::fwrite(text.data(), 1, text.size(), stdout);
  std::fputc('\n', stdout);
  return 0;
}

}  // namespace

TQ_COMMAND("detokenize", "detokenize MODEL_OR_TOKENIZER --ids 1,2,3 [--skip-special]   print the text of token ids", run_detokenize);
