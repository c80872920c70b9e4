#pragma once
// Every codec family's kernels (see tqlib/kernels.inl.hpp): one line per family.
#include "tqlib/codec/detail/aqlm_kernels.inl.hpp"
#include "tqlib/codec/detail/dense_kernels.inl.hpp"
#include "tqlib/codec/detail/hadamard_kernels.inl.hpp"
#include "tqlib/codec/detail/q4_0_kernels.inl.hpp"
#include "tqlib/codec/detail/q8_kernels.inl.hpp"
#include "tqlib/codec/detail/sign_magnitude_kernels.inl.hpp"
#include "tqlib/codec/detail/ternary_kernels.inl.hpp"
#include "tqlib/codec/detail/tq1_0_kernels.inl.hpp"
#include "tqlib/codec/detail/tq2_0_kernels.inl.hpp"
#include "tqlib/codec/detail/trit_kernels.inl.hpp"
