// tq-llama-logits MODEL.gguf IDS OUT.f32 [THREADS]
//
// llama.cpp's logits for a fixed sequence of token ids, for tqlib's reference fixtures: loads
// MODEL on the CPU, decodes IDS (comma-separated token ids) in one batch from an empty cache with
// logits requested at every position, and writes T x n_vocab float32 little-endian values to OUT:
// row t = the logits after ids[0..t], the layout of `tq logits --out`. No BOS is added and the ids
// are not touched. The context (n_ctx, n_batch, n_ubatch) is sized so that the whole sequence is
// one micro-batch; everything else is llama.cpp's default context (f16 KV cache, flash attention
// "auto"), which is what llama-perplexity runs with too.
//
// Written against llama.cpp's public API (include/llama.h); built by
// scripts/reference/build-llama-cpp.
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "llama.h"

namespace {

void quiet_log(ggml_log_level level, const char* text, void*) {
  if (level >= GGML_LOG_LEVEL_WARN) std::fputs(text, stderr);
}

bool parse_ids(const char* s, std::vector<llama_token>& out) {
  while (*s) {
    char* end = nullptr;
    const long v = std::strtol(s, &end, 10);
    if (end == s || v < 0 || v > 0x7fffffff) return false;
    out.push_back(llama_token(v));
    s = end;
    if (*s == ',') ++s;
    else if (*s) return false;
  }
  return !out.empty();
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 4 && argc != 5) {
    std::fprintf(stderr, "usage: %s MODEL.gguf ID,ID,... OUT.f32 [THREADS]\n", argv[0]);
    return 2;
  }
  std::vector<llama_token> ids;
  if (!parse_ids(argv[2], ids)) {
    std::fprintf(stderr, "bad id list: %s\n", argv[2]);
    return 2;
  }
  const int threads = argc == 5 ? std::atoi(argv[4]) : 1;
  llama_log_set(quiet_log, nullptr);
  llama_backend_init();

  llama_model_params mp = llama_model_default_params();
  mp.n_gpu_layers = 0;
  mp.progress_callback = [](float, void*) { return true; };  // no progress dots
  llama_model* model = llama_model_load_from_file(argv[1], mp);
  if (!model) {
    std::fprintf(stderr, "cannot load %s\n", argv[1]);
    return 1;
  }
  const llama_vocab* vocab = llama_model_get_vocab(model);
  const int n_vocab = llama_vocab_n_tokens(vocab);
  for (llama_token id : ids)
    if (id >= n_vocab) {
      std::fprintf(stderr, "id %d is outside the vocabulary (%d)\n", id, n_vocab);
      return 1;
    }

  const auto T = uint32_t(ids.size());
  llama_context_params cp = llama_context_default_params();
  cp.n_ctx = T < 256 ? 256 : T;  // llama.cpp pads the context; 256 keeps it one cache size
  cp.n_batch = cp.n_ctx;
  cp.n_ubatch = cp.n_ctx;
  cp.n_seq_max = 1;
  cp.n_threads = threads;
  cp.n_threads_batch = threads;
  cp.no_perf = true;
  llama_context* ctx = llama_init_from_model(model, cp);
  if (!ctx) {
    std::fprintf(stderr, "cannot create a context\n");
    return 1;
  }

  llama_batch batch = llama_batch_init(int32_t(T), 0, 1);
  for (uint32_t i = 0; i < T; ++i) {
    batch.token[i] = ids[i];
    batch.pos[i] = llama_pos(i);
    batch.n_seq_id[i] = 1;
    batch.seq_id[i][0] = 0;
    batch.logits[i] = 1;
  }
  batch.n_tokens = int32_t(T);
  if (llama_decode(ctx, batch) != 0) {
    std::fprintf(stderr, "llama_decode failed\n");
    return 1;
  }

  std::vector<float> out(size_t(T) * size_t(n_vocab));
  for (uint32_t i = 0; i < T; ++i) {
    const float* row = llama_get_logits_ith(ctx, int32_t(i));
    if (!row) {
      std::fprintf(stderr, "no logits for position %u\n", i);
      return 1;
    }
    std::memcpy(out.data() + size_t(i) * size_t(n_vocab), row, size_t(n_vocab) * sizeof(float));
  }
  // float32 little-endian: this program runs on x86-64 / aarch64 hosts, both little-endian.
  static_assert(sizeof(float) == 4);
  std::FILE* f = std::fopen(argv[3], "wb");
  if (!f || std::fwrite(out.data(), sizeof(float), out.size(), f) != out.size() || std::fclose(f) != 0) {
    std::fprintf(stderr, "cannot write %s\n", argv[3]);
    return 1;
  }
  std::fprintf(stderr, "wrote %u x %d float32 logits to %s\n", T, n_vocab, argv[3]);

  llama_batch_free(batch);
  llama_free(ctx);
  llama_model_free(model);
  llama_backend_free();
  return 0;
}
