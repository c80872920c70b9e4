#pragma once
// Qwen's ChatML prompt format, as Qwen2.5's Jinja chat_template renders it without tools:
//   <|im_start|>system\n{system}<|im_end|>\n     (a default system message when the first
//                                                 message is not a system one)
//   <|im_start|>{role}\n{content}<|im_end|>\n    per user / assistant / later system message
//   <|im_start|>user\n<tool_response>\n{content}\n</tool_response><|im_end|>\n  for tool results
//                                                 (consecutive ones share one user turn)
//   <|im_start|>assistant\n                      when add_generation_prompt
// There is no Jinja engine here; the default system message is read from the template text of
// tokenizer_config.json when it has Qwen2.5's sentence (Qwen3's template has none).
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "tqlib/core/result.hpp"

namespace tqlib::tokenizer {

inline constexpr std::string_view qwen25_default_system = "You are Qwen, created by Alibaba Cloud. You are a helpful assistant.";

struct chat_message {
  std::string role;  // system, user, assistant, tool
  std::string content;
};

struct chat_template_options {
  bool add_generation_prompt = true;
  std::optional<std::string> default_system = std::string(qwen25_default_system);  // nullopt: none
};

// Options matching a tokenizer_config.json chat_template string: the Qwen2.5 default system
// message if the template contains it, else none.
inline chat_template_options chat_options_for_template(std::string_view jinja_template) {
  chat_template_options o;
  if (jinja_template.find(qwen25_default_system) == std::string_view::npos) o.default_system.reset();
  return o;
}

inline result<std::string> apply_chat_template(const std::vector<chat_message>& messages, const chat_template_options& opt = {}) {
  std::string out;
  const auto turn = [&](std::string_view role, std::string_view content) {
    out.append("<|im_start|>").append(role).append("\n").append(content).append("<|im_end|>\n");
  };
  if ((messages.empty() || messages[0].role != "system") && opt.default_system) turn("system", *opt.default_system);
  for (std::size_t i = 0; i < messages.size(); ++i) {
    const chat_message& m = messages[i];
    if (m.role == "system" || m.role == "user" || m.role == "assistant") {
      turn(m.role, m.content);
    } else if (m.role == "tool") {
      if (i == 0 || messages[i - 1].role != "tool") out.append("<|im_start|>user");
      out.append("\n<tool_response>\n").append(m.content).append("\n</tool_response>");
      if (i + 1 == messages.size() || messages[i + 1].role != "tool") out.append("<|im_end|>\n");
    } else {
      return make_error(errc::invalid_argument, "chat message " + std::to_string(i) + " has role '" + m.role +
                                                    "' (expected system, user, assistant or tool)");
    }
  }
  if (opt.add_generation_prompt) out.append("<|im_start|>assistant\n");
  return out;
}

}  // namespace tqlib::tokenizer
