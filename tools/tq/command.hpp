#pragma once
// The tq tool is one file per subcommand (tools/tq/cmd_<name>.cpp); each registers itself with
// TQ_COMMAND so main.cpp needs no list of them.
#include <functional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace tq {

using args_t = std::span<const std::string_view>;

struct command {
  std::string_view name;
  std::string_view usage;    // one line, shown by `tq help`
  int (*run)(args_t args);  // args exclude "tq" and the command name; returns the exit code
};

inline std::vector<command>& registry() {
  static std::vector<command> commands;
  return commands;
}

struct registrar {
  explicit registrar(command c) { registry().push_back(c); }
};

}  // namespace tq

#define TQ_COMMAND_CAT2(a, b) a##b
#define TQ_COMMAND_CAT(a, b) TQ_COMMAND_CAT2(a, b)
#define TQ_COMMAND(name, usage, fn) \
  static const ::tq::registrar TQ_COMMAND_CAT(tq_registrar_, __COUNTER__)(::tq::command{name, usage, fn})
