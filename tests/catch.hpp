#pragma once
// Catch2 v2 single header (Debian 12's `catch2` package). Debian 13's Catch2 v3 static library
// does not link with g++ 12, so the tests are written against v2 through this one shim.
#include <catch2/catch.hpp>
