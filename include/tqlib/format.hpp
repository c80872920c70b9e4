#pragma once
// Model files: the MV2 container (reader, writer, JSON header, Ed25519 signatures, delta
// patches, zstd), safetensors and Hugging Face folders (single or sharded), GGUF (llama.cpp's
// model files: reader and writer), and the tensor_source interface the model loads weights
// through. Layout: docs/mv2.md.
#include "tqlib/format/atomic_file.hpp"
#include "tqlib/format/delta.hpp"
#include "tqlib/format/gguf.hpp"
#include "tqlib/format/gguf_writer.hpp"
#include "tqlib/format/hash.hpp"
#include "tqlib/format/hf_folder.hpp"
#include "tqlib/format/json_header.hpp"
#include "tqlib/format/mapped_file.hpp"
#include "tqlib/format/mv2.hpp"
#include "tqlib/format/mv2_writer.hpp"
#include "tqlib/format/safetensors.hpp"
#include "tqlib/format/signature.hpp"
#include "tqlib/format/tensor_layout.hpp"
#include "tqlib/format/tensor_source.hpp"
#include "tqlib/format/zstd.hpp"
