#pragma once
// The Qwen tokenizer: loading (tokenizer.json, vocab.json + merges.txt, model sources), encode,
// decode, streaming detokenization, vocabulary remap and the ChatML template.
#include "tqlib/tokenizer/added_tokens.hpp"
#include "tqlib/tokenizer/bpe.hpp"
#include "tqlib/tokenizer/byte_level.hpp"
#include "tqlib/tokenizer/chat_template.hpp"
#include "tqlib/tokenizer/json_scan.hpp"
#include "tqlib/tokenizer/load.hpp"
#include "tqlib/tokenizer/pretokenizer.hpp"
#include "tqlib/tokenizer/qwen_tokenizer.hpp"
#include "tqlib/tokenizer/tokenizer_files.hpp"
#include "tqlib/tokenizer/unicode.hpp"
#include "tqlib/tokenizer/utf8.hpp"
