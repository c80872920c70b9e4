#pragma once
// Nesting depth of untrusted JSON text, checked before parsing. nlohmann::json parses and
// destroys deep documents without recursion, but copying, comparing and dump() recurse once per
// level: a 2 MB header of nested arrays would overflow the stack. Model headers nest a few
// levels (config.json's rope_scaling is the deepest), so readers refuse anything deeper than
// max_json_depth.
#include <cstddef>
#include <string_view>

namespace tqlib {

inline constexpr std::size_t max_json_depth = 64;

// True when no array or object in `text` is nested deeper than `limit` (strings, escapes
// included, are skipped). Linear; malformed text is left to the parser.
inline bool json_depth_within(std::string_view text, std::size_t limit = max_json_depth) noexcept {
  std::size_t depth = 0;
  bool in_string = false, escaped = false;
  for (const char c : text) {
    if (in_string) {
      if (escaped)
        escaped = false;
      else if (c == '\\')
        escaped = true;
      else if (c == '"')
        in_string = false;
    } else if (c == '"') {
      in_string = true;
    } else if (c == '[' || c == '{') {
      if (++depth > limit) return false;
    } else if ((c == ']' || c == '}') && depth > 0) {
      --depth;
    }
  }
  return true;
}

}  // namespace tqlib
