// The C++ API over GGUF files: the embedded model in llama.cpp's Q4_K_M mix (Q4_K and Q6_K, with
// Q5_0 / Q8_0 for the rows that are not whole 256-weight super-blocks, as llama-quantize falls
// back) quantized and exported by the API itself, then opened from the file and from memory: the
// same greedy text and logits as the MV2 file it was exported from (the same blocks), and its
// quantized tensors kept byte for byte by quantize_model.
#include <catch.hpp>

#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <memory>
#include <set>
#include <span>
#include <string>
#include <vector>

#include "tqlib/api.hpp"
#include "tqlib/format/gguf_export.hpp"

namespace {

namespace fs = std::filesystem;

const std::string float_model = std::string(TQLIB_SOURCE_DIR) + "/models/default-float";

struct scratch {
  fs::path dir = fs::temp_directory_path() / ("tqlib-gguf-api-" + std::to_string(::getpid()));
  scratch() { fs::create_directories(dir); }
  ~scratch() {
    std::error_code ec;
    fs::remove_all(dir, ec);
  }
};

tqlib::model_handle open_or_fail(const std::string& path) {
  auto m = tqlib::open_model(path);
  if (!m) FAIL(m.err().what());
  return *m;
}

std::vector<std::int32_t> greedy_ids(const tqlib::model_handle& m, int n) {
  auto s = m.new_session();
  REQUIRE(s);
  tqlib::generate_options g;
  g.sampling.temperature = 0;
  g.max_tokens = n;
  g.model_stop_ids = false;
  auto r = s->generate("The old man looked at the sea and", g);
  REQUIRE(r);
  return r->tokens;
}

}  // namespace

TEST_CASE("api: a Q4_K_M GGUF of the embedded model runs as the MV2 file it came from", "[api][gguf]") {
  scratch tmp;
  const std::string mv2 = (tmp.dir / "q4_k_m.mv2").string(), gguf = (tmp.dir / "q4_k_m.gguf").string();
  tqlib::quantize_policy policy;
  policy.linear_codec = "q4_k";
  policy.embed_codec = "q8";
  policy.keep_codec = "f32";
  for (const char* o : {"model.layers.0.mlp.down_proj.weight=q6_k", "model.layers.5.mlp.down_proj.weight=q6_k"})
    policy.overrides.push_back(*tqlib::quantize_policy::parse_override(o));
  tqlib::quantize_options qo;
  qo.fallback_codec = "q5_0";
  auto q = tqlib::quantize_model(float_model, mv2, policy, qo);
  REQUIRE(q);
  auto from_mv2 = open_or_fail(mv2);
  REQUIRE(tqlib::format::gguf::export_gguf(from_mv2.source(), gguf));

  auto m = open_or_fail(gguf);
  CHECK(m.mv2() == nullptr);
  REQUIRE(m.tokenizer() != nullptr);
  CHECK(m.config().vocab_size == 16384);
  // Every codec of the mix is there.
  std::set<std::string> codecs;
  for (const auto& name : m.source().tensor_names()) codecs.insert(std::string(tqlib::format::find_codec(m.source().tensor(name)->value().codec)->name));
  CHECK(codecs == std::set<std::string>{"f32", "q4_k", "q5_0", "q6_k", "q8"});

  const auto want = greedy_ids(from_mv2, 24);
  CHECK(greedy_ids(m, 24) == want);
  const auto ids = *m.tokenize("Once upon a time there was");
  auto l_gguf = tqlib::compute_logits(m, ids, m.default_run_options());
  auto l_mv2 = tqlib::compute_logits(from_mv2, ids, from_mv2.default_run_options());
  REQUIRE(l_gguf);
  REQUIRE(l_mv2);
  CHECK(*l_gguf == *l_mv2);

  // From memory, as the browser engine opens it.
  std::ifstream in(gguf, std::ios::binary);
  auto bytes = std::make_shared<std::vector<char>>(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
  const std::span<const std::byte> span(reinterpret_cast<const std::byte*>(bytes->data()), bytes->size());
  auto mem = tqlib::open_model_bytes(span, bytes);
  if (!mem) FAIL(mem.err().what());
  CHECK(greedy_ids(*mem, 24) == want);

  // quantize_model keeps a GGUF's quantized tensors as they are when no codec is given.
  tqlib::quantize_policy keep;
  keep.keep_codec = "f32";  // the norms, as the file has them
  const std::string back = (tmp.dir / "back.mv2").string();
  auto r = tqlib::quantize_model(gguf, back, keep, {});
  REQUIRE(r);
  std::size_t imported = 0;
  for (const auto& t : r->tensors) imported += t.source == tqlib::decision_source::imported;
  CHECK(imported == 43);  // 4 q4_k + 2 q6_k + 36 q5_0 + the q8 embedding
  auto again = open_or_fail(back);
  for (const auto& name : again.source().tensor_names()) {
    const auto a = again.source().tensor(name)->value().bytes, b = from_mv2.source().tensor(name)->value().bytes;
    CHECK(std::equal(a.begin(), a.end(), b.begin(), b.end()));  // (libc++ 13, Emscripten's, has no ranges::equal)
  }
}
