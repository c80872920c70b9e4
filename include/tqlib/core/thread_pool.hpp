#pragma once
// A persistent pool of worker threads for the forward pass: `run(fn)` calls fn(i, n) once on
// each of n threads (the caller is thread 0) and returns when all are done. Work is split by
// the caller (rows of a matrix, attention heads), so each output is computed by exactly one
// thread with the same arithmetic whatever n is: results never depend on the thread count.
//
// Decode calls run() a few hundred times per token, so hand-off is cheap: workers spin on a
// generation counter for a short while and only then sleep (std::atomic::wait); the caller
// spins until the workers report done. Without threads (wasm built without pthreads) the pool
// has one thread and run() is a plain call.
#include <algorithm>
#include <atomic>
#include <cstddef>
#include <functional>
#include <thread>
#include <vector>

#if defined(__EMSCRIPTEN__) && !defined(__EMSCRIPTEN_PTHREADS__)
#define TQLIB_HAVE_THREADS 0
#else
#define TQLIB_HAVE_THREADS 1
#endif

#if defined(__x86_64__) || defined(_M_X64) || defined(__i386__)
#include <immintrin.h>
#define TQLIB_CPU_RELAX() _mm_pause()
#else
#define TQLIB_CPU_RELAX() ((void)0)
#endif

namespace tqlib {

class thread_pool {
 public:
  using task = std::function<void(int thread, int n_threads)>;

  explicit thread_pool(int n_threads = 1) {
#if TQLIB_HAVE_THREADS
    n_ = std::max(1, n_threads);
    for (int i = 1; i < n_; ++i) workers_.emplace_back([this, i] { worker(i); });
#else
    (void)n_threads;
    n_ = 1;
#endif
  }
  ~thread_pool() {
#if TQLIB_HAVE_THREADS
    stop_.store(true, std::memory_order_relaxed);
    generation_.fetch_add(1, std::memory_order_release);
    generation_.notify_all();
    for (auto& w : workers_) w.join();
#endif
  }
  thread_pool(const thread_pool&) = delete;
  thread_pool& operator=(const thread_pool&) = delete;

  int size() const noexcept { return n_; }

  // Calls fn(i, size()) for every thread i and waits for all of them.
  template <class F>
  void run(F&& fn) {
    if (n_ == 1) {
      fn(0, 1);
      return;
    }
#if TQLIB_HAVE_THREADS
    job_ = std::ref(fn);
    pending_.store(n_ - 1, std::memory_order_relaxed);
    generation_.fetch_add(1, std::memory_order_release);
    generation_.notify_all();
    fn(0, n_);
    for (int spins = 0; pending_.load(std::memory_order_acquire) != 0; ++spins) {
      if (spins < 20000)
        TQLIB_CPU_RELAX();
      else
        std::this_thread::yield();
    }
    job_ = nullptr;
#endif
  }

  // The part [begin, end) of n items that thread i of n handles: contiguous, boundaries on
  // multiples of `align` so kernels that handle rows in groups see the same groups.
  static std::pair<std::size_t, std::size_t> split(std::size_t n, int i, int n_threads, std::size_t align = 16) {
    const std::size_t blocks = (n + align - 1) / align;
    const std::size_t b0 = blocks * std::size_t(i) / std::size_t(n_threads);
    const std::size_t b1 = blocks * std::size_t(i + 1) / std::size_t(n_threads);
    return {std::min(n, b0 * align), std::min(n, b1 * align)};
  }

 private:
#if TQLIB_HAVE_THREADS
  void worker(int index) {
    unsigned seen = 0;
    for (;;) {
      unsigned g = generation_.load(std::memory_order_acquire);
      for (int spins = 0; g == seen && spins < 4000; ++spins) {
        TQLIB_CPU_RELAX();
        g = generation_.load(std::memory_order_acquire);
      }
      if (g == seen) {
        generation_.wait(seen, std::memory_order_acquire);
        continue;
      }
      seen = g;
      if (stop_.load(std::memory_order_relaxed)) return;
      job_(index, n_);
      pending_.fetch_sub(1, std::memory_order_acq_rel);
    }
  }
  std::vector<std::thread> workers_;
  std::function<void(int, int)> job_;
  std::atomic<unsigned> generation_{0};
  std::atomic<int> pending_{0};
  std::atomic<bool> stop_{false};
#endif
  int n_ = 1;
};

}  // namespace tqlib
