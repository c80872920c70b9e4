#pragma once
// Loading a qwen_tokenizer from where the files live: a tokenizer / Hugging Face folder on disk,
// or a model source (MV2 file, HF folder) that embeds the files by name. tokenizer.json wins;
// otherwise vocab.json + merges.txt (+ tokenizer_config.json, added_tokens.json). A
// "vocab_remap.json" beside them (JSON array of original Qwen ids indexed by model id, or an
// object {"model_to_original": [...]}) turns on the pruned-vocabulary remap.
#include <filesystem>
#include <fstream>
#include <optional>
#include <sstream>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "tqlib/core/json_depth.hpp"
#include "tqlib/core/result.hpp"
#include "tqlib/format/tensor_source.hpp"
#include "tqlib/tokenizer/qwen_tokenizer.hpp"
#include "tqlib/tokenizer/tokenizer_files.hpp"

namespace tqlib::tokenizer {

inline result<std::vector<token_id>> parse_vocab_remap(std::string_view json_text) {
  constexpr std::string_view file = "vocab_remap.json";
  if (!json_depth_within(json_text))
    return detail::file_error(errc::corrupt, file, "arrays or objects nested deeper than " + std::to_string(max_json_depth) + " levels");
  auto j = nlohmann::json::parse(json_text.begin(), json_text.end(), nullptr, false);
  if (j.is_discarded()) return detail::file_error(errc::corrupt, file, "not valid JSON");
  const nlohmann::json* arr = &j;
  if (j.is_object()) {
    auto it = j.find("model_to_original");
    if (it == j.end()) return detail::file_error(errc::corrupt, file, "object without a model_to_original array");
    arr = &*it;
  }
  if (!arr->is_array()) return detail::file_error(errc::corrupt, file, "model_to_original is not an array");
  std::vector<token_id> out;
  out.reserve(arr->size());
  for (std::size_t i = 0; i < arr->size(); ++i) {
    auto id = detail::json_id((*arr)[i], file, "entry " + std::to_string(i));
    if (!id) return std::move(id).err();
    out.push_back(*id);
  }
  return out;
}

// Builds the tokenizer from a file lookup: get(name) -> optional text.
template <class Get>
result<qwen_tokenizer> load_tokenizer_files(Get&& get, std::string_view where) {
  std::optional<result<qwen_tokenizer>> tok;
  if (auto tj = get("tokenizer.json")) {
    tok.emplace(qwen_tokenizer::from_tokenizer_json(*tj));
  } else {
    auto vocab = get("vocab.json");
    auto merges = get("merges.txt");
    if (!vocab || !merges)
      return make_error(errc::invalid_argument, std::string(where) + " has neither tokenizer.json nor vocab.json + merges.txt");
    auto config = get("tokenizer_config.json");
    auto added = get("added_tokens.json");
    tok.emplace(qwen_tokenizer::from_vocab_merges(*vocab, *merges, config ? std::string_view(*config) : std::string_view(),
                                                  added ? std::string_view(*added) : std::string_view()));
  }
  if (!tok->ok()) return make_error(tok->err().code, std::string(where) + ": " + tok->err().message);
  if (auto remap_text = get("vocab_remap.json")) {
    auto remap = parse_vocab_remap(*remap_text);
    if (!remap) return std::move(remap).err();
    TQLIB_TRY(tok->value().set_vocab_remap(std::move(*remap)));
  }
  return std::move(*tok);
}

inline std::optional<std::string> read_text_file(const std::filesystem::path& p) {
  std::error_code ec;
  if (!std::filesystem::is_regular_file(p, ec)) return std::nullopt;
  std::ifstream f(p, std::ios::binary);
  if (!f) return std::nullopt;
  std::string s;
  f.seekg(0, std::ios::end);
  s.resize(static_cast<std::size_t>(f.tellg()));
  f.seekg(0);
  f.read(s.data(), static_cast<std::streamsize>(s.size()));
  if (!f) return std::nullopt;
  return s;
}

// A folder with tokenizer.json, or vocab.json + merges.txt (+ tokenizer_config.json ...).
inline result<qwen_tokenizer> load_tokenizer_folder(const std::filesystem::path& dir) {
  std::error_code ec;
  if (!std::filesystem::is_directory(dir, ec)) return make_error(errc::io, dir.string() + " is not a directory");
  return load_tokenizer_files([&](std::string_view name) { return read_text_file(dir / name); }, dir.string());
}

// A model source that embeds the tokenizer files (MV2 file, Hugging Face folder).
inline result<qwen_tokenizer> load_tokenizer(const format::tensor_source& source) {
  return load_tokenizer_files([&](std::string_view name) { return source.file(name); }, "model");
}

}  // namespace tqlib::tokenizer
