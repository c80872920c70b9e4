// The Qwen2 split worked out by hand from the regex's alternation and backtracking rules.
#include <string>
#include <vector>

#include "catch.hpp"
#include "tqlib/tokenizer/pretokenizer.hpp"

using namespace tqlib::tokenizer;
using pieces = std::vector<std::string>;

static pieces split(const std::string& s) {
  qwen2_pretokenizer p;
  pieces out;
  for (auto v : p.split(s)) out.emplace_back(v);
  return out;
}

TEST_CASE("pretokenizer: words, spaces and the space left for the next word") {
  CHECK(split("Hello world") == pieces{"Hello", " world"});
  CHECK(split("hello  world") == pieces{"hello", " ", " world"});   // \s+(?!\S) keeps the last space
  CHECK(split("trailing   ") == pieces{"trailing", "   "});          // run at the end: whole
  CHECK(split("  leading") == pieces{" ", " leading"});
  CHECK(split("\t\tTabs") == pieces{"\t", "\tTabs"});                // [^\r\n\p{L}\p{N}]? takes a tab
  CHECK(split("a\xC2\xA0" "b") == pieces{"a", "\xC2\xA0" "b"});      // no-break space likewise
  CHECK(split("") == pieces{});
}

TEST_CASE("pretokenizer: contractions, any ASCII case, only the listed suffixes") {
  CHECK(split("I'm") == pieces{"I", "'m"});
  CHECK(split("DON'T") == pieces{"DON", "'T"});
  CHECK(split("we've") == pieces{"we", "'ve"});
  CHECK(split("SHE'LL") == pieces{"SHE", "'LL"});
  CHECK(split("'sup") == pieces{"'s", "up"});
  CHECK(split("rock'n'roll") == pieces{"rock", "'n", "'roll"});
  CHECK(split("'\xC5\xBF") == pieces{"'\xC5\xBF"});  // 'ſ: no case folding to 's
}

TEST_CASE("pretokenizer: numbers one digit at a time, symbols with trailing newlines") {
  CHECK(split("1234") == pieces{"1", "2", "3", "4"});
  CHECK(split("x=12;") == pieces{"x", "=", "1", "2", ";"});
  CHECK(split("...\n\n") == pieces{"...\n\n"});
  CHECK(split(" ...x") == pieces{" ...", "x"});
  CHECK(split("a.b") == pieces{"a", ".b"});
  CHECK(split("(x)") == pieces{"(x", ")"});
  CHECK(split("$100") == pieces{"$", "1", "0", "0"});
}

TEST_CASE("pretokenizer: newline runs end at the last newline") {
  CHECK(split("a \n b") == pieces{"a", " \n", " b"});
  CHECK(split("a  \n\n  b") == pieces{"a", "  \n\n", " ", " b"});
  CHECK(split("line1\n\n\nline2") == pieces{"line", "1", "\n\n\n", "line", "2"});
  CHECK(split("a\r\nb") == pieces{"a", "\r\n", "b"});
  CHECK(split("x\n") == pieces{"x", "\n"});
  CHECK(split("trailing \n ") == pieces{"trailing", " \n", " "});
}

TEST_CASE("pretokenizer: scripts without spaces and marks") {
  // Devanagari vowel signs are Mc/Mn (not \p{L}): they split from the letters before them.
  CHECK(split("\xE0\xA4\xA8\xE0\xA4\xAE\xE0\xA4\xB8\xE0\xA5\x8D\xE0\xA4\xA4\xE0\xA5\x87") ==
        pieces{"\xE0\xA4\xA8\xE0\xA4\xAE\xE0\xA4\xB8", "\xE0\xA5\x8D\xE0\xA4\xA4", "\xE0\xA5\x87"});
  CHECK(split("\xE4\xBD\xA0\xE5\xA5\xBD\xEF\xBC\x8C") == pieces{"\xE4\xBD\xA0\xE5\xA5\xBD", "\xEF\xBC\x8C"});
}

TEST_CASE("pretokenizer: pieces always concatenate back to the input") {
  const std::vector<std::string> inputs = {"x = 1\ny = 2\n", " \t \n\r\n  \xE3\x80\x80 a", "\xF0\x9F\x91\x8D\xF0\x9F\x8F\xBD ok!!\n\n",
                                           "'''s's", "\xE2\x80\xA8\xC2\x85x"};
  for (const auto& s : inputs) {
    std::string joined;
    for (const auto& p : split(s)) {
      CHECK_FALSE(p.empty());
      joined += p;
    }
    CHECK(joined == s);
  }
}
