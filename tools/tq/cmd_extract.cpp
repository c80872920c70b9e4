// tq extract FILE DIR [--raw]: config.json, embedded files, tensors.json (metadata) and, with
// --raw, one file per tensor (tensors/<name>.bin) of its raw encoded bytes.
#include <filesystem>

#include "cli.hpp"
#include "format_source.hpp"
#include "tqlib/format/atomic_file.hpp"

namespace {

bool plain_name(const std::string& n) {
  return !n.empty() && n.find('/') == std::string::npos && n.find('\\') == std::string::npos && n != "." && n != "..";
}

int run_extract(tq::args_t args) {
  using namespace tqlib::format;
  tq::cli c(args, {}, {"raw"});
  if (!c.ok()) return tq::usage_error("extract", c.error());
  if (c.positional().size() != 2) return tq::usage_error("extract", "usage: tq extract FILE DIR [--raw]");
  auto r = mv2::open_file(c.positional()[0]);
  if (!r) return tq::fail("extract", r.err().what());
  const std::filesystem::path dir = c.positional()[1];
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  if (ec) return tq::fail("extract", "cannot create " + dir.string() + ": " + ec.message());
  auto put = [&](const std::string& name, std::span<const std::byte> bytes) -> bool {
    auto w = write_file_atomic((dir / name).string(), bytes);
    if (!w) std::fprintf(stderr, "tq extract: %s\n", w.err().what().c_str());
    return w.ok();
  };
  const auto& meta = (*r)->json_meta();
  if (!meta.config.is_null() && !put("config.json", tqlib::as_bytes_of(meta.config.dump(2)))) return 1;
  for (const auto& f : meta.files) {
    if (!plain_name(f.name)) return tq::fail("extract", "embedded file name '" + f.name + "' is not a plain file name");
    auto text = (*r)->read_file(f.name);
    if (!text) return tq::fail("extract", text.err().what());
    if (!put(f.name, tqlib::as_bytes_of(**text))) return 1;
  }
  mv2::json list = mv2::json::array();
  for (const auto& t : (*r)->tensors())
    list.push_back({{"name", t.name}, {"codec", t.codec.name}, {"shape", t.shape}, {"raw_size", t.data.raw_size},
                    {"stored_size", t.data.size}, {"compression", mv2::compression_name(t.data.comp)}, {"blake2b", to_hex(t.data.blake2b)}});
  if (!put("tensors.json", tqlib::as_bytes_of(list.dump(2, ' ', false, mv2::json::error_handler_t::replace)))) return 1;
  if (c.has("raw")) {
    std::filesystem::create_directories(dir / "tensors", ec);
    for (std::size_t i = 0; i < (*r)->tensors().size(); ++i) {
      const auto& name = (*r)->tensors()[i].name;
      if (!plain_name(name)) return tq::fail("extract", "tensor name '" + name + "' is not a plain file name");
      auto b = (*r)->tensor_bytes(i);
      if (!b) return tq::fail("extract", b.err().what());
      if (!put("tensors/" + name + ".bin", *b)) return 1;
    }
  }
  std::printf("extracted to %s\n", dir.string().c_str());
  return 0;
}

}  // namespace

TQ_COMMAND("extract", "extract FILE DIR [--raw]                 config, tokenizer files, tensor list (and raw tensors)", run_extract);
