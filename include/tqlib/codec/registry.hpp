#pragma once
// Maps codec ids and names to their codec_ops. Each codec header defines
// `const codec_ops& <name>_ops()`; a new codec adds one include and one line below.
#include <span>
#include <string_view>

#include "tqlib/codec/codec.hpp"
// --- codec headers ---
#include "tqlib/codec/dense.hpp"
#include "tqlib/codec/q4_0.hpp"
#include "tqlib/codec/q4_1.hpp"
#include "tqlib/codec/q4_k.hpp"
#include "tqlib/codec/q5_0.hpp"
#include "tqlib/codec/q5_1.hpp"
#include "tqlib/codec/q5_k.hpp"
#include "tqlib/codec/q6_k.hpp"
#include "tqlib/codec/q8.hpp"
#include "tqlib/codec/ternary.hpp"
#include "tqlib/codec/trit.hpp"
#include "tqlib/codec/tq1_0.hpp"
#include "tqlib/codec/tq2_0.hpp"
#include "tqlib/codec/aqlm.hpp"
#include "tqlib/codec/tq4_1s.hpp"
#include "tqlib/codec/turboquant.hpp"

namespace tqlib::codec {

inline std::span<const codec_ops* const> all_codecs() {
  static const std::vector<const codec_ops*> table = {
      // --- one entry per codec ---
      &f32_ops(),
      &f16_ops(),
      &bf16_ops(),
      &q8_ops(),
      &q4_0_ops(),
      &q4_1_ops(),
      &q5_0_ops(),
      &q5_1_ops(),
      &q4_k_ops(),
      &q5_k_ops(),
      &q6_k_ops(),
      &tq1_0_ops(),
      &tq2_0_ops(),
      &ternary_ops(),
      &bitnet_ops(),
      &trit2_ops(),
      &aqlm_ops(),
      &tq4_1s_ops(),
      &turbo1_ops(),
      &turbo2_ops(),
      &turbo3_ops(),
      &turbo4_ops(),
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

// The layout description of a sign-magnitude codec (tq4_1s, turbo1..4; sign_magnitude.hpp), for
// callers that reach below codec_ops (kernel tests, the engine self-test); null for other codecs.
inline const sm_format* sign_magnitude_format(codec_id id) {
  for (const sm_format* f : {&tq4_1s_format(), &turbo_format<1>(), &turbo_format<2>(), &turbo_format<3>(), &turbo_format<4>()})
    if (f->id == id) return f;
  return nullptr;
}

}  // namespace tqlib::codec
