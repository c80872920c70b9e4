// Built against an installed tqlib by the CI's install test; exits non-zero if anything is off.
#include <cstdio>
#include <vector>

#include <tqlib/tqlib.hpp>

int main() {
  std::vector<float> a(1000), b(1000);
  for (int i = 0; i < 1000; ++i) {
    a[i] = float(i % 7) - 3.f;
    b[i] = float(i % 5) * 0.25f;
  }
  const float got = tqlib::simd::dot(a.data(), b.data(), a.size());
  const float want = tqlib::simd::dot_ref(a.data(), b.data(), a.size());
  std::printf("consumer: tqlib %s, SIMD %s, dot %g (reference %g)\n", TQLIB_VERSION_STRING,
              tqlib::simd::active_arch_name(), double(got), double(want));
  return got == want ? 0 : 1;
}
