// tq tokenize MODEL_OR_TOKENIZER --text TEXT [--no-special]: prints the ids as a JSON array on its
// last line (model ids: remapped when the model prunes its vocabulary).
#include <cstdio>
#include <string>

#include "cli.hpp"
#include "command.hpp"
#include "tqlib/api/open_model.hpp"

namespace {

int run_tokenize(tq::args_t args) {
  tq::cli c(args, {"text"}, {"no-special"});
  if (!c.ok()) return tq::usage_error("tokenize", c.error());
  if (c.positional().size() != 1 || !c.get("text")) return tq::usage_error("tokenize", "usage: tq tokenize MODEL_OR_TOKENIZER --text TEXT");
  auto tok = tqlib::open_tokenizer(c.positional()[0]);
  if (!tok) {
    std::fprintf(stderr, "tq tokenize: %s\n", tok.err().what().c_str());
    return 1;
  }
  tqlib::tokenizer::encode_options opt;
  opt.parse_special = !c.has("no-special");
  auto ids = tok->encode(*c.get("text"), opt);
  if (!ids) {
    std::fprintf(stderr, "tq tokenize: %s\n", ids.err().what().c_str());
    return 1;
  }
  std::string line = "[";
  for (std::size_t i = 0; i < ids->size(); ++i) line += (i ? "," : "") + std::to_string((*ids)[i]);
  line += "]";
  std::printf("%s\n", line.c_str());
  return 0;
}

}  // namespace

TQ_COMMAND("tokenize", "tokenize MODEL_OR_TOKENIZER --text TEXT [--no-special]   print token ids (JSON array)", run_tokenize);
