// The smallest tqlib program: which SIMD kernels this machine runs, and a dot product.
#include <cstdio>
#include <vector>

#include <tqlib/tqlib.hpp>

int main() {
  std::vector<float> a(896, 0.5f), b(896, 2.0f);
  std::printf("tqlib %s, SIMD %s, dot = %g\n", TQLIB_VERSION_STRING, tqlib::simd::active_arch_name(),
              double(tqlib::simd::dot(a.data(), b.data(), a.size())));
}
