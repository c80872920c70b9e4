// tq diff BASE NEW PATCH [--level N] [--key KEY.key]: delta patch from BASE to NEW.
#include "cli.hpp"
#include "format_source.hpp"
#include "tqlib/format/delta.hpp"

namespace {

int run_diff(tq::args_t args) {
  using namespace tqlib::format;
  tq::cli c(args, {"level", "key"});
  delta::diff_options o;
  o.zstd_level = c.number<int>("level", 3);
  if (!c.ok()) return tq::usage_error("diff", c.error());
  if (c.positional().size() != 3) return tq::usage_error("diff", "usage: tq diff BASE NEW PATCH [--level N] [--key KEY.key]");
  if (auto k = c.get("key")) {
    auto key = load_secret_key(*k);
    if (!key) return tq::fail("diff", key.err().what());
    o.signing_key = *key;
  }
  auto base = mapped_file::open(c.positional()[0]);
  if (!base) return tq::fail("diff", base.err().what());
  auto next = mapped_file::open(c.positional()[1]);
  if (!next) return tq::fail("diff", next.err().what());
  if (auto r = delta::write_diff(c.positional()[2], base->bytes(), next->bytes(), o); !r) return tq::fail("diff", r.err().what());
  std::printf("wrote %s\n", c.positional()[2].c_str());
  return 0;
}

}  // namespace

TQ_COMMAND("diff", "diff BASE NEW PATCH [--level N] [--key K] delta patch turning BASE into NEW", run_diff);
