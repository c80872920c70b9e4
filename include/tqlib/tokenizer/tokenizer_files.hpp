#pragma once
// Parsing the Hugging Face tokenizer files into a tokenizer_spec: either tokenizer.json, or
// vocab.json + merges.txt + added tokens (tokenizer_config.json's added_tokens_decoder, else
// added_tokens.json). All of it is untrusted: every field is type-checked and errors name the
// file and the field. Only what Qwen's byte-level BPE needs is accepted; other pipelines (another
// split regex, byte fallback, ...) are rejected as unsupported rather than tokenized wrongly.
#include <charconv>
#include <functional>
#include <optional>
#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "tqlib/core/json_depth.hpp"
#include "tqlib/core/result.hpp"
#include "tqlib/tokenizer/added_tokens.hpp"
#include "tqlib/tokenizer/bpe.hpp"
#include "tqlib/tokenizer/json_scan.hpp"
#include "tqlib/tokenizer/utf8.hpp"

namespace tqlib::tokenizer {

inline constexpr std::string_view qwen2_split_pattern =
    "(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+";

struct tokenizer_spec {
  std::vector<std::pair<std::string, token_id>> vocab;  // byte-level token text, id
  std::vector<std::pair<std::string, std::string>> merges;
  std::vector<added_token> added;
  bool nfc = true;
  std::string eos_token = "<|im_end|>";
};

namespace detail {

inline error file_error(errc code, std::string_view file, const std::string& what) {
  return make_error(code, std::string(file) + ": " + what);
}

// Records the first syntax error (no exceptions: they may be off in WebAssembly builds).
struct syntax_error_sax : nlohmann::json_sax<nlohmann::json> {
  std::string message;
  bool null() override { return true; }
  bool boolean(bool) override { return true; }
  bool number_integer(number_integer_t) override { return true; }
  bool number_unsigned(number_unsigned_t) override { return true; }
  bool number_float(number_float_t, const string_t&) override { return true; }
  bool string(string_t&) override { return true; }
  bool binary(binary_t&) override { return true; }
  bool start_object(std::size_t) override { return true; }
  bool key(string_t&) override { return true; }
  bool end_object() override { return true; }
  bool start_array(std::size_t) override { return true; }
  bool end_array() override { return true; }
  bool parse_error(std::size_t position, const std::string&, const nlohmann::detail::exception& ex) override {
    message = "at byte " + std::to_string(position) + ": " + ex.what();
    return false;
  }
};

inline result<nlohmann::json> parse_json(std::string_view text, std::string_view file) {
  if (!json_depth_within(text))
    return file_error(errc::corrupt, file, "arrays or objects nested deeper than " + std::to_string(max_json_depth) + " levels");
  auto j = nlohmann::json::parse(text.begin(), text.end(), nullptr, false);
  if (j.is_discarded()) {
    syntax_error_sax sax;  // second pass only on the error path, to say where it breaks
    (void)nlohmann::json::sax_parse(text.begin(), text.end(), &sax);
    return file_error(errc::corrupt, file, "not valid JSON" + (sax.message.empty() ? std::string() : " (" + sax.message + ")"));
  }
  if (!j.is_object()) return file_error(errc::corrupt, file, "top level is not a JSON object");
  return j;
}

inline result<token_id> json_id(const nlohmann::json& v, std::string_view file, const std::string& field) {
  if (!v.is_number_unsigned() || v.get<std::uint64_t>() >= bpe_model::max_vocab)
    return file_error(errc::corrupt, file, field + " is not a token id (a non-negative integer below 2^24)");
  return static_cast<token_id>(v.get<std::uint64_t>());
}

inline result<std::vector<std::pair<std::string, token_id>>> vocab_from_json(const nlohmann::json& v, std::string_view file,
                                                                              const std::string& field) {
  if (!v.is_object()) return file_error(errc::corrupt, file, field + " is not an object of token -> id");
  std::vector<std::pair<std::string, token_id>> out;
  out.reserve(v.size());
  for (auto it = v.begin(); it != v.end(); ++it) {
    auto id = json_id(it.value(), file, field + "[\"" + it.key() + "\"]");
    if (!id) return std::move(id).err();
    out.emplace_back(it.key(), *id);
  }
  return out;
}

// One "left right" merge line (merges.txt and old tokenizer.json files).
inline result<std::pair<std::string, std::string>> split_merge(std::string_view line, std::string_view file, const std::string& where) {
  const std::size_t sp = line.find(' ');
  if (sp == std::string_view::npos || sp == 0 || sp + 1 >= line.size() || line.find(' ', sp + 1) != std::string_view::npos)
    return file_error(errc::corrupt, file, where + " is not two tokens separated by one space: '" + std::string(line) + "'");
  return std::pair<std::string, std::string>(line.substr(0, sp), line.substr(sp + 1));
}

inline result<std::vector<std::pair<std::string, std::string>>> merges_from_json(const nlohmann::json& v, std::string_view file) {
  if (!v.is_array()) return file_error(errc::corrupt, file, "model.merges is not an array");
  std::vector<std::pair<std::string, std::string>> out;
  out.reserve(v.size());
  for (std::size_t i = 0; i < v.size(); ++i) {
    const auto& m = v[i];
    const std::string where = "model.merges[" + std::to_string(i) + "]";
    if (m.is_string()) {
      auto p = split_merge(m.get_ref<const std::string&>(), file, where);
      if (!p) return std::move(p).err();
      out.push_back(std::move(*p));
    } else if (m.is_array() && m.size() == 2 && m[0].is_string() && m[1].is_string()) {
      out.emplace_back(m[0].get<std::string>(), m[1].get<std::string>());
    } else {
      return file_error(errc::corrupt, file, where + " is neither \"a b\" nor [\"a\", \"b\"]");
    }
  }
  return out;
}

inline result<added_token> added_from_json(const nlohmann::json& a, std::string_view file, const std::string& where,
                                           std::optional<token_id> known_id) {
  if (!a.is_object()) return file_error(errc::corrupt, file, where + " is not an object");
  auto content = a.find("content");
  if (content == a.end() || !content->is_string() || content->get_ref<const std::string&>().empty())
    return file_error(errc::corrupt, file, where + ".content is missing or not a non-empty string");
  added_token t;
  t.content = content->get<std::string>();
  TQLIB_TRY(utf8::validate(t.content, std::string(file) + " " + where + ".content"));
  if (known_id) {
    t.id = *known_id;
  } else {
    auto id = a.find("id");
    if (id == a.end()) return file_error(errc::corrupt, file, where + ".id is missing");
    auto r = json_id(*id, file, where + ".id");
    if (!r) return std::move(r).err();
    t.id = *r;
  }
  if (auto s = a.find("special"); s != a.end()) {
    if (!s->is_boolean()) return file_error(errc::corrupt, file, where + ".special is not a boolean");
    t.special = s->get<bool>();
  }
  for (const char* flag : {"lstrip", "rstrip", "single_word"}) {
    auto f = a.find(flag);
    if (f != a.end() && !f->is_boolean()) return file_error(errc::corrupt, file, where + "." + flag + " is not a boolean");
    if (f != a.end() && f->get<bool>())
      return file_error(errc::unsupported, file, where + " ('" + t.content + "') sets " + flag + ", which this tokenizer does not implement");
  }
  return t;
}

inline result<void> check_pre_tokenizer(const nlohmann::json& pt, std::string_view file) {
  // Expected: Sequence[Split(qwen2 pattern, Isolated), ByteLevel(add_prefix_space=false, use_regex=false)].
  const auto unsupported = [&](const std::string& why) { return file_error(errc::unsupported, file, "pre_tokenizer: " + why); };
  if (!pt.is_object() || pt.value("type", "") != "Sequence" || !pt.contains("pretokenizers") || !pt["pretokenizers"].is_array() ||
      pt["pretokenizers"].size() != 2)
    return unsupported("expected a Sequence of Split and ByteLevel (Qwen2's)");
  const auto& split = pt["pretokenizers"][0];
  const auto& bl = pt["pretokenizers"][1];
  if (!split.is_object() || split.value("type", "") != "Split") return unsupported("first step is not Split");
  const auto pat = split.find("pattern");
  if (pat == split.end() || !pat->is_object() || !pat->contains("Regex") || !(*pat)["Regex"].is_string() ||
      (*pat)["Regex"].get_ref<const std::string&>() != qwen2_split_pattern)
    return unsupported("the Split regex is not Qwen2's");
  if (split.value("behavior", "") != "Isolated" || split.value("invert", true)) return unsupported("Split must be Isolated, not inverted");
  if (!bl.is_object() || bl.value("type", "") != "ByteLevel") return unsupported("second step is not ByteLevel");
  if (bl.value("add_prefix_space", true) || bl.value("use_regex", true)) return unsupported("ByteLevel must have add_prefix_space and use_regex false");
  return {};
}

// ---- fast paths (json_scan); false means "let nlohmann parse it and say what is wrong" ----
using vocab_list = std::vector<std::pair<std::string, token_id>>;
using merge_list = std::vector<std::pair<std::string, std::string>>;

inline bool fast_vocab(json_scan::scanner& sc, vocab_list& out) {
  if (!sc.eat('{')) return false;
  out.reserve(160000);
  if (sc.eat('}')) return true;
  std::string key;
  do {
    std::uint64_t id = 0;
    if (!sc.string(key) || !sc.eat(':') || !sc.unsigned_integer(id) || id >= bpe_model::max_vocab) return false;
    out.emplace_back(key, static_cast<token_id>(id));
  } while (sc.eat(','));
  return sc.eat('}');
}

inline bool fast_merges(json_scan::scanner& sc, merge_list& out) {
  if (!sc.eat('[')) return false;
  out.reserve(160000);
  if (sc.eat(']')) return true;
  std::string a, b;
  do {
    if (sc.peek('"')) {
      if (!sc.string(a)) return false;
      const std::size_t sp = a.find(' ');
      if (sp == std::string::npos || sp == 0 || sp + 1 >= a.size() || a.find(' ', sp + 1) != std::string::npos) return false;
      out.emplace_back(a.substr(0, sp), a.substr(sp + 1));
    } else {
      if (!sc.eat('[') || !sc.string(a) || !sc.eat(',') || !sc.string(b) || !sc.eat(']')) return false;
      out.emplace_back(a, b);
    }
  } while (sc.eat(','));
  return sc.eat(']');
}

// tokenizer.json with the vocabulary and merges read by the scanner and everything else (small)
// by nlohmann. nullopt: something is malformed; the caller falls back to a full nlohmann parse.
struct split_tokenizer_json {
  nlohmann::json rest = nlohmann::json::object();  // top level without model.vocab / model.merges
  std::optional<vocab_list> vocab;
  std::optional<merge_list> merges;
};

inline bool scan_object(json_scan::scanner& sc, nlohmann::json& into, const std::function<bool(const std::string&, json_scan::scanner&)>& special) {
  if (!sc.eat('{')) return false;
  if (sc.eat('}')) return true;
  std::string key;
  do {
    if (!sc.string(key) || !sc.eat(':')) return false;
    if (special && special(key, sc)) continue;
    std::string_view raw;
    if (!sc.skip_value(raw)) return false;
    auto v = nlohmann::json::parse(raw.begin(), raw.end(), nullptr, false);
    if (v.is_discarded()) return false;
    into[key] = std::move(v);
  } while (sc.eat(','));
  return sc.eat('}');
}

inline std::optional<split_tokenizer_json> fast_tokenizer_json(std::string_view text) {
  if (!utf8::is_valid(text)) return std::nullopt;
  json_scan::scanner sc(text);
  split_tokenizer_json out;
  bool ok = true;
  auto model_fields = [&](const std::string& key, json_scan::scanner& s) {
    if (key == "vocab" && s.peek('{')) {
      out.vocab.emplace();
      ok = ok && fast_vocab(s, *out.vocab);
      return true;
    }
    if (key == "merges" && s.peek('[')) {
      out.merges.emplace();
      ok = ok && fast_merges(s, *out.merges);
      return true;
    }
    return false;
  };
  auto top_fields = [&](const std::string& key, json_scan::scanner& s) {
    if (key != "model" || !s.peek('{')) return false;
    nlohmann::json model = nlohmann::json::object();
    ok = ok && scan_object(s, model, model_fields);
    out.rest["model"] = std::move(model);
    return true;
  };
  if (!scan_object(sc, out.rest, top_fields) || !ok || !sc.at_end()) return std::nullopt;
  return out;
}

}  // namespace detail

// tokenizer.json (Hugging Face tokenizers' single-file format).
inline result<tokenizer_spec> parse_tokenizer_json(std::string_view text) {
  constexpr std::string_view file = "tokenizer.json";
  auto fast = detail::fast_tokenizer_json(text);
  if (!fast) {  // slow path: full DOM, for the error message (or JSON the scanner does not take)
    auto parsed = detail::parse_json(text, file);
    if (!parsed) return std::move(parsed).err();
    fast.emplace();
    fast->rest = std::move(*parsed);
  }
  const nlohmann::json& j = fast->rest;
  tokenizer_spec spec;

  const auto model = j.find("model");
  if (model == j.end() || !model->is_object()) return detail::file_error(errc::corrupt, file, "model is missing or not an object");
  if (model->value("type", "BPE") != "BPE") return detail::file_error(errc::unsupported, file, "model.type is not BPE");
  if (auto bf = model->find("byte_fallback"); bf != model->end() && bf->is_boolean() && bf->get<bool>())
    return detail::file_error(errc::unsupported, file, "model.byte_fallback is set (not byte-level BPE)");
  if (auto im = model->find("ignore_merges"); im != model->end() && im->is_boolean() && im->get<bool>())
    return detail::file_error(errc::unsupported, file, "model.ignore_merges is set");
  if (fast->vocab) {
    spec.vocab = std::move(*fast->vocab);
  } else {
    const auto vocab = model->find("vocab");
    if (vocab == model->end()) return detail::file_error(errc::corrupt, file, "model.vocab is missing");
    auto v = detail::vocab_from_json(*vocab, file, "model.vocab");
    if (!v) return std::move(v).err();
    spec.vocab = std::move(*v);
  }
  if (fast->merges) {
    spec.merges = std::move(*fast->merges);
  } else {
    const auto merges = model->find("merges");
    if (merges == model->end()) return detail::file_error(errc::corrupt, file, "model.merges is missing");
    auto m = detail::merges_from_json(*merges, file);
    if (!m) return std::move(m).err();
    spec.merges = std::move(*m);
  }

  const auto norm = j.find("normalizer");
  if (norm == j.end() || norm->is_null()) {
    spec.nfc = false;
  } else if (!norm->is_object() || norm->value("type", "") != "NFC") {
    return detail::file_error(errc::unsupported, file, "normalizer is neither null nor NFC");
  }
  const auto pt = j.find("pre_tokenizer");
  if (pt == j.end()) return detail::file_error(errc::corrupt, file, "pre_tokenizer is missing");
  TQLIB_TRY(detail::check_pre_tokenizer(*pt, file));

  if (auto added = j.find("added_tokens"); added != j.end() && !added->is_null()) {
    if (!added->is_array()) return detail::file_error(errc::corrupt, file, "added_tokens is not an array");
    for (std::size_t i = 0; i < added->size(); ++i) {
      auto t = detail::added_from_json((*added)[i], file, "added_tokens[" + std::to_string(i) + "]", std::nullopt);
      if (!t) return std::move(t).err();
      spec.added.push_back(std::move(*t));
    }
  }
  return spec;
}

inline result<std::vector<std::pair<std::string, std::string>>> parse_merges_txt(std::string_view text) {
  std::vector<std::pair<std::string, std::string>> out;
  out.reserve(text.size() / 10);
  std::size_t line_no = 0;
  while (!text.empty()) {
    ++line_no;
    std::size_t nl = text.find('\n');
    std::string_view line = text.substr(0, nl);
    text = nl == std::string_view::npos ? std::string_view() : text.substr(nl + 1);
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    if (line.empty() || (line_no == 1 && line.substr(0, 9) == "#version:")) continue;
    auto p = detail::split_merge(line, "merges.txt", "line " + std::to_string(line_no));
    if (!p) return std::move(p).err();
    out.push_back(std::move(*p));
  }
  return out;
}

// vocab.json + merges.txt, with added tokens from tokenizer_config.json (added_tokens_decoder)
// or, when that is empty, added_tokens.json (content -> id; all taken as special).
inline result<tokenizer_spec> parse_vocab_merges(std::string_view vocab_json, std::string_view merges_txt,
                                                 std::string_view tokenizer_config_json = {},
                                                 std::string_view added_tokens_json = {}) {
  tokenizer_spec spec;
  json_scan::scanner sc(vocab_json);
  if (!utf8::is_valid(vocab_json) || !detail::fast_vocab(sc, spec.vocab) || !sc.at_end()) {
    spec.vocab.clear();  // slow path, for the error message
    auto j = detail::parse_json(vocab_json, "vocab.json");
    if (!j) return std::move(j).err();
    auto v = detail::vocab_from_json(*j, "vocab.json", "vocab");
    if (!v) return std::move(v).err();
    spec.vocab = std::move(*v);
  }
  TQLIB_TRY(utf8::validate(merges_txt, "merges.txt"));
  auto m = parse_merges_txt(merges_txt);
  if (!m) return std::move(m).err();
  spec.merges = std::move(*m);

  if (!tokenizer_config_json.empty()) {
    constexpr std::string_view file = "tokenizer_config.json";
    auto j = detail::parse_json(tokenizer_config_json, file);
    if (!j) return std::move(j).err();
    if (auto dec = j->find("added_tokens_decoder"); dec != j->end()) {
      if (!dec->is_object()) return detail::file_error(errc::corrupt, file, "added_tokens_decoder is not an object");
      for (auto it = dec->begin(); it != dec->end(); ++it) {
        token_id id = 0;
        const std::string& k = it.key();
        auto [p, ec] = std::from_chars(k.data(), k.data() + k.size(), id);
        if (ec != std::errc() || p != k.data() + k.size() || id >= bpe_model::max_vocab)
          return detail::file_error(errc::corrupt, file, "added_tokens_decoder key '" + k + "' is not a token id");
        auto t = detail::added_from_json(it.value(), file, "added_tokens_decoder[\"" + k + "\"]", id);
        if (!t) return std::move(t).err();
        spec.added.push_back(std::move(*t));
      }
    }
    if (auto eos = j->find("eos_token"); eos != j->end()) {
      if (eos->is_string()) spec.eos_token = eos->get<std::string>();
      else if (eos->is_object() && eos->contains("content") && (*eos)["content"].is_string()) spec.eos_token = (*eos)["content"].get<std::string>();
    }
  }
  if (spec.added.empty() && !added_tokens_json.empty()) {
    constexpr std::string_view file = "added_tokens.json";
    auto j = detail::parse_json(added_tokens_json, file);
    if (!j) return std::move(j).err();
    for (auto it = j->begin(); it != j->end(); ++it) {
      auto id = detail::json_id(it.value(), file, "\"" + it.key() + "\"");
      if (!id) return std::move(id).err();
      if (it.key().empty()) return detail::file_error(errc::corrupt, file, "an added token is empty");
      spec.added.push_back({it.key(), *id, true});
    }
  }
  return spec;
}

}  // namespace tqlib::tokenizer
