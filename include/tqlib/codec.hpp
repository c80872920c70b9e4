#pragma once
// Every codec (one header each under tqlib/codec/), the registry that finds them by name or id,
// and the catalog of their byte layouts that container readers use.
#include "tqlib/codec/catalog.hpp"
#include "tqlib/codec/codec.hpp"
#include "tqlib/codec/registry.hpp"
