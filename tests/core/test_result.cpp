#include <array>

#include "catch.hpp"
#include "tqlib/core/bytes.hpp"

using namespace tqlib;

static result<int> parse_two(std::span<const std::byte> bytes) {
  byte_reader r(bytes);
  auto a = r.read<std::uint16_t>("first");
  if (!a) return std::move(a).err();
  auto b = r.read<std::uint32_t>("second");
  if (!b) return std::move(b).err();
  return int(*a) + int(*b);
}

TEST_CASE("byte_reader reads little-endian fields and names the one that is truncated", "[core]") {
  std::array<std::byte, 6> buf{};
  store_le<std::uint16_t>(buf.data(), 0x0102);
  store_le<std::uint32_t>(buf.data() + 2, 1000);
  CHECK(std::to_integer<int>(buf[0]) == 0x02);
  auto ok = parse_two(buf);
  REQUIRE(ok.ok());
  CHECK(*ok == 0x0102 + 1000);
  auto bad = parse_two(std::span(buf).first(5));
  REQUIRE_FALSE(bad.ok());
  CHECK(bad.err().code == errc::truncated);
  CHECK(bad.err().message.find("second") != std::string::npos);
  CHECK(bad.err().message.find("offset 2") != std::string::npos);
}
