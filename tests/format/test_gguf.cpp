// GGUF reader and writer: round trips of every metadata value type, files written by llama.cpp's
// own gguf-py (tests/format/fixtures/gguf_py_reference.*, scripts/reference/make-gguf-fixtures),
// the committed file tqlib's writer makes for gguf-py to read back, and hostile input: each
// malformed file must be refused with a message that names what is wrong.
#include <nlohmann/json.hpp>

#include <cmath>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>

#include <unistd.h>

#include "catch.hpp"
#include "tqlib/codec/registry.hpp"
#include "tqlib/core/float16.hpp"
#include "tqlib/format/gguf.hpp"
#include "tqlib/format/gguf_writer.hpp"

using namespace tqlib;
using namespace tqlib::format;
namespace fs = std::filesystem;
using gguf::value_type;

namespace {

const fs::path fixtures = fs::path(TQLIB_SOURCE_DIR) / "tests" / "format" / "fixtures";

std::vector<std::byte> read_all(const fs::path& p) {
  std::ifstream f(p, std::ios::binary);
  std::vector<char> c((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
  std::vector<std::byte> out(c.size());
  if (!c.empty()) std::memcpy(out.data(), c.data(), c.size());
  return out;
}

std::span<const std::byte> bytes_of(const std::vector<float>& v) { return std::as_bytes(std::span(v)); }

std::vector<float> ramp(std::size_t n, float scale, double phase = 0.1) {
  std::vector<float> v(n);
  for (std::size_t i = 0; i < n; ++i) v[i] = scale * float(std::sin(0.37 * double(i) + phase));
  return v;
}

// The error message of a parse that must fail.
std::string parse_error(std::span<const std::byte> file) {
  auto v = gguf::view::parse(file);
  if (v) return "(parsed fine)";
  return v.err().message;
}

// A raw GGUF builder for files the writer refuses to make.
struct raw {
  std::vector<std::byte> b;
  raw& u8(std::uint8_t v) { return put(v); }
  raw& u32(std::uint32_t v) { return put(v); }
  raw& u64(std::uint64_t v) { return put(v); }
  raw& str(std::string_view s) {
    u64(s.size());
    for (char c : s) b.push_back(std::byte(c));
    return *this;
  }
  raw& header(std::uint32_t version, std::uint64_t tensors, std::uint64_t kvs) {
    for (char c : std::string_view("GGUF")) b.push_back(std::byte(c));
    return u32(version).u64(tensors).u64(kvs);
  }
  raw& tensor(std::string_view name, std::vector<std::uint64_t> ne, std::uint32_t type, std::uint64_t offset) {
    str(name).u32(std::uint32_t(ne.size()));
    for (auto d : ne) u64(d);
    return u32(type).u64(offset);
  }
  raw& pad(std::size_t a = 32) { return zeros((a - b.size() % a) % a); }
  // Byte by byte: GCC 12 warns falsely (-Wstringop-overflow) about resize() after push_back here.
  raw& zeros(std::size_t n) {
    for (std::size_t i = 0; i < n; ++i) b.push_back(std::byte{0});
    return *this;
  }
  template <class T>
  raw& put(T v) {
    std::byte tmp[sizeof(T)];
    store_le<T>(tmp, v);
    for (auto x : tmp) b.push_back(x);
    return *this;
  }
};

// The file whose committed copy gguf-py checks (scripts/reference/gguf_fixtures.py check): keep
// both sides in step.
std::vector<float> tqlib_written_f32() {
  std::vector<float> v(12);
  for (int i = 0; i < 12; ++i) v[std::size_t(i)] = float(i) * 0.5f - 2.f;
  return v;
}

std::vector<std::byte> make_tqlib_written() {
  static const std::vector<float> f32 = tqlib_written_f32();
  static const std::vector<std::byte> f16 = [] {
    std::vector<std::byte> b(16);
    for (int i = 0; i < 8; ++i) store_le<std::uint16_t>(b.data() + 2 * i, f32_to_f16(float(i - 4)));
    return b;
  }();
  static const std::vector<std::byte> q8 = [] {
    auto w = ramp(128, 1.f, 0.3);
    auto r = codec::q8_ops().encode(w.data(), 2, 64, {});
    return *r;
  }();
  static const std::vector<std::byte> tq2 = [] {
    auto w = ramp(256, 1.f, 0.3);
    for (auto& x : w) x = std::round(x);
    auto r = codec::tq2_0_ops().encode(w.data(), 1, 256, {});
    return *r;
  }();
  gguf::writer w(64);
  w.add_string("general.architecture", "tqlib");
  w.add_u8("t.u8", 250).add_i8("t.i8", -5).add_u16("t.u16", 65000).add_i16("t.i16", -12345);
  w.add_u32("t.u32", 3000000000u).add_i32("t.i32", -123456789);
  w.add_u64("t.u64", ~std::uint64_t(0) - 1).add_i64("t.i64", INT64_MIN + 1);
  w.add_f32("t.f32", 0.1f).add_f64("t.f64", 0.1).add_bool("t.bool", true);
  w.add_string("t.string", "gr\xc3\xbc\xc3\x9f \xe2\x98\x83");
  w.add_array("t.arr.u16", gguf::number_array(std::vector<std::uint16_t>{1, 2, 65535}));
  w.add_array("t.arr.i64", gguf::number_array(std::vector<std::int64_t>{-1, std::int64_t(1) << 62}));
  w.add_array("t.arr.f32", gguf::number_array(std::vector<float>{1.5f, -0.25f}));
  w.add_array("t.arr.f64", gguf::number_array(std::vector<double>{0.125}));
  const bool bools[] = {false, true};
  w.add_array("t.arr.bool", gguf::bool_array(bools));
  w.add_array("t.arr.string", gguf::string_array(std::vector<std::string>{"one", "", "dr\xc3\xa9i"}));
  const gguf::array_value inner[] = {gguf::number_array(std::vector<std::int32_t>{1, 2}),
                                     gguf::number_array(std::vector<std::int32_t>{3})};
  w.add_array("t.arr.nested", gguf::nested_array(inner));
  w.add_tensor("w.f32", codec::codec_id::f32, {3, 4}, bytes_of(f32));
  w.add_tensor("w.f16", codec::codec_id::f16, {8}, f16);
  w.add_tensor("w.q8_0", codec::codec_id::q8, {2, 64}, q8);
  w.add_tensor("w.tq2_0", codec::codec_id::tq2_0, {1, 256}, tq2);
  auto out = w.build();
  REQUIRE(out.ok());
  return *out;
}

// Where tensor `name`'s info record keeps its fields.
struct info_fields {
  std::size_t ne0, type, offset;
};
info_fields fields_of(const gguf::view& v, std::string_view name) {
  const auto* t = v.find_tensor(name);
  REQUIRE(t);
  const std::size_t at = std::size_t(t->info_offset) + 8 + t->name.size();
  return {at + 4, at + 4 + 8 * t->n_dims, at + 4 + 8 * t->n_dims + 4};
}

}  // namespace

TEST_CASE("writer -> reader round trip of every value type", "[gguf]") {
  const auto f32 = ramp(24, 2.f);
  const auto q8w = ramp(96, 0.7f);
  auto q8 = codec::q8_ops().encode(q8w.data(), 3, 32, {});
  REQUIRE(q8.ok());
  for (std::uint32_t alignment : {1u, 32u, 128u}) {
    INFO("alignment " << alignment);
    gguf::writer w(alignment);
    w.add_u8("a.u8", 7).add_i8("a.i8", -8).add_u16("a.u16", 65535).add_i16("a.i16", -32768);
    w.add_u32("a.u32", 0xffffffffu).add_i32("a.i32", INT32_MIN).add_u64("a.u64", ~std::uint64_t(0));
    w.add_i64("a.i64", INT64_MIN).add_f32("a.f32", -1.5e-3f).add_f64("a.f64", 1e300);
    w.add_bool("a.true", true).add_bool("a.false", false).add_string("a.str", "x\xe2\x9c\x93").add_string("a.empty", "");
    w.add_array("b.u8", gguf::number_array(std::vector<std::uint8_t>{0, 255}));
    w.add_array("b.i8", gguf::number_array(std::vector<std::int8_t>{-128, 127}));
    w.add_array("b.u16", gguf::number_array(std::vector<std::uint16_t>{9}));
    w.add_array("b.i16", gguf::number_array(std::vector<std::int16_t>{-9, 9}));
    w.add_array("b.u32", gguf::number_array(std::vector<std::uint32_t>{151643, 151645}));
    w.add_array("b.i32", gguf::number_array(std::vector<std::int32_t>{-1, 1, 3}));
    w.add_array("b.u64", gguf::number_array(std::vector<std::uint64_t>{5, std::uint64_t(1) << 40}));
    w.add_array("b.i64", gguf::number_array(std::vector<std::int64_t>{-5}));
    w.add_array("b.f32", gguf::number_array(std::vector<float>{0.f, -0.f, 1e-30f}));
    w.add_array("b.f64", gguf::number_array(std::vector<double>{}));
    const bool bools[] = {true, true, false};
    w.add_array("b.bool", gguf::bool_array(bools));
    w.add_array("b.str", gguf::string_array(std::vector<std::string_view>{"\xc4\xa0the", "", "<|im_end|>"}));
    const gguf::array_value level1[] = {gguf::string_array(std::vector<std::string>{"p", "q"}), gguf::string_array(std::vector<std::string>{})};
    const gguf::array_value level2[] = {gguf::nested_array(level1), gguf::number_array(std::vector<float>{2.5f})};
    w.add_array("b.nested", gguf::nested_array(level2));
    w.add_tensor("t.f32", codec::codec_id::f32, {2, 3, 4}, bytes_of(f32));
    w.add_tensor("t.q8", codec::codec_id::q8, {3, 32}, *q8);
    w.add_tensor("t.empty", gguf::ggml_types[0], {0, 5}, {});
    auto file = w.build();
    REQUIRE(file.ok());
    auto v = gguf::view::parse(*file);
    INFO((v ? "" : v.err().message));
    REQUIRE(v.ok());
    CHECK(v->version() == 3);
    CHECK(v->alignment() == alignment);
    CHECK(v->has("general.alignment") == (alignment != 32));
    CHECK(*v->get_u8("a.u8") == 7);
    CHECK(*v->get_i8("a.i8") == -8);
    CHECK(*v->get_u16("a.u16") == 65535);
    CHECK(*v->get_i16("a.i16") == -32768);
    CHECK(*v->get_u32("a.u32") == 0xffffffffu);
    CHECK(*v->get_i32("a.i32") == INT32_MIN);
    CHECK(*v->get_u64("a.u64") == ~std::uint64_t(0));
    CHECK(*v->get_i64("a.i64") == INT64_MIN);
    CHECK(*v->get_f32("a.f32") == -1.5e-3f);
    CHECK(*v->get_f64("a.f64") == 1e300);
    CHECK(*v->get_bool("a.true"));
    CHECK_FALSE(*v->get_bool("a.false"));
    CHECK(*v->get_string("a.str") == "x\xe2\x9c\x93");
    CHECK(v->get_string("a.empty")->empty());
    CHECK(*v->get_uint("a.u8") == 7);
    CHECK(*v->get_uint("a.u32") == 0xffffffffu);
    CHECK(*v->get_float("a.f32") == double(-1.5e-3f));
    CHECK(*v->get_ints("b.u8") == std::vector<std::int64_t>{0, 255});
    CHECK(*v->get_ints("b.i8") == std::vector<std::int64_t>{-128, 127});
    CHECK(*v->get_ints("b.u16") == std::vector<std::int64_t>{9});
    CHECK(*v->get_ints("b.i16") == std::vector<std::int64_t>{-9, 9});
    CHECK(*v->get_ints("b.u32") == std::vector<std::int64_t>{151643, 151645});
    CHECK(*v->get_ints("b.i32") == std::vector<std::int64_t>{-1, 1, 3});
    CHECK(*v->get_ints("b.u64") == std::vector<std::int64_t>{5, std::int64_t(1) << 40});
    CHECK(*v->get_ints("b.i64") == std::vector<std::int64_t>{-5});
    const auto fl = *v->get_f32s("b.f32");
    REQUIRE(fl.size() == 3);
    CHECK((fl[0] == 0.f && std::signbit(fl[1]) && fl[2] == 1e-30f));
    const auto* f64s = *v->get_array("b.f64");
    CHECK((f64s->elem == value_type::f64 && f64s->count == 0));
    const auto* bl = *v->get_array("b.bool");
    REQUIRE(bl->count == 3);
    CHECK(gguf::elements(*bl)[2].scalar<std::uint8_t>() == 0);
    CHECK(*v->get_strings("b.str") == std::vector<std::string_view>{"\xc4\xa0the", "", "<|im_end|>"});
    // Nested: [[["p", "q"], []], [2.5]]
    const auto* nested = *v->get_array("b.nested");
    CHECK(nested->elem == value_type::array);
    const auto outer = gguf::elements(*nested);
    REQUIRE(outer.size() == 2);
    CHECK((outer[0].elem == value_type::array && outer[1].elem == value_type::f32));
    CHECK(gguf::elements(outer[1])[0].scalar<float>() == 2.5f);
    const auto mid = gguf::elements(outer[0]);
    REQUIRE(mid.size() == 2);
    CHECK(mid[1].count == 0);
    const auto pq = gguf::elements(mid[0]);
    REQUIRE(pq.size() == 2);
    CHECK((pq[0].type == value_type::string && pq[0].text() == "p" && pq[1].text() == "q"));
    // Offsets of nested elements are file offsets.
    CHECK(std::memcmp(file->data() + pq[1].offset, "q", 1) == 0);

    REQUIRE(v->tensors().size() == 3);
    const auto* t = v->find_tensor("t.f32");
    REQUIRE(t);
    CHECK(t->n_dims == 3);
    CHECK(t->ne == std::array<std::uint64_t, 4>{4, 3, 2, 1});
    CHECK(t->type->name == "F32");
    CHECK((v->data_offset() + t->offset) % alignment == 0);
    auto tv = v->tensor("t.f32");
    REQUIRE(tv.ok());
    REQUIRE(tv->has_value());
    CHECK((*tv)->shape == std::vector<std::size_t>{2, 3, 4});
    CHECK(std::memcmp((*tv)->bytes.data(), f32.data(), 96) == 0);
    auto q = v->tensor("t.q8");
    REQUIRE(q.ok());
    CHECK((*q)->codec == codec::codec_id::q8);
    CHECK((*q)->shape == std::vector<std::size_t>{3, 32});
    CHECK(std::equal((*q)->bytes.begin(), (*q)->bytes.end(), q8->begin(), q8->end()));
    CHECK(v->find_tensor("t.empty")->size == 0);
    CHECK(v->tensor_names() == std::vector<std::string>{"t.f32", "t.q8", "t.empty"});
    CHECK_FALSE(v->tensor("absent")->has_value());
  }
}

TEST_CASE("typed getters name the key and both types on a mismatch", "[gguf]") {
  gguf::writer w;
  w.add_string("s", "text").add_i32("neg", -3).add_array("fl", gguf::number_array(std::vector<float>{1.f}));
  w.add_u64("big", ~std::uint64_t(0));
  auto file = w.build();
  REQUIRE(file.ok());
  auto v = gguf::view::parse(*file);
  REQUIRE(v.ok());
  CHECK(v->get_u32("s").err().message == "GGUF key 's' is string, expected uint32");
  CHECK(v->get_string("neg").err().message == "GGUF key 'neg' is int32, expected string");
  CHECK(v->get_u32("nope").err().message == "GGUF key 'nope' is missing");
  CHECK(v->get_strings("fl").err().message == "GGUF key 'fl' is array of float32, expected array of string");
  CHECK(v->get_ints("fl").err().message == "GGUF key 'fl' is array of float32, expected an array of integers");
  CHECK(v->get_f32s("s").err().message == "GGUF key 's' is string, expected array of float32");
  CHECK(v->get_uint("neg").err().message.find("expected >= 0") != std::string::npos);
  CHECK(v->get_uint("big").err().message.find("above 2^63 - 1") != std::string::npos);
  CHECK(v->get_float("s").err().message == "GGUF key 's' is string, expected float32 or float64");
  CHECK(v->get_array("s").err().message == "GGUF key 's' is string, expected an array");
}

TEST_CASE("tqlib_written.gguf (read by gguf-py) is what the writer writes", "[gguf]") {
  const auto made = make_tqlib_written();
  if (const char* out = std::getenv("TQLIB_WRITE_GGUF_FIXTURE")) {
    // Regenerates the fixture, through the streaming writer (which must agree with build()).
    std::ofstream(out, std::ios::binary).write(reinterpret_cast<const char*>(made.data()), std::streamsize(made.size()));
  }
  const auto committed = read_all(fixtures / "tqlib_written.gguf");
  INFO("regenerate: TQLIB_WRITE_GGUF_FIXTURE=tests/format/fixtures/tqlib_written.gguf build/tests/test_format_gguf, "
       "then scripts/reference/make-gguf-fixtures");
  CHECK(committed == made);
  // write() streams the same bytes to disk, through a temporary file.
  const fs::path tmp = fs::temp_directory_path() / ("tqlib_gguf_" + std::to_string(::getpid()) + ".gguf");
  {
    gguf::writer w(64);
    const auto f32 = tqlib_written_f32();
    w.add_string("general.architecture", "tqlib").add_tensor("w", codec::codec_id::f32, {3, 4}, bytes_of(f32));
    REQUIRE(w.write(tmp.string()).ok());
    auto built = w.build();
    REQUIRE(built.ok());
    CHECK(read_all(tmp) == *built);
    auto src = gguf::file_source::open(tmp.string());
    REQUIRE(src.ok());
    CHECK((*src)->tensor_names() == std::vector<std::string>{"w"});
  }
  fs::remove(tmp);
  auto v = gguf::view::parse(committed);
  REQUIRE(v.ok());
  CHECK(*v->get_u64("t.u64") == ~std::uint64_t(0) - 1);
  CHECK(*v->get_string("t.string") == "gr\xc3\xbc\xc3\x9f \xe2\x98\x83");
}

TEST_CASE("tqlib reads exactly what llama.cpp's gguf-py wrote", "[gguf]") {
  const auto file = read_all(fixtures / "gguf_py_reference.gguf");
  std::ifstream jf(fixtures / "gguf_py_reference.json");
  const auto doc = nlohmann::json::parse(jf);
  auto v = gguf::view::parse(file);
  INFO((v ? "" : v.err().message));
  REQUIRE(v.ok());
  CHECK(v->alignment() == doc["alignment"].get<std::uint32_t>());
  CHECK(v->data_offset() == doc["data_offset"].get<std::uint64_t>());

  // Every key, in file order, with gguf-py's types and values.
  REQUIRE(v->metadata().size() == doc["keys"].size());
  for (std::size_t i = 0; i < v->metadata().size(); ++i) {
    const auto& kv = v->metadata()[i];
    const auto& want = doc["keys"][i];
    INFO(want["key"].get<std::string>());
    CHECK(kv.key == want["key"].get<std::string>());
    const auto types = want["types"].get<std::vector<std::uint32_t>>();
    CHECK(std::uint32_t(kv.val.type) == types[0]);
    // Nested arrays: walk down the first element of each level, as gguf-py lists its types.
    gguf::value level = kv.val;
    for (std::size_t d = 1; d < types.size(); ++d) {
      CHECK(std::uint32_t(level.elem) == types[d]);
      if (level.elem != value_type::array || level.count == 0) break;
      level = gguf::elements(level)[0];
    }
    const auto& val = want["value"];
    if (val.is_null()) continue;
    auto scalar = [&](const gguf::value& x, const nlohmann::json& j) {
      switch (x.type) {
        case value_type::u8: CHECK(x.scalar<std::uint8_t>() == j.get<std::uint8_t>()); break;
        case value_type::i8: CHECK(x.scalar<std::int8_t>() == j.get<std::int8_t>()); break;
        case value_type::u16: CHECK(x.scalar<std::uint16_t>() == j.get<std::uint16_t>()); break;
        case value_type::i16: CHECK(x.scalar<std::int16_t>() == j.get<std::int16_t>()); break;
        case value_type::u32: CHECK(x.scalar<std::uint32_t>() == j.get<std::uint32_t>()); break;
        case value_type::i32: CHECK(x.scalar<std::int32_t>() == j.get<std::int32_t>()); break;
        case value_type::u64: CHECK(x.scalar<std::uint64_t>() == j.get<std::uint64_t>()); break;
        case value_type::i64: CHECK(x.scalar<std::int64_t>() == j.get<std::int64_t>()); break;
        case value_type::f32: CHECK(x.scalar<float>() == float(j.get<double>())); break;
        case value_type::f64: CHECK(x.scalar<double>() == j.get<double>()); break;
        case value_type::boolean: CHECK((x.scalar<std::uint8_t>() != 0) == j.get<bool>()); break;
        case value_type::string: CHECK(x.text() == j.get<std::string>()); break;
        case value_type::array: FAIL("nested"); break;
      }
    };
    if (kv.val.type == value_type::array) {
      const auto els = gguf::elements(kv.val);
      REQUIRE(els.size() == val.size());
      for (std::size_t e = 0; e < els.size(); ++e) scalar(els[e], val[e]);
    } else {
      scalar(kv.val, val);
    }
  }
  // The typed getters on the same file.
  CHECK(*v->get_string("general.architecture") == "tqlibtest");
  CHECK(*v->get_u64("test.u64") == (std::uint64_t(1) << 63) + 5);
  CHECK(*v->get_strings("tokenizer.ggml.tokens") == std::vector<std::string_view>{"<|endoftext|>", "\xc4\xa0the", "a", "b"});
  CHECK(*v->get_ints("tokenizer.ggml.token_type") == std::vector<std::int64_t>{3, 1, 1, 1});
  CHECK(*v->get_f32s("tokenizer.ggml.scores") == std::vector<float>{0.f, -1.f, -2.f, -3.f});
  // Nested arrays gguf-py wrote: [[1, 2], [3]], [["x"], ["y", "z"]], [[[1]], [[2, 3]]].
  const auto n3 = gguf::elements(**v->get_array("test.arr.nested3"));
  REQUIRE(n3.size() == 2);
  const auto n3b = gguf::elements(gguf::elements(n3[1])[0]);
  REQUIRE(n3b.size() == 2);
  CHECK((n3b[0].scalar<std::int32_t>() == 2 && n3b[1].scalar<std::int32_t>() == 3));
  const auto ns = gguf::elements(**v->get_array("test.arr.nested_str"));
  REQUIRE(ns.size() == 2);
  CHECK(gguf::elements(ns[1])[1].text() == "z");

  // tqlib's table of ggml block sizes and bytes per block is gguf-py's.
  const auto sizes = *v->get_ints("test.ggml_quant_sizes");
  REQUIRE(sizes.size() % 3 == 0);
  CHECK(sizes.size() / 3 == std::size(gguf::ggml_types));
  for (std::size_t i = 0; i < sizes.size(); i += 3) {
    const auto* t = gguf::find_ggml_type(std::uint32_t(sizes[i]));
    INFO("ggml type " << sizes[i]);
    REQUIRE(t);
    CHECK(t->block_size == sizes[i + 1]);
    CHECK(t->type_size == sizes[i + 2]);
  }

  // Every tensor: type, ne, absolute offset and size as gguf-py computed them.
  REQUIRE(v->tensors().size() == doc["tensors"].size());
  for (std::size_t i = 0; i < v->tensors().size(); ++i) {
    const auto& t = v->tensors()[i];
    const auto& want = doc["tensors"][i];
    INFO(want["name"].get<std::string>());
    CHECK(t.name == want["name"].get<std::string>());
    CHECK(t.type->id == want["type"].get<std::uint32_t>());
    const auto ne = want["ne"].get<std::vector<std::uint64_t>>();
    CHECK(t.n_dims == ne.size());
    for (std::size_t d = 0; d < ne.size(); ++d) CHECK(t.ne[d] == ne[d]);
    CHECK(v->data_offset() + t.offset == want["offset"].get<std::uint64_t>());
    CHECK(t.size == want["bytes"].get<std::uint64_t>());
  }

  // The quantized tensors decode through tqlib's codecs to what gguf-py's dequantize() made of
  // them: tqlib's q8, q4_0, q4_1, q5_0, q5_1, q4_k, q5_k, q6_k, tq1_0 and tq2_0 are ggml's blocks.
  // Exactly, except where tqlib folds a block's min into one offset per block (q4_1, q5_1, q4_k,
  // q5_k: scale * (c - centre) + (centre * scale - min), a few float roundings of the row's
  // largest weight; gguf-py computes in float32 too).
  for (const char* name : {"bf16.mat", "q8_0.mat", "q4_0.mat", "tq1_0.mat", "tq2_0.mat", "q4_1.mat", "q5_0.mat", "q5_1.mat",
                           "q4_k.raw", "q5_k.raw", "q6_k.raw"}) {
    INFO(name);
    auto q = v->tensor(name);
    REQUIRE(q.ok());
    REQUIRE(q->has_value());
    auto ref = v->tensor(std::string(name) + ".ref");
    REQUIRE(ref.ok());
    const auto& tv = **q;
    REQUIRE(tv.shape.size() == 2);
    CHECK((*ref)->shape == tv.shape);
    const auto* ops = codec::find(tv.codec);
    REQUIRE(ops);
    const std::size_t rows = tv.shape[0], cols = tv.shape[1];
    const bool folded_min = tv.codec == codec::codec_id::q4_1 || tv.codec == codec::codec_id::q5_1 ||
                            tv.codec == codec::codec_id::q4_k || tv.codec == codec::codec_id::q5_k;
    std::vector<float> row(cols);
    for (std::size_t r = 0; r < rows; ++r) {
      ops->decode_row(tv.bytes, rows, cols, r, row.data());
      float row_max = 0.f;
      for (std::size_t c = 0; c < cols; ++c) row_max = std::max(row_max, std::abs(load_le<float>((*ref)->bytes.data() + 4 * (r * cols + c))));
      for (std::size_t c = 0; c < cols; ++c) {
        const float want = load_le<float>((*ref)->bytes.data() + 4 * (r * cols + c));
        if (folded_min ? !(std::abs(row[c] - want) <= 1e-6f * row_max) : row[c] != want)
          FAIL_CHECK("row " << r << " col " << c << ": tqlib " << row[c] << ", gguf-py " << want);
      }
    }
  }
  CHECK(v->tensor("q8_0.mat")->value().codec == codec::codec_id::q8);
  CHECK(v->tensor("q4_0.mat")->value().codec == codec::codec_id::q4_0);
  CHECK(v->tensor("tq1_0.mat")->value().codec == codec::codec_id::tq1_0);
  CHECK(v->tensor("tq2_0.mat")->value().codec == codec::codec_id::tq2_0);
  CHECK(v->tensor("f16.mat")->value().codec == codec::codec_id::f16);
  CHECK(v->tensor("q4_k.raw")->value().codec == codec::codec_id::q4_k);
  CHECK(v->tensor("q6_k.raw")->value().codec == codec::codec_id::q6_k);

  // A type tqlib has no codec for is reported by name, never served as garbage.
  const auto* k = v->find_tensor("q2_k.raw");
  REQUIRE(k);
  CHECK(k->type->name == "Q2_K");
  auto kt = v->tensor("q2_k.raw");
  REQUIRE_FALSE(kt.ok());
  CHECK(kt.err().code == errc::unsupported);
  CHECK(kt.err().message.find("unsupported ggml type Q2_K for tensor 'q2_k.raw'") == 0);
  CHECK_FALSE(gguf::view::codec_of(*k).ok());

  // Every prefix is refused until the last tensor's last byte; the padding after it is optional.
  const auto& last = v->tensors().back();
  const std::size_t needed = std::size_t(v->data_offset() + last.offset + last.size);
  REQUIRE(needed < file.size());
  for (std::size_t n = 0; n < file.size(); ++n) {
    auto p = gguf::view::parse(std::span(file).first(n));
    if (n < needed) {
      if (p.ok()) FAIL_CHECK("a " << n << "-byte prefix parsed");
    } else if (!p.ok()) {
      FAIL_CHECK("a " << n << "-byte prefix failed: " << p.err().message);
    }
  }
}

TEST_CASE("a file truncated at any byte is refused, never read past", "[gguf][hostile]") {
  const auto file = make_tqlib_written();
  auto v = gguf::view::parse(file);
  REQUIRE(v.ok());
  const auto& last = v->tensors().back();
  const std::size_t needed = std::size_t(v->data_offset() + last.offset + last.size);
  for (std::size_t n = 0; n < needed; ++n) {
    // A copy of exactly n bytes, so that ASan catches any read past them.
    std::vector<std::byte> cut(file.begin(), file.begin() + std::ptrdiff_t(n));
    auto p = gguf::view::parse(cut);
    if (p.ok()) FAIL_CHECK("a " << n << "-byte prefix parsed");
    else if (p.err().message.empty()) FAIL_CHECK("no message at " << n);
  }
  CHECK(parse_error(std::span(file).first(3)).find("GGUF magic needs 4 bytes") == 0);
  CHECK(parse_error(std::span(file).first(20)).find("GGUF metadata count needs 8 bytes") == 0);
}

TEST_CASE("header: magic, versions 1 and 4, big-endian", "[gguf][hostile]") {
  auto good = raw().header(3, 0, 0).b;
  CHECK(gguf::view::parse(good).ok());
  CHECK(gguf::view::parse(raw().header(2, 0, 0).b)->version() == 2);
  CHECK(parse_error(raw().header(1, 0, 0).b).find("GGUF version 1") == 0);
  CHECK(parse_error(raw().header(4, 0, 0).b) == "GGUF version 4 at offset 4 is not supported (only 2 and 3)");
  CHECK(parse_error(raw().header(0, 0, 0).b).find("GGUF version 0") == 0);
  // A big-endian v3 file: same magic bytes, version 00 00 00 03.
  auto be = raw().header(0x03000000u, 0, 0).b;
  const auto be_msg = parse_error(be);
  CHECK(be_msg.find("big-endian GGUF") == 0);
  CHECK(be_msg.find("0x03000000") != std::string::npos);
  CHECK(parse_error(raw().header(0x02000000u, 0, 0).b).find("big-endian") == 0);
  auto bad_magic = good;
  bad_magic[3] = std::byte('G');
  CHECK(parse_error(bad_magic) == "magic at offset 0 is not \"GGUF\" (not a GGUF file)");
  CHECK(parse_error({}).find("GGUF magic") == 0);
}

TEST_CASE("absurd counts and lengths are refused before any allocation", "[gguf][hostile]") {
  CHECK(parse_error(raw().header(3, std::uint64_t(1) << 63, 0).b).find("tensor count 9223372036854775808 at offset 8 cannot fit") == 0);
  CHECK(parse_error(raw().header(3, 0, ~std::uint64_t(0)).b).find("metadata count 18446744073709551615 at offset 16 cannot fit") == 0);
  // A key length, a string value length, array lengths of each kind far beyond the file.
  CHECK(parse_error(raw().header(3, 0, 1).u64(~std::uint64_t(0)).zeros(16).b).find("metadata entry 0 key: string length") == 0);
  CHECK(parse_error(raw().header(3, 0, 1).str("k").u32(8).u64(std::uint64_t(1) << 40).b).find("GGUF key 'k': string length 1099511627776") == 0);
  for (auto [elem, what] : {std::pair{value_type::u8, "uint8"}, std::pair{value_type::u64, "uint64"},
                            std::pair{value_type::string, "string"}, std::pair{value_type::array, "array"}}) {
    const auto msg = parse_error(raw().header(3, 0, 1).str("arr").u32(9).u32(std::uint32_t(elem)).u64(std::uint64_t(1) << 61).zeros(64).b);
    INFO(msg);
    CHECK(msg.find("GGUF key 'arr': array of 2305843009213693952 " + std::string(what)) == 0);
    CHECK(msg.find("cannot fit in the 64 bytes left") != std::string::npos);
  }
  // An element count that fits, with string elements whose own lengths do not.
  CHECK(parse_error(raw().header(3, 0, 1).str("toks").u32(9).u32(8).u64(2).str("a").u64(1000).b)
            .find("GGUF key 'toks': string element 1 length 1000") == 0);
  // A tensor name length beyond the file.
  CHECK(parse_error(raw().header(3, 1, 0).u64(std::uint64_t(1) << 62).zeros(40).b).find("tensor info 0 name: string length") == 0);
}

TEST_CASE("metadata: unknown types, bad bools, depth, duplicates, UTF-8, alignment", "[gguf][hostile]") {
  CHECK(parse_error(raw().header(3, 0, 1).str("k").u32(13).u64(0).b).find("GGUF key 'k': unknown value type 13 at offset 33") == 0);
  CHECK(parse_error(raw().header(3, 0, 1).str("k").u32(9).u32(77).u64(0).b).find("GGUF key 'k': unknown array element type 77") == 0);
  CHECK(parse_error(raw().header(3, 0, 1).str("b").u32(7).u8(2).b) == "GGUF key 'b': bool at offset 37 is 2, not 0 or 1");
  CHECK(parse_error(raw().header(3, 0, 1).str("b").u32(9).u32(7).u64(3).u8(1).u8(0).u8(9).b)
            .find("GGUF key 'b': bool element 2 at offset") == 0);
  // Arrays nested 8 deep are fine, 9 deep are not.
  auto nest = [](int depth) {
    raw r;
    r.header(3, 0, 1).str("deep").u32(9);
    for (int d = 1; d < depth; ++d) r.u32(9).u64(1);
    return r.u32(4).u64(0).b;
  };
  CHECK(gguf::view::parse(nest(8)).ok());
  CHECK(parse_error(nest(9)).find("GGUF key 'deep'[0][0][0][0][0][0][0][0]: arrays nest deeper than 8 levels") == 0);
  // Duplicate keys.
  CHECK(parse_error(raw().header(3, 0, 2).str("k.a").u32(4).u32(1).str("k.a").u32(8).str("x").b) ==
        "duplicate GGUF key 'k.a' (metadata entries 0 and 1)");
  // Keys: empty, not UTF-8 (a lone continuation byte, an overlong encoding, a surrogate).
  CHECK(parse_error(raw().header(3, 0, 1).str("").u32(4).u32(1).b) == "metadata entry 0 key at offset 24 is empty");
  for (std::string_view bad : {std::string_view("a\x80"), std::string_view("\xc0\xaf"), std::string_view("\xed\xa0\x80")}) {
    const auto msg = parse_error(raw().header(3, 0, 1).str(bad).u32(4).u32(1).b);
    CHECK(msg.find("metadata entry 0 key at offset 24 is not valid UTF-8") == 0);
  }
  // general.alignment: uint32, a power of two, not zero.
  auto align = [](std::uint32_t type, std::uint64_t v) {
    raw r;
    r.header(3, 0, 1).str("general.alignment").u32(type);
    return type == 10 ? r.u64(v).b : r.u32(std::uint32_t(v)).b;
  };
  CHECK(gguf::view::parse(align(4, 64))->alignment() == 64);
  CHECK(parse_error(align(4, 48)) == "general.alignment 48 is not a power of two");
  CHECK(parse_error(align(4, 0)) == "general.alignment 0 is not a power of two");
  CHECK(parse_error(align(10, 64)) == "general.alignment is uint64, must be uint32");
  // Strings that are values are not checked for UTF-8 (token texts are bytes in some vocabularies).
  CHECK(gguf::view::parse(raw().header(3, 0, 1).str("k").u32(8).str("\xff").b).ok());
}

TEST_CASE("tensor infos: dims, types, blocks, offsets, overlap, names", "[gguf][hostile]") {
  auto one = [](std::vector<std::uint64_t> ne, std::uint32_t type, std::uint64_t offset, std::size_t data, std::string_view name = "w") {
    return raw().header(3, 1, 0).tensor(name, std::move(ne), type, offset).pad().zeros(data).b;
  };
  CHECK(gguf::view::parse(one({4, 2}, 0, 0, 32)).ok());
  CHECK(gguf::view::parse(one({}, 0, 0, 4)).ok());  // 0-dim: one element
  CHECK(parse_error(one({1, 1, 1, 1, 1}, 0, 0, 4)) == "GGUF tensor 'w': n_dims 5 exceeds 4");
  CHECK(parse_error(one({std::uint64_t(1) << 63}, 0, 0, 4)) == "GGUF tensor 'w': ne[0] = 9223372036854775808 exceeds 2^63 - 1");
  CHECK(parse_error(one({std::uint64_t(1) << 62, std::uint64_t(1) << 62}, 0, 0, 4)) ==
        "GGUF tensor 'w': element count of shape ne = [4611686018427387904, 4611686018427387904] overflows");
  CHECK(parse_error(one({std::uint64_t(1) << 62, 2}, 0, 0, 4)).find("element count") != std::string::npos);
  // F32 x 2^61 elements: 2^63 bytes, no overflow but far beyond the file.
  CHECK(parse_error(one({std::uint64_t(1) << 61}, 0, 0, 4)).find("GGUF tensor 'w': 9223372036854775808 bytes at data offset 0 run past") == 0);
  // F32 x 2^62 elements: 2^64 bytes, the byte size overflows.
  CHECK(parse_error(one({std::uint64_t(1) << 62}, 0, 0, 4)) == "GGUF tensor 'w': byte size of F32 shape ne = [4611686018427387904] overflows");
  CHECK(parse_error(one({4}, 99, 0, 16)) == "GGUF tensor 'w': unknown ggml type 99 at offset 45");
  CHECK(parse_error(one({32}, 31, 0, 16)) == "GGUF tensor 'w': ggml type 31 (Q4_0_4_4) was removed from ggml; convert the model again");
  CHECK(parse_error(one({48, 2}, 8, 0, 128)) == "GGUF tensor 'w': ne[0] = 48 is not a multiple of the Q8_0 block size 32");
  CHECK(parse_error(one({128}, 35, 0, 66)) == "GGUF tensor 'w': ne[0] = 128 is not a multiple of the TQ2_0 block size 256");
  CHECK(parse_error(one({4}, 0, 16, 64)) == "GGUF tensor 'w': offset 16 is not a multiple of the alignment 32");
  CHECK(parse_error(one({4}, 0, 32, 40)) == "GGUF tensor 'w': 16 bytes at data offset 32 run past the end of the 40-byte data section");
  CHECK(parse_error(one({4}, 0, ~std::uint64_t(0) - 31, 40)).find("run past the end") != std::string::npos);
  CHECK(parse_error(raw().header(3, 1, 0).tensor("w", {4}, 0, 0).b).find("GGUF data section starts at offset 64") == 0);
  CHECK(parse_error(one({4}, 0, 0, 16, "")) == "tensor info 0 name at offset 24 is empty");
  CHECK(parse_error(one({4}, 0, 0, 16, "w\xfe")).find("tensor info 0 name at offset 24 is not valid UTF-8") == 0);

  // Two tensors: duplicate names, overlapping bytes (either order), and touching is fine.
  auto two = [](std::string_view a, std::uint64_t off_a, std::string_view b, std::uint64_t off_b) {
    return raw().header(3, 2, 0).tensor(a, {16}, 0, off_a).tensor(b, {16}, 0, off_b).pad().zeros(192).b;
  };
  CHECK(gguf::view::parse(two("a", 0, "b", 64)).ok());
  CHECK(gguf::view::parse(two("a", 64, "b", 0)).ok());
  CHECK(parse_error(two("a", 0, "a", 64)) == "duplicate GGUF tensor name 'a' (tensor infos 0 and 1)");
  CHECK(parse_error(two("a", 0, "b", 32)) == "GGUF tensors 'a' (data bytes 0..64) and 'b' (from 32) overlap");
  CHECK(parse_error(two("a", 96, "b", 64)) == "GGUF tensors 'b' (data bytes 64..128) and 'a' (from 96) overlap");
  CHECK(parse_error(two("a", 64, "b", 64)).find("overlap") != std::string::npos);
  // Zero-size tensors share no bytes with anything.
  CHECK(gguf::view::parse(raw().header(3, 2, 0).tensor("a", {0}, 0, 0).tensor("b", {8}, 0, 0).pad().zeros(32).b).ok());
  // A file without tensors needs no data section.
  CHECK(gguf::view::parse(raw().header(3, 0, 1).str("k").u32(0).u8(1).b).ok());
}

TEST_CASE("patched writer output: each field of a tensor info checked", "[gguf][hostile]") {
  const auto file = make_tqlib_written();
  auto v = gguf::view::parse(file);
  REQUIRE(v.ok());
  const auto f = fields_of(*v, "w.q8_0");
  auto patched = [&](std::size_t at, std::uint64_t value, std::size_t width) {
    auto c = file;
    if (width == 8) store_le<std::uint64_t>(c.data() + at, value);
    else store_le<std::uint32_t>(c.data() + at, std::uint32_t(value));
    return parse_error(c);
  };
  CHECK(patched(f.ne0, 48, 8) == "GGUF tensor 'w.q8_0': ne[0] = 48 is not a multiple of the Q8_0 block size 32");
  CHECK(patched(f.type, 12, 4) == "GGUF tensor 'w.q8_0': ne[0] = 64 is not a multiple of the Q4_K block size 256");
  CHECK(patched(f.type, 43, 4) == "GGUF tensor 'w.q8_0': unknown ggml type 43 at offset " + std::to_string(f.type));
  CHECK(patched(f.offset, 1, 8) == "GGUF tensor 'w.q8_0': offset 1 is not a multiple of the alignment 64");
  CHECK(patched(f.offset, 0, 8).find("GGUF tensors 'w.f32' (data bytes 0..48) and 'w.q8_0' (from 0) overlap") == 0);
  // A NaN scale in a Q8_0 block parses (the structure is fine) but the codec refuses the bytes.
  auto c = file;
  const auto* t = v->find_tensor("w.q8_0");
  store_le<std::uint16_t>(c.data() + v->data_offset() + t->offset, 0x7e00);
  auto pv = gguf::view::parse(c);
  REQUIRE(pv.ok());
  auto tv = pv->tensor("w.q8_0");
  REQUIRE_FALSE(tv.ok());
  CHECK(tv.err().message.find("GGUF tensor 'w.q8_0': ") == 0);
}

TEST_CASE("writer refuses what llama.cpp would not load", "[gguf]") {
  const std::vector<float> f(64, 1.f);
  auto err = [](gguf::writer& w) {
    auto b = w.build();
    return b ? std::string("(built)") : b.err().message;
  };
  {
    gguf::writer w;
    w.add_tensor(std::string(64, 'n'), codec::codec_id::f32, {64}, bytes_of(f));
    CHECK(err(w).find("names must be 1..63 bytes") != std::string::npos);
  }
  {
    gguf::writer w;
    w.add_tensor("a", codec::codec_id::f32, {64}, bytes_of(f)).add_tensor("a", codec::codec_id::f32, {64}, bytes_of(f));
    CHECK(err(w) == "duplicate GGUF tensor name 'a'");
  }
  {
    gguf::writer w;
    w.add_tensor("a", codec::codec_id::f32, {65}, bytes_of(f));
    CHECK(err(w) == "tensor 'a': 256 bytes, but F32 with this shape needs 260");
  }
  {
    gguf::writer w;
    w.add_tensor("a", *gguf::find_ggml_type("Q8_0"), {48}, std::as_bytes(std::span(f)).first(51));
    CHECK(err(w) == "tensor 'a': ne[0] = 48 is not a multiple of the Q8_0 block size 32");
  }
  {
    gguf::writer w;
    w.add_tensor("a", codec::codec_id::turbo2, {1, 64}, bytes_of(f));
    CHECK(err(w) == "tensor 'a': codec turbo2 has no GGUF (ggml) type");
  }
  {
    gguf::writer w;
    w.add_u32("general.alignment", 64);
    CHECK(err(w).find("general.alignment is set by the writer") == 0);
  }
  {
    gguf::writer w;
    w.add_u32("k", 1).add_string("k", "again");
    CHECK(err(w) == "duplicate GGUF key 'k'");
  }
  {
    gguf::writer w;
    w.add_u32("bad\xff", 1);
    CHECK(err(w).find("must be 1..65535 bytes of UTF-8") != std::string::npos);
  }
  {
    gguf::writer w(48);
    w.add_u32("k", 1);
    CHECK(err(w) == "GGUF alignment 48 is not a power of two");
  }
}

TEST_CASE("ggml type table: tqlib's codecs are the ggml blocks they claim", "[gguf]") {
  // The block geometry each byte-compatible codec has in tqlib equals ggml's.
  for (const auto& t : gguf::ggml_types) {
    if (!t.codec) continue;
    INFO(t.name);
    auto ref = find_codec(*t.codec);
    REQUIRE(ref);
    CHECK(gguf::ggml_type_of(*t.codec) == &t);
    auto want = packed_size(*ref, {3, 256}, "t");
    REQUIRE(want.ok());
    REQUIRE(want->has_value());
    CHECK(**want == 3 * 256 / t.block_size * t.type_size);
  }
  CHECK(gguf::ggml_type_text(12) == "Q4_K");
  CHECK(gguf::ggml_type_text(33) == "Q4_0_8_8 (33)");
  CHECK(gguf::ggml_type_text(200) == "200");
}
