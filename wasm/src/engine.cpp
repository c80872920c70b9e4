// tqlib's WebAssembly engine: a small C ABI over the header-only library, called from
// wasm/js/worker.js (never from the page's main thread). One engine instance holds at most one
// model. Strings returned by tq_* point into engine-owned storage valid until the next call.
//
//   tq_info()                       JSON: version, SIMD architecture, threads
//   tq_selftest()                   JSON: self-test report (see selftest.hpp)
//   tq_load(data, n, key, threads)  takes ownership of `data` (malloc'ed, n bytes, an MV2 file);
//                                   key = 32-byte trusted Ed25519 public key or null.
//                                   0 on success, else 1 + tqlib::errc; message in tq_last_error()
//   tq_model_info()                 JSON describing the loaded model
//   tq_begin(prompt, temperature, top_k, top_p, min_p, repeat_penalty, seed, max_tokens, chat)
//                                   tokenizes and runs the prompt (as `tq run` does; chat = apply the
//                                   model's chat template); tq_step() then yields one token at a time
//   tq_step()                       >= 0: a token id, its text in tq_piece(); -1: finished; -2: error
//   tq_last_error(), tq_last_error_code()   message and 1 + tqlib::errc of the last failure
//   tq_reset(), tq_unload()
//   tq_memory_bytes()               bytes of wasm memory in use (heap size)
// Progress during tq_load is reported through Module.onTqProgress(stage, done, total).
#include <emscripten/emscripten.h>
#include <emscripten/heap.h>

#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <new>
#include <string>

#include "selftest.hpp"
#include "session.hpp"
#include "tqlib/version.hpp"

EM_JS(void, tq_js_progress, (const char* stage, double done, double total), {
  if (Module["onTqProgress"]) Module["onTqProgress"](UTF8ToString(stage), done, total);
});

namespace {

struct engine_state {
  std::string text;  // last string handed to JS
  std::string error;
  int error_code = 0;
  std::unique_ptr<tqlib::wasm::session> session;
};

engine_state& state() {
  static engine_state s;
  return s;
}

const char* hand(std::string s) {
  state().text = std::move(s);
  return state().text.c_str();
}

int fail(const tqlib::error& e) {
  state().error = e.what();
  state().error_code = 1 + int(e.code);
  return state().error_code;
}

}  // namespace

extern "C" {

EMSCRIPTEN_KEEPALIVE const char* tq_info() {
#ifdef TQLIB_WASM_THREADS
  const char* threads = "true";
#else
  const char* threads = "false";
#endif
#ifdef __wasm_simd128__
  const char* simd = "true";
#else
  const char* simd = "false";
#endif
#ifdef __wasm_relaxed_simd__
  const char* relaxed = "true";
#else
  const char* relaxed = "false";
#endif
  return hand(std::string("{\"version\":\"") + TQLIB_VERSION_STRING + "\",\"arch\":\"" +
              tqlib::simd::active_arch_name() + "\",\"simd128\":" + simd + ",\"relaxed_simd\":" + relaxed + ",\"threads\":" + threads +
              ",\"model_api\":" + (tqlib::wasm::session::has_model_api ? "true" : "false") + "}");
}

EMSCRIPTEN_KEEPALIVE const char* tq_selftest() {
  try {
    return hand(tqlib::wasm::run_selftest());
  } catch (const std::bad_alloc&) {
    return hand("{\"passed\":0,\"failed\":1,\"checks\":[],\"error\":\"out of memory\"}");
  }
}

EMSCRIPTEN_KEEPALIVE const char* tq_last_error() { return state().error.c_str(); }
EMSCRIPTEN_KEEPALIVE int tq_last_error_code() { return state().error_code; }

EMSCRIPTEN_KEEPALIVE int tq_load(std::uint8_t* data, std::size_t n, const std::uint8_t* key, int threads) {
  auto& s = state();
  s.session.reset();
  // The engine owns `data` from here on, whatever happens.
  std::shared_ptr<std::uint8_t> owned(data, [](std::uint8_t* p) { std::free(p); });
  try {
    tqlib::wasm::load_options opt;
    opt.threads = threads < 1 ? 1 : threads;
    if (key) std::memcpy(opt.trusted_key.emplace().data(), key, 32);
    opt.progress = [](const char* stage, double done, double total) { tq_js_progress(stage, done, total); };
    auto r = tqlib::wasm::session::load(std::move(owned), n, opt);
    if (!r) return fail(r.err());
    s.session = std::move(*r);
    return 0;
  } catch (const std::bad_alloc&) {
    return fail(tqlib::make_error(tqlib::errc::out_of_memory,
                                  "the model does not fit in this page's WebAssembly memory (4 GiB at most)"));
  }
}

EMSCRIPTEN_KEEPALIVE const char* tq_model_info() {
  auto& s = state();
  return hand(s.session ? s.session->info_json() : std::string("null"));
}

EMSCRIPTEN_KEEPALIVE int tq_begin(const char* prompt, float temperature, int top_k, float top_p, float min_p,
                                  float repeat_penalty, double seed, int max_tokens, int chat) {
  auto& s = state();
  if (!s.session) return fail(tqlib::make_error(tqlib::errc::invalid_argument, "no model is loaded"));
  try {
    tqlib::wasm::generate_options g;
    g.sampling.temperature = temperature;
    g.sampling.top_k = top_k;
    g.sampling.top_p = top_p;
    g.sampling.min_p = min_p;
    g.sampling.repeat_penalty = repeat_penalty;
    g.sampling.seed = seed > 0 ? std::uint64_t(seed) : 0;
    g.max_tokens = max_tokens;
    g.chat = chat != 0;
    auto r = s.session->begin(prompt ? prompt : "", g);
    return r ? 0 : fail(r.err());
  } catch (const std::bad_alloc&) {
    return fail(tqlib::make_error(tqlib::errc::out_of_memory, "out of WebAssembly memory while reading the prompt"));
  }
}

EMSCRIPTEN_KEEPALIVE int tq_step() {
  auto& s = state();
  if (!s.session) {
    fail(tqlib::make_error(tqlib::errc::invalid_argument, "no model is loaded"));
    return -2;
  }
  try {
    auto r = s.session->step();
    if (!r) {
      fail(r.err());
      return -2;
    }
    return *r;
  } catch (const std::bad_alloc&) {
    fail(tqlib::make_error(tqlib::errc::out_of_memory, "out of WebAssembly memory while generating"));
    return -2;
  }
}

EMSCRIPTEN_KEEPALIVE const char* tq_piece() {
  auto& s = state();
  return s.session ? s.session->piece().c_str() : "";
}

EMSCRIPTEN_KEEPALIVE void tq_reset() {
  if (state().session) state().session->reset();
}

EMSCRIPTEN_KEEPALIVE void tq_unload() { state().session.reset(); }

EMSCRIPTEN_KEEPALIVE double tq_memory_bytes() { return double(emscripten_get_heap_size()); }

}  // extern "C"
