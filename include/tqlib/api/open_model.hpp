#pragma once
// Opening a model: an MV2 file, a GGUF file (llama.cpp's, Qwen2/Qwen3: format/gguf_model.hpp), a
// Hugging Face folder (config.json + model.safetensors or a sharded model.safetensors.index.json;
// tokenizer files beside them are optional), or one .safetensors file with config.json in the
// same folder. The result holds everything a session
// needs: the parsed config, the weights (packed, as views into the file: MV2 and safetensors
// are memory-mapped and used in place; only zstd-compressed MV2 tensors are decompressed, once,
// into the reader's memory), the tokenizer, the stop ids and the chat template choice.
//
// Ownership: a model_handle is a shared, immutable handle; copies share one loaded model, and
// every session made from it keeps it alive. Concurrent use of one handle from several threads
// is safe (it is read-only after open_model returns, and tokenize() takes a lock); a session is
// not. tokenizer() hands out the tokenizer itself: its encode() is not safe to call from two
// threads at once (use tokenize()), its decoding functions are.
#include <cstdint>
#include <cstring>
#include <filesystem>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "tqlib/core/result.hpp"
#include "tqlib/format/gguf_model.hpp"
#include "tqlib/format/hf_folder.hpp"
#include "tqlib/format/mv2.hpp"
#include "tqlib/format/signature.hpp"
#include "tqlib/format/tensor_source.hpp"
#include "tqlib/model/config.hpp"
#include "tqlib/model/kv_cache.hpp"
#include "tqlib/model/qwen.hpp"
#include "tqlib/model/weights.hpp"
#include "tqlib/tokenizer/chat_template.hpp"
#include "tqlib/tokenizer/load.hpp"
#include "tqlib/tokenizer/qwen_tokenizer.hpp"

namespace tqlib {

// Reports a long step of open_model: stage is "verify" (signature) or "read" (tensors, when
// read_all_tensors is set); done/total count bytes or tensors.
using progress_callback = std::function<void(std::string_view stage, double done, double total)>;

struct model_options {
  // Signature policy. Empty: signatures are not checked (an MV2 file's BLAKE2b checksums still
  // are). Non-empty: the file must be an MV2 file signed by one of these keys, or open_model
  // fails with errc::signature before any weight is used.
  std::vector<format::public_key> trusted_keys;
  // Read (decompress, checksum, validate) every tensor now instead of on first use, so a bad
  // file fails here rather than mid-generation (the browser demo wants that; a CLI run does not
  // pay for it).
  bool read_all_tensors = false;
  format::mv2::reader_options mv2{};  // limits for untrusted MV2 files
  // Defaults for the sessions made from the model: threads, KV cache positions (capped at the
  // config's max_position_embeddings), prompt batch, KV cache type (model::kv_type_for_bits).
  model::run_options run{};
  progress_callback progress;
};

namespace detail {

struct model_state {
  std::string path;
  std::unique_ptr<format::tensor_source> source;  // owns the bytes the weights point into
  const format::mv2::reader* mv2 = nullptr;       // the same object, when the input is MV2
  model::config cfg;
  model::weights weights;  // views into source; copied (cheaply) into each session
  std::optional<tokenizer::qwen_tokenizer> tok;
  // The tokenizer's pre-tokenizer reuses scratch memory between calls (tokenizer/pretokenizer.hpp),
  // so encoding is serialised: sessions of one model on several threads share the tokenizer.
  mutable std::mutex encode_mutex;
  std::vector<std::int32_t> stop_ids;  // config eos + tokenizer eos, model ids
  tokenizer::chat_template_options chat;
  bool signature_verified = false;
  model::run_options run;
};

inline bool has_suffix(std::string_view s, std::string_view suffix) {
  return s.size() >= suffix.size() && s.substr(s.size() - suffix.size()) == suffix;
}

// The chat template choice from tokenizer_config.json: Qwen2.5's default system message when its
// Jinja template carries one (tokenizer/chat_template.hpp). No file, or no template: the default.
inline tokenizer::chat_template_options chat_options_of(const format::tensor_source& src) {
  tokenizer::chat_template_options co;
  if (auto tc = src.file("tokenizer_config.json")) {
    auto j = nlohmann::json::parse(*tc, nullptr, false);
    if (!j.is_discarded() && j.is_object() && j.contains("chat_template") && j["chat_template"].is_string())
      co = tokenizer::chat_options_for_template(j["chat_template"].get<std::string>());
  }
  return co;
}

}  // namespace detail

// Picks the tensor source for PATH (see the top of this file). safetensors input goes through
// the library's validated reader (format/safetensors.hpp, format/hf_folder.hpp): dtype x shape =
// size, offsets in bounds, no holes or overlaps, shard names plain file names.
inline result<std::unique_ptr<format::tensor_source>> open_tensor_source(const std::string& path,
                                                                         const format::mv2::reader_options& mv2_opts = {}) {
  std::error_code ec;
  if (std::filesystem::is_directory(path, ec)) {
    auto f = format::hf_folder::open(path);
    if (!f) return std::move(f).err();
    return std::unique_ptr<format::tensor_source>(std::move(*f));
  }
  if (detail::has_suffix(path, ".gguf")) {
    auto f = format::gguf::model_source::open(path);
    if (!f) return std::move(f).err();
    return std::unique_ptr<format::tensor_source>(std::move(*f));
  }
  if (detail::has_suffix(path, ".safetensors")) {
    auto f = format::hf_folder::open_file(path);
    if (!f) return std::move(f).err();
    return std::unique_ptr<format::tensor_source>(std::move(*f));
  }
  auto r = format::mv2::open_file(path, mv2_opts);
  if (!r) return std::move(r).err();
  return std::unique_ptr<format::tensor_source>(std::move(*r));
}

class session;

class model_handle {
 public:
  const model::config& config() const noexcept { return s_->cfg; }
  const model::weights& weights() const noexcept { return s_->weights; }
  // Where the tensors come from; the MV2 reader (signature, metadata, sizes) when the input is MV2.
  const format::tensor_source& source() const noexcept { return *s_->source; }
  const format::mv2::reader* mv2() const noexcept { return s_->mv2; }
  const std::string& path() const noexcept { return s_->path; }
  // nullptr when the model has no tokenizer files: it then takes token ids only.
  const tokenizer::qwen_tokenizer* tokenizer() const noexcept { return s_->tok ? &*s_->tok : nullptr; }
  std::span<const std::int32_t> stop_ids() const noexcept { return s_->stop_ids; }
  const tokenizer::chat_template_options& chat_template() const noexcept { return s_->chat; }
  bool signature_verified() const noexcept { return s_->signature_verified; }
  const model::run_options& default_run_options() const noexcept { return s_->run; }
  // Bytes of packed weights a decode step reads (every matrix once, plus the output head).
  std::size_t weight_bytes_per_token() const { return s_->weights.bytes_per_token(); }

  // Text to model token ids. parse_special: "<|im_start|>" in the text is the special token.
  result<std::vector<std::int32_t>> tokenize(std::string_view text, bool parse_special = true) const {
    if (!s_->tok) return make_error(errc::unsupported, s_->path + ": the model has no tokenizer files (tokenizer.json or vocab.json): give token ids");
    std::lock_guard lock(s_->encode_mutex);
    auto ids = s_->tok->encode(text, {parse_special});
    if (!ids) return std::move(ids).err();
    return std::vector<std::int32_t>(ids->begin(), ids->end());
  }
  // Messages rendered with the model's chat template, ending with the assistant's turn opened.
  result<std::string> render_chat(const std::vector<tokenizer::chat_message>& messages) const {
    return tokenizer::apply_chat_template(messages, s_->chat);
  }

  // A new conversation (KV cache, thread pool, scratch); run options default to the model's.
  result<session> new_session() const;
  result<session> new_session(const model::run_options& run) const;

 private:
  friend class session;
  friend result<model_handle> open_model_from(std::unique_ptr<format::tensor_source>, std::string, const model_options&);
  explicit model_handle(std::shared_ptr<const detail::model_state> s) : s_(std::move(s)) {}
  std::shared_ptr<const detail::model_state> s_;
};

// Finishes opening a model from an already opened tensor source (what open_model and
// open_model_bytes share): signature, config, weights, tokenizer, stop ids, chat template.
inline result<model_handle> open_model_from(std::unique_ptr<format::tensor_source> source, std::string path,
                                            const model_options& opt) {
  auto progress = [&](std::string_view stage, double done, double total) {
    if (opt.progress) opt.progress(stage, done, total);
  };
  auto s = std::make_shared<detail::model_state>();
  s->path = std::move(path);
  s->mv2 = dynamic_cast<const format::mv2::reader*>(source.get());
  s->source = std::move(source);
  s->run = opt.run;
  if (!opt.trusted_keys.empty()) {
    if (!s->mv2)
      return make_error(errc::signature, s->path + ": trusted keys were given, but only MV2 files carry a signature");
    progress("verify", 0, 1);
    if (auto v = s->mv2->verify_signature(opt.trusted_keys); !v)
      return make_error(v.err().code, s->path + ": " + v.err().message);
    progress("verify", 1, 1);
    s->signature_verified = true;
  }
  if (opt.read_all_tensors) {
    const auto names = s->source->tensor_names();
    for (std::size_t i = 0; i < names.size(); ++i) {
      progress("read", double(i), double(names.size()));
      auto t = s->source->tensor(names[i]);
      if (!t) return make_error(t.err().code, s->path + ": " + t.err().message);  // the message names the tensor
    }
    if (s->mv2)
      if (auto v = s->mv2->verify_all(); !v) return make_error(v.err().code, s->path + ": " + v.err().message);
    progress("read", double(names.size()), double(names.size()));
  }
  auto text = s->source->file("config.json");
  if (!text) return make_error(errc::invalid_argument, s->path + ": no config.json (not a Qwen model)");
  auto cfg = model::parse_config(*text);
  if (!cfg) return make_error(cfg.err().code, s->path + ": config.json: " + cfg.err().message);
  s->cfg = *cfg;
  auto w = model::load_weights(*s->source, s->cfg);
  if (!w) return make_error(w.err().code, s->path + ": " + w.err().message);
  s->weights = std::move(*w);
  s->stop_ids = s->cfg.eos_ids;
  if (s->source->file("tokenizer.json") || s->source->file("vocab.json")) {
    auto tok = tokenizer::load_tokenizer(*s->source);
    if (!tok) return make_error(tok.err().code, s->path + ": " + tok.err().message);
    for (auto id : tok->eos_ids()) s->stop_ids.push_back(std::int32_t(id));
    s->tok.emplace(std::move(*tok));
  }
  s->chat = detail::chat_options_of(*s->source);
  return model_handle(std::move(s));
}

// Opens PATH (MV2 file, Hugging Face folder or .safetensors file; see the top of this file).
inline result<model_handle> open_model(const std::string& path, const model_options& opt = {}) {
  auto src = open_tensor_source(path, opt.mv2);
  if (!src) return std::move(src).err();
  return open_model_from(std::move(*src), path, opt);
}

// Opens an MV2 or GGUF file already in memory (a download, an embedded resource). keep_alive owns
// the bytes; the model holds it as long as it or any of its sessions lives.
inline result<model_handle> open_model_bytes(std::span<const std::byte> bytes, std::shared_ptr<const void> keep_alive,
                                             const model_options& opt = {}) {
  if (bytes.size() >= 4 && std::memcmp(bytes.data(), "GGUF", 4) == 0) {
    auto g = format::gguf::model_source::over(bytes, std::move(keep_alive));
    if (!g) return std::move(g).err();
    return open_model_from(std::unique_ptr<format::tensor_source>(std::move(*g)), "(memory)", opt);
  }
  auto r = format::mv2::reader::open(bytes, opt.mv2, std::move(keep_alive));
  if (!r) return std::move(r).err();
  return open_model_from(std::unique_ptr<format::tensor_source>(std::move(*r)), "(memory)", opt);
}

// Only the tokenizer of PATH: a folder (tokenizer files, or a Hugging Face model folder), a
// tokenizer.json file, a GGUF file (its tokenizer.ggml.* metadata) or an MV2 file that embeds the
// tokenizer files. No weights are read.
inline result<tokenizer::qwen_tokenizer> open_tokenizer(const std::string& path) {
  std::error_code ec;
  if (std::filesystem::is_directory(path, ec)) return tokenizer::load_tokenizer_folder(path);
  if (detail::has_suffix(path, ".json")) {
    auto text = tokenizer::read_text_file(path);
    if (!text) return make_error(errc::io, "cannot read " + path);
    return tokenizer::qwen_tokenizer::from_tokenizer_json(*text);
  }
  // A model file (MV2 or GGUF): its embedded tokenizer files.
  auto src = open_tensor_source(path);
  if (!src) return std::move(src).err();
  auto tok = tokenizer::load_tokenizer(**src);
  if (!tok) return make_error(tok.err().code, path + ": " + tok.err().message);
  return tok;
}

}  // namespace tqlib
