// tq tensors FILE: one line per tensor: name codec shape size.
#include "cli.hpp"
#include "format_source.hpp"

namespace {

int run_tensors(tq::args_t args) {
  tq::cli c(args, {});
  if (!c.ok()) return tq::usage_error("tensors", c.error());
  if (c.positional().size() != 1) return tq::usage_error("tensors", "usage: tq tensors FILE|FOLDER");
  auto src = tq::open_source(c.positional()[0]);
  if (!src) return tq::fail("tensors", src.err().what());
  if (src->mv2) {
    for (const auto& t : src->mv2->tensors())
      std::printf("%s %s %s %llu%s\n", t.name.c_str(), std::string(t.codec.name).c_str(), tq::shape_text(t.shape).c_str(),
                  (unsigned long long)t.data.raw_size, t.data.comp == tqlib::format::mv2::compression::zstd ? " zstd" : "");
    return 0;
  }
  if (src->st) {
    for (const auto& t : src->st->tensors())
      std::printf("%s %s %s %llu\n", t.name.c_str(), std::string(t.dtype->name).c_str(), tq::shape_text(t.shape).c_str(),
                  (unsigned long long)(t.end - t.begin));
    return 0;
  }
  for (const auto& name : src->source->tensor_names()) {
    auto t = src->source->tensor(name);
    if (!t) return tq::fail("tensors", t.err().what());
    std::vector<std::uint64_t> shape((*t)->shape.begin(), (*t)->shape.end());
    std::printf("%s %s %s %zu", name.c_str(), std::string(tqlib::format::find_codec((*t)->codec)->name).c_str(),
                tq::shape_text(shape).c_str(), (*t)->bytes.size());
    if (src->gguf)  // the file's own name and ggml type
      if (const auto g = tqlib::format::gguf::gguf_name_of(name))
        if (const auto* info = src->gguf->find_tensor(*g)) std::printf(" (%s %s)", g->c_str(), std::string(info->type->name).c_str());
    std::printf("\n");
  }
  return 0;
}

}  // namespace

TQ_COMMAND("tensors", "tensors FILE|FOLDER                      list tensors: name codec shape bytes", run_tensors);
