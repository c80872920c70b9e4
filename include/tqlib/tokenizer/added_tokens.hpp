#pragma once
// Added (special) tokens such as <|im_start|>: found in the raw text before normalization and
// pre-tokenization, leftmost match first and the longest token at that position (Hugging Face
// tokenizers' default for tokens with normalized=false, which all of Qwen's are).
#include <algorithm>
#include <array>
#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

#include "tqlib/tokenizer/bpe.hpp"

namespace tqlib::tokenizer {

struct added_token {
  std::string content;
  token_id id = 0;
  bool special = true;  // skipped by decode(..., skip_special = true)
};

class added_token_matcher {
 public:
  struct segment {
    std::string_view text;          // plain text when token == nullptr
    const added_token* token = nullptr;
  };

  added_token_matcher() = default;
  explicit added_token_matcher(std::vector<added_token> tokens) : tokens_(std::move(tokens)) { index(); }

  const std::vector<added_token>& tokens() const { return tokens_; }

  // Splits text into plain segments and added tokens, in order.
  void split(std::string_view text, std::vector<segment>& out) const {
    std::size_t plain_start = 0;
    std::size_t i = 0;
    while (i < text.size()) {
      const added_token* t = match_at(text, i);
      if (!t) {
        ++i;
        continue;
      }
      if (i > plain_start) out.push_back({text.substr(plain_start, i - plain_start), nullptr});
      out.push_back({text.substr(i, t->content.size()), t});
      i += t->content.size();
      plain_start = i;
    }
    if (plain_start < text.size()) out.push_back({text.substr(plain_start), nullptr});
  }

 private:
  std::vector<added_token> tokens_;
  std::array<std::vector<std::size_t>, 256> by_first_byte_{};  // indices, longest content first

  void index() {
    for (auto& v : by_first_byte_) v.clear();
    for (std::size_t i = 0; i < tokens_.size(); ++i)
      if (!tokens_[i].content.empty()) by_first_byte_[static_cast<unsigned char>(tokens_[i].content[0])].push_back(i);
    for (auto& v : by_first_byte_)
      std::stable_sort(v.begin(), v.end(), [&](std::size_t a, std::size_t b) { return tokens_[a].content.size() > tokens_[b].content.size(); });
  }

  const added_token* match_at(std::string_view text, std::size_t i) const {
    for (std::size_t k : by_first_byte_[static_cast<unsigned char>(text[i])]) {
      const std::string& c = tokens_[k].content;
      if (text.compare(i, c.size(), c) == 0) return &tokens_[k];
    }
    return nullptr;
  }
};

}  // namespace tqlib::tokenizer
