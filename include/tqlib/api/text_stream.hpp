#pragma once
// Generated ids to text pieces, as they come: never half a UTF-8 character (the detokenizer holds
// an incomplete sequence back until its last byte arrives) and never the start of a stop string
// that may still complete (that text is held until it either completes, and is cut there, or
// cannot). What is held back is released by finish().
//
// Holding back a suffix that equals a prefix of a stop string cannot split a character: the stop
// string is valid UTF-8, so its first byte, and so the suffix's, starts a character.
#include <algorithm>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "tqlib/tokenizer/qwen_tokenizer.hpp"

namespace tqlib {

class text_stream {
 public:
  text_stream(const tokenizer::qwen_tokenizer& tok, bool skip_special, std::vector<std::string> stop_strings)
      : detok_(tok, skip_special), stops_(std::move(stop_strings)) {
    stops_.erase(std::remove(stops_.begin(), stops_.end(), std::string()), stops_.end());
  }

  // The text that id completes and that no stop string can still claim. After a stop string
  // appeared, stopped() is true and the text after it is dropped.
  std::string push(std::int32_t id) {
    if (stopped_) return {};
    return release(detok_.push(tokenizer::token_id(id)));
  }
  // Whatever is still held: an incomplete character at the end of the output (as the
  // detokenizer renders it) and the unfinished start of a stop string.
  std::string finish() {
    if (stopped_) return {};
    std::string out = release(detok_.finish());
    out += held_;
    held_.clear();
    return out;
  }
  bool stopped() const noexcept { return stopped_; }

 private:
  std::string release(std::string piece) {
    if (stops_.empty()) return piece;
    held_ += piece;
    // The earliest complete stop string ends the text.
    std::size_t cut = std::string::npos;
    for (const auto& s : stops_) cut = std::min(cut, held_.find(s));
    if (cut != std::string::npos) {
      stopped_ = true;
      std::string out = held_.substr(0, cut);
      held_.clear();
      return out;
    }
    // Keep the longest suffix that some stop string starts with.
    std::size_t keep = 0;
    for (const auto& s : stops_)
      for (std::size_t n = std::min(s.size() - 1, held_.size()); n > keep; --n)
        if (std::string_view(held_).substr(held_.size() - n) == std::string_view(s).substr(0, n)) {
          keep = n;
          break;
        }
    std::string out = held_.substr(0, held_.size() - keep);
    held_.erase(0, held_.size() - keep);
    return out;
  }

  tokenizer::detokenizer_stream detok_;
  std::vector<std::string> stops_;
  std::string held_;
  bool stopped_ = false;
};

}  // namespace tqlib
