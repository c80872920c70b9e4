#pragma once
// One loaded model in the wasm engine: the MV2 file (owned bytes), its reader, and the
// generation state. Loading checks everything before anything runs: the Ed25519 signature
// against the caller's trusted key (when given), then every tensor is decompressed and its
// BLAKE2b checksum and codec layout checked, with progress reported per tensor.
// Generation does exactly what `tq run` does (tools/tq/cmd_run.cpp), one token per step(), so
// greedy output matches the native tool token for token.
#include <algorithm>
#include <array>
#include <cstdint>
#include <cstring>
#include <functional>
#include <memory>
#include <optional>
#include <string>

#include <nlohmann/json.hpp>

#include "tqlib/core/result.hpp"
#include "tqlib/format/mv2.hpp"
#include "tqlib/format/signature.hpp"
#include "tqlib/model/config.hpp"
#include "tqlib/model/qwen.hpp"
#include "tqlib/model/sampler.hpp"
#include "tqlib/model/weights.hpp"
#include "tqlib/tokenizer/chat_template.hpp"
#include "tqlib/tokenizer/load.hpp"
#include "tqlib/tokenizer/qwen_tokenizer.hpp"

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
    auto progress = [&](const char* stage, double done, double total) {
      if (opt.progress) opt.progress(stage, done, total);
    };
    const std::span<const std::byte> bytes(reinterpret_cast<const std::byte*>(data.get()), n);
    format::mv2::reader_options ro;
    // The page's memory tops out at 4 GiB; refuse early what cannot fit rather than fail midway.
    ro.max_decompressed_bytes = std::uint64_t(3) << 30;
    auto r = format::mv2::reader::open(bytes, ro, data);
    if (!r) return std::move(r).err();
    auto& rd = **r;
    if (opt.trusted_key) {
      progress("verify", 0, 1);
      TQLIB_TRY(rd.verify_signature(std::span(&*opt.trusted_key, 1)));
      progress("verify", 1, 1);
    }
    const std::size_t nt = rd.tensors().size();
    for (std::size_t i = 0; i < nt; ++i) {
      progress("decompress", double(i), double(nt));
      auto b = rd.tensor_bytes(i);
      if (!b) return std::move(b).err();
    }
    TQLIB_TRY(rd.verify_all());  // the embedded files' checksums too (tensors are done above)
    progress("decompress", double(nt), double(nt));

    std::unique_ptr<session> s(new session());
    s->size_ = n;
    s->signed_ = rd.is_signed();
    s->verified_ = opt.trusted_key.has_value();
    s->reader_ = std::move(*r);
    auto text = s->reader_->read_file("config.json");
    if (!text) return std::move(text).err();
    if (!*text) return make_error(errc::invalid_argument, "the model has no config.json (not a Qwen model file)");
    auto cfg = model::parse_config(**text);
    if (!cfg) return std::move(cfg).err();
    s->cfg_ = *cfg;
    auto w = model::load_weights(*s->reader_, s->cfg_);
    if (!w) return std::move(w).err();
    s->stop_ids_ = s->cfg_.eos_ids;
    if (s->reader_->file("tokenizer.json") || s->reader_->file("vocab.json")) {
      auto tok = tokenizer::load_tokenizer(*s->reader_);
      if (!tok) return std::move(tok).err();
      for (auto id : tok->eos_ids()) s->stop_ids_.push_back(std::int32_t(id));
      s->tok_.emplace(std::move(*tok));
    } else {
      return make_error(errc::unsupported, "the model has no tokenizer files (tokenizer.json / vocab.json), so it cannot take text");
    }
    if (auto tc = s->reader_->file("tokenizer_config.json")) {
      auto j = nlohmann::json::parse(*tc, nullptr, false);
      if (!j.is_discarded() && j.contains("chat_template") && j["chat_template"].is_string())
        s->chat_ = tokenizer::chat_options_for_template(j["chat_template"].get<std::string>());
    }
    model::run_options run;
    run.threads = opt.threads;
    run.context = std::min(s->cfg_.max_seq_len, 4096);
    auto q = model::qwen::create(s->cfg_, std::move(*w), run);
    if (!q) return std::move(q).err();
    s->model_ = std::move(*q);
    s->logits_.resize(std::size_t(s->cfg_.vocab_size));
    return s;
  }

  std::string info_json() const {
    const auto sizes = reader_->tensor_sizes();
    return "{\"file_bytes\":" + std::to_string(size_) + ",\"tensors\":" + std::to_string(reader_->tensors().size()) +
           ",\"stored_bytes\":" + std::to_string(sizes.stored) + ",\"raw_bytes\":" + std::to_string(sizes.raw) +
           ",\"signed\":" + (signed_ ? "true" : "false") + ",\"signature_verified\":" + (verified_ ? "true" : "false") +
           ",\"vocab_size\":" + std::to_string(cfg_.vocab_size) + ",\"context\":" + std::to_string(std::min(cfg_.max_seq_len, 4096)) +
           ",\"threads\":" + std::to_string(model_->threads()) + ",\"can_generate\":true}";
  }

  // Tokenizes `prompt` and runs it through the model (tq run's prompt phase).
  result<void> begin(const std::string& prompt, const generate_options& g) {
    reset();
    std::string full = prompt;
    if (g.chat) {
      auto t = tokenizer::apply_chat_template({tokenizer::chat_message{"user", prompt}}, chat_);
      if (!t) return std::move(t).err();
      full = *t;
    }
    auto ids = tok_->encode(full);
    if (!ids) return std::move(ids).err();
    for (auto id : *ids) history_.push_back(std::int32_t(id));
    if (history_.empty()) return make_error(errc::invalid_argument, "empty prompt");
    const int context = std::min(cfg_.max_seq_len, 4096);
    if (std::int64_t(history_.size()) + std::max(g.max_tokens, 1) > context)
      return make_error(errc::invalid_argument, "prompt (" + std::to_string(history_.size()) + " tokens) + max tokens (" +
                                                    std::to_string(g.max_tokens) + ") exceed the context of " + std::to_string(context));
    max_tokens_ = std::max(g.max_tokens, 0);
    sampler_.emplace(g.sampling);
    detok_.emplace(*tok_, true);
    TQLIB_TRY(model_->forward(history_, 0, logits_.data()));
    pos_ = int(history_.size());
    active_ = true;
    return {};
  }

  // >= 0: the next token (its text in piece()); -1: finished (piece() holds any text the
  // detokenizer still held back).
  result<int> step() {
    piece_.clear();
    if (!active_) return -1;
    if (produced_ >= max_tokens_) return finish();
    const std::int32_t next = sampler_->sample(logits_, history_);
    if (model::is_stop_token(next, stop_ids_)) return finish();
    ++produced_;
    history_.push_back(next);
    piece_ = detok_->push(tokenizer::token_id(next));
    if (produced_ < max_tokens_) TQLIB_TRY(model_->forward(std::span(&history_.back(), 1), pos_++, logits_.data()));
    return int(next);
  }

  const std::string& piece() const noexcept { return piece_; }

  void reset() {
    history_.clear();
    piece_.clear();
    produced_ = 0;
    pos_ = 0;
    active_ = false;
  }

 private:
  session() = default;

  int finish() {
    piece_ = detok_ ? detok_->finish() : std::string();
    active_ = false;
    return -1;
  }

  std::size_t size_ = 0;
  bool signed_ = false, verified_ = false;
  std::unique_ptr<format::mv2::reader> reader_;  // owns (a reference to) the file bytes
  model::config cfg_;
  std::optional<tokenizer::qwen_tokenizer> tok_;
  tokenizer::chat_template_options chat_;
  std::vector<std::int32_t> stop_ids_;
  std::unique_ptr<model::qwen> model_;
  std::vector<float> logits_;
  std::vector<std::int32_t> history_;
  std::optional<model::sampler> sampler_;
  std::optional<tokenizer::detokenizer_stream> detok_;
  std::string piece_;
  int max_tokens_ = 0, produced_ = 0, pos_ = 0;
  bool active_ = false;
};

}  // namespace tqlib::wasm
