// tq: the tqlib command-line tool. `tq help` lists the commands.
#include <algorithm>
#include <cstdio>
#include <string_view>
#include <vector>

#include "command.hpp"
#include "tqlib/simd/dispatch.hpp"
#include "tqlib/version.hpp"

namespace {

int print_help() {
  std::printf("tq %s: low-bit quantized LLMs (tqlib), SIMD: %s\n\nusage: tq COMMAND [ARGS]\n\n", TQLIB_VERSION_STRING,
              tqlib::simd::active_arch_name());
  auto cmds = tq::registry();
  std::sort(cmds.begin(), cmds.end(), [](auto& a, auto& b) { return a.name < b.name; });
  for (const auto& c : cmds) std::printf("  %.*s\n", int(c.usage.size()), c.usage.data());
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  std::vector<std::string_view> args(argv + 1, argv + argc);
  if (args.empty() || args[0] == "help" || args[0] == "--help" || args[0] == "-h") return print_help();
  if (args[0] == "--version" || args[0] == "version") {
    std::printf("tq %s (SIMD: %s)\n", TQLIB_VERSION_STRING, tqlib::simd::active_arch_name());
    return 0;
  }
  for (const auto& c : tq::registry()) {
    if (c.name == args[0]) return c.run(tq::args_t(args).subspan(1));
  }
  std::fprintf(stderr, "tq: unknown command '%.*s' (try 'tq help')\n", int(args[0].size()), args[0].data());
  return 2;
}
