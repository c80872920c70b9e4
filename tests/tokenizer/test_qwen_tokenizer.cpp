// The Qwen tokenizer against Hugging Face tokenizers' own ids and decodes
// (tests/tokenizer/fixtures/qwen2.5_ids.json, made by scripts/reference/make_tokenizer_fixtures.py),
// plus hostile tokenizer files, the vocabulary remap and the chat template.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <map>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "catch.hpp"
#include "tqlib/tokenizer/chat_template.hpp"
#include "tqlib/tokenizer/load.hpp"

using namespace tqlib::tokenizer;
using ids_t = std::vector<token_id>;

namespace {

const std::string tokenizer_dir = std::string(TQLIB_SOURCE_DIR) + "/models/qwen2.5-tokenizer";

double seconds_since(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

const qwen_tokenizer& qwen() {
  static const qwen_tokenizer tok = [] {
    const auto t0 = std::chrono::steady_clock::now();
    auto r = load_tokenizer_folder(tokenizer_dir);
    if (!r) FAIL(r.err().what());
    std::printf("loaded vocab.json + merges.txt (%zu ids) in %.3f s\n", r->vocab_size(), seconds_since(t0));
    return std::move(r).value();
  }();
  return tok;
}

const nlohmann::json& fixtures() {
  static const nlohmann::json j = [] {
    auto text = read_text_file(std::string(TQLIB_SOURCE_DIR) + "/tests/tokenizer/fixtures/qwen2.5_ids.json");
    if (!text) FAIL("fixtures missing");
    auto parsed = nlohmann::json::parse(*text, nullptr, false);
    if (parsed.is_discarded()) FAIL("fixtures are not JSON");
    return parsed;
  }();
  return j;
}

ids_t ids_of(const nlohmann::json& j) { return j.get<ids_t>(); }

std::string show(const std::string& s) {
  std::string o;
  for (unsigned char c : s) {
    if (c == '\n') o += "\\n";
    else if (c == '\r') o += "\\r";
    else if (c == '\t') o += "\\t";
    else if (c < 0x20) o += "\\x" + std::to_string(c);
    else o += char(c);
  }
  return o.size() > 120 ? o.substr(0, 120) + "..." : o;
}

std::uint32_t fnv1a(const ids_t& ids) {
  std::uint32_t h = 0x811C9DC5u;
  for (token_id id : ids)
    for (int k = 0; k < 4; ++k) {
      h ^= (id >> (8 * k)) & 0xFF;
      h *= 0x01000193u;
    }
  return h;
}

}  // namespace

TEST_CASE("qwen tokenizer: vocabulary basics") {
  const auto& tok = qwen();
  CHECK(tok.vocab_size() == 151665);
  CHECK(tok.token_to_id("<|im_end|>") == token_id(151645));
  CHECK(tok.token_to_id("\xC4\xA0the") == token_id(279));  // "Ġthe"
  CHECK(tok.id_to_token(151644) == std::optional<std::string>("<|im_start|>"));
  CHECK(tok.eos_ids() == ids_t{151645, 151643});
  CHECK(tok.is_special(151643));
  CHECK_FALSE(tok.is_special(279));
  CHECK_FALSE(tok.id_to_token(151665).has_value());
}

TEST_CASE("qwen tokenizer: encode and decode equal Hugging Face tokenizers") {
  const auto& tok = qwen();
  std::size_t checked = 0, failed = 0;
  for (const auto& e : fixtures()["encode"]) {
    const std::string text = e["text"].get<std::string>();
    const ids_t expect = ids_of(e["ids"]);
    auto got = tok.encode(text);
    REQUIRE(got.ok());
    ++checked;
    if (*got != expect) {
      if (++failed <= 10) {
        std::string g, x;
        for (auto i : *got) g += std::to_string(i) + " ";
        for (auto i : expect) x += std::to_string(i) + " ";
        std::printf("MISMATCH '%s'\n  got    %s\n  expect %s\n", show(text).c_str(), g.c_str(), x.c_str());
      }
    }
    CHECK(tok.decode(expect) == e["decoded"].get<std::string>());
  }
  std::printf("%zu fixture strings, %zu mismatches (tokenizers %s)\n", checked, failed,
              fixtures()["versions"]["tokenizers"].get<std::string>().c_str());
  CHECK(checked > 500);
  CHECK(failed == 0);
}

TEST_CASE("qwen tokenizer: decode of arbitrary id runs (split characters, skip special)") {
  const auto& tok = qwen();
  std::size_t n = 0;
  for (const auto& d : fixtures()["decode"]) {
    const ids_t ids = ids_of(d["ids"]);
    // tokenizer.json marks all 22 added tokens special; tokenizer_config.json (what this folder
    // loads) marks <tool_call>, </tool_call>, FIM and repo/file tokens (151657..151664) not
    // special, as transformers' Qwen2Tokenizer does: skip_special keeps those here.
    const bool config_differs = std::any_of(ids.begin(), ids.end(), [](token_id i) { return i >= 151657 && i <= 151664; });
    if (d["skip_special"].get<bool>() && config_differs) continue;
    INFO("ids starting " << (ids.empty() ? 0 : ids[0]) << " of " << ids.size());
    REQUIRE(tok.decode(ids, d["skip_special"].get<bool>()) == d["text"].get<std::string>());
    ++n;
  }
  CHECK(n > 1000);
}

TEST_CASE("qwen tokenizer: streaming detokenizer never emits half a character") {
  const auto& tok = qwen();
  for (const auto& e : fixtures()["encode"]) {
    const ids_t ids = ids_of(e["ids"]);
    detokenizer_stream s(tok);
    std::string all;
    for (token_id id : ids) {
      const std::string piece = s.push(id);
      REQUIRE(utf8::is_valid(piece));
      all += piece;
    }
    all += s.finish();
    REQUIRE(all == e["decoded"].get<std::string>());
  }
  // A character split over byte tokens: U+00E9 as bytes C3 A9.
  detokenizer_stream s(tok);
  const auto c3 = tok.token_to_id(byte_level::encode("\xC3"));
  const auto a9 = tok.token_to_id(byte_level::encode("\xA9"));
  REQUIRE(c3);
  REQUIRE(a9);
  CHECK(s.push(*c3).empty());
  CHECK(s.push(*a9) == "\xC3\xA9");
}

TEST_CASE("qwen tokenizer: invalid UTF-8 is an error naming the byte offset") {
  auto r = qwen().encode("Hello \xE4\xBD world");
  REQUIRE_FALSE(r.ok());
  CHECK(r.err().code == tqlib::errc::invalid_argument);
  CHECK(r.err().message.find("byte offset 6") != std::string::npos);
  CHECK_FALSE(qwen().encode(std::string("a\0b\xC0\x80", 5)).ok());
  CHECK(qwen().encode(std::string("a\0b", 3)).ok());
}

TEST_CASE("qwen tokenizer: parse_special=false tokenizes special tokens as text") {
  encode_options o;
  o.parse_special = false;
  auto r = qwen().encode("<|im_end|>", o);
  REQUIRE(r.ok());
  CHECK(r->size() > 1);
  CHECK(qwen().decode(*r) == "<|im_end|>");
}

TEST_CASE("qwen tokenizer: chat template equals transformers' apply_chat_template") {
  const auto& tok = qwen();
  auto cfg = read_text_file(tokenizer_dir + "/tokenizer_config.json");
  REQUIRE(cfg);
  auto cfg_json = nlohmann::json::parse(*cfg, nullptr, false);
  REQUIRE(cfg_json.contains("chat_template"));
  const auto base = chat_options_for_template(cfg_json["chat_template"].get<std::string>());
  REQUIRE(base.default_system.has_value());
  std::size_t n = 0;
  for (const auto& c : fixtures()["chat"]) {
    std::vector<chat_message> msgs;
    for (const auto& m : c["messages"]) msgs.push_back({m["role"].get<std::string>(), m["content"].get<std::string>()});
    auto opt = base;
    opt.add_generation_prompt = c["add_generation_prompt"].get<bool>();
    auto text = apply_chat_template(msgs, opt);
    REQUIRE(text.ok());
    CHECK(*text == c["text"].get<std::string>());
    auto ids = tok.encode(*text);
    REQUIRE(ids.ok());
    CHECK(*ids == ids_of(c["ids"]));
    ++n;
  }
  CHECK(n >= 5);
  CHECK_FALSE(apply_chat_template({{"wizard", "x"}}).ok());
  CHECK_FALSE(chat_options_for_template("{{ messages }}").default_system.has_value());
}

TEST_CASE("qwen tokenizer: bulk text hash and encoding speed") {
  const auto& tok = qwen();
  const auto& b = fixtures()["bulk"];
  std::string joined;
  bool first = true;
  for (const auto& e : fixtures()["encode"]) {
    if (!first) joined += b["join"].get<std::string>();
    joined += e["text"].get<std::string>();
    first = false;
  }
  std::string text;
  for (int i = 0; i < b["repeat"].get<int>(); ++i) text += joined;
  REQUIRE(text.size() == b["bytes"].get<std::size_t>());
  auto t0 = std::chrono::steady_clock::now();
  auto ids = tok.encode(text);
  const double s = seconds_since(t0);
  REQUIRE(ids.ok());
  CHECK(ids->size() == b["tokens"].get<std::size_t>());
  CHECK(fnv1a(*ids) == b["fnv1a"].get<std::uint32_t>());
  std::printf("bulk: %zu bytes -> %zu tokens in %.4f s (%.0f tokens/s, %.1f MB/s; cache warm); HF tokenizers on the device: %.0f tokens/s\n",
              text.size(), ids->size(), s, double(ids->size()) / s, double(text.size()) / s / 1e6, b["hf_tokens_per_s"].get<double>());
  // Cold-ish: distinct words every time (few cache hits).
  std::string fresh;
  for (int i = 0; i < 20000; ++i) fresh += " w" + std::to_string(i * 7919) + "x" + std::string(1, char('a' + i % 26)) + "q" + std::to_string(i);
  t0 = std::chrono::steady_clock::now();
  auto ids2 = tok.encode(fresh);
  const double s2 = seconds_since(t0);
  REQUIRE(ids2.ok());
  std::printf("fresh words: %zu bytes -> %zu tokens in %.4f s (%.0f tokens/s)\n", fresh.size(), ids2->size(), s2, double(ids2->size()) / s2);
  CHECK(tok.decode(*ids2) == fresh);
}

TEST_CASE("qwen tokenizer: tokenizer.json gives the same tokenizer") {
  const std::string path = std::string(TQLIB_SOURCE_DIR) + "/models/qwen2.5-tokenizer/tokenizer.json";
  auto text = read_text_file(path);
  REQUIRE(text);
  const auto t0 = std::chrono::steady_clock::now();
  auto tok = qwen_tokenizer::from_tokenizer_json(*text);
  std::printf("loaded tokenizer.json in %.3f s\n", seconds_since(t0));
  REQUIRE(tok.ok());
  CHECK(tok->vocab_size() == qwen().vocab_size());
  std::size_t k = 0;
  for (const auto& e : fixtures()["encode"]) {
    if (++k % 5) continue;
    auto ids = tok->encode(e["text"].get<std::string>());
    REQUIRE(ids.ok());
    CHECK(*ids == ids_of(e["ids"]));
  }
}

TEST_CASE("qwen tokenizer: vocabulary remap keeps every text encodable") {
  auto r = load_tokenizer_folder(tokenizer_dir);
  REQUIRE(r.ok());
  qwen_tokenizer tok = std::move(r).value();
  // Keep the first 3000 ids and the specials, in a scrambled order.
  ids_t m2o;
  for (token_id i = 0; i < 3000; ++i) m2o.push_back((i * 7) % 3000);
  for (token_id i = 151643; i < 151665; ++i) m2o.push_back(i);
  REQUIRE(tok.set_vocab_remap(m2o).ok());
  CHECK(tok.vocab_size() == m2o.size());
  for (const auto& e : fixtures()["encode"]) {
    const std::string text = e["text"].get<std::string>();
    auto ids = tok.encode(text);
    REQUIRE(ids.ok());
    for (token_id id : *ids) REQUIRE(id < m2o.size());
    REQUIRE(tok.decode(*ids) == e["decoded"].get<std::string>());
    // Texts whose original tokens all survived pruning encode to the same tokens.
    const ids_t orig = ids_of(e["ids"]);
    bool all_kept = true;
    for (token_id o : orig) all_kept = all_kept && (o < 3000 || o >= 151643);
    if (all_kept) {
      ids_t back;
      for (token_id id : *ids) back.push_back(m2o[id]);
      CHECK(back == orig);
    }
  }
  CHECK(tok.eos_ids() == ids_t{3000 + 2, 3000 + 0});
  // Dropping a byte token or naming an id twice is refused.
  auto r2 = load_tokenizer_folder(tokenizer_dir);
  REQUIRE(r2.ok());
  auto bad = r2->set_vocab_remap({0, 1, 2});
  REQUIRE_FALSE(bad.ok());
  CHECK(bad.err().message.find("byte token") != std::string::npos);
  CHECK(r2->set_vocab_remap({5, 5}).err().message.find("twice") != std::string::npos);
  CHECK(parse_vocab_remap("{\"model_to_original\": [1, 2, -3]}").err().message.find("entry 2") != std::string::npos);
}

namespace {
// A model source that embeds only files (as an MV2 file or HF folder would).
class files_only_source final : public tqlib::format::tensor_source {
 public:
  std::map<std::string, std::string, std::less<>> files;
  std::vector<std::string> tensor_names() const override { return {}; }
  tqlib::result<std::optional<tqlib::format::tensor_view>> tensor(std::string_view) const override {
    return std::optional<tqlib::format::tensor_view>();
  }
  std::optional<std::string> file(std::string_view name) const override {
    auto it = files.find(name);
    return it == files.end() ? std::nullopt : std::optional<std::string>(it->second);
  }
};
}  // namespace

TEST_CASE("qwen tokenizer: load_tokenizer from a model source, with a vocab remap file") {
  files_only_source src;
  for (const char* f : {"vocab.json", "merges.txt", "tokenizer_config.json"}) src.files[f] = *read_text_file(tokenizer_dir + "/" + f);
  auto tok = load_tokenizer(src);
  REQUIRE(tok.ok());
  CHECK(*tok->encode("Hello world") == ids_t{9707, 1879});
  std::string remap = "[";
  for (int i = 0; i < 256; ++i) remap += std::to_string(i) + ",";
  remap += "9707, 151645]";
  src.files["vocab_remap.json"] = remap;
  auto pruned = load_tokenizer(src);
  REQUIRE(pruned.ok());
  CHECK(pruned->vocab_size() == 258);
  // Only bytes, "Hello" and <|im_end|> are kept: the merges on the way to "Hello" ("He", "ll",
  // ...) make pruned tokens, so they are never applied and "Hello" stays as its five bytes
  // (byte ids: '!' = 0, so printable ASCII c is c - 33: H 39, e 68, l 75, o 78).
  CHECK(*pruned->encode("Hello<|im_end|>") == ids_t{39, 68, 75, 75, 78, 257});
  CHECK(pruned->decode(*pruned->encode(" world")) == " world");  // falls back to byte tokens
  src.files["vocab_remap.json"] = "[1, 2";
  CHECK(load_tokenizer(src).err().message.find("vocab_remap.json") != std::string::npos);
  src.files.clear();
  CHECK(load_tokenizer(src).err().message.find("neither tokenizer.json nor vocab.json") != std::string::npos);
}

// ---- hostile files: a small synthetic tokenizer built from the byte alphabet ----
namespace {

nlohmann::json small_tokenizer_json() {
  nlohmann::json vocab = nlohmann::json::object();
  for (int b = 0; b < 256; ++b) vocab[byte_level::get_tables().byte_to_utf8[b]] = b;
  vocab["ab"] = 256;
  vocab["abc"] = 257;
  nlohmann::json j;
  j["normalizer"] = {{"type", "NFC"}};
  j["pre_tokenizer"] = {{"type", "Sequence"},
                        {"pretokenizers",
                         {{{"type", "Split"}, {"pattern", {{"Regex", std::string(qwen2_split_pattern)}}}, {"behavior", "Isolated"}, {"invert", false}},
                          {{"type", "ByteLevel"}, {"add_prefix_space", false}, {"trim_offsets", true}, {"use_regex", false}}}}};
  j["model"] = {{"type", "BPE"}, {"vocab", vocab},
                {"merges", nlohmann::json::array({nlohmann::json::array({"a", "b"}), nlohmann::json::array({"ab", "c"})})}};
  j["added_tokens"] = {{{"id", 258}, {"content", "<|end|>"}, {"special", true}}};
  return j;
}

std::string load_error(const nlohmann::json& j) {
  auto r = qwen_tokenizer::from_tokenizer_json(j.dump());
  return r.ok() ? std::string("(loaded)") : r.err().what();
}

}  // namespace

TEST_CASE("qwen tokenizer: a small well-formed tokenizer.json works") {
  auto r = qwen_tokenizer::from_tokenizer_json(small_tokenizer_json().dump());
  REQUIRE(r.ok());
  auto ids = r->encode("abc<|end|>ab");
  REQUIRE(ids.ok());
  CHECK(*ids == ids_t{257, 258, 256});
}

TEST_CASE("qwen tokenizer: with a pruned vocabulary, merges that make a pruned token are skipped") {
  // Bytes are ids 0..255 (byte b has id b, so 'a' = 97, 'b' = 98, 'c' = 99), then
  //   rank 0: a  + b -> ab  (256)
  //   rank 1: ab + c -> abc (257)
  //   rank 2: b  + c -> bc  (258)
  nlohmann::json j = small_tokenizer_json();
  j["model"]["vocab"]["bc"] = 258;
  j["model"]["merges"].push_back(nlohmann::json::array({"b", "c"}));
  j["added_tokens"][0]["id"] = 259;
  auto full = qwen_tokenizer::from_tokenizer_json(j.dump());
  REQUIRE(full.ok());
  // Full vocabulary: a+b (rank 0) -> [ab, c]; ab+c (rank 1) -> [abc].
  CHECK(*full->encode("abc") == ids_t{257});
  {
    // Prune "ab": rank 0 is skipped, so rank 1 never applies (no "ab"); rank 2 gives [a, bc].
    // (Full BPE then splitting "abc"-made-from-"ab" would give [abc] here instead.)
    auto t = qwen_tokenizer::from_tokenizer_json(j.dump());
    REQUIRE(t.ok());
    ids_t m2o;
    for (token_id b = 0; b < 256; ++b) m2o.push_back(b);
    m2o.push_back(257);  // abc -> model id 256
    m2o.push_back(258);  // bc  -> model id 257
    REQUIRE(t->set_vocab_remap(m2o).ok());
    CHECK(*t->encode("abc") == ids_t{97, 257});
    CHECK(*t->encode("ab") == ids_t{97, 98});
    CHECK(*t->encode("bc") == ids_t{257});
    CHECK(t->decode(ids_t{97, 257}) == "abc");
  }
  {
    // Prune "abc": rank 0 -> [ab, c]; rank 1 skipped; rank 2 cannot apply (the b is inside ab).
    auto t = qwen_tokenizer::from_tokenizer_json(j.dump());
    REQUIRE(t.ok());
    ids_t m2o;
    for (token_id b = 0; b < 256; ++b) m2o.push_back(b);
    m2o.push_back(256);  // ab -> model id 256
    m2o.push_back(258);  // bc -> model id 257
    REQUIRE(t->set_vocab_remap(m2o).ok());
    CHECK(*t->encode("abc") == ids_t{256, 99});
    CHECK(*t->encode("bcab") == ids_t{257, 256});
  }
}

TEST_CASE("qwen tokenizer: hostile tokenizer files give clear errors") {
  const std::string good = small_tokenizer_json().dump();
  for (std::size_t cut : {std::size_t(0), std::size_t(1), good.size() / 3, good.size() - 1}) {
    auto r = qwen_tokenizer::from_tokenizer_json(good.substr(0, cut));
    REQUIRE_FALSE(r.ok());
    CHECK(r.err().message.find("tokenizer.json: not valid JSON") != std::string::npos);
  }
  auto j = small_tokenizer_json();
  j["model"]["merges"].push_back(nlohmann::json::array({"ab", "zz"}));
  CHECK(load_error(j).find("merge 2 ('ab' 'zz') references token 'zz' that is not in the vocabulary") != std::string::npos);
  j = small_tokenizer_json();
  j["model"]["merges"].push_back(nlohmann::json::array({"b", "c"}));
  CHECK(load_error(j).find("produces 'bc'") != std::string::npos);
  j = small_tokenizer_json();
  j["model"]["merges"].push_back(42);
  CHECK(load_error(j).find("model.merges[2]") != std::string::npos);
  j = small_tokenizer_json();
  j["model"]["vocab"]["ab"] = "x";
  CHECK(load_error(j).find("model.vocab[\"ab\"]") != std::string::npos);
  j = small_tokenizer_json();
  j["model"]["vocab"]["abc"] = 256;
  CHECK(load_error(j).find("given to two tokens") != std::string::npos);
  j = small_tokenizer_json();
  j["model"]["vocab"].erase(std::string(byte_level::get_tables().byte_to_utf8[0x20]));
  CHECK(load_error(j).find("lacks the byte-level token for byte 0x20") != std::string::npos);
  j = small_tokenizer_json();
  j["pre_tokenizer"]["pretokenizers"][0]["pattern"]["Regex"] = "\\s+";
  CHECK(load_error(j).find("unsupported: tokenizer.json: pre_tokenizer: the Split regex is not Qwen2's") != std::string::npos);
  j = small_tokenizer_json();
  j["model"].erase("vocab");
  CHECK(load_error(j).find("model.vocab is missing") != std::string::npos);
  j = small_tokenizer_json();
  j["added_tokens"][0]["content"] = 5;
  CHECK(load_error(j).find("added_tokens[0].content") != std::string::npos);
  j = small_tokenizer_json();
  j["added_tokens"][0]["rstrip"] = true;
  CHECK(load_error(j).find("rstrip") != std::string::npos);
  CHECK(load_error(nlohmann::json::array()).find("top level is not a JSON object") != std::string::npos);

  // vocab.json + merges.txt
  nlohmann::json vocab = small_tokenizer_json()["model"]["vocab"];
  auto m = qwen_tokenizer::from_vocab_merges(vocab.dump(), "#version: 0.2\na b\nab c d\n");
  REQUIRE_FALSE(m.ok());
  CHECK(m.err().message.find("merges.txt: line 3 is not two tokens") != std::string::npos);
  m = qwen_tokenizer::from_vocab_merges(vocab.dump(), "a b\nab ZZ\n");
  REQUIRE_FALSE(m.ok());
  CHECK(m.err().message.find("merge 1 ('ab' 'ZZ') references token 'ZZ'") != std::string::npos);
  m = qwen_tokenizer::from_vocab_merges(vocab.dump().substr(0, 100), "a b\n");
  REQUIRE_FALSE(m.ok());
  CHECK(m.err().message.find("vocab.json: not valid JSON") != std::string::npos);
  m = qwen_tokenizer::from_vocab_merges(vocab.dump(), "a b\n", "{\"added_tokens_decoder\": {\"x1\": {\"content\": \"<x>\"}}}");
  REQUIRE_FALSE(m.ok());
  CHECK(m.err().message.find("added_tokens_decoder key 'x1'") != std::string::npos);
  m = qwen_tokenizer::from_vocab_merges(vocab.dump(), "a b\n", "", "{\"<x>\": 259, \"<y>\": 259}");
  REQUIRE_FALSE(m.ok());
  CHECK(m.err().message.find("259") != std::string::npos);
}
