#pragma once
// A Hugging Face model folder: config.json, tokenizer files, and model.safetensors or shards
// named by model.safetensors.index.json's weight_map. Native only (the browser gets MV2).
#include <filesystem>
#include <map>
#include <memory>

#include "tqlib/format/safetensors.hpp"

namespace tqlib::format {

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
      if (!text) return make_error(errc::corrupt, index.string() + " cannot be read");
      auto j = nlohmann::json::parse(*text, nullptr, false);
      if (j.is_discarded() || !j.is_object() || !j.contains("weight_map") || !j["weight_map"].is_object())
        return make_error(errc::corrupt, index.string() + ": weight_map is missing or not an object");
      for (auto& [name, shard] : j["weight_map"].items()) {
        if (!shard.is_string()) return make_error(errc::corrupt, index.string() + ": weight_map['" + name + "'] is not a string");
        const std::string s = shard.get<std::string>();
        if (s.empty() || s.find('/') != std::string::npos || s.find('\\') != std::string::npos || s == "." || s == "..")
          return make_error(errc::corrupt, index.string() + ": shard name '" + s + "' is not a plain file name");
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
      auto src = safetensors::file_source::open(single.string());
      if (!src) return std::move(src).err();
      for (const auto& t : (*src)->get().tensors()) f->where_[t.name] = src->get();
      f->shards_["model.safetensors"] = std::move(*src);
    } else {
      return make_error(errc::io, dir + " has neither model.safetensors nor model.safetensors.index.json");
    }
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
  // Any plain file of the folder (config.json, tokenizer.json, merges.txt, ...).
  std::optional<std::string> file(std::string_view name) const override {
    if (name.empty() || name.find('/') != std::string_view::npos || name.find("..") != std::string_view::npos) return std::nullopt;
    return read_text(std::string(name));
  }

 private:
  hf_folder() = default;
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
