#pragma once
// A tensor shape as error messages print it: "[896, 4864]".
#include <string>

namespace tqlib {

template <class Dims>
std::string shape_text(const Dims& dims) {
  std::string out = "[";
  bool first = true;
  for (const auto d : dims) {
    out += (first ? "" : ", ") + std::to_string(d);
    first = false;
  }
  return out + "]";
}

}  // namespace tqlib
