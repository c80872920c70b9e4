// tq logits MODEL --ids 1,2,3 --out FILE [-t THREADS] [--kv-bits B]
// Writes T x V float32 little-endian logits: row t = logits after ids[0..t].
#include <cstdio>
#include <vector>

#include "cli.hpp"
#include "command.hpp"
#include "run_args.hpp"
#include "tqlib/api/evaluate.hpp"
#include "tqlib/core/bytes.hpp"

namespace {

int logits_cmd(tq::args_t args) {
  tq::cli c(args, {"ids", "out", "t", "threads", "kv-bits"});
  if (!c.ok()) return tq::usage_error("logits", c.error());
  if (c.positional().size() != 1 || !c.has("ids") || !c.has("out"))
    return tq::usage_error("logits", "usage: tq logits MODEL --ids 1,2,3 --out FILE");
  auto ids = tq::parse_ids(*c.get("ids"));
  if (!ids) return tq::usage_error("logits", "--ids must be comma-separated non-negative integers");
  tqlib::model::run_options ro;
  if (auto e = tq::run_args(c, ro)) return tq::usage_error("logits", *e);
  auto m = tqlib::open_model(c.positional()[0]);
  if (!m) return tq::fail("logits", m.err());
  auto logits = tqlib::compute_logits(*m, *ids, ro);
  if (!logits) return tq::fail("logits", logits.err());
  std::vector<std::byte> out(logits->size() * 4);
  for (std::size_t i = 0; i < logits->size(); ++i) tqlib::store_le<float>(out.data() + 4 * i, (*logits)[i]);
  std::FILE* f = std::fopen(c.get("out")->c_str(), "wb");
  if (!f || std::fwrite(out.data(), 1, out.size(), f) != out.size() || std::fclose(f) != 0) {
    std::fprintf(stderr, "tq logits: cannot write %s\n", c.get("out")->c_str());
    return 1;
  }
  std::fprintf(stderr, "wrote %zu x %d float32 logits to %s\n", ids->size(), m->config().vocab_size, c.get("out")->c_str());
  return 0;
}

}  // namespace

TQ_COMMAND("logits", "logits MODEL --ids 1,2,3 --out FILE [-t T] [--kv-bits B]: T x V float32 LE logits (row t after ids[0..t])",
           logits_cmd);
