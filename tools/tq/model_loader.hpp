#pragma once
// Opening a model for the runtime commands (run, chat, logits, ppl, bench): MODEL is an MV2 file
// or a Hugging Face folder (config.json + model.safetensors or a sharded
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

#include "tqlib/core/bytes.hpp"
#include "tqlib/format/mapped_file.hpp"
#include "tqlib/format/mv2.hpp"
#include "tqlib/format/tensor_source.hpp"
#include "tqlib/model/config.hpp"
#include "tqlib/model/qwen.hpp"
#include "tqlib/model/sampler.hpp"
#include "tqlib/model/weights.hpp"
#include "tqlib/tokenizer/load.hpp"
#include "tqlib/tokenizer/qwen_tokenizer.hpp"

namespace tq {

// safetensors files (one, or the shards of an index) memory-mapped; F32/F16/BF16 tensors are
// served in place through the dense codecs. Files come from the folder.
class safetensors_folder_source final : public tqlib::format::tensor_source {
 public:
  static tqlib::result<std::unique_ptr<safetensors_folder_source>> open(const std::filesystem::path& dir,
                                                                        std::vector<std::string> shard_names) {
    std::unique_ptr<safetensors_folder_source> s(new safetensors_folder_source());
    s->dir_ = dir;
    for (const auto& name : shard_names) TQLIB_TRY(s->add_shard(dir / name));
    return s;
  }

  std::vector<std::string> tensor_names() const override {
    std::vector<std::string> out;
    for (const auto& [k, v] : index_) out.push_back(k);
    return out;
  }
  tqlib::result<std::optional<tqlib::format::tensor_view>> tensor(std::string_view name) const override {
    auto it = index_.find(name);
    if (it == index_.end()) return std::optional<tqlib::format::tensor_view>();
    if (!it->second.supported)
      return tqlib::make_error(tqlib::errc::unsupported, "dtype " + it->second.dtype + " is not supported (F32, F16, BF16)");
    return std::optional<tqlib::format::tensor_view>(it->second.view);
  }
  std::optional<std::string> file(std::string_view name) const override {
    return tqlib::tokenizer::read_text_file(dir_ / std::string(name));
  }

 private:
  struct entry {
    tqlib::format::tensor_view view;
    std::string dtype;
    bool supported = true;
  };

  tqlib::result<void> add_shard(const std::filesystem::path& path) {
    using tqlib::errc;
    using tqlib::make_error;
    auto m = tqlib::format::mapped_file::open(path.string());
    if (!m) return std::move(m).err();
    maps_.push_back(std::make_unique<tqlib::format::mapped_file>(std::move(*m)));
    const auto bytes = maps_.back()->bytes();
    const std::string where = path.filename().string();
    if (bytes.size() < 8) return make_error(errc::truncated, where + ": shorter than the safetensors header");
    const std::uint64_t n = tqlib::load_le<std::uint64_t>(bytes.data());
    if (n > bytes.size() - 8) return make_error(errc::truncated, where + ": header length " + std::to_string(n) + " exceeds the file");
    const auto* text = reinterpret_cast<const char*>(bytes.data() + 8);
    const auto header = nlohmann::json::parse(text, text + n, nullptr, false);
    if (header.is_discarded() || !header.is_object()) return make_error(errc::corrupt, where + ": header is not a JSON object");
    const auto data = bytes.subspan(8 + n);
    for (const auto& [name, info] : header.items()) {
      if (name == "__metadata__") continue;
      if (!info.is_object() || !info.contains("dtype") || !info["dtype"].is_string() || !info.contains("shape") ||
          !info["shape"].is_array() || !info.contains("data_offsets") || !info["data_offsets"].is_array() ||
          info["data_offsets"].size() != 2)
        return make_error(errc::corrupt, where + ": tensor " + name + " has a malformed entry");
      entry e;
      e.dtype = info["dtype"].get<std::string>();
      std::size_t elem = 0;
      if (e.dtype == "F32") {
        e.view.codec = tqlib::codec::codec_id::f32, elem = 4;
      } else if (e.dtype == "F16") {
        e.view.codec = tqlib::codec::codec_id::f16, elem = 2;
      } else if (e.dtype == "BF16") {
        e.view.codec = tqlib::codec::codec_id::bf16, elem = 2;
      } else {
        e.supported = false;
      }
      std::size_t count = 1;
      for (const auto& d : info["shape"]) {
        if (!d.is_number_unsigned()) return make_error(errc::corrupt, where + ": tensor " + name + " has a bad shape");
        e.view.shape.push_back(d.get<std::size_t>());
        count *= e.view.shape.back();
      }
      const auto& off = info["data_offsets"];
      if (!off[0].is_number_unsigned() || !off[1].is_number_unsigned())
        return make_error(errc::corrupt, where + ": tensor " + name + " has bad data_offsets");
      const std::uint64_t b = off[0].get<std::uint64_t>(), end = off[1].get<std::uint64_t>();
      if (b > end || end > data.size()) return make_error(errc::corrupt, where + ": tensor " + name + " lies outside the file");
      if (e.supported && end - b != count * elem)
        return make_error(errc::corrupt, where + ": tensor " + name + " has " + std::to_string(end - b) +
                                             " bytes for its shape");
      e.view.name = name;
      e.view.bytes = data.subspan(b, end - b);
      index_[name] = std::move(e);
    }
    return {};
  }

  std::filesystem::path dir_;
  std::vector<std::unique_ptr<tqlib::format::mapped_file>> maps_;
  std::map<std::string, entry, std::less<>> index_;
};

// Picks the right tensor source for MODEL (see the top of this file).
inline tqlib::result<std::unique_ptr<tqlib::format::tensor_source>> open_model_source(const std::string& path) {
  namespace fs = std::filesystem;
  using tqlib::errc;
  using tqlib::make_error;
  std::error_code ec;
  if (fs::is_directory(path, ec)) {
    const fs::path dir(path);
    std::vector<std::string> shards;
    if (auto idx = tqlib::tokenizer::read_text_file(dir / "model.safetensors.index.json")) {
      const auto j = nlohmann::json::parse(*idx, nullptr, false);
      if (j.is_discarded() || !j.contains("weight_map") || !j["weight_map"].is_object())
        return make_error(errc::corrupt, path + "/model.safetensors.index.json: no weight_map object");
      for (const auto& [k, v] : j["weight_map"].items()) {
        if (!v.is_string()) return make_error(errc::corrupt, "model.safetensors.index.json: weight_map." + k + " is not a file name");
        const auto f = v.get<std::string>();
        if (f.find('/') != std::string::npos || f.find("..") != std::string::npos)
          return make_error(errc::corrupt, "model.safetensors.index.json: shard name '" + f + "' is not a plain file name");
        if (std::find(shards.begin(), shards.end(), f) == shards.end()) shards.push_back(f);
      }
    } else if (fs::is_regular_file(dir / "model.safetensors", ec)) {
      shards.push_back("model.safetensors");
    } else {
      return make_error(errc::io, path + ": no model.safetensors or model.safetensors.index.json");
    }
    auto s = safetensors_folder_source::open(dir, shards);
    if (!s) return make_error(s.err().code, path + ": " + s.err().message);
    return std::unique_ptr<tqlib::format::tensor_source>(std::move(*s));
  }
  if (path.size() > 12 && path.substr(path.size() - 12) == ".safetensors") {
    const fs::path p(path);
    auto s = safetensors_folder_source::open(p.parent_path().empty() ? fs::path(".") : p.parent_path(),
                                             {p.filename().string()});
    if (!s) return make_error(s.err().code, path + ": " + s.err().message);
    return std::unique_ptr<tqlib::format::tensor_source>(std::move(*s));
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

inline int fail(std::string_view cmd, const tqlib::error& e) {
  std::fprintf(stderr, "tq %.*s: %s\n", int(cmd.size()), cmd.data(), e.what().c_str());
  return 1;
}

}  // namespace tq
