// The self-test the browser engine runs (wasm/src/selftest.hpp), run here on every build the
// tests cover (native per dispatch arch, sanitizers, em++ under node), so that a tolerance or a
// kernel it disagrees with fails before the browser test does.
#include <string>

#include "catch.hpp"
#include "../../wasm/src/selftest.hpp"

TEST_CASE("the engine self-test passes on this build", "[selftest]") {
  tqlib::wasm::selftest_report r;
  tqlib::wasm::selftest_simd(r);
  tqlib::wasm::selftest_formats(r);
  tqlib::wasm::selftest_codecs(r);
  INFO(r.json_checks);
  REQUIRE(r.failed == 0);
  // every registered codec adds at least encode-validate-matvec checks
  REQUIRE(r.passed >= 2 * int(tqlib::codec::all_codecs().size()));
}
