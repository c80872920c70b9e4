// The fuzzers' seed corpus (fuzz/seed_corpus.hpp, committed under fuzz/corpus/) is valid input
// for every reader, and regressions for what fuzzing and hostile-input review found.
#include <zstd.h>

#include <chrono>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <map>

#include "../../fuzz/seed_corpus.hpp"
#include "catch.hpp"
#include "tqlib/format/gguf.hpp"
#include "tqlib/format/hf_folder.hpp"
#include "tqlib/model/config.hpp"
#include "tqlib/tokenizer/load.hpp"

using namespace tqlib;
using namespace tqlib::format;
namespace fs = std::filesystem;

namespace {

std::vector<std::byte> read_all(const fs::path& p) {
  std::ifstream f(p, std::ios::binary);
  std::vector<char> c((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
  std::vector<std::byte> out(c.size());
  if (!c.empty()) std::memcpy(out.data(), c.data(), c.size());
  return out;
}

std::string text_of(std::span<const std::byte> b) { return {reinterpret_cast<const char*>(b.data()), b.size()}; }

// Checks one seed the way its fuzzer reads it; the seed must pass every check.
void check_valid_seed(const std::string& target, const std::string& name, std::span<const std::byte> bytes) {
  INFO(target << "/" << name);
  if (target == "fuzz_json_header") {
    auto h = mv2::parse_json_header(text_of(bytes));
    REQUIRE(h.ok());
    CHECK(mv2::parse_json_header(mv2::serialize_json_header(*h)).ok());
  } else if (target == "fuzz_safetensors") {
    if (name.ends_with(".json")) {
      auto idx = parse_safetensors_index(text_of(bytes));
      REQUIRE(idx.ok());
      CHECK(idx->size() == 2);
    } else {
      auto v = safetensors::view::parse(bytes);
      REQUIRE(v.ok());
      CHECK_FALSE(v->tensors().empty());
    }
  } else if (target == "fuzz_gguf") {
    auto v = gguf::view::parse(bytes);
    REQUIRE(v.ok());
    CHECK_FALSE(v->tensors().empty());
    for (const auto& name : v->tensor_names()) {
      auto t = v->tensor(name);  // every seed tensor has a codec and valid bytes
      INFO(name << (t ? "" : ": " + t.err().message));
      CHECK((t.ok() && t->has_value()));
    }
  } else {
    REQUIRE(target == "fuzz_mv2");
    if (name.ends_with(".bin")) {
      const auto magic = tqlib_fuzz::delta_pair_magic;
      REQUIRE(text_of(bytes.first(magic.size())) == magic);
      const std::uint32_t n = load_le<std::uint32_t>(bytes.data() + magic.size());
      const auto body = bytes.subspan(magic.size() + 4);
      auto out = delta::apply(body.first(n), body.subspan(n));
      REQUIRE(out.ok());
      CHECK(mv2::reader::open(*out).ok());
      return;
    }
    auto r = mv2::reader::open(bytes);
    REQUIRE(r.ok());
    CHECK((*r)->load_all(2).ok());
    CHECK((*r)->verify_all().ok());
    if ((*r)->is_signed()) {
      const public_key k = public_of(tqlib_fuzz::seed_signing_key());
      CHECK((*r)->verify_signature(std::span(&k, 1)).ok());
    }
  }
}

// A file from a fixed header, JSON text and data section (sized once and filled with memcpy:
// GCC 12 warns falsely about vector::insert after a std::array here).
std::vector<std::byte> craft_text(const std::string& text, std::span<const std::byte> data, std::uint16_t flags, std::uint16_t level) {
  mv2::fixed_header fh;
  fh.flags = flags;
  fh.compression_level = level;
  fh.header_size = std::uint32_t(text.size());
  const auto head = mv2::encode_fixed_header(fh);
  std::vector<std::byte> out(head.size() + text.size() + data.size());
  std::memcpy(out.data(), head.data(), head.size());
  std::memcpy(out.data() + head.size(), text.data(), text.size());
  if (!data.empty()) std::memcpy(out.data() + head.size() + text.size(), data.data(), data.size());
  return out;
}

std::vector<std::byte> craft(const mv2::json& header, std::span<const std::byte> data, std::uint16_t flags, std::uint16_t level) {
  return craft_text(header.dump(), data, flags, level);
}

// One f32 tensor 'a' of `shape` stored as the zstd frame `frame` that claims `raw_size` bytes.
std::vector<std::byte> zstd_tensor_file(std::span<const std::byte> frame, std::vector<std::uint64_t> shape, std::uint64_t raw_size) {
  mv2::json t = {{"name", "a"},         {"codec", "f32"},          {"shape", shape},
                 {"offset", 0},         {"size", frame.size()},    {"raw_size", raw_size},
                 {"compression", "zstd"}, {"blake2b", std::string(64, '0')}};
  mv2::json h = {{"format", "mv2"}, {"type", "quantum_model"}, {"tensors", mv2::json::array({t})}};
  return craft(h, frame, mv2::flag::zstd, 3);
}

}  // namespace

TEST_CASE("every generated seed is valid input for its fuzzer", "[fuzz]") {
  const auto seeds = tqlib_fuzz::make_seeds();
  std::map<std::string, int> per_target;
  for (const auto& s : seeds) {
    check_valid_seed(s.target, s.name, s.bytes);
    ++per_target[s.target];
  }
  CHECK(per_target["fuzz_mv2"] >= 6);
  CHECK(per_target["fuzz_safetensors"] >= 4);
  CHECK(per_target["fuzz_json_header"] >= 3);
  CHECK(per_target["fuzz_gguf"] >= 3);
  // The seeds cover what they claim: v3.0, zstd, a signature and a delta patch.
  bool v30 = false, zstd_flag = false, signed_flag = false, delta_flag = false;
  for (const auto& s : seeds) {
    if (s.target != "fuzz_mv2" || !s.name.ends_with(".mv2")) continue;
    auto h = mv2::parse_fixed_header(s.bytes);
    REQUIRE(h.ok());
    v30 = v30 || h->version == mv2::version_3_0;
    zstd_flag = zstd_flag || h->has(mv2::flag::zstd);
    signed_flag = signed_flag || h->has(mv2::flag::signed_ed25519);
    delta_flag = delta_flag || h->has(mv2::flag::delta);
  }
  CHECK((v30 && zstd_flag && signed_flag && delta_flag));
}

TEST_CASE("the committed corpus holds the generated seeds, all valid", "[fuzz]") {
  const fs::path corpus = fs::path(TQLIB_SOURCE_DIR) / "fuzz" / "corpus";
  for (const auto& s : tqlib_fuzz::make_seeds()) {
    const fs::path p = corpus / s.target / s.name;
    INFO(p.string() << " is missing: regenerate with build-fuzz/fuzz/make_fuzz_corpus fuzz/corpus");
    REQUIRE(fs::exists(p));
    check_valid_seed(s.target, s.name, read_all(p));
  }
}

TEST_CASE("regression: a lying zstd raw_size is rejected before any allocation", "[fuzz][mv2]") {
  // 512 real bytes in a frame that declares its content size, in a tensor that claims 16 GiB
  // (an f32 [2^32] tensor is a legal shape). The reader used to value-initialise a buffer of
  // raw_size bytes before looking at the frame: 16 GiB of memset for a 600-byte file.
  std::vector<std::byte> raw(512, std::byte{7});
  auto frame = zstd::compress(raw, 3);
  REQUIRE(frame.ok());
  const auto file = zstd_tensor_file(*frame, {std::uint64_t(1) << 32}, std::uint64_t(1) << 34);
  auto r = mv2::reader::open(file);
  if constexpr (sizeof(std::size_t) < 8) {
    // wasm32: 16 GiB cannot be addressed at all, so the header is refused when it is opened.
    REQUIRE_FALSE(r.ok());
    INFO(r.err().message);
    CHECK(r.err().message.find("'a'") != std::string::npos);
    return;
  }
  REQUIRE(r.ok());  // structure is fine; the frame is checked when the tensor is read
  const auto t0 = std::chrono::steady_clock::now();
  auto v = (*r)->verify_all();
  const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - t0).count();
  REQUIRE_FALSE(v.ok());
  CHECK(v.err().message.find("tensor 'a'") != std::string::npos);
  CHECK(v.err().message.find("raw_size") != std::string::npos);
  CHECK(ms < 1000);
}

TEST_CASE("regression: a frame without a content size cannot claim more than it can hold", "[fuzz][mv2]") {
  std::vector<std::byte> raw(4096, std::byte{1});
  zstd::cctx c(ZSTD_createCCtx());
  ZSTD_CCtx_setParameter(c.get(), ZSTD_c_contentSizeFlag, 0);
  std::vector<std::byte> frame(ZSTD_compressBound(raw.size()));
  const std::size_t n = ZSTD_compress2(c.get(), frame.data(), frame.size(), raw.data(), raw.size());
  REQUIRE_FALSE(ZSTD_isError(n));
  frame.resize(n);
  REQUIRE(ZSTD_getFrameContentSize(frame.data(), frame.size()) == ZSTD_CONTENTSIZE_UNKNOWN);
  // 1 GiB claimed by a frame of a few dozen bytes: refused without allocating it.
  // The reader is a view: the file bytes must outlive it.
  const auto lying = zstd_tensor_file(frame, {std::uint64_t(1) << 28}, std::uint64_t(1) << 30);
  auto r = mv2::reader::open(lying);
  REQUIRE(r.ok());
  auto v = (*r)->verify_all();
  REQUIRE_FALSE(v.ok());
  CHECK(v.err().message.find("can hold") != std::string::npos);
  // The honest size still decompresses (and then fails only on the dummy checksum).
  const auto honest_file = zstd_tensor_file(frame, {1024}, 4096);
  auto honest = mv2::reader::open(honest_file);
  REQUIRE(honest.ok());
  auto hv = (*honest)->verify_all();
  REQUIRE_FALSE(hv.ok());
  INFO(hv.err().message);
  CHECK(hv.err().message.find("checksum") != std::string::npos);
}

TEST_CASE("delta::apply honours the caller's reader limits", "[fuzz][delta]") {
  for (const auto& s : tqlib_fuzz::make_seeds()) {
    if (s.name != "delta_pair.bin") continue;
    const auto body = std::span(s.bytes).subspan(tqlib_fuzz::delta_pair_magic.size() + 4);
    const std::uint32_t n = load_le<std::uint32_t>(s.bytes.data() + tqlib_fuzz::delta_pair_magic.size());
    auto out = delta::apply(body.first(n), body.subspan(n), {.max_decompressed_bytes = 16});
    REQUIRE_FALSE(out.ok());
    CHECK(out.err().message.find("patch: ") == 0);
    CHECK(out.err().message.find("limit") != std::string::npos);
  }
}

TEST_CASE("model.safetensors.index.json: weight_map checked, shard names plain", "[fuzz][safetensors]") {
  auto ok = parse_safetensors_index(R"({"weight_map":{"b":"s2.safetensors","a":"s1.safetensors"}})");
  REQUIRE(ok.ok());
  CHECK((*ok)[0] == std::pair<std::string, std::string>("a", "s1.safetensors"));
  auto err = [](std::string_view t) {
    auto r = parse_safetensors_index(t);
    return r ? std::string() : r.err().message;
  };
  CHECK(err("[1]").find("JSON object") != std::string::npos);
  CHECK(err(R"({"metadata":{}})").find("weight_map") != std::string::npos);
  CHECK(err(R"({"weight_map":{"a":3}})").find("weight_map['a']") != std::string::npos);
  CHECK(err(R"({"weight_map":{"a":"../x.safetensors"}})").find("plain file name") != std::string::npos);
  CHECK(err(R"({"weight_map":{"a":".."}})").find("plain file name") != std::string::npos);
  CHECK(err(R"({"weight_map":{}})").find("no tensors") != std::string::npos);
}

TEST_CASE("regression: deeply nested JSON is refused before it can overflow the stack", "[fuzz][mv2][safetensors]") {
  // nlohmann::json copies and dumps recursively: a config object nested 200000 levels deep (a
  // 400 KB header) used to open fine and then crash read_file("config.json") with a stack
  // overflow. Now every reader refuses JSON nested deeper than max_json_depth.
  const std::size_t deep = 200000;
  const std::string nested = std::string(deep, '[') + std::string(deep, ']');
  mv2::json h = {{"format", "mv2"}, {"type", "quantum_model"}, {"tensors", mv2::json::array()}};
  std::string text = h.dump();
  text.insert(text.size() - 1, R"(,"config":{"a":)" + nested + "}");
  auto r = mv2::reader::open(craft_text(text, {}, 0, 0));
  REQUIRE_FALSE(r.ok());
  CHECK(r.err().message.find("nested deeper than 64") != std::string::npos);
  CHECK_FALSE(mv2::parse_json_header(text).ok());

  const std::string st_header = R"({"a":)" + nested + "}";
  std::vector<std::byte> st(8 + st_header.size());
  store_le<std::uint64_t>(st.data(), st_header.size());
  std::memcpy(st.data() + 8, st_header.data(), st_header.size());
  auto v = safetensors::view::parse(st);
  REQUIRE_FALSE(v.ok());
  CHECK(v.err().message.find("deeper than 64") != std::string::npos);
  CHECK_FALSE(parse_safetensors_index(R"({"weight_map":{"a":)" + nested + "}}").ok());
  // config.json and the tokenizer files come from the same untrusted folders and MV2 files.
  const auto config = model::parse_config(R"({"model_type":"qwen2","rope_scaling":)" + nested + "}");
  REQUIRE_FALSE(config.ok());
  CHECK(config.err().message.find("deeper than 64") != std::string::npos);
  const auto tok = tokenizer::detail::parse_json(R"({"model":)" + nested + "}", "tokenizer.json");
  REQUIRE_FALSE(tok.ok());
  CHECK(tok.err().message.find("deeper than 64") != std::string::npos);
  CHECK_FALSE(tokenizer::parse_vocab_remap(R"({"model_to_original":)" + nested + "}").ok());

  // The scan counts structure only: brackets inside strings, escaped quotes, and exactly the
  // limit are fine.
  CHECK(json_depth_within(R"({"s":"[[[[[[[[[[\"{{{{{{{{"})", 2));
  CHECK(json_depth_within("[[1]]", 2));
  CHECK_FALSE(json_depth_within("[[[1]]]", 2));
  // A realistic header (the generated seeds) is far from the limit.
  for (const auto& s : tqlib_fuzz::make_seeds())
    if (s.target == "fuzz_json_header") CHECK(json_depth_within(text_of(s.bytes), 8));
}
