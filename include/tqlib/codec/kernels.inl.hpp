#pragma once
// Every codec family's kernels (see tqlib/kernels.inl.hpp): one line per family.
#include "tqlib/codec/kernels/aqlm.hpp"
#include "tqlib/codec/kernels/dense.hpp"
#include "tqlib/codec/kernels/hadamard.hpp"
#include "tqlib/codec/kernels/q4_0.hpp"
#include "tqlib/codec/kernels/q8.hpp"
#include "tqlib/codec/kernels/sign_magnitude.hpp"
#include "tqlib/codec/kernels/ternary.hpp"
#include "tqlib/codec/kernels/tq1_0.hpp"
#include "tqlib/codec/kernels/tq2_0.hpp"
#include "tqlib/codec/kernels/trit.hpp"
