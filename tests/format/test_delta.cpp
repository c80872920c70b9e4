#include "catch.hpp"
#include "mv2_fixture.hpp"
#include "tqlib/format/delta.hpp"

using namespace mv2_fixture;

namespace {
struct pair_of_models {
  model base_model;
  model new_model;
  pair_of_models() {
    new_model.norm = floats(8, 99);  // changed
    new_model.config["hidden_act"] = "silu";
    new_model.tokenizer = R"({"model":{"type":"BPE","v":2}})";
  }
};
}  // namespace

TEST_CASE("apply(base, diff(base, new)) gives new back byte for byte", "[delta]") {
  for (int level : {0, 3}) {
    pair_of_models p;
    mv2::writer_options o;
    o.zstd_level = level;
    const auto base = p.base_model.build(o);
    auto ts = p.new_model.tensors();
    ts.erase(ts.begin() + 2);                                                   // removed
    ts.push_back({"lm_head.weight", "f32", {16, 8}, p.new_model.embed});        // added
    auto next = mv2::build(p.new_model.config, p.new_model.files(), ts, o);
    REQUIRE(next.ok());
    auto patch = delta::diff(base, *next);
    REQUIRE(patch.ok());
    auto pr = mv2::reader::open(*patch);
    REQUIRE(pr.ok());
    CHECK((*pr)->header().type == mv2::format_type::delta_patch);
    CHECK((*pr)->header().has(mv2::flag::delta));
    // Only the changed and added tensors travel.
    CHECK((*pr)->tensor_names() == std::vector<std::string>{"model.norm.weight", "lm_head.weight"});
    CHECK((*pr)->json_meta().delta->removed == std::vector<std::string>{"model.layers.0.mlp.up_proj.weight"});
    auto out = delta::apply(base, *patch);
    REQUIRE(out.ok());
    CHECK(*out == *next);
  }
}

TEST_CASE("a patch for another base fails and names the mismatch", "[delta]") {
  pair_of_models p;
  const auto base = p.base_model.build();
  const auto next = p.new_model.build();
  auto patch = delta::diff(base, next);
  REQUIRE(patch.ok());
  auto wrong = delta::apply(next, *patch);
  REQUIRE_FALSE(wrong.ok());
  CHECK(wrong.err().message.find("wrong base") != std::string::npos);
  auto other = base;
  other.back() ^= std::byte{1};
  wrong = delta::apply(other, *patch);
  REQUIRE_FALSE(wrong.ok());
  CHECK(wrong.err().message.find("wrong base") != std::string::npos);
  // A model file is not a patch.
  auto not_patch = delta::apply(base, next);
  REQUIRE_FALSE(not_patch.ok());
  CHECK(not_patch.err().message.find("delta_patch") != std::string::npos);
}

TEST_CASE("diff of identical files carries no tensors; patches can be signed", "[delta]") {
  model m;
  const auto base = m.build();
  auto kp = generate_keypair();
  REQUIRE(kp.ok());
  auto patch = delta::diff(base, base, {.zstd_level = 3, .signing_key = kp->sec});
  REQUIRE(patch.ok());
  auto pr = mv2::reader::open(*patch);
  REQUIRE(pr.ok());
  CHECK((*pr)->tensor_names().empty());
  const std::array<public_key, 1> key{kp->pub};
  CHECK((*pr)->verify_signature(key).ok());
  auto out = delta::apply(base, *patch);
  REQUIRE(out.ok());
  CHECK(*out == base);
}
