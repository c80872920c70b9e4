#pragma once
// A Hugging Face model folder: config.json, tokenizer files, and model.safetensors or shards
// named by model.safetensors.index.json's weight_map. Native only (the browser gets MV2).
#include <filesystem>
#include <map>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "tqlib/core/json_depth.hpp"
#include "tqlib/format/safetensors.hpp"

namespace tqlib::format {

// model.safetensors.index.json's weight_map: (tensor name, shard file name) pairs, sorted by
// tensor name. Shard names must be plain file names in the same folder.
inline result<std::vector<std::pair<std::string, std::string>>> parse_safetensors_index(std::string_view text) {
  if (!json_depth_within(text))
    return make_error(errc::corrupt, "arrays or objects nested deeper than " + std::to_string(max_json_depth) + " levels");
  auto j = nlohmann::json::parse(text.begin(), text.end(), nullptr, false);
  if (j.is_discarded() || !j.is_object()) return make_error(errc::corrupt, "not a JSON object");
  auto wm = j.find("weight_map");
  if (wm == j.end() || !wm->is_object()) return make_error(errc::corrupt, "weight_map is missing or not an object");
  std::vector<std::pair<std::string, std::string>> out;
  for (const auto& [name, shard] : wm->items()) {
    if (!shard.is_string()) return make_error(errc::corrupt, "weight_map['" + name + "'] is not a string");
    const std::string& s = shard.get_ref<const std::string&>();
    if (s.empty() || s.find('/') != std::string::npos || s.find('\\') != std::string::npos || s == "." || s == ".." ||
        s.find('\0') != std::string::npos)
      return make_error(errc::corrupt, "weight_map['" + name + "']: shard name '" + s + "' is not a plain file name");
    out.emplace_back(name, s);
  }
  if (out.empty()) return make_error(errc::corrupt, "weight_map names no tensors");
  return out;
}

class hf_folder final : public tensor_source {
 public:
  static result<std::unique_ptr<hf_folder>> open(const std::string& dir) {
    namespace fs = std::filesystem;
    std::unique_ptr<hf_folder> f(new hf_folder);
    f->dir_ = dir;
    std::error_code ec;
    const fs::path single = fs::path(dir) / "model.safetensors";
    const fs::path index = fs::path(dir) / "model.safetensors.index.json";
    if (fs::exists(index, ec)) {
      auto text = f->read_text("model.safetensors.index.json");
      if (!text) return make_error(errc::io, index.string() + " cannot be read");
      auto map = parse_safetensors_index(*text);
      if (!map) return make_error(map.err().code, index.string() + ": " + map.err().message);
      for (const auto& [name, s] : *map) {
        if (!f->shards_.count(s)) {
          auto src = safetensors::file_source::open((fs::path(dir) / s).string());
          if (!src) return std::move(src).err();
          f->shards_[s] = std::move(*src);
        }
        const auto* shard_src = f->shards_[s].get();
        if (!shard_src->get().find(name))
          return make_error(errc::corrupt, index.string() + ": tensor '" + name + "' is not in shard " + s);
        f->where_[name] = shard_src;
      }
    } else if (fs::exists(single, ec)) {
      TQLIB_TRY(f->add_single(single.string(), "model.safetensors"));
    } else {
      return make_error(errc::io, dir + " has neither model.safetensors nor model.safetensors.index.json");
    }
    return f;
  }

  // One .safetensors file; file() reads config.json, tokenizer files, ... from its folder.
  static result<std::unique_ptr<hf_folder>> open_file(const std::string& path) {
    namespace fs = std::filesystem;
    std::unique_ptr<hf_folder> f(new hf_folder);
    const fs::path p(path);
    f->dir_ = p.has_parent_path() ? p.parent_path().string() : std::string(".");
    TQLIB_TRY(f->add_single(path, p.filename().string()));
    return f;
  }

  std::vector<std::string> tensor_names() const override {
    std::vector<std::string> out;
    for (const auto& [n, s] : where_) out.push_back(n);
    return out;
  }
  result<std::optional<tensor_view>> tensor(std::string_view name) const override {
    auto it = where_.find(name);
    if (it == where_.end()) return std::optional<tensor_view>();
    return it->second->tensor(name);
  }
  // A tensor as stored, whatever its dtype (tensor() serves only F32/F16/BF16): for the
  // importers of already-quantized checkpoints (model/checkpoint_import.hpp), whose codes are
  // integer tensors. nullptr when there is no such tensor.
  const safetensors::tensor_info* raw_info(std::string_view name) const {
    auto it = where_.find(name);
    return it == where_.end() ? nullptr : it->second->get().find(name);
  }
  std::span<const std::byte> raw_bytes(const safetensors::tensor_info& t) const {
    auto it = where_.find(t.name);
    return it == where_.end() ? std::span<const std::byte>() : it->second->get().bytes(t);
  }
  // Any plain file of the folder (config.json, tokenizer.json, merges.txt, ...).
  std::optional<std::string> file(std::string_view name) const override {
    if (name.empty() || name.find('/') != std::string_view::npos || name.find("..") != std::string_view::npos) return std::nullopt;
    return read_text(std::string(name));
  }

 private:
  hf_folder() = default;
  result<void> add_single(const std::string& path, const std::string& key) {
    auto src = safetensors::file_source::open(path);
    if (!src) return std::move(src).err();
    for (const auto& t : (*src)->get().tensors()) where_[t.name] = src->get();
    shards_[key] = std::move(*src);
    return {};
  }
  std::optional<std::string> read_text(const std::string& name) const {
    auto m = mapped_file::open((std::filesystem::path(dir_) / name).string());
    if (!m) return std::nullopt;
    return std::string(reinterpret_cast<const char*>(m->bytes().data()), m->size());
  }
  std::string dir_;
  std::map<std::string, std::unique_ptr<safetensors::file_source>> shards_;
  std::map<std::string, const safetensors::file_source*, std::less<>> where_;
};

}  // namespace tqlib::format
