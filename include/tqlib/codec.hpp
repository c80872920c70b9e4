#pragma once
// Every codec (one header each under tqlib/codec/) and the registry that finds them by name or id.
#include "tqlib/codec/codec.hpp"
#include "tqlib/codec/registry.hpp"
