// libFuzzer: MV2 JSON header schema parser on arbitrary text; re-serialising what parses must
// parse again.
#include <cstddef>
#include <cstdint>
#include <cstdlib>

#include "tqlib/format/json_header.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace tqlib::format::mv2;
  auto h = parse_json_header({reinterpret_cast<const char*>(data), size});
  if (!h) return 0;
  if (!parse_json_header(serialize_json_header(*h)).ok()) std::abort();
  return 0;
}
