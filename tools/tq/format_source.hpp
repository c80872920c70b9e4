#pragma once
// Opening whatever a tq format command is given: an MV2 file, a GGUF file, a safetensors file or
// a Hugging Face folder, and printing errors uniformly.
#include <cstdio>
#include <filesystem>
#include <memory>
#include <string>

#include "tqlib/format/gguf_model.hpp"
#include "tqlib/format/hf_folder.hpp"
#include "tqlib/format/mv2.hpp"
#include "tqlib/format/safetensors.hpp"

namespace tq {

inline int fail(std::string_view cmd, const std::string& msg) {
  std::fprintf(stderr, "tq %.*s: %s\n", int(cmd.size()), cmd.data(), msg.c_str());
  return 1;
}

struct opened_source {
  std::unique_ptr<tqlib::format::tensor_source> source;
  const tqlib::format::mv2::reader* mv2 = nullptr;  // set when the input is MV2
  const tqlib::format::safetensors::view* st = nullptr;
  const tqlib::format::gguf::view* gguf = nullptr;  // set when the input is GGUF
};

inline tqlib::result<opened_source> open_source(const std::string& path) {
  using namespace tqlib::format;
  opened_source o;
  std::error_code ec;
  if (std::filesystem::is_directory(path, ec)) {
    auto f = hf_folder::open(path);
    if (!f) return std::move(f).err();
    o.source = std::move(*f);
    return o;
  }
  auto m = mapped_file::open(path);
  if (!m) return std::move(m).err();
  const bool is_mv2 = m->size() >= 6 && std::memcmp(m->bytes().data(), "OKLOMV", 6) == 0;
  if (is_mv2) {
    auto r = mv2::open_file(path);
    if (!r) return std::move(r).err();
    o.mv2 = r->get();
    o.source = std::move(*r);
    return o;
  }
  if (m->size() >= 4 && std::memcmp(m->bytes().data(), "GGUF", 4) == 0) {
    auto g = gguf::model_source::open(path);
    if (!g) return std::move(g).err();
    o.gguf = &(*g)->gguf();
    o.source = std::move(*g);
    return o;
  }
  auto s = safetensors::file_source::open(path);
  if (!s) return tqlib::make_error(s.err().code, path + " is neither MV2, GGUF nor safetensors: " + s.err().message);
  o.st = &(*s)->get();
  o.source = std::move(*s);
  return o;
}

inline std::string shape_text(const std::vector<std::uint64_t>& s) {
  std::string t = "[";
  for (std::size_t i = 0; i < s.size(); ++i) t += (i ? "," : "") + std::to_string(s[i]);
  return t + "]";
}

}  // namespace tq
