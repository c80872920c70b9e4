// tq sign FILE --key PREFIX.key [--out OUT]: signs an MV2 file (in place by default, atomically).
#include "cli.hpp"
#include "format_source.hpp"
#include "tqlib/format/mv2_writer.hpp"

namespace {

int run_sign(tq::args_t args) {
  using namespace tqlib::format;
  tq::cli c(args, {"key", "out"});
  if (!c.ok()) return tq::usage_error("sign", c.error());
  if (c.positional().size() != 1 || !c.get("key")) return tq::usage_error("sign", "usage: tq sign FILE --key KEY.key [--out OUT]");
  const std::string in = c.positional()[0];
  auto key = load_secret_key(*c.get("key"));
  if (!key) return tq::fail("sign", key.err().what());
  auto m = mapped_file::open(in);
  if (!m) return tq::fail("sign", m.err().what());
  auto out = mv2::sign_bytes(m->bytes(), *key);
  if (!out) return tq::fail("sign", in + ": " + out.err().message);
  const std::string dest = c.get("out").value_or(in);
  if (auto w = write_file_atomic(dest, *out); !w) return tq::fail("sign", w.err().what());
  std::printf("signed %s\n", dest.c_str());
  return 0;
}

}  // namespace

TQ_COMMAND("sign", "sign FILE --key KEY.key [--out OUT]      Ed25519-sign an MV2 file (atomically)", run_sign);
