#pragma once
// Arguments the model commands (run, chat, logits, ppl, bench) share: -t/--threads, --kv-bits
// and --ids lists, and printing a library error. Opening and running the model is the library's
// (tqlib/api/).
#include <charconv>
#include <cstdio>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "cli.hpp"
#include "tqlib/api/open_model.hpp"

namespace tq {

// "1,2,3" -> ids; nullopt on anything else.
inline std::optional<std::vector<std::int32_t>> parse_ids(std::string_view s) {
  std::vector<std::int32_t> out;
  while (!s.empty()) {
    const auto comma = s.find(',');
    std::string_view item = s.substr(0, comma);
    while (!item.empty() && item.front() == ' ') item.remove_prefix(1);
    while (!item.empty() && item.back() == ' ') item.remove_suffix(1);
    std::int32_t v = 0;
    auto [p, ec] = std::from_chars(item.data(), item.data() + item.size(), v);
    if (item.empty() || ec != std::errc() || p != item.data() + item.size() || v < 0) return std::nullopt;
    out.push_back(v);
    if (comma == std::string_view::npos) break;
    s.remove_prefix(comma + 1);
  }
  if (out.empty()) return std::nullopt;
  return out;
}

// -t/--threads T and --kv-bits N (how the KV cache stores keys and values: 16, f16, the default;
// 2, 3 or 4, TurboQuant-compressed; 32, f32). Returns a usage error message, or nothing.
inline std::optional<std::string> run_args(cli& c, tqlib::model::run_options& ro) {
  ro.threads = c.number<int>("t", c.number<int>("threads", 1));
  if (!c.ok()) return c.error();
  if (ro.threads < 1) return std::string("-t must be >= 1");
  if (!c.has("kv-bits")) return std::nullopt;
  const int bits = c.number<int>("kv-bits", 16);
  if (!c.ok()) return c.error();
  auto t = tqlib::model::kv_type_for_bits(bits);
  if (!t) return "--kv-bits: " + t.err().message;
  ro.kv = *t;
  return std::nullopt;
}

inline int fail(std::string_view cmd, const tqlib::error& e) {
  std::fprintf(stderr, "tq %.*s: %s\n", int(cmd.size()), cmd.data(), e.what().c_str());
  return 1;
}

}  // namespace tq
