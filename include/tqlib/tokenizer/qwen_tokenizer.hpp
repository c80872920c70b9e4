#pragma once
// The Qwen (2, 2.5, 3) tokenizer, matching Hugging Face tokenizers:
//   encode: UTF-8 check -> added/special tokens found in the raw text (leftmost, longest) ->
//           NFC on the text between them -> Qwen2 split (pretokenizer.hpp) -> byte-level BPE.
//   decode: ids -> token bytes (byte-level alphabet undone) -> concatenated -> ill-formed UTF-8
//           replaced by U+FFFD (from_utf8_lossy); unknown ids are skipped, as tokenizers does.
// Invalid UTF-8 in the input text is rejected with an error naming the byte offset (tokenizers
// takes Rust strings, which cannot hold it, so there is no behaviour to copy).
//
// Vocabulary remap (pruned embeddings): set_vocab_remap(model_to_original) makes encode return
// and decode take the model's compact ids. BPE then uses only the merges whose two parts and
// result are kept (a merge that would make a pruned token is skipped, as if not listed; ranks
// unchanged), which is how the pruned model's training tokenizer encoded its data. The 256 byte
// tokens must be kept (checked), so any text encodes. Texts whose full-vocabulary BPE only ever
// makes kept tokens encode as with the full vocabulary; others may split differently (not the
// same as splitting pruned tokens afterwards). Added tokens that were pruned are not matched
// (their text is ordinary text).
#include <algorithm>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "tqlib/core/result.hpp"
#include "tqlib/tokenizer/added_tokens.hpp"
#include "tqlib/tokenizer/bpe.hpp"
#include "tqlib/tokenizer/byte_level.hpp"
#include "tqlib/tokenizer/pretokenizer.hpp"
#include "tqlib/tokenizer/tokenizer_files.hpp"
#include "tqlib/tokenizer/unicode.hpp"
#include "tqlib/tokenizer/utf8.hpp"

namespace tqlib::tokenizer {

struct encode_options {
  bool parse_special = true;  // false: "<|im_start|>" in the text is tokenized as plain text
};

class qwen_tokenizer {
 public:
  static constexpr token_id no_id = 0xFFFFFFFFu;

  static result<qwen_tokenizer> from_spec(tokenizer_spec spec) {
    qwen_tokenizer t;
    auto bpe = bpe_model::build(std::move(spec.vocab), spec.merges);
    if (!bpe) return std::move(bpe).err();
    t.bpe_ = std::move(*bpe);
    t.nfc_ = spec.nfc;
    std::size_t bound = t.bpe_.id_bound();
    for (const auto& a : spec.added) {
      if (auto existing = t.bpe_.find(a.content); existing && *existing != a.id)
        return make_error(errc::corrupt, "added token '" + a.content + "' has id " + std::to_string(a.id) + " but the vocabulary gives it " +
                                             std::to_string(*existing));
      bound = std::max<std::size_t>(bound, a.id + 1);
    }
    t.added_.assign(bound, -1);
    for (std::size_t i = 0; i < spec.added.size(); ++i) {
      const token_id id = spec.added[i].id;
      if (t.added_[id] >= 0 && spec.added[std::size_t(t.added_[id])].content != spec.added[i].content)
        return make_error(errc::corrupt, "added token id " + std::to_string(id) + " is given to two tokens");
      t.added_[id] = static_cast<std::int32_t>(i);
    }
    t.added_list_ = spec.added;
    t.matcher_ = added_token_matcher(std::move(spec.added));
    t.eos_token_ = spec.eos_token;
    t.build_token_bytes();
    return t;
  }
  static result<qwen_tokenizer> from_tokenizer_json(std::string_view text) {
    auto spec = parse_tokenizer_json(text);
    if (!spec) return std::move(spec).err();
    return from_spec(std::move(*spec));
  }
  static result<qwen_tokenizer> from_vocab_merges(std::string_view vocab_json, std::string_view merges_txt,
                                                  std::string_view tokenizer_config_json = {}, std::string_view added_tokens_json = {}) {
    auto spec = parse_vocab_merges(vocab_json, merges_txt, tokenizer_config_json, added_tokens_json);
    if (!spec) return std::move(spec).err();
    return from_spec(std::move(*spec));
  }

  // ---- vocabulary ----
  // Number of ids the model sees (with a remap: its length).
  std::size_t vocab_size() const { return remapped() ? model_to_original_.size() : token_bytes_.size(); }
  std::optional<std::string> id_to_token(token_id id) const {  // byte-level text, or added token content
    const token_id o = to_original(id);
    if (o == no_id) return std::nullopt;
    if (o < added_.size() && added_[o] >= 0) return added_list_[std::size_t(added_[o])].content;
    if (!bpe_.token(o).empty()) return std::string(bpe_.token(o));
    return std::nullopt;
  }
  std::optional<token_id> token_to_id(std::string_view token) const {
    std::optional<token_id> o = bpe_.find(token);
    if (!o)
      for (const auto& a : added_list_)
        if (a.content == token) o = a.id;
    if (!o) return std::nullopt;
    const token_id m = to_model(*o);
    return m == no_id ? std::nullopt : std::optional<token_id>(m);
  }
  // Raw bytes a token stands for (may be part of a UTF-8 character); empty for unknown ids.
  std::string_view token_bytes(token_id id) const {
    const token_id o = to_original(id);
    return o < token_bytes_.size() ? std::string_view(token_bytes_[o]) : std::string_view();
  }
  bool is_special(token_id id) const {
    const token_id o = to_original(id);
    return o < added_.size() && added_[o] >= 0 && added_list_[std::size_t(added_[o])].special;
  }
  // End-of-generation ids: the configured eos token (<|im_end|>) and <|endoftext|>, when present.
  std::vector<token_id> eos_ids() const {
    std::vector<token_id> out;
    for (std::string_view t : {std::string_view(eos_token_), std::string_view("<|im_end|>"), std::string_view("<|endoftext|>")})
      if (auto id = token_to_id(t); id && std::find(out.begin(), out.end(), *id) == out.end()) out.push_back(*id);
    return out;
  }
  const std::vector<added_token>& added_tokens() const { return added_list_; }

  // ---- vocabulary remap ----
  result<void> set_vocab_remap(std::vector<token_id> model_to_original) {
    const std::size_t bound = token_bytes_.size();
    std::vector<token_id> original_to_model(bound, no_id);
    for (std::size_t m = 0; m < model_to_original.size(); ++m) {
      const token_id o = model_to_original[m];
      if (o >= bound || token_bytes_[o].empty())
        return make_error(errc::corrupt, "vocab remap entry " + std::to_string(m) + " names original id " + std::to_string(o) +
                                             ", which the tokenizer does not have");
      if (original_to_model[o] != no_id)
        return make_error(errc::corrupt, "vocab remap names original id " + std::to_string(o) + " twice (entries " +
                                             std::to_string(original_to_model[o]) + " and " + std::to_string(m) + ")");
      original_to_model[o] = static_cast<token_id>(m);
    }
    for (int b = 0; b < 256; ++b)
      if (original_to_model[bpe_.byte_token(static_cast<unsigned char>(b))] == no_id)
        return make_error(errc::corrupt, "vocab remap drops the byte token for byte " + std::to_string(b) +
                                             " (id " + std::to_string(bpe_.byte_token(static_cast<unsigned char>(b))) +
                                             "); all 256 must be kept so any text encodes");
    std::vector<bool> keep(bound, false);
    for (token_id o : model_to_original) keep[o] = true;
    bpe_.keep_only(keep);  // copy: keep is used below
    std::vector<added_token> kept_added;
    for (const auto& a : added_list_)
      if (keep[a.id]) kept_added.push_back(a);
    matcher_ = added_token_matcher(std::move(kept_added));
    model_to_original_ = std::move(model_to_original);
    original_to_model_ = std::move(original_to_model);
    return {};
  }
  bool remapped() const { return !model_to_original_.empty(); }
  token_id to_original(token_id model_id) const {
    if (!remapped()) return model_id < token_bytes_.size() && !token_bytes_[model_id].empty() ? model_id : no_id;
    return model_id < model_to_original_.size() ? model_to_original_[model_id] : no_id;
  }
  token_id to_model(token_id original_id) const {
    if (!remapped()) return original_id < token_bytes_.size() && !token_bytes_[original_id].empty() ? original_id : no_id;
    return original_id < original_to_model_.size() ? original_to_model_[original_id] : no_id;
  }

  // ---- encode / decode ----
  result<std::vector<token_id>> encode(std::string_view text, encode_options opt = {}) const {
    TQLIB_TRY(utf8::validate(text));
    std::vector<token_id> ids;
    ids.reserve(text.size() / 3 + 4);
    std::vector<added_token_matcher::segment> segments;
    if (opt.parse_special) {
      matcher_.split(text, segments);
    } else {
      segments.push_back({text, nullptr});
    }
    std::vector<std::string_view> pieces;
    for (const auto& seg : segments) {
      if (seg.token) {
        ids.push_back(seg.token->id);
        continue;
      }
      if (nfc_ && !unicode::is_ascii(seg.text)) {
        auto normalized = unicode::nfc(seg.text);
        if (!normalized) return std::move(normalized).err();
        encode_plain(*normalized, ids, pieces);
      } else {
        encode_plain(seg.text, ids, pieces);
      }
    }
    if (remapped())
      for (auto& id : ids) id = original_to_model_[id];
    return ids;
  }

  // Raw bytes of the ids, concatenated (may end inside a character).
  std::string decode_bytes(std::span<const token_id> ids, bool skip_special = false) const {
    std::string out;
    for (token_id id : ids) {
      if (skip_special && is_special(id)) continue;
      out += token_bytes(id);
    }
    return out;
  }
  std::string decode(std::span<const token_id> ids, bool skip_special = false) const {
    return utf8::to_valid_lossy(decode_bytes(ids, skip_special));
  }

 private:
  bpe_model bpe_;
  bool nfc_ = true;
  std::vector<std::int32_t> added_;  // original id -> index in added_list_, or -1
  std::vector<added_token> added_list_;
  added_token_matcher matcher_;
  std::vector<std::string> token_bytes_;  // original id -> raw bytes ("" = no such id)
  std::vector<token_id> model_to_original_, original_to_model_;
  std::string eos_token_;

  void build_token_bytes() {
    token_bytes_.assign(std::max(bpe_.id_bound(), added_.size()), std::string());
    for (std::size_t id = 0; id < bpe_.id_bound(); ++id)
      if (!bpe_.token(token_id(id)).empty()) token_bytes_[id] = byte_level::decode_token(bpe_.token(token_id(id)));
    for (const auto& a : added_list_) token_bytes_[a.id] = byte_level::decode_token(a.content);
  }

  void encode_plain(std::string_view text, std::vector<token_id>& ids, std::vector<std::string_view>& pieces) const {
    pieces.clear();
    thread_local qwen2_pretokenizer pre;
    pre.split(text, pieces);
    for (std::string_view p : pieces) bpe_.encode_piece(p, ids);
  }
};

// Turns ids into text as they are generated, never emitting half a UTF-8 character.
class detokenizer_stream {
 public:
  explicit detokenizer_stream(const qwen_tokenizer& tok, bool skip_special = false) : tok_(&tok), skip_special_(skip_special) {}
  std::string push(token_id id) {
    if (skip_special_ && tok_->is_special(id)) return {};
    return decoder_.push(tok_->token_bytes(id));
  }
  std::string finish() { return decoder_.finish(); }

 private:
  const qwen_tokenizer* tok_;
  bool skip_special_;
  utf8::stream_decoder decoder_;
};

}  // namespace tqlib::tokenizer
