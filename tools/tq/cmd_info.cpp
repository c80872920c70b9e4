// tq info FILE [--verify --pubkey PREFIX.pub ...]: what an MV2 (or GGUF, safetensors, folder) holds.
#include <map>

#include "cli.hpp"
#include "format_source.hpp"

namespace {

using namespace tqlib::format;

int run_info(tq::args_t args) {
  tq::cli c(args, {"pubkey"}, {"verify"});
  if (!c.ok()) return tq::usage_error("info", c.error());
  if (c.positional().size() != 1) return tq::usage_error("info", "usage: tq info FILE [--verify --pubkey KEY.pub]");
  const std::string path = c.positional()[0];
  auto src = tq::open_source(path);
  if (!src) return tq::fail("info", src.err().what());
  if (src->gguf) {
    if (c.has("verify")) return tq::fail("info", path + " is GGUF: only MV2 files carry signatures");
    const auto& g = *src->gguf;
    std::printf("file:        %s\n", path.c_str());
    std::printf("format:      GGUF v%u (llama.cpp)\n", unsigned(g.version()));
    if (auto a = g.get_string("general.architecture")) std::printf("arch:        %.*s\n", int(a->size()), a->data());
    std::printf("alignment:   %u\n", unsigned(g.alignment()));
    std::printf("metadata:    %zu keys\n", g.metadata().size());
    std::printf("tensors:     %zu\n", g.tensors().size());
    std::map<std::string, std::pair<std::size_t, std::uint64_t>> per;  // ggml type -> tensors, bytes
    for (const auto& t : g.tensors()) {
      auto& p = per[std::string(t.type->name)];
      ++p.first, p.second += t.size;
    }
    for (const auto& [name, p] : per)
      std::printf("  type %-8s %4zu tensors, %llu bytes\n", name.c_str(), p.first, (unsigned long long)p.second);
    return 0;
  }
  if (!src->mv2) {
    if (c.has("verify")) return tq::fail("info", path + " is not MV2: only MV2 files carry signatures");
    std::printf("%s: %s, %zu tensors\n", path.c_str(), src->st ? "safetensors" : "Hugging Face folder",
                src->source->tensor_names().size());
    return 0;
  }
  const auto& r = *src->mv2;
  const auto& h = r.header();
  std::printf("file:        %s\n", path.c_str());
  std::printf("version:     %s\n", mv2::version_string(h.version).c_str());
  std::printf("type:        %s (0x%04x)\n", std::string(*mv2::type_name(std::uint16_t(h.type))).c_str(), unsigned(h.type));
  std::printf("features:    %s%s%s%s\n", h.has(mv2::flag::zstd) ? "zstd " : "", h.has(mv2::flag::signed_ed25519) ? "signed " : "",
              h.has(mv2::flag::delta) ? "delta " : "", h.has(mv2::flag::mmap_layout) ? "mmap " : "");
  std::printf("zstd level:  %u\n", unsigned(h.compression_level));
  std::printf("alignment:   %u\n", r.json_meta().alignment);
  std::printf("tensors:     %zu\n", r.tensors().size());
  std::printf("files:       %zu\n", r.json_meta().files.size());
  const auto s = r.tensor_sizes();
  std::printf("tensor data: %llu bytes stored, %llu raw, compression ratio %.3fx\n", (unsigned long long)s.stored,
              (unsigned long long)s.raw, s.stored ? double(s.raw) / double(s.stored) : 1.0);
  std::map<std::string, mv2::size_stats> per;
  for (const auto& t : r.tensors()) {
    auto& p = per[std::string(t.codec.name)];
    p.stored += t.data.size;
    p.raw += t.data.raw_size;
  }
  for (const auto& [name, p] : per)
    std::printf("  codec %-8s %llu bytes stored, %llu raw\n", name.c_str(), (unsigned long long)p.stored, (unsigned long long)p.raw);
  if (!c.has("verify")) return 0;
  const auto keys = c.all("pubkey");
  if (keys.empty()) return tq::fail("info", "--verify needs --pubkey KEY.pub (a key you trust; keys inside files prove nothing)");
  std::vector<public_key> trusted;
  for (const auto& k : keys) {
    auto pk = load_public_key(k);
    if (!pk) return tq::fail("info", pk.err().what());
    trusted.push_back(*pk);
  }
  if (auto v = r.verify_signature(trusted); !v) return tq::fail("info", "signature NOT valid: " + v.err().message);
  if (auto v = r.verify_all(); !v) return tq::fail("info", "signature valid but data damaged: " + v.err().message);
  std::printf("signature:   valid (Ed25519, key %s)\n", keys.size() == 1 ? keys[0].c_str() : "one of the given keys");
  return 0;
}

}  // namespace

TQ_COMMAND("info", "info FILE [--verify --pubkey KEY.pub]   MV2 header, features, sizes; check a signature", run_info);
