#pragma once
// Small argument parser shared by the subcommands: positional arguments, `--flag VALUE`,
// `--flag=VALUE` and boolean `--flag`. Unknown flags are an error naming the flag.
#include <charconv>
#include <cstdio>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <string_view>
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
    const char* b = v->data();
    const char* e = b + v->size();
    auto [p, ec] = std::from_chars(b, e, out);
    if (ec != std::errc() || p != e) {
      error_ = "option --" + k + ": '" + *v + "' is not a valid number";
      return fallback;
    }
    return out;
  }

 private:
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
