// tq keygen PREFIX: writes PREFIX.pub and PREFIX.key (mode 0600); never overwrites.
#include "cli.hpp"
#include "format_source.hpp"

namespace {

int run_keygen(tq::args_t args) {
  tq::cli c(args, {});
  if (!c.ok()) return tq::usage_error("keygen", c.error());
  if (c.positional().size() != 1) return tq::usage_error("keygen", "usage: tq keygen PREFIX");
  auto kp = tqlib::format::generate_keypair();
  if (!kp) return tq::fail("keygen", kp.err().what());
  if (auto r = tqlib::format::save_keypair(c.positional()[0], *kp); !r) return tq::fail("keygen", r.err().what());
  std::printf("wrote %s.pub and %s.key\n", c.positional()[0].c_str(), c.positional()[0].c_str());
  return 0;
}

}  // namespace

TQ_COMMAND("keygen", "keygen PREFIX                            new Ed25519 key pair PREFIX.pub / PREFIX.key", run_keygen);
