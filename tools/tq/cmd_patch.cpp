// tq patch BASE PATCH OUT: applies a delta patch (checked against the base's hash).
#include "cli.hpp"
#include "format_source.hpp"
#include "tqlib/format/delta.hpp"

namespace {

int run_patch(tq::args_t args) {
  using namespace tqlib::format;
  tq::cli c(args, {});
  if (!c.ok()) return tq::usage_error("patch", c.error());
  if (c.positional().size() != 3) return tq::usage_error("patch", "usage: tq patch BASE PATCH OUT");
  auto base = mapped_file::open(c.positional()[0]);
  if (!base) return tq::fail("patch", base.err().what());
  auto patch = mapped_file::open(c.positional()[1]);
  if (!patch) return tq::fail("patch", patch.err().what());
  if (auto r = delta::write_apply(c.positional()[2], base->bytes(), patch->bytes()); !r) return tq::fail("patch", r.err().what());
  std::printf("wrote %s\n", c.positional()[2].c_str());
  return 0;
}

}  // namespace

TQ_COMMAND("patch", "patch BASE PATCH OUT                      apply a delta patch", run_patch);
