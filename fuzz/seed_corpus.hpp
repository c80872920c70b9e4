#pragma once
// The fuzzers' seed corpus, generated deterministically so that fuzz/corpus/ can be rebuilt and
// checked: small valid MV2 v3.0 and v3.1 files (plain, zstd, signed, every registered codec), a
// delta patch alone and with its base, safetensors files, a sharded model.safetensors.index.json,
// MV2 JSON headers and GGUF files (every metadata type, every codec ggml shares, v2 and v3).
//
//   build-fuzz/fuzz/make_fuzz_corpus fuzz/corpus     rewrites fuzz/corpus/<target>/<name>
//   tests/format/test_fuzz_corpus.cpp                checks that every seed is valid
//
// fuzz_mv2 also takes a "base + patch" pair: delta_pair_magic, the base's size as u32 LE, the
// base file, then the patch; mutations of the patch part keep the base hash matching, so
// delta::apply is fuzzed past its base check.
#include <sodium.h>

#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "tqlib/codec/registry.hpp"
#include "tqlib/core/bytes.hpp"
#include "tqlib/core/float16.hpp"
#include "tqlib/format/delta.hpp"
#include "tqlib/format/gguf_writer.hpp"
#include "tqlib/format/json_header.hpp"
#include "tqlib/format/mv2_writer.hpp"
#include "tqlib/format/safetensors.hpp"

namespace tqlib_fuzz {

using namespace tqlib;
using namespace tqlib::format;

inline constexpr std::string_view delta_pair_magic = "TQDELTA1";

struct seed {
  std::string target;  // fuzz_mv2, fuzz_safetensors, fuzz_json_header, fuzz_gguf
  std::string name;
  std::vector<std::byte> bytes;
};

// The key that signs the signed seeds (fixed, so the corpus is reproducible; fuzz_mv2 verifies
// signatures against it). Never use it for anything else.
inline secret_key seed_signing_key() {
  if (sodium_init() < 0) throw std::runtime_error("libsodium failed to initialise");
  unsigned char s[crypto_sign_SEEDBYTES];
  for (std::size_t i = 0; i < sizeof s; ++i) s[i] = static_cast<unsigned char>(0x5e ^ i);
  unsigned char pk[crypto_sign_PUBLICKEYBYTES];
  secret_key sk{};
  crypto_sign_seed_keypair(pk, reinterpret_cast<unsigned char*>(sk.data()), s);
  return sk;
}

inline std::vector<float> ramp(std::size_t n, float scale) {
  std::vector<float> v(n);
  for (std::size_t i = 0; i < n; ++i) v[i] = scale * float(std::sin(0.37 * double(i) + 0.1));
  return v;
}

inline std::vector<std::byte> f32_bytes(const std::vector<float>& v) {
  std::vector<std::byte> b(v.size() * 4);
  std::memcpy(b.data(), v.data(), b.size());
  return b;
}

inline std::vector<std::byte> f16_bytes(const std::vector<float>& v) {
  std::vector<std::byte> b(v.size() * 2);
  for (std::size_t i = 0; i < v.size(); ++i) store_le<std::uint16_t>(b.data() + 2 * i, f32_to_f16(v[i]));
  return b;
}

template <class T>
inline T must(result<T> r, const char* what) {
  if (!r) throw std::runtime_error(std::string(what) + ": " + r.err().what());
  return std::move(*r);
}

inline std::vector<std::byte> text_bytes(std::string_view s) {
  return {reinterpret_cast<const std::byte*>(s.data()), reinterpret_cast<const std::byte*>(s.data() + s.size())};
}

// The JSON header text of an MV2 file (padding included).
inline std::vector<std::byte> json_header_of(std::span<const std::byte> file) {
  const std::uint32_t n = load_le<std::uint32_t>(file.data() + 12);
  const auto h = file.subspan(mv2::fixed_header_size, n);
  return {h.begin(), h.end()};
}

inline std::vector<seed> make_seeds() {
  std::vector<seed> out;
  // A tiny model: dense f32/f16 tensors, a config and two embedded files.
  const auto embed = f32_bytes(ramp(16 * 8, 1.0f));
  const auto norm = f32_bytes(std::vector<float>(8, 1.0f));  // compresses: zstd blobs in the seed
  const auto proj = f16_bytes(ramp(4 * 8, 0.5f));
  const std::string tokenizer = R"({"model":{"type":"BPE","vocab":{"a":0,"b":1},"merges":[]}})";
  const std::string merges = "#version: 0.2\na b\n";
  const mv2::json config = {{"model_type", "qwen2"}, {"hidden_size", 8}, {"vocab_size", 16}};
  const std::vector<mv2::file_input> files = {{"tokenizer.json", as_bytes_of(tokenizer)}, {"merges.txt", as_bytes_of(merges)}};
  const std::vector<mv2::tensor_input> tensors = {{"model.embed_tokens.weight", "f32", {16, 8}, embed},
                                                  {"model.norm.weight", "f32", {8}, norm},
                                                  {"model.layers.0.mlp.up_proj.weight", "f16", {4, 8}, proj}};

  mv2::writer_options v30;
  v30.version = mv2::version_3_0;
  const auto file_v30 = must(mv2::build(config, files, tensors, v30), "v3.0 seed");
  out.push_back({"fuzz_mv2", "v30_mmap.mv2", file_v30});

  mv2::writer_options packed;
  packed.alignment = 1;
  packed.metadata = {{"seed", "v3.1 packed"}};
  out.push_back({"fuzz_mv2", "v31_packed.mv2", must(mv2::build(config, files, tensors, packed), "v3.1 seed")});

  mv2::writer_options zs;
  zs.zstd_level = 3;
  zs.signing_key = seed_signing_key();
  const auto file_zs = must(mv2::build(config, files, tensors, zs), "zstd+signed seed");
  out.push_back({"fuzz_mv2", "v31_zstd_signed.mv2", file_zs});

  // Every registered codec, one small matrix each (the reader runs each codec's validate()).
  {
    const std::size_t rows = 2, cols = 256;
    const auto w = ramp(rows * cols, 0.25f);
    std::vector<std::pair<std::string, std::vector<std::byte>>> blobs;
    codec::encode_options eo;
    eo.aqlm_nbits = 4;
    for (const auto* c : codec::all_codecs()) {
      auto b = c->encode(w.data(), rows, cols, eo);
      if (b) blobs.emplace_back(std::string(c->name), std::move(*b));  // no seed when the shape does not suit
    }
    std::vector<mv2::tensor_input> ts;
    for (const auto& [name, b] : blobs) ts.push_back({"w." + name, name, {rows, cols}, b});
    mv2::writer_options co;
    co.alignment = 16;
    co.zstd_level = 1;
    out.push_back({"fuzz_mv2", "v31_codecs.mv2", must(mv2::build(nullptr, {}, ts, co), "codec seed")});
  }

  // A delta patch (changed tensor, added tensor, removed tensor, changed file), signed.
  {
    const auto norm2 = f32_bytes(ramp(8, 2.0f));
    const auto head = f32_bytes(std::vector<float>(16 * 8, 0.5f));  // compressible: a zstd blob in the patch
    const std::string tokenizer2 = R"({"model":{"type":"BPE","vocab":{"a":0,"b":1,"ab":2},"merges":["a b"]}})";
    const std::vector<mv2::file_input> files2 = {{"tokenizer.json", as_bytes_of(tokenizer2)}};
    const std::vector<mv2::tensor_input> tensors2 = {{"model.embed_tokens.weight", "f32", {16, 8}, embed},
                                                     {"model.norm.weight", "f32", {8}, norm2},
                                                     {"lm_head.weight", "f32", {16, 8}, head}};
    mv2::writer_options no;
    no.version = mv2::version_3_0;
    const auto next = must(mv2::build(config, files2, tensors2, no), "delta target");
    delta::diff_options d;
    d.signing_key = seed_signing_key();
    const auto patch = must(delta::diff(file_v30, next, d), "delta patch");
    out.push_back({"fuzz_mv2", "delta_patch.mv2", patch});
    std::vector<std::byte> pair = text_bytes(delta_pair_magic);
    pair.resize(pair.size() + 4);
    store_le<std::uint32_t>(pair.data() + delta_pair_magic.size(), std::uint32_t(file_v30.size()));
    pair.insert(pair.end(), file_v30.begin(), file_v30.end());
    pair.insert(pair.end(), patch.begin(), patch.end());
    out.push_back({"fuzz_mv2", "delta_pair.bin", std::move(pair)});
    out.push_back({"fuzz_json_header", "delta_patch.json", json_header_of(patch)});
  }
  out.push_back({"fuzz_json_header", "v30_mmap.json", json_header_of(file_v30)});
  out.push_back({"fuzz_json_header", "v31_zstd_signed.json", json_header_of(file_zs)});
  {
    // Inline embedded files are allowed by readers though the writer never makes them.
    const std::string h =
        R"({"format":"mv2","type":"quantum_model","alignment":1,"config":{"model_type":"qwen2"},"metadata":{},)"
        R"("files":{"vocab.json":{"inline":"{\"a\":0}"}},"tensors":[{"name":"t","codec":"bf16","shape":[2,2],)"
        R"("offset":0,"size":8,"raw_size":8,"compression":"none","blake2b":")" +
        std::string(64, '0') + R"("}]})";
    out.push_back({"fuzz_json_header", "inline_file.json", text_bytes(h)});
  }

  // safetensors: every dtype the reader knows, metadata, and the shards of an indexed model.
  {
    const auto f = f32_bytes(ramp(6, 1.0f));
    const auto h = f16_bytes(ramp(4, 1.0f));
    const std::vector<std::byte> small(8, std::byte{1});
    const std::vector<safetensors::tensor_input> ts = {
        {"model.embed_tokens.weight", "F32", {2, 3}, f}, {"model.norm.weight", "F16", {4}, h},
        {"bias.bf16", "BF16", {2, 2}, h},                {"ids.i64", "I64", {1}, small},
        {"mask.bool", "BOOL", {2, 4}, small},            {"scalar.f32", "F32", {}, std::span(f).first(4)},
        {"empty.f32", "F32", {0, 3}, {}}};
    out.push_back({"fuzz_safetensors", "model.safetensors", must(safetensors::build(ts, {{"format", "pt"}}), "safetensors seed")});
    const std::vector<safetensors::tensor_input> s1 = {{"model.embed_tokens.weight", "F32", {2, 3}, f}};
    const std::vector<safetensors::tensor_input> s2 = {{"model.norm.weight", "F16", {4}, h}};
    out.push_back({"fuzz_safetensors", "model-00001-of-00002.safetensors", must(safetensors::build(s1), "shard 1")});
    out.push_back({"fuzz_safetensors", "model-00002-of-00002.safetensors", must(safetensors::build(s2), "shard 2")});
    out.push_back({"fuzz_safetensors", "model.safetensors.index.json",
                   text_bytes(R"({"metadata":{"total_size":32},"weight_map":{)"
                              R"("model.embed_tokens.weight":"model-00001-of-00002.safetensors",)"
                              R"("model.norm.weight":"model-00002-of-00002.safetensors"}})")});
  }

  // GGUF: every metadata value type (nested arrays too) and a tensor of each ggml type tqlib has
  // a codec for, at the default alignment; a tokenizer-like file at alignment 1; the same as v2.
  {
    const std::size_t cols = 256;
    const auto w = ramp(2 * cols, 0.25f);
    std::vector<std::vector<std::byte>> blobs;  // the writer keeps spans of these: no reallocation
    blobs.reserve(std::size(gguf::ggml_types));
    gguf::writer g;
    g.add_string("general.architecture", "qwen2").add_u32("qwen2.block_count", 1).add_f32("qwen2.rope.freq_base", 1e6f);
    g.add_u8("t.u8", 1).add_i8("t.i8", -1).add_u16("t.u16", 2).add_i16("t.i16", -2).add_i32("t.i32", -3);
    g.add_u64("t.u64", 4).add_i64("t.i64", -4).add_f64("t.f64", 0.5).add_bool("t.bool", true);
    const bool bools[] = {true, false};
    g.add_array("t.bools", gguf::bool_array(bools));
    g.add_array("t.f32s", gguf::number_array(std::vector<float>{1.f, 2.f}));
    const gguf::array_value inner[] = {gguf::string_array(std::vector<std::string>{"a", "b"}),
                                       gguf::string_array(std::vector<std::string>{"c"})};
    g.add_array("t.nested", gguf::nested_array(inner));
    for (const auto& t : gguf::ggml_types) {
      if (!t.codec) continue;
      const auto* ops = codec::find(*t.codec);
      if (!ops) continue;
      blobs.push_back(must(ops->encode(w.data(), 2, cols, {}), "gguf codec seed"));
      g.add_tensor("blk.0." + std::string(ops->name) + ".weight", *t.codec, {2, cols}, blobs.back());
    }
    const auto v3 = must(g.build(), "gguf seed");
    out.push_back({"fuzz_gguf", "codecs_v3.gguf", v3});
    auto v2 = v3;
    store_le<std::uint32_t>(v2.data() + 4, 2);
    out.push_back({"fuzz_gguf", "codecs_v2.gguf", std::move(v2)});

    gguf::writer tok(1);
    tok.add_string("tokenizer.ggml.model", "gpt2");
    tok.add_array("tokenizer.ggml.tokens", gguf::string_array(std::vector<std::string>{"a", "b", "ab", "\xc4\xa0"}));
    tok.add_array("tokenizer.ggml.token_type", gguf::number_array(std::vector<std::int32_t>{1, 1, 1, 3}));
    tok.add_array("tokenizer.ggml.merges", gguf::string_array(std::vector<std::string>{"a b"}));
    tok.add_u32("tokenizer.ggml.eos_token_id", 3);
    const auto embd = ramp(4 * 8, 1.0f);
    tok.add_tensor("token_embd.weight", codec::codec_id::f32, {4, 8}, std::as_bytes(std::span(embd)));
    const auto norm_f16 = f16_bytes(std::vector<float>(8, 1.0f));
    tok.add_tensor("output_norm.weight", codec::codec_id::f16, {8}, norm_f16);
    out.push_back({"fuzz_gguf", "tokenizer_align1.gguf", must(tok.build(), "gguf tokenizer seed")});
  }
  return out;
}

}  // namespace tqlib_fuzz
