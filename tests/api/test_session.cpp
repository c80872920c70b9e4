// The task-level API (tqlib/api/): opening models, the generation session (streaming, stop ids
// and strings, cancel, KV cache reuse across turns), the text stream's UTF-8 and stop-string
// boundaries, logits and perplexity, and quantize_model's report. Models: the shipped default
// model (tokenizer embedded) and a tiny random Hugging Face fixture (ids only).
#include <catch.hpp>

#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <string>
#include <vector>

#include "tqlib/api.hpp"
#include "tqlib/tokenizer/utf8.hpp"

namespace {

const std::string default_model = std::string(TQLIB_SOURCE_DIR) + "/models/tqlib-default.mv2";
const std::string tiny_model = std::string(TQLIB_SOURCE_DIR) + "/tests/model/fixtures/qwen2_tied_gqa";

tqlib::model_handle open_or_fail(const std::string& path, const tqlib::model_options& o = {}) {
  auto m = tqlib::open_model(path, o);
  if (!m) FAIL(m.err().what());
  return *m;
}

tqlib::generate_options greedy(int n) {
  tqlib::generate_options g;
  g.sampling.temperature = 0;
  g.max_tokens = n;
  return g;
}

}  // namespace

TEST_CASE("api: open_model reads config, tokenizer, stop ids and chat template", "[api]") {
  auto m = open_or_fail(default_model);
  CHECK(m.config().vocab_size == 16384);
  REQUIRE(m.tokenizer() != nullptr);
  CHECK(m.mv2() != nullptr);
  CHECK(!m.stop_ids().empty());
  CHECK(m.weight_bytes_per_token() > 0);
  auto tiny = open_or_fail(tiny_model);
  CHECK(tiny.tokenizer() == nullptr);
  CHECK(tiny.mv2() == nullptr);
  auto t = tiny.tokenize("hello");
  REQUIRE(!t);
  CHECK(t.err().message.find("tokenizer") != std::string::npos);
  // The tokenizer alone, from the MV2 file or from a folder of tokenizer files.
  auto from_mv2 = tqlib::open_tokenizer(default_model);
  REQUIRE(from_mv2);
  CHECK(from_mv2->vocab_size() == m.tokenizer()->vocab_size());
  auto from_folder = tqlib::open_tokenizer(std::string(TQLIB_SOURCE_DIR) + "/models/qwen2.5-tokenizer");
  REQUIRE(from_folder);
  CHECK(!tqlib::open_tokenizer(tiny_model));
}

TEST_CASE("api: open_model errors name what is wrong", "[api]") {
  auto missing = tqlib::open_model(std::string(TQLIB_SOURCE_DIR) + "/no/such/model.mv2");
  REQUIRE(!missing);
  CHECK(missing.err().message.find("model.mv2") != std::string::npos);
  tqlib::model_options o;
  o.trusted_keys.push_back({});
  auto hf = tqlib::open_model(tiny_model, o);
  REQUIRE(!hf);
  CHECK(hf.err().code == tqlib::errc::signature);
  auto unsigned_mv2 = tqlib::open_model(default_model, o);  // the shipped model is not signed
  REQUIRE(!unsigned_mv2);
  CHECK(unsigned_mv2.err().code == tqlib::errc::signature);
}

TEST_CASE("api: text_stream never splits a UTF-8 character and holds back stop strings", "[api]") {
  auto m = open_or_fail(default_model);
  const std::string text = "caf\xC3\xA9 \xF0\x9F\x99\x82 na\xC3\xAFve \xE2\x82\xAC 12";  // café 🙂 naïve € 12
  auto ids = m.tokenize(text);
  REQUIRE(ids);
  REQUIRE(ids->size() > 6);
  tqlib::text_stream plain(*m.tokenizer(), true, {});
  std::string all;
  for (auto id : *ids) {
    const std::string piece = plain.push(id);
    CHECK(tqlib::tokenizer::utf8::validate(piece).ok());
    all += piece;
  }
  all += plain.finish();
  CHECK(all == text);

  tqlib::text_stream stopping(*m.tokenizer(), true, {"na\xC3\xAF", "zzz"});
  std::string cut;
  for (auto id : *ids) {
    const std::string piece = stopping.push(id);
    CHECK(tqlib::tokenizer::utf8::validate(piece).ok());
    // Nothing past the start of a stop string ever comes out, even before it completes.
    CHECK((cut + piece).find("na") == std::string::npos);
    cut += piece;
  }
  cut += stopping.finish();
  CHECK(stopping.stopped());
  CHECK(cut == "caf\xC3\xA9 \xF0\x9F\x99\x82 ");
}

TEST_CASE("api: generation streams, stops and cancels", "[api]") {
  auto m = open_or_fail(default_model);
  auto s = m.new_session();
  REQUIRE(s);
  std::vector<std::int32_t> streamed;
  std::string text;
  auto g = s->generate("The history of the city", greedy(16), [&](const tqlib::token_event& e) {
    if (e.id >= 0) streamed.push_back(e.id);
    text += e.text;
    return true;
  });
  REQUIRE(g);
  CHECK(g->tokens.size() == 16);
  CHECK(streamed == g->tokens);
  CHECK(text == g->text);
  CHECK(g->stats.finish == tqlib::finish_reason::length);
  CHECK(g->stats.generated_tokens == 16);
  CHECK(g->stats.prompt_tokens == m.tokenize("The history of the city")->size());
  CHECK(g->stats.weight_bytes_per_token == m.weight_bytes_per_token());
  CHECK(g->text == m.tokenizer()->decode(std::vector<tqlib::tokenizer::token_id>(g->tokens.begin(), g->tokens.end()), true));

  SECTION("a stop id ends it before that token") {
    auto s2 = m.new_session();
    auto opt = greedy(16);
    opt.stop_ids = {g->tokens[5]};
    auto r = s2->generate("The history of the city", opt);
    REQUIRE(r);
    CHECK(r->stats.finish == tqlib::finish_reason::stop_token);
    const auto first = std::find(g->tokens.begin(), g->tokens.end(), g->tokens[5]);
    CHECK(r->tokens == std::vector<std::int32_t>(g->tokens.begin(), first));
  }
  SECTION("a stop string cuts the text where it starts") {
    const auto at = g->text.find(' ', g->text.size() / 2);
    REQUIRE(at != std::string::npos);
    const std::string stop = g->text.substr(at, 4);
    auto s2 = m.new_session();
    auto opt = greedy(16);
    opt.stop_strings = {stop};
    auto r = s2->generate("The history of the city", opt);
    REQUIRE(r);
    CHECK(r->stats.finish == tqlib::finish_reason::stop_string);
    CHECK(r->text == g->text.substr(0, g->text.find(stop)));
  }
  SECTION("the callback cancels") {
    auto s2 = m.new_session();
    int n = 0;
    auto r = s2->generate("The history of the city", greedy(16), [&](const tqlib::token_event&) { return ++n < 3; });
    REQUIRE(r);
    CHECK(r->stats.finish == tqlib::finish_reason::cancelled);
    CHECK(r->tokens.size() == 3);
  }
  SECTION("the context is checked before anything runs") {
    tqlib::model::run_options ro;
    ro.context = 8;
    auto small = m.new_session(ro);
    REQUIRE(small);
    auto r = small->generate("The history of the city", greedy(16));
    REQUIRE(!r);
    CHECK(r.err().message.find("context of 8") != std::string::npos);
  }
}

TEST_CASE("api: the next call only runs its new tokens and continues as a full rerun would", "[api]") {
  auto m = open_or_fail(tiny_model);
  const std::vector<std::int32_t> p1 = {3, 14, 15, 92, 65}, p2 = {35, 89, 79};
  auto s = m.new_session();
  REQUIRE(s);
  auto opt = greedy(6);
  opt.model_stop_ids = false;
  auto a = s->generate(p1, opt);
  REQUIRE(a);
  REQUIRE(a->tokens.size() == 6);
  CHECK(s->tokens().size() == p1.size() + 6);
  CHECK(s->cached_tokens() == p1.size() + 5);  // the last sampled token waits for the next call
  auto b = s->generate(p2, opt);
  REQUIRE(b);
  CHECK(b->stats.cached_tokens == p1.size() + 5);
  CHECK(b->stats.prompt_tokens == p2.size() + 1);

  std::vector<std::int32_t> all = p1;
  all.insert(all.end(), a->tokens.begin(), a->tokens.end());
  all.insert(all.end(), p2.begin(), p2.end());
  auto fresh = m.new_session();
  auto c = fresh->generate(all, opt);
  REQUIRE(c);
  CHECK(c->stats.prompt_tokens == all.size());
  CHECK(c->tokens == b->tokens);

  const std::size_t held = fresh->tokens().size();
  const std::vector<std::int32_t> bad_id = {1, 384};
  auto outside = fresh->generate(bad_id, opt);
  REQUIRE(!outside);
  CHECK(outside.err().message.find("vocabulary") != std::string::npos);
  CHECK(fresh->tokens().size() == held);

  auto with_stop = opt;
  with_stop.stop_strings = {"the"};
  auto refused = fresh->generate(p2, with_stop);
  REQUIRE(!refused);
  CHECK(refused.err().message.find("tokenizer") != std::string::npos);
}

TEST_CASE("api: chat turns reuse the cache", "[api]") {
  auto m = open_or_fail(default_model);
  auto s = m.new_session();
  REQUIRE(s);
  auto t1 = s->chat("Hello there", greedy(12));
  REQUIRE(t1);
  const std::size_t after_first = s->tokens().size();
  const std::vector<tqlib::tokenizer::chat_message> next = {{"user", "What is the city?"}};
  auto rendered = s->render_turn(next);
  REQUIRE(rendered);
  auto t2 = s->chat(next, greedy(12));
  REQUIRE(t2);
  CHECK(t2->stats.cached_tokens == after_first - 1);
  CHECK(t2->stats.prompt_tokens == m.tokenize(*rendered)->size() + 1);
  CHECK(t2->stats.prompt_tokens < after_first);
}

TEST_CASE("api: compute_logits and perplexity agree", "[api]") {
  auto m = open_or_fail(tiny_model);
  std::vector<std::int32_t> ids;
  for (int i = 0; i < 48; ++i) ids.push_back((i * 37 + 11) % 384);
  auto l = tqlib::compute_logits(m, std::span(ids).first(16), {});
  REQUIRE(l);
  REQUIRE(l->size() == 16 * 384);
  tqlib::perplexity_options po;
  po.window = 16;
  std::size_t calls = 0;
  po.on_window = [&](std::size_t, std::size_t, double) { ++calls; };
  auto p = tqlib::perplexity(m, ids, po);
  REQUIRE(p);
  CHECK(p->windows == 3);
  CHECK(calls == 3);
  CHECK(p->tokens == 45);
  CHECK(p->ppl > 1.0);  // random weights: far from a trained model's, but finite
  CHECK(std::isfinite(p->ppl));
  po.window = 1;
  CHECK(!tqlib::perplexity(m, ids, po));
}

// Mean NLL of ids[from..W-1] of each window of W, from compute_logits (an independent path).
static double nll_from_logits(const tqlib::model_handle& m, std::vector<std::int32_t> ids, int W, int from,
                              std::optional<std::int32_t> first) {
  const std::size_t V = std::size_t(m.config().vocab_size);
  double sum = 0;
  std::size_t n = 0;
  for (std::size_t w = 0; w + std::size_t(W) <= ids.size(); w += std::size_t(W)) {
    std::vector<std::int32_t> win(ids.begin() + std::ptrdiff_t(w), ids.begin() + std::ptrdiff_t(w) + W);
    if (first) win[0] = *first;
    auto l = tqlib::compute_logits(m, win, {});
    REQUIRE(l);
    for (int t = from; t < W; ++t) {
      const float* row = l->data() + std::size_t(t - 1) * V;
      double mx = row[0], s = 0;
      for (std::size_t v = 0; v < V; ++v) mx = std::max(mx, double(row[v]));
      for (std::size_t v = 0; v < V; ++v) s += std::exp(double(row[v]) - mx);
      sum += std::log(s) + mx - double(row[win[std::size_t(t)]]);
      ++n;
    }
  }
  return sum / double(n);
}

TEST_CASE("api: perplexity scores only the positions asked for, as llama-perplexity does", "[api]") {
  auto m = open_or_fail(tiny_model);
  std::vector<std::int32_t> ids;
  for (int i = 0; i < 50; ++i) ids.push_back((i * 53 + 7) % 384);
  // llama-perplexity -c 16: windows of 16 (two trailing ids dropped), positions 9..15 scored.
  const auto po = tqlib::llama_perplexity_options(16);
  CHECK(po.window == 16);
  CHECK(po.score_from == 9);
  CHECK(!po.window_first_id);
  auto p = tqlib::perplexity(m, ids, po);
  REQUIRE(p);
  CHECK(p->windows == 3);
  CHECK(p->tokens == 3 * 7);
  CHECK(p->nll == Approx(nll_from_logits(m, ids, 16, 9, std::nullopt)).epsilon(1e-5));
  CHECK(p->ppl_error > 0);
  // A BOS in place of each window's first id (llama-perplexity's add_bos): different context,
  // same scored positions.
  auto pb = tqlib::perplexity(m, ids, tqlib::llama_perplexity_options(16, 1));
  REQUIRE(pb);
  CHECK(pb->tokens == 3 * 7);
  CHECK(pb->nll == Approx(nll_from_logits(m, ids, 16, 9, 1)).epsilon(1e-5));
  CHECK(pb->nll != p->nll);
  // Any other first scored position; out of range is refused.
  tqlib::perplexity_options o;
  o.window = 10;
  o.score_from = 4;
  auto p4 = tqlib::perplexity(m, ids, o);
  REQUIRE(p4);
  CHECK(p4->tokens == 5 * 6);
  CHECK(p4->nll == Approx(nll_from_logits(m, ids, 10, 4, std::nullopt)).epsilon(1e-5));
  for (int bad : {0, 10}) {
    o.score_from = bad;
    CHECK(!tqlib::perplexity(m, ids, o));
  }
  o.score_from = 1;
  o.window_first_id = 384;
  CHECK(!tqlib::perplexity(m, ids, o));
}

TEST_CASE("api: quantize_model reports each decision as data and signs", "[api]") {
  const auto dir = std::filesystem::temp_directory_path() / ("tqlib_api_test_" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  const std::string out = (dir / "tiny.mv2").string();
  tqlib::quantize_policy policy;
  policy.linear_codec = "q8";
  policy.keep = {"lm_head"};
  policy.overrides = {{"layers.1.mlp.down_proj", "f16"}};
  auto kp = tqlib::format::generate_keypair();
  REQUIRE(kp);
  tqlib::quantize_options qo;
  qo.signing_key = kp->sec;
  qo.zstd_level = 3;
  std::size_t seen = 0;
  qo.on_tensor = [&](const tqlib::tensor_report&) { ++seen; };
  auto r = tqlib::quantize_model(tiny_model, out, policy, qo);
  REQUIRE(r);
  CHECK(seen == r->tensors.size());
  CHECK(r->is_signed);
  CHECK(!r->has_tokenizer);
  for (const auto& t : r->tensors) {
    if (t.name == "model.layers.0.self_attn.q_proj.weight") {
      CHECK(t.codec == "q8");
      CHECK(t.source == tqlib::decision_source::role);
      CHECK(t.role == tqlib::model::tensor_role::linear);
      CHECK(t.rel_error > 0);
      CHECK(t.rel_error < 0.05);
    }
    if (t.name == "model.layers.1.mlp.down_proj.weight") {
      CHECK(t.codec == "f16");
      CHECK(t.source == tqlib::decision_source::override_pattern);
      CHECK(t.pattern == "layers.1.mlp.down_proj=f16");
    }
    if (t.name == "model.norm.weight") CHECK(t.codec == "f16");
  }
  CHECK(r->linear_bits_per_weight() > 8.0);
  CHECK(r->linear_bits_per_weight() < 16.0);

  tqlib::model_options o;
  o.trusted_keys = {kp->pub};
  auto m = tqlib::open_model(out, o);
  REQUIRE(m);
  CHECK(m->signature_verified());
  auto other = tqlib::format::generate_keypair();
  o.trusted_keys = {other->pub};
  auto refused = tqlib::open_model(out, o);
  REQUIRE(!refused);
  CHECK(refused.err().code == tqlib::errc::signature);

  policy.linear_codec = "no_such_codec";
  auto bad = tqlib::quantize_model(tiny_model, out + ".2", policy, {});
  REQUIRE(!bad);
  CHECK(bad.err().message.find("no_such_codec") != std::string::npos);
  std::filesystem::remove_all(dir);
}
