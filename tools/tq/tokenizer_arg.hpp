#pragma once
// Shared by `tq tokenize` and `tq detokenize`: MODEL_OR_TOKENIZER is a folder (tokenizer files or
// a Hugging Face model folder), a tokenizer.json file, or an MV2 file that embeds the tokenizer files.
#include <filesystem>
#include <string>

#include "tqlib/format/mv2.hpp"
#include "tqlib/tokenizer/load.hpp"

namespace tq {

inline tqlib::result<tqlib::tokenizer::qwen_tokenizer> load_tokenizer_arg(const std::string& path) {
  std::error_code ec;
  if (std::filesystem::is_directory(path, ec)) return tqlib::tokenizer::load_tokenizer_folder(path);
  if (path.size() >= 5 && path.compare(path.size() - 5, 5, ".json") == 0) {  // a tokenizer.json itself
    auto text = tqlib::tokenizer::read_text_file(path);
    if (!text) return tqlib::make_error(tqlib::errc::io, "cannot read " + path);
    return tqlib::tokenizer::qwen_tokenizer::from_tokenizer_json(*text);
  }
  auto reader = tqlib::format::mv2::open_file(path);
  if (!reader) return std::move(reader).err();
  auto tok = tqlib::tokenizer::load_tokenizer(**reader);
  if (!tok) return tqlib::make_error(tok.err().code, path + ": " + tok.err().message);
  return tok;
}

}  // namespace tq
