#pragma once
// One loaded model in the wasm engine, for engine.cpp's C interface: tqlib::open_model_bytes on
// the downloaded MV2 bytes and one tqlib::session, driven one token per step() so the page stays
// responsive. Loading checks everything before anything runs: the Ed25519 signature against the
// caller's trusted key (when given), then every tensor is decompressed and its BLAKE2b checksum
// and codec layout checked, with progress reported per tensor. The generation loop is the
// library's (include/tqlib/api/session.hpp), the one `tq run` uses, so greedy output matches the
// native tool token for token.
#include <algorithm>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>

#include "tqlib/api/open_model.hpp"
#include "tqlib/api/session.hpp"
#include "tqlib/core/result.hpp"

namespace tqlib::wasm {

struct load_options {
  std::optional<format::public_key> trusted_key;
  int threads = 1;
  std::function<void(const char* stage, double done, double total)> progress;
};

struct generate_options {
  model::sampler_options sampling{};  // tq run's defaults
  int max_tokens = 128;
  bool chat = false;  // wrap the prompt in the model's chat template (tq run --chat)
};

inline std::string json_escape(std::string_view s) {
  std::string o;
  o.reserve(s.size() + 2);
  for (unsigned char c : s) {
    if (c == '"' || c == '\\') {
      o += '\\';
      o += char(c);
    } else if (c < 0x20) {
      static constexpr char hex[] = "0123456789abcdef";
      o += "\\u00";
      o += hex[c >> 4];
      o += hex[c & 15];
    } else {
      o += char(c);
    }
  }
  return o;
}

class session {
 public:
  static constexpr bool has_model_api = true;

  static result<std::unique_ptr<session>> load(std::shared_ptr<std::uint8_t> data, std::size_t n, const load_options& opt) {
    model_options mo;
    if (opt.trusted_key) mo.trusted_keys.push_back(*opt.trusted_key);
    mo.read_all_tensors = true;
    // The page's memory tops out at 4 GiB; refuse early what cannot fit rather than fail midway.
    mo.mv2.max_decompressed_bytes = std::uint64_t(3) << 30;
    mo.run.threads = opt.threads;
    mo.run.context = 4096;  // capped at the model's max_position_embeddings
    if (opt.progress)  // the page names the tensor stage "decompress"
      mo.progress = [&](std::string_view stage, double done, double total) {
        opt.progress(stage == "read" ? "decompress" : std::string(stage).c_str(), done, total);
      };
    const std::span<const std::byte> bytes(reinterpret_cast<const std::byte*>(data.get()), n);
    auto m = open_model_bytes(bytes, data, mo);
    if (!m) return std::move(m).err();
    if (!m->tokenizer())
      return make_error(errc::unsupported, "the model has no tokenizer files (tokenizer.json / vocab.json), so it cannot take text");
    auto s = m->new_session();
    if (!s) return std::move(s).err();
    return std::unique_ptr<session>(new session(n, std::move(*s)));
  }

  std::string info_json() const {
    const auto& m = session_.model();
    // A GGUF file (no MV2 reader): its tensors are stored raw, and it carries no signature.
    const auto* r = m.mv2();
    const std::size_t tensors = r ? r->tensors().size() : m.source().tensor_names().size();
    const auto sizes = r ? r->tensor_sizes() : format::mv2::size_stats{size_, size_};
    return "{\"format\":\"" + std::string(r ? "mv2" : "gguf") + "\",\"file_bytes\":" + std::to_string(size_) +
           ",\"tensors\":" + std::to_string(tensors) + ",\"stored_bytes\":" + std::to_string(sizes.stored) +
           ",\"raw_bytes\":" + std::to_string(sizes.raw) + ",\"signed\":" + (r && r->is_signed() ? "true" : "false") +
           ",\"signature_verified\":" + (m.signature_verified() ? "true" : "false") +
           ",\"vocab_size\":" + std::to_string(m.config().vocab_size) + ",\"context\":" + std::to_string(session_.context()) +
           ",\"threads\":" + std::to_string(session_.threads()) + ",\"can_generate\":true}";
  }

  // Tokenizes `prompt` and runs it through the model (tq run's prompt phase), from an empty cache.
  result<void> begin(const std::string& prompt, const generate_options& g) {
    reset();
    std::string full = prompt;
    if (g.chat) {
      auto t = session_.model().render_chat({tokenizer::chat_message{"user", prompt}});
      if (!t) return std::move(t).err();
      full = *t;
    }
    auto ids = session_.model().tokenize(full);
    if (!ids) return std::move(ids).err();
    tqlib::generate_options go;
    go.sampling = g.sampling;
    go.max_tokens = std::max(g.max_tokens, 0);
    return session_.begin(*ids, go);
  }

  // >= 0: the next token (its text in piece()); -1: finished (piece() holds any text the
  // detokenizer still held back).
  result<int> step() {
    auto s = session_.step();
    if (!s) return std::move(s).err();
    piece_ = std::move(s->text);
    return int(s->token);
  }

  const std::string& piece() const noexcept { return piece_; }

  void reset() {
    session_.reset();
    piece_.clear();
  }

 private:
  session(std::size_t n, tqlib::session s) : size_(n), session_(std::move(s)) {}

  std::size_t size_ = 0;
  tqlib::session session_;
  std::string piece_;
};

}  // namespace tqlib::wasm
