#pragma once
// Small argument parser shared by the subcommands: positional arguments, `--flag VALUE`,
// `--flag=VALUE` and boolean `--flag`. Unknown flags are an error naming the flag.
#include <charconv>
#include <cstdio>
#include <locale>
#include <map>
#include <optional>
#include <set>
#include <sstream>
#include <string>
#include <string_view>
#include <type_traits>
#include <vector>

#include "command.hpp"

namespace tq {

class cli {
 public:
  // value_flags take a value; bool_flags do not.
  cli(args_t args, std::set<std::string> value_flags, std::set<std::string> bool_flags = {}) {
    for (std::size_t i = 0; i < args.size(); ++i) {
      std::string_view a = args[i];
      if (a.size() > 1 && a[0] == '-' && !(a.size() > 1 && (std::isdigit(static_cast<unsigned char>(a[1])) || a[1] == '.'))) {
        std::string key(a.substr(a[1] == '-' ? 2 : 1));
        std::optional<std::string> val;
        if (auto eq = key.find('='); eq != std::string::npos) {
          val = key.substr(eq + 1);
          key = key.substr(0, eq);
        }
        if (value_flags.count(key)) {
          if (!val) {
            if (i + 1 >= args.size()) {
              error_ = "option --" + key + " needs a value";
              return;
            }
            val = std::string(args[++i]);
          }
          values_[key].push_back(*val);
        } else if (bool_flags.count(key) && !val) {
          bools_.insert(key);
        } else {
          error_ = "unknown option " + std::string(a);
          return;
        }
      } else {
        positional_.emplace_back(a);
      }
    }
  }

  bool ok() const { return error_.empty(); }
  const std::string& error() const { return error_; }
  const std::vector<std::string>& positional() const { return positional_; }
  bool has(const std::string& k) const { return values_.count(k) || bools_.count(k); }
  std::optional<std::string> get(const std::string& k) const {
    auto it = values_.find(k);
    if (it == values_.end()) return std::nullopt;
    return it->second.back();
  }
  std::vector<std::string> all(const std::string& k) const {
    auto it = values_.find(k);
    return it == values_.end() ? std::vector<std::string>{} : it->second;
  }
  // Numeric option with a default; sets error() when the value does not parse.
  template <class T>
  T number(const std::string& k, T fallback) {
    auto v = get(k);
    if (!v) return fallback;
    T out{};
    if (!parse_number(*v, out)) {
      error_ = "option --" + k + ": '" + *v + "' is not a valid number";
      return fallback;
    }
    return out;
  }

 private:
  template <class T>
  static bool parse_number(const std::string& s, T& out) {
#if defined(__cpp_lib_to_chars)
    constexpr bool float_from_chars = true;
#else
    constexpr bool float_from_chars = false;  // libc++ before 17 (Emscripten's): integers only
#endif
    if constexpr (std::is_floating_point_v<T> && !float_from_chars) {
      // The classic locale keeps the accepted syntax the same whatever the user's locale.
      std::istringstream in(s);
      in.imbue(std::locale::classic());
      in >> std::noskipws >> out;
      return !s.empty() && !in.fail() && in.peek() == std::char_traits<char>::eof();
    } else {
      auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), out);
      return ec == std::errc() && p == s.data() + s.size();
    }
  }

  std::vector<std::string> positional_;
  std::map<std::string, std::vector<std::string>> values_;
  std::set<std::string> bools_;
  std::string error_;
};

inline int usage_error(std::string_view cmd, const std::string& msg) {
  std::fprintf(stderr, "tq %.*s: %s\n", int(cmd.size()), cmd.data(), msg.c_str());
  return 2;
}

}  // namespace tq
