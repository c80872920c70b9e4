#pragma once
// Maps codec ids and names to their codec_ops. Each codec header defines
// `const codec_ops& <name>_ops()`; a new codec adds one include and one line below.
#include <span>
#include <string_view>

#include "tqlib/codec/codec.hpp"
// --- codec headers ---

namespace tqlib::codec {

inline std::span<const codec_ops* const> all_codecs() {
  static const std::vector<const codec_ops*> table = {
      // --- one entry per codec ---
  };
  return table;
}

inline const codec_ops* find(codec_id id) {
  for (const auto* c : all_codecs())
    if (c->id == id) return c;
  return nullptr;
}

inline const codec_ops* find(std::string_view name) {
  for (const auto* c : all_codecs())
    if (c->name == name) return c;
  return nullptr;
}

}  // namespace tqlib::codec
