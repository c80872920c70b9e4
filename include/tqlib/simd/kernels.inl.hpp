#pragma once
// The dense vector kernels of simd/ (see tqlib/kernels.inl.hpp).
#include "tqlib/simd/detail/vector_kernels.inl.hpp"
