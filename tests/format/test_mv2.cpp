#include <cstring>
#include <filesystem>
#include <fstream>

#include <unistd.h>  // getpid

#include "catch.hpp"
#include "tqlib/core/rng.hpp"
#include "tqlib/format/mv2_writer.hpp"

using namespace tqlib;
using namespace tqlib::format;
namespace fs = std::filesystem;

namespace {

std::vector<std::byte> random_bytes(std::size_t n, std::uint64_t seed, bool compressible) {
  xoshiro256ss rng(seed);
  std::vector<std::byte> b(n);
  for (auto& x : b) x = std::byte(compressible ? (rng.next() % 4) : rng.next());
  // Read as little-endian f16, clearing the top exponent bit keeps every value finite (the f16
  // codec rejects NaN/Inf) without making the bytes compressible.
  for (std::size_t i = 1; i < n; i += 2) b[i] &= std::byte{0xbf};
  return b;
}

std::vector<std::byte> floats(std::size_t n, std::uint64_t seed) {
  xoshiro256ss rng(seed);
  std::vector<std::byte> b(n * 4);
  for (std::size_t i = 0; i < n; ++i) {
    const float f = float(std::round(rng.normal() * 8) / 8);  // few distinct values: compresses
    std::memcpy(b.data() + 4 * i, &f, 4);
  }
  return b;
}

struct model {
  std::vector<std::byte> embed = floats(64 * 32, 1);
  std::vector<std::byte> norm = floats(32, 2);
  std::vector<std::byte> proj = random_bytes(16 * 32 * 2, 3, false);
  std::string tokenizer = R"({"model":{"type":"BPE"}})";
  mv2::json config = {{"model_type", "qwen2"}, {"hidden_size", 32}};
  std::vector<mv2::tensor_input> tensors() const {
    return {{"model.embed_tokens.weight", "f32", {64, 32}, embed},
            {"model.norm.weight", "f32", {32}, norm},
            {"model.layers.0.mlp.up_proj.weight", "f16", {16, 32}, proj}};
  }
  std::vector<mv2::file_input> files() const { return {{"tokenizer.json", as_bytes_of(tokenizer)}}; }
};

bool same(std::span<const std::byte> a, std::span<const std::byte> b) {
  return a.size() == b.size() && std::memcmp(a.data(), b.data(), a.size()) == 0;
}

void check_round_trip(const mv2::writer_options& o) {
  model m;
  auto file = mv2::build(m.config, m.files(), m.tensors(), o);
  INFO((file ? "" : file.err().what()));
  REQUIRE(file.ok());
  auto r = mv2::reader::open(*file);
  INFO((r ? "" : r.err().what()));
  REQUIRE(r.ok());
  const auto& rd = **r;
  CHECK(rd.header().version == o.version);
  CHECK(rd.tensor_names() == std::vector<std::string>{"model.embed_tokens.weight", "model.norm.weight",
                                                     "model.layers.0.mlp.up_proj.weight"});
  for (const auto& in : m.tensors()) {
    auto t = rd.tensor(in.name);
    REQUIRE(t.ok());
    REQUIRE(t->has_value());
    CHECK(same((*t)->bytes, in.bytes));
    CHECK((*t)->shape == std::vector<std::size_t>(in.shape.begin(), in.shape.end()));
  }
  CHECK(rd.file("tokenizer.json") == m.tokenizer);
  auto cfg = rd.file("config.json");
  REQUIRE(cfg);
  CHECK(mv2::json::parse(*cfg) == m.config);
  auto missing = rd.tensor("nope");
  REQUIRE(missing.ok());
  CHECK_FALSE(missing->has_value());
  if (o.alignment > 1) {
    CHECK(rd.header().has(mv2::flag::mmap_layout));
    CHECK(rd.data_start() % o.alignment == 0);
    for (const auto& t : rd.tensors()) CHECK(t.data.offset % o.alignment == 0);
  }
  CHECK(rd.load_all(2).ok());
  CHECK(rd.verify_all().ok());
}

}  // namespace

TEST_CASE("v3.0 round trip: uncompressed, unsigned, aligned and packed", "[mv2]") {
  mv2::writer_options o;
  o.version = mv2::version_3_0;
  check_round_trip(o);
  o.alignment = 1;
  check_round_trip(o);
}

TEST_CASE("v3.1 round trip with and without zstd", "[mv2]") {
  mv2::writer_options o;
  check_round_trip(o);
  o.zstd_level = 3;
  check_round_trip(o);
  o.alignment = 4096;
  check_round_trip(o);
}

TEST_CASE("zstd shrinks compressible tensors, leaves incompressible ones stored plain", "[mv2]") {
  model m;
  mv2::writer_options o;
  o.zstd_level = 5;
  auto file = mv2::build(m.config, m.files(), m.tensors(), o);
  REQUIRE(file.ok());
  auto r = mv2::reader::open(*file);
  REQUIRE(r.ok());
  CHECK((*r)->header().has(mv2::flag::zstd));
  CHECK((*r)->header().compression_level == 5);
  CHECK((*r)->find_tensor("model.embed_tokens.weight")->data.comp == mv2::compression::zstd);
  CHECK((*r)->find_tensor("model.embed_tokens.weight")->data.size < m.embed.size());
  CHECK((*r)->find_tensor("model.layers.0.mlp.up_proj.weight")->data.comp == mv2::compression::none);
}

TEST_CASE("uncompressed tensors are zero-copy views into the file", "[mv2]") {
  model m;
  auto file = mv2::build(m.config, m.files(), m.tensors(), {});
  REQUIRE(file.ok());
  auto r = mv2::reader::open(*file);
  REQUIRE(r.ok());
  auto t = (*r)->tensor("model.norm.weight");
  REQUIRE(t.ok());
  const auto* p = (*t)->bytes.data();
  CHECK(p >= file->data());
  CHECK(p < file->data() + file->size());
}

TEST_CASE("the writer is deterministic and rejects bad input", "[mv2]") {
  model m;
  auto a = mv2::build(m.config, m.files(), m.tensors(), {});
  auto b = mv2::build(m.config, m.files(), m.tensors(), {});
  REQUIRE(a.ok());
  REQUIRE(b.ok());
  CHECK(*a == *b);

  auto ts = m.tensors();
  ts[1].shape = {33};
  auto bad = mv2::build(m.config, m.files(), ts, {});
  REQUIRE_FALSE(bad.ok());
  CHECK(bad.err().message.find("model.norm.weight") != std::string::npos);

  ts = m.tensors();
  ts[1].codec = "q99";
  bad = mv2::build(m.config, m.files(), ts, {});
  REQUIRE_FALSE(bad.ok());
  CHECK(bad.err().message.find("q99") != std::string::npos);

  ts = m.tensors();
  ts.push_back(ts[0]);
  bad = mv2::build(m.config, m.files(), ts, {});
  REQUIRE_FALSE(bad.ok());
  CHECK(bad.err().message.find("twice") != std::string::npos);

  mv2::writer_options o;
  o.version = mv2::version_3_0;
  o.zstd_level = 3;
  bad = mv2::build(m.config, m.files(), m.tensors(), o);
  REQUIRE_FALSE(bad.ok());
  CHECK(bad.err().message.find("v3.0") != std::string::npos);
}

TEST_CASE("fixed header fields sit at the documented offsets", "[mv2]") {
  model m;
  mv2::writer_options o;
  o.zstd_level = 7;
  auto file = mv2::build(m.config, m.files(), m.tensors(), o);
  REQUIRE(file.ok());
  const std::byte* p = file->data();
  CHECK(std::memcmp(p, "OKLOMV", 6) == 0);
  CHECK(load_le<std::uint16_t>(p + 6) == 0x0003);
  CHECK(load_le<std::uint32_t>(p + 8) == 0x00030001u);
  const auto hsize = load_le<std::uint32_t>(p + 12);
  CHECK(std::to_integer<char>(p[84]) == '{');
  CHECK(84 + hsize <= file->size());
  CHECK((84 + hsize) % 64 == 0);
  CHECK((load_le<std::uint16_t>(p + 16) & 1) == 1);
  CHECK(load_le<std::uint16_t>(p + 18) == 7);
  auto parsed = mv2::json::parse(std::string(reinterpret_cast<const char*>(p + 84), hsize));
  CHECK(parsed["format"] == "mv2");
  CHECK(parsed["tensors"].size() == 3);
}

TEST_CASE("write() replaces the target atomically and leaves no temporary files", "[mv2]") {
  const fs::path dir = fs::temp_directory_path() / ("tqlib_mv2_" + std::to_string(::getpid()));
  fs::create_directories(dir);
  const std::string path = (dir / "m.mv2").string();
  { std::ofstream(path) << "old contents"; }
  model m;
  auto ts = m.tensors();
  ts[0].codec = "nope";
  REQUIRE_FALSE(mv2::write(path, m.config, m.files(), ts).ok());
  {
    std::ifstream in(path);
    std::string s((std::istreambuf_iterator<char>(in)), {});
    CHECK(s == "old contents");  // a failed write loses nothing
  }
  REQUIRE(mv2::write(path, m.config, m.files(), m.tensors()).ok());
  auto r = mv2::open_file(path);
  REQUIRE(r.ok());
  CHECK((*r)->tensor_names().size() == 3);
  std::size_t entries = 0;
  for ([[maybe_unused]] auto& e : fs::directory_iterator(dir)) ++entries;
  CHECK(entries == 1);
  fs::remove_all(dir);
}
