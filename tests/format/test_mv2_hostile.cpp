// Hostile inputs: every one must give a clear error naming the field, never a crash (CI runs this
// under ASan + UBSan), a hang or a huge allocation.
#include "catch.hpp"
#include "mv2_fixture.hpp"

using namespace mv2_fixture;

namespace {

// A file from a hand-written JSON header and data section.
std::vector<std::byte> craft(const mv2::json& header, std::span<const std::byte> data, std::uint16_t flags = 0,
                             std::uint16_t level = 0) {
  mv2::fixed_header fh;
  fh.flags = flags;
  fh.compression_level = level;
  const std::string text = header.dump();
  fh.header_size = std::uint32_t(text.size());
  auto head = mv2::encode_fixed_header(fh);
  std::vector<std::byte> out(head.size() + text.size() + data.size());
  std::memcpy(out.data(), head.data(), head.size());
  std::memcpy(out.data() + head.size(), text.data(), text.size());
  if (!data.empty()) std::memcpy(out.data() + head.size() + text.size(), data.data(), data.size());
  return out;
}

mv2::json tensor_json(const std::string& name, std::uint64_t offset, std::span<const std::byte> raw,
                      std::vector<std::uint64_t> shape) {
  return {{"name", name},
          {"codec", "f32"},
          {"shape", shape},
          {"offset", offset},
          {"size", raw.size()},
          {"raw_size", raw.size()},
          {"compression", "none"},
          {"blake2b", to_hex(blake2b(raw))}};
}

mv2::json base_header() { return {{"format", "mv2"}, {"type", "quantum_model"}, {"tensors", mv2::json::array()}}; }

std::string open_error(std::span<const std::byte> file) {
  auto r = mv2::reader::open(file);
  if (!r) return r.err().message;
  // Structure passed: reading every tensor must then fail or succeed cleanly.
  auto v = (*r)->verify_all();
  return v ? std::string() : v.err().message;
}

}  // namespace

TEST_CASE("truncation at every offset is an error, never a crash", "[mv2][hostile]") {
  model m;
  for (int level : {0, 3}) {
    mv2::writer_options o;
    o.zstd_level = level;
    o.alignment = 8;
    const auto file = m.build(o);
    REQUIRE(open_error(file).empty());
    for (std::size_t n = 0; n < file.size(); ++n) {
      const std::string e = open_error(std::span(file).first(n));
      INFO("truncated to " << n << " bytes");
      CHECK_FALSE(e.empty());
    }
  }
}

TEST_CASE("flipping any single byte is caught or changes nothing the reader returns", "[mv2][hostile]") {
  model m;
  mv2::writer_options o;
  o.zstd_level = 3;
  o.alignment = 1;  // no padding: every byte matters
  const auto file = m.build(o);
  std::size_t caught = 0;
  for (std::size_t i = 0; i < file.size(); ++i) {
    auto copy = file;
    copy[i] ^= std::byte{0x20};
    INFO("flipped byte " << i);
    if (!open_error(copy).empty()) {
      ++caught;
      continue;
    }
    // Not caught: then it must be a byte without meaning (a don't-care bit of a zstd bitstream,
    // a JSON string such as a name): every tensor's bytes read back exactly as written.
    CHECK(i >= 84);
    auto r = mv2::reader::open(copy);
    REQUIRE(r.ok());
    const auto ins = m.tensors();
    REQUIRE((*r)->tensors().size() == ins.size());
    for (std::size_t k = 0; k < ins.size(); ++k) {
      auto t = (*r)->tensor_bytes(k);
      REQUIRE(t.ok());
      CHECK(same(*t, ins[k].bytes));
    }
  }
  CHECK(caught > file.size() * 3 / 4);
}

TEST_CASE("fixed header fields are checked and named", "[mv2][hostile]") {
  model m;
  const auto file = m.build();
  auto with = [&](std::size_t at, std::uint32_t v, int bytes) {
    auto c = file;
    if (bytes == 2) store_le<std::uint16_t>(c.data() + at, std::uint16_t(v));
    else store_le<std::uint32_t>(c.data() + at, v);
    return open_error(c);
  };
  CHECK(with(0, 0x4b4f4c4f, 4).find("magic") != std::string::npos);
  CHECK(with(6, 9, 2).find("format type") != std::string::npos);
  CHECK(with(8, 0x00040000, 4).find("version") != std::string::npos);
  CHECK(with(12, 0xffffffff, 4).find("header size") != std::string::npos);
  CHECK(with(12, 1000000, 4).find("header size") != std::string::npos);
  CHECK(with(16, 0x0100, 2).find("flags") != std::string::npos);
  CHECK(with(18, 5, 2).find("compression level") != std::string::npos);
  CHECK(with(8, 0x00030000, 4).empty());  // this file uses no v3.1 feature: reads as 3.0
  auto sig = file;
  sig[40] = std::byte{1};
  CHECK(open_error(sig).find("signature field") != std::string::npos);
}

TEST_CASE("v3.0 files may not claim v3.1 features", "[mv2][hostile]") {
  model m;
  mv2::writer_options o;
  o.zstd_level = 3;
  auto file = m.build(o);
  store_le<std::uint32_t>(file.data() + 8, mv2::version_3_0);
  CHECK(open_error(file).find("v3.0") != std::string::npos);
}

TEST_CASE("blob ranges: past the end, huge, overlapping, misaligned", "[mv2][hostile]") {
  model m;
  std::vector<std::byte> data(m.embed.begin(), m.embed.end());
  auto h = base_header();
  h["tensors"].push_back(tensor_json("a", 0, m.embed, {16, 8}));
  REQUIRE(open_error(craft(h, data)).empty());

  auto past = h;
  past["tensors"][0]["offset"] = 8;
  CHECK(open_error(craft(past, data)).find("tensor 'a': bytes [8, +512) run past the end") != std::string::npos);

  auto huge = h;
  huge["tensors"][0]["offset"] = std::numeric_limits<std::uint64_t>::max();
  CHECK(open_error(craft(huge, data)).find("run past the end") != std::string::npos);

  auto negative = h;
  negative["tensors"][0]["offset"] = -1;
  CHECK(open_error(craft(negative, data)).find("offset must be a non-negative integer") != std::string::npos);

  auto bigshape = h;
  bigshape["tensors"][0]["shape"] = {std::uint64_t(1) << 40, std::uint64_t(1) << 40};
  CHECK(open_error(craft(bigshape, data)).find("tensor 'a'") != std::string::npos);

  auto overlap = h;
  overlap["tensors"].push_back(tensor_json("b", 256, std::span(m.embed).first(256), {8, 8}));
  auto two = data;
  CHECK(open_error(craft(overlap, two)).find("overlaps") != std::string::npos);

  auto dup = h;
  dup["tensors"].push_back(tensor_json("a", 0, m.embed, {16, 8}));
  CHECK(open_error(craft(dup, data)).find("appears twice") != std::string::npos);

  auto misaligned = h;
  misaligned["alignment"] = 64;
  CHECK(open_error(craft(misaligned, data, mv2::flag::mmap_layout)).find("alignment") != std::string::npos);

  auto wrong_size = h;
  wrong_size["tensors"][0]["shape"] = {16, 9};
  CHECK(open_error(craft(wrong_size, data)).find("raw_size") != std::string::npos);

  auto unknown_codec = h;
  unknown_codec["tensors"][0]["codec"] = "q17";
  CHECK(open_error(craft(unknown_codec, data)).find("'q17'") != std::string::npos);

  auto bad_sum = h;
  bad_sum["tensors"][0]["blake2b"] = std::string(64, '0');
  CHECK(open_error(craft(bad_sum, data)).find("checksum") != std::string::npos);

  auto not_hex = h;
  not_hex["tensors"][0]["blake2b"] = "xyz";
  CHECK(open_error(craft(not_hex, data)).find("blake2b") != std::string::npos);

  auto type_mismatch = h;
  type_mismatch["type"] = "dataset";
  CHECK(open_error(craft(type_mismatch, data)).find("header.type") != std::string::npos);

  CHECK(open_error(craft(mv2::json::array(), data)).find("top level") != std::string::npos);
  auto no_tensors = h;
  no_tensors.erase("tensors");
  CHECK(open_error(craft(no_tensors, data)).find("tensors is missing") != std::string::npos);
  auto shape_type = h;
  shape_type["tensors"][0]["shape"] = "16x8";
  CHECK(open_error(craft(shape_type, data)).find("shape") != std::string::npos);
}

TEST_CASE("bad zstd frames and lying raw sizes are errors", "[mv2][hostile]") {
  model m;
  auto z = zstd::compress(m.embed, 3);
  REQUIRE(z.ok());
  auto h = base_header();
  auto t = tensor_json("a", 0, m.embed, {16, 8});
  t["size"] = z->size();
  t["compression"] = "zstd";
  h["tensors"].push_back(t);
  REQUIRE(open_error(craft(h, *z, mv2::flag::zstd, 3)).empty());

  CHECK(open_error(craft(h, *z)).find("zstd feature flag") != std::string::npos);

  auto garbage = *z;
  for (std::size_t i = 4; i < garbage.size(); ++i) garbage[i] = std::byte(i * 7);
  CHECK(open_error(craft(h, garbage, mv2::flag::zstd, 3)).find("tensor 'a'") != std::string::npos);

  auto trailing = *z;
  trailing.push_back(std::byte{0});
  auto h2 = h;
  h2["tensors"][0]["size"] = trailing.size();
  CHECK(open_error(craft(h2, trailing, mv2::flag::zstd, 3)).find("trailing") != std::string::npos);

  // A frame of another size than raw_size (shape agrees with raw_size, frame does not).
  auto small = zstd::compress(std::span(m.embed).first(256), 3);
  auto h3 = h;
  h3["tensors"][0]["size"] = small->size();
  CHECK(open_error(craft(h3, *small, mv2::flag::zstd, 3)).find("raw_size") != std::string::npos);

  // Decompressed totals are capped before anything is allocated.
  auto r = mv2::reader::open(craft(h, *z, mv2::flag::zstd, 3), {.max_decompressed_bytes = 100});
  REQUIRE_FALSE(r.ok());
  CHECK(r.err().message.find("limit") != std::string::npos);
}

TEST_CASE("embedded files: inline and ranged, damaged ranges are errors", "[mv2][hostile]") {
  model m;
  auto h = base_header();
  const std::string text = "hello tokenizer";
  h["files"] = {{"vocab.json", {{"inline", "{}"}}},
                {"merges.txt",
                 {{"offset", 0}, {"size", text.size()}, {"raw_size", text.size()}, {"compression", "none"},
                  {"blake2b", to_hex(blake2b(as_bytes_of(text)))}}}};
  auto file = craft(h, as_bytes_of(text));
  auto r = mv2::reader::open(file);
  REQUIRE(r.ok());
  CHECK((*r)->file("vocab.json") == "{}");
  CHECK((*r)->file("merges.txt") == text);
  CHECK_FALSE((*r)->file("absent.txt"));
  file.back() = std::byte{'X'};
  auto r2 = mv2::reader::open(file);
  REQUIRE(r2.ok());
  auto f = (*r2)->read_file("merges.txt");
  REQUIRE_FALSE(f.ok());
  CHECK(f.err().message.find("file 'merges.txt'") != std::string::npos);
  auto bad = h;
  bad["files"]["vocab.json"] = 3;
  CHECK(open_error(craft(bad, as_bytes_of(text))).find("files['vocab.json']") != std::string::npos);
}
