// UTF-8 validation, lossy repair (U+FFFD per maximal subpart, as from_utf8_lossy) and the
// streaming decoder that never emits half a character.
#include <string>

#include "catch.hpp"
#include "tqlib/tokenizer/utf8.hpp"

using namespace tqlib::tokenizer;

TEST_CASE("utf8: validation names the offset of the first ill-formed byte") {
  CHECK(utf8::is_valid("plain ascii"));
  CHECK(utf8::is_valid("caf\xC3\xA9 \xE4\xBD\xA0 \xF0\x9F\x98\x80"));
  CHECK(utf8::first_invalid("ab\xFF" "cd") == 2);
  CHECK(utf8::first_invalid("\xC0\x80") == 0);          // overlong NUL
  CHECK(utf8::first_invalid("x\xE0\x80\x80") == 1);     // overlong 3-byte
  CHECK(utf8::first_invalid("xy\xED\xA0\x80") == 2);    // surrogate U+D800
  CHECK(utf8::first_invalid("\xF4\x90\x80\x80") == 0);  // above U+10FFFF
  CHECK(utf8::first_invalid("abc\xE4\xBD") == 3);       // truncated at the end
  CHECK(utf8::first_invalid("\x80") == 0);              // lone continuation
  auto r = utf8::validate("hello \xFE world");
  REQUIRE_FALSE(r.ok());
  CHECK(r.err().code == tqlib::errc::invalid_argument);
  CHECK(r.err().message.find("byte offset 6") != std::string::npos);
  CHECK(r.err().message.find("0xFE") != std::string::npos);
}

TEST_CASE("utf8: lossy repair replaces each maximal ill-formed subpart once") {
  // Examples from the Unicode Standard, section 3.9 (U+FFFD substitution of maximal subparts).
  CHECK(utf8::to_valid_lossy("a\x80" "b") == "a\xEF\xBF\xBD" "b");
  CHECK(utf8::to_valid_lossy("\xE4\xBD") == "\xEF\xBF\xBD");            // one subpart
  CHECK(utf8::to_valid_lossy("\xE4\xBD" "a") == "\xEF\xBF\xBD" "a");
  CHECK(utf8::to_valid_lossy("\xC0\xAF") == "\xEF\xBF\xBD\xEF\xBF\xBD");  // C0 never leads
  CHECK(utf8::to_valid_lossy("\xED\xA0\x80") == "\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD");
  CHECK(utf8::to_valid_lossy("\xF0\x9F\x98") == "\xEF\xBF\xBD");
  CHECK(utf8::to_valid_lossy("\x61\xF1\x80\x80\xE1\x80\xC2\x62\x80\x63\x80\xBF\x64") ==
        "a\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD" "b\xEF\xBF\xBD" "c\xEF\xBF\xBD\xEF\xBF\xBD" "d");
}

TEST_CASE("utf8: stream decoder holds back a split character") {
  utf8::stream_decoder d;
  CHECK(d.push("caf\xC3") == "caf");
  CHECK(d.pending_bytes() == 1);
  CHECK(d.push("\xA9!") == "\xC3\xA9!");
  CHECK(d.push("\xF0\x9F") == "");
  CHECK(d.push("\x98") == "");
  CHECK(d.push("\x80") == "\xF0\x9F\x98\x80");
  CHECK(d.push("\xF0\x9F" "x") == "\xEF\xBF\xBD" "x");  // broken sequence -> one U+FFFD
  CHECK(d.push("\xE4") == "");
  CHECK(d.finish() == "\xEF\xBF\xBD");
  CHECK(d.pending_bytes() == 0);
}

TEST_CASE("utf8: streaming any split equals lossy repair of the whole") {
  const std::string s = "a\xE4\xBD\xA0\xF0\x9F\x98\x80\xC3\xA9\x80\xE4\xBD\xF0\x9F\x98z\xED\xA0\x80\xF4\x8F\xBF\xBF";
  const std::string expect = utf8::to_valid_lossy(s);
  for (std::size_t cut1 = 0; cut1 <= s.size(); ++cut1) {
    for (std::size_t cut2 = cut1; cut2 <= s.size(); ++cut2) {
      utf8::stream_decoder d;
      std::string out = d.push(s.substr(0, cut1));
      out += d.push(s.substr(cut1, cut2 - cut1));
      out += d.push(s.substr(cut2));
      out += d.finish();
      REQUIRE(out == expect);
      REQUIRE(utf8::is_valid(out));
    }
  }
}
