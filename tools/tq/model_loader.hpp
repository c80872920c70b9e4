#pragma once
// Opening a model for the runtime commands (run, chat, logits, ppl, bench): MODEL is an MV2 file
// or a GGUF file (llama.cpp's, Qwen2/Qwen3), or a Hugging Face folder (config.json + model.safetensors or a sharded
// model.safetensors.index.json; tokenizer files beside them are optional), or one .safetensors
// file with config.json in the same folder.
#include <charconv>
#include <cstdio>
#include <filesystem>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "cli.hpp"
#include "tqlib/format/gguf_model.hpp"
#include "tqlib/format/hf_folder.hpp"
#include "tqlib/format/mv2.hpp"
#include "tqlib/format/tensor_source.hpp"
#include "tqlib/model/config.hpp"
#include "tqlib/model/qwen.hpp"
#include "tqlib/model/sampler.hpp"
#include "tqlib/model/weights.hpp"
#include "tqlib/tokenizer/load.hpp"
#include "tqlib/tokenizer/qwen_tokenizer.hpp"

namespace tq {

// Picks the right tensor source for MODEL (see the top of this file). safetensors input goes
// through the library's validated reader (format/safetensors.hpp, format/hf_folder.hpp): dtype x
// shape = size, offsets in bounds, no holes or overlaps, shard names plain file names; F32, F16
// and BF16 tensors are served in place, other dtypes are an error when a tensor is asked for.
inline tqlib::result<std::unique_ptr<tqlib::format::tensor_source>> open_model_source(const std::string& path) {
  namespace fs = std::filesystem;
  std::error_code ec;
  if (fs::is_directory(path, ec)) {
    auto f = tqlib::format::hf_folder::open(path);
    if (!f) return std::move(f).err();
    return std::unique_ptr<tqlib::format::tensor_source>(std::move(*f));
  }
  if (path.size() > 5 && path.substr(path.size() - 5) == ".gguf") {
    auto f = tqlib::format::gguf::model_source::open(path);
    if (!f) return std::move(f).err();
    return std::unique_ptr<tqlib::format::tensor_source>(std::move(*f));
  }
  if (path.size() > 12 && path.substr(path.size() - 12) == ".safetensors") {
    auto f = tqlib::format::hf_folder::open_file(path);
    if (!f) return std::move(f).err();
    return std::unique_ptr<tqlib::format::tensor_source>(std::move(*f));
  }
  auto r = tqlib::format::mv2::open_file(path);
  if (!r) return std::move(r).err();
  return std::unique_ptr<tqlib::format::tensor_source>(std::move(*r));
}

struct loaded_model {
  std::unique_ptr<tqlib::format::tensor_source> source;  // owns the bytes the weights point into
  tqlib::model::config cfg;
  tqlib::model::weights weights;                         // until start() hands them to the model
  std::unique_ptr<tqlib::model::qwen> model;             // after start()
  std::optional<tqlib::tokenizer::qwen_tokenizer> tok;
  std::vector<std::int32_t> stop_ids;  // config eos + tokenizer eos (model ids)

  // Creates the runnable model (thread pool, KV cache of opt.context positions).
  tqlib::result<void> start(tqlib::model::run_options opt) {
    auto q = tqlib::model::qwen::create(cfg, std::move(weights), opt);
    if (!q) return std::move(q).err();
    model = std::move(*q);
    return {};
  }
};

// Opens MODEL, parses its config, loads its weights and, when present, its tokenizer; start()
// then makes it runnable.
inline tqlib::result<loaded_model> load_model(const std::string& path) {
  loaded_model m;
  auto src = open_model_source(path);
  if (!src) return std::move(src).err();
  m.source = std::move(*src);
  auto text = m.source->file("config.json");
  if (!text) return tqlib::make_error(tqlib::errc::invalid_argument, path + ": no config.json");
  auto cfg = tqlib::model::parse_config(*text);
  if (!cfg) return std::move(cfg).err();
  m.cfg = *cfg;
  auto w = tqlib::model::load_weights(*m.source, m.cfg);
  if (!w) return std::move(w).err();
  m.weights = std::move(*w);
  m.stop_ids = m.cfg.eos_ids;
  if (m.source->file("tokenizer.json") || m.source->file("vocab.json")) {
    auto tok = tqlib::tokenizer::load_tokenizer(*m.source);
    if (!tok) return std::move(tok).err();
    for (auto id : tok->eos_ids()) m.stop_ids.push_back(std::int32_t(id));
    m.tok.emplace(std::move(*tok));
  }
  return m;
}

// "1,2,3" -> ids; nullopt on anything else.
inline std::optional<std::vector<std::int32_t>> parse_ids(std::string_view s) {
  std::vector<std::int32_t> out;
  while (!s.empty()) {
    const auto comma = s.find(',');
    std::string_view item = s.substr(0, comma);
    while (!item.empty() && item.front() == ' ') item.remove_prefix(1);
    while (!item.empty() && item.back() == ' ') item.remove_suffix(1);
    std::int32_t v = 0;
    auto [p, ec] = std::from_chars(item.data(), item.data() + item.size(), v);
    if (item.empty() || ec != std::errc() || p != item.data() + item.size() || v < 0) return std::nullopt;
    out.push_back(v);
    if (comma == std::string_view::npos) break;
    s.remove_prefix(comma + 1);
  }
  if (out.empty()) return std::nullopt;
  return out;
}

// --kv-bits N: how the KV cache stores keys and values: 16 (f16, the default), 2, 3 or 4
// (TurboQuant-compressed), 32 (f32). Returns a usage error message, or nothing.
inline std::optional<std::string> apply_kv_bits(cli& c, tqlib::model::run_options& ro) {
  if (!c.has("kv-bits")) return std::nullopt;
  const int bits = c.number<int>("kv-bits", 16);
  if (!c.ok()) return c.error();
  auto t = tqlib::model::kv_type_for_bits(bits);
  if (!t) return "--kv-bits: " + t.err().message;
  ro.kv = *t;
  return std::nullopt;
}

inline int fail(std::string_view cmd, const tqlib::error& e) {
  std::fprintf(stderr, "tq %.*s: %s\n", int(cmd.size()), cmd.data(), e.what().c_str());
  return 1;
}

}  // namespace tq
