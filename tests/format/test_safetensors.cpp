#include <filesystem>
#include <fstream>

#include <unistd.h>  // getpid

#include "catch.hpp"
#include "mv2_fixture.hpp"
#include "tqlib/format/hf_folder.hpp"

using namespace mv2_fixture;
namespace st = tqlib::format::safetensors;
namespace fs = std::filesystem;

namespace {
std::vector<std::byte> sample(const model& m) {
  std::vector<st::tensor_input> ts = {{"a", "F32", {16, 8}, m.embed}, {"b", "F16", {4, 8}, m.proj}, {"c", "I8", {3}, std::span(m.norm).first(3)}};
  auto b = st::build(ts, {{"format", "pt"}});
  REQUIRE(b.ok());
  return *b;
}
std::string parse_error(std::span<const std::byte> f) {
  auto v = st::view::parse(f);
  return v ? std::string() : v.err().message;
}
}  // namespace

TEST_CASE("safetensors round trip, zero-copy, typed views", "[safetensors]") {
  model m;
  auto f = sample(m);
  auto v = st::view::parse(f);
  REQUIRE(v.ok());
  CHECK(v->metadata().at("format") == "pt");
  auto a = v->tensor("a");
  REQUIRE(a.ok());
  REQUIRE(a->has_value());
  CHECK((*a)->codec == codec::codec_id::f32);
  CHECK(same((*a)->bytes, m.embed));
  CHECK((*a)->bytes.data() >= f.data());
  auto c = v->tensor("c");
  REQUIRE_FALSE(c.ok());
  CHECK(c.err().message.find("I8") != std::string::npos);
  CHECK(v->find("c")->dtype->bytes == 1);
}

TEST_CASE("safetensors hostile input: truncation, lengths, offsets, holes", "[safetensors]") {
  model m;
  auto f = sample(m);
  for (std::size_t n = 0; n < f.size(); ++n) CHECK_FALSE(parse_error(std::span(f).first(n)).empty());
  auto big = f;
  store_le<std::uint64_t>(big.data(), ~std::uint64_t(0));
  CHECK(parse_error(big).find("header length") != std::string::npos);
  auto craft = [](const std::string& header, std::size_t data) {
    std::vector<std::byte> out(8 + header.size() + data);
    store_le<std::uint64_t>(out.data(), header.size());
    std::memcpy(out.data() + 8, header.data(), header.size());
    return out;
  };
  CHECK(parse_error(craft(R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}})", 8)).empty());
  CHECK(parse_error(craft(R"({"a":{"dtype":"F32","shape":[3],"data_offsets":[0,8]}})", 8)).find("'a'") != std::string::npos);
  CHECK(parse_error(craft(R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[0,16]}})", 8)).find("outside") != std::string::npos);
  CHECK(parse_error(craft(R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[8,0]}})", 8)).find("outside") != std::string::npos);
  CHECK(parse_error(craft(R"({"a":{"dtype":"Q9","shape":[2],"data_offsets":[0,8]}})", 8)).find("Q9") != std::string::npos);
  CHECK(parse_error(craft(R"({"a":{"dtype":"F32","shape":[-2],"data_offsets":[0,8]}})", 8)).find("shape") != std::string::npos);
  CHECK(parse_error(craft(R"({"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},"b":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}})", 8))
            .find("overlap") != std::string::npos);
  CHECK(parse_error(craft(R"({"a":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}})", 8)).find("hole") != std::string::npos);
  CHECK(parse_error(craft(R"({"a":{"dtype":"F32","shape":[4294967296,4294967296,16],"data_offsets":[0,8]}})", 8)).find("overflow") !=
        std::string::npos);
  CHECK(parse_error(craft("[1,2]", 0)).find("not a JSON object") != std::string::npos);
}

TEST_CASE("Hugging Face folder: single file and sharded index", "[safetensors]") {
  model m;
  const fs::path dir = fs::temp_directory_path() / ("tqlib_hf_" + std::to_string(::getpid()));
  fs::create_directories(dir);
  std::vector<st::tensor_input> s1 = {{"model.a", "F32", {16, 8}, m.embed}};
  std::vector<st::tensor_input> s2 = {{"model.b", "F16", {4, 8}, m.proj}};
  REQUIRE(st::write((dir / "model-00001-of-00002.safetensors").string(), s1).ok());
  REQUIRE(st::write((dir / "model-00002-of-00002.safetensors").string(), s2).ok());
  { std::ofstream(dir / "config.json") << R"({"model_type":"qwen2"})"; }
  {
    std::ofstream(dir / "model.safetensors.index.json")
        << R"({"metadata":{},"weight_map":{"model.a":"model-00001-of-00002.safetensors","model.b":"model-00002-of-00002.safetensors"}})";
  }
  auto f = hf_folder::open(dir.string());
  REQUIRE(f.ok());
  CHECK((*f)->tensor_names() == std::vector<std::string>{"model.a", "model.b"});
  auto b = (*f)->tensor("model.b");
  REQUIRE(b.ok());
  REQUIRE(b->has_value());
  CHECK(same((*b)->bytes, m.proj));
  CHECK((*f)->file("config.json") == R"({"model_type":"qwen2"})");
  CHECK_FALSE((*f)->file("../etc/passwd"));
  { std::ofstream(dir / "model.safetensors.index.json") << R"({"weight_map":{"model.a":"../x.safetensors"}})"; }
  auto bad = hf_folder::open(dir.string());
  REQUIRE_FALSE(bad.ok());
  CHECK(bad.err().message.find("plain file name") != std::string::npos);
  { std::ofstream(dir / "model.safetensors.index.json") << R"({"weight_map":{"model.zzz":"model-00001-of-00002.safetensors"}})"; }
  bad = hf_folder::open(dir.string());
  REQUIRE_FALSE(bad.ok());
  CHECK(bad.err().message.find("model.zzz") != std::string::npos);
  fs::remove(dir / "model.safetensors.index.json");
  REQUIRE(st::write((dir / "model.safetensors").string(), s1).ok());
  auto single = hf_folder::open(dir.string());
  REQUIRE(single.ok());
  CHECK((*single)->tensor_names() == std::vector<std::string>{"model.a"});
  fs::remove_all(dir);
}
