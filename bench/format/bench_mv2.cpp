// MV2 container performance (issue 4, Performance):
//
//   BM_open_list          open (mmap) a ~530 MB uncompressed mmap-layout MV2 with 288 tensors and
//                         list every tensor's name, codec, shape and size. Before timing, the same
//                         is done once with the whole data section mapped PROT_NONE: any touch of a
//                         tensor byte would crash, so counter no_tensor_bytes_touched=1 is a proof.
//   BM_load_zstd/T        open a zstd (level 3) model of 256 MB raw and decompress + BLAKE2b-verify
//                         every tensor with reader::load_all(T); /T=0 is all cores. Rates are raw
//                         bytes/s; vs_plain_read = load time / time of one plain read of the same
//                         file, vs_zstd_1t = load time / time of the same frames through
//                         ZSTD_decompressDCtx on one thread (zstd's own speed), both measured in
//                         this process just before.
//   BM_load_zstd_nocheck/T  the same without checksum verification (verify_checksums = false).
//   BM_plain_read         one read() of the zstd file (page cache warm) into a buffer.
//   BM_zstd_decompress_1t the zstd frames alone, one thread.
//
// The files are written once per run into the temporary directory (TMPDIR, else /tmp) and removed
// at exit. Run: build/bench/bench_format_mv2 --benchmark_repetitions=5 --benchmark_report_aggregates_only=true
#include <benchmark/benchmark.h>
#include <zstd.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <string>
#include <thread>
#include <vector>

#include <fcntl.h>
#include <sys/mman.h>
#include <unistd.h>

#include "tqlib/core/float16.hpp"
#include "tqlib/core/rng.hpp"
#include "tqlib/format/mv2_writer.hpp"

namespace {

using namespace tqlib;
using namespace tqlib::format;
namespace fs = std::filesystem;

[[noreturn]] void die(const std::string& what) {
  std::fprintf(stderr, "bench_mv2: %s\n", what.c_str());
  std::exit(1);
}

template <class T>
T must(result<T> r, const char* what) {
  if (!r) die(std::string(what) + ": " + r.err().what());
  return std::move(*r);
}
void must(result<void> r, const char* what) {
  if (!r) die(std::string(what) + ": " + r.err().what());
}

double seconds_since(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

template <class F>
double median_seconds(int reps, F&& f) {
  std::vector<double> t;
  for (int i = 0; i < reps; ++i) {
    const auto t0 = std::chrono::steady_clock::now();
    f();
    t.push_back(seconds_since(t0));
  }
  std::sort(t.begin(), t.end());
  return t[t.size() / 2];
}

// f16 weights with few significant bits (as trained weights are after rounding): zstd gets
// about the ratio it gets on real f16/bf16 checkpoints rather than an all-zero best case.
std::vector<std::byte> f16_weights(std::size_t n, std::uint64_t seed) {
  xoshiro256ss rng(seed);
  std::vector<std::byte> b(n * 2);
  for (std::size_t i = 0; i < n; ++i) {
    const float w = float(std::round(rng.normal() * 16.0) / 16.0) * 0.02f;
    const std::uint16_t h = f32_to_f16(w);
    b[2 * i] = std::byte(h & 0xff);
    b[2 * i + 1] = std::byte(h >> 8);
  }
  return b;
}

struct files {
  fs::path dir;
  fs::path big;   // uncompressed, mmap layout
  fs::path zstd;  // zstd level 3
  std::uint64_t big_size = 0, big_tensors = 0;
  std::uint64_t zstd_size = 0, zstd_raw = 0;
  bool protected_ok = false;
  double plain_read_s = 0, zstd_1t_s = 0;

  files() {
    const char* tmp = std::getenv("TMPDIR");
    dir = fs::path(tmp && *tmp ? tmp : "/tmp") / ("tqlib_bench_mv2_" + std::to_string(::getpid()));
    fs::create_directories(dir);
    big = dir / "big.mv2";
    zstd = dir / "zstd.mv2";
    write_big();
    check_open_touches_no_tensor_bytes();
    write_zstd();
    plain_read_s = median_seconds(5, [&] { benchmark::DoNotOptimize(plain_read(zstd)); });
    auto r = must(mv2::open_file(zstd.string()), "open zstd file");
    zstd_1t_s = median_seconds(3, [&] { benchmark::DoNotOptimize(decompress_frames(*r)); });
  }
  ~files() {
    std::error_code ec;
    fs::remove_all(dir, ec);
  }

  // 288 tensors of f16 [896 x 1024] (Qwen2.5-0.5B has 290), 4 KiB aligned: ~530 MB.
  void write_big() {
    const std::size_t rows = 896, cols = 1024;
    const auto w = f16_weights(rows * cols, 1);
    std::vector<mv2::tensor_input> ts;
    for (int i = 0; i < 288; ++i)
      ts.push_back({"model.layers." + std::to_string(i / 12) + ".t" + std::to_string(i % 12) + ".weight", "f16", {rows, cols}, w});
    mv2::writer_options o;
    o.alignment = 4096;  // page-aligned data section, so it can be mapped PROT_NONE below
    must(mv2::write(big.string(), {{"model_type", "qwen2"}}, {}, ts, o), "write big file");
    big_size = fs::file_size(big);
    big_tensors = ts.size();
  }

  // Maps the file with the data section PROT_NONE and opens + lists it: a read of any tensor
  // byte would be a SIGSEGV.
  void check_open_touches_no_tensor_bytes() {
    const int fd = ::open(big.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) die("open big file");
    void* p = ::mmap(nullptr, big_size, PROT_READ, MAP_PRIVATE, fd, 0);
    ::close(fd);
    if (p == MAP_FAILED) die("mmap big file");
    const std::span<const std::byte> bytes(static_cast<const std::byte*>(p), big_size);
    const auto fh = must(mv2::parse_fixed_header(bytes), "fixed header");
    const std::uint64_t data = mv2::fixed_header_size + fh.header_size;
    if (data % 4096 != 0) die("data section is not page aligned");
    if (::mprotect(static_cast<char*>(p) + data, big_size - data, PROT_NONE) != 0) die("mprotect");
    auto r = must(mv2::reader::open(bytes), "open big file (protected)");
    std::uint64_t sum = 0;
    for (const auto& t : r->tensors()) sum += t.data.raw_size + t.shape.size() + t.name.size();
    benchmark::DoNotOptimize(sum);
    r.reset();
    ::munmap(p, big_size);
    protected_ok = sum > 0;
  }

  // 128 tensors of f16 [1024 x 1024]: 256 MB raw, zstd level 3.
  void write_zstd() {
    std::vector<std::vector<std::byte>> blobs;
    std::vector<mv2::tensor_input> ts;
    for (int i = 0; i < 128; ++i) blobs.push_back(f16_weights(1024 * 1024, 100 + std::uint64_t(i)));
    for (int i = 0; i < 128; ++i) ts.push_back({"w" + std::to_string(i), "f16", {1024, 1024}, blobs[std::size_t(i)]});
    mv2::writer_options o;
    o.zstd_level = 3;
    must(mv2::write(zstd.string(), {{"model_type", "qwen2"}}, {}, ts, o), "write zstd file");
    zstd_size = fs::file_size(zstd);
    zstd_raw = 0;
    for (const auto& b : blobs) zstd_raw += b.size();
  }

  static std::vector<std::byte> plain_read(const fs::path& p) {
    const int fd = ::open(p.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) die("open " + p.string());
    std::vector<std::byte> buf(std::size_t(fs::file_size(p)));
    std::size_t at = 0;
    while (at < buf.size()) {
      const ssize_t n = ::read(fd, buf.data() + at, buf.size() - at);
      if (n <= 0) die("read " + p.string());
      at += std::size_t(n);
    }
    ::close(fd);
    return buf;
  }

  // Every zstd blob of `r` decompressed on one thread with one context, into one buffer.
  static std::size_t decompress_frames(const mv2::reader& r) {
    zstd::dctx d(ZSTD_createDCtx());
    std::vector<std::byte> out;
    std::size_t total = 0;
    for (const auto& t : r.tensors()) {
      if (t.data.comp != mv2::compression::zstd) continue;
      out.resize(std::size_t(t.data.raw_size));
      const auto src = r.stored_bytes(t.data);
      const std::size_t n = ZSTD_decompressDCtx(d.get(), out.data(), out.size(), src.data(), src.size());
      if (ZSTD_isError(n)) die("zstd");
      total += n;
    }
    return total;
  }
};

files& the_files() {
  static files f;
  return f;
}

void BM_open_list(benchmark::State& state) {
  auto& f = the_files();
  for (auto _ : state) {
    auto r = must(mv2::open_file(f.big.string()), "open big file");
    std::uint64_t sum = 0;
    for (const auto& t : r->tensors()) sum += t.data.raw_size + t.shape.size() + t.name.size() + std::size_t(t.codec.id);
    benchmark::DoNotOptimize(sum);
  }
  state.counters["file_MB"] = double(f.big_size) / 1e6;
  state.counters["tensors"] = double(f.big_tensors);
  state.counters["no_tensor_bytes_touched"] = f.protected_ok ? 1 : 0;
}
BENCHMARK(BM_open_list)->Unit(benchmark::kMillisecond);

void load(benchmark::State& state, bool verify) {
  auto& f = the_files();
  const unsigned threads = unsigned(state.range(0));
  mv2::reader_options o;
  o.verify_checksums = verify;
  for (auto _ : state) {
    auto r = must(mv2::open_file(f.zstd.string(), o), "open zstd file");
    must(r->load_all(threads), "load_all");
  }
  state.SetBytesProcessed(std::int64_t(state.iterations()) * std::int64_t(f.zstd_raw));
  state.counters["threads"] = threads ? threads : std::max(1u, std::thread::hardware_concurrency());
  state.counters["ratio"] = double(f.zstd_raw) / double(f.zstd_size);
  // Mean seconds per load over the timed iterations, against the reference times.
  state.counters["vs_plain_read"] =
      benchmark::Counter(double(state.iterations()) * f.plain_read_s, benchmark::Counter::kIsRate | benchmark::Counter::kInvert);
  state.counters["vs_zstd_1t"] =
      benchmark::Counter(double(state.iterations()) * f.zstd_1t_s, benchmark::Counter::kIsRate | benchmark::Counter::kInvert);
}
void BM_load_zstd(benchmark::State& state) { load(state, true); }
void BM_load_zstd_nocheck(benchmark::State& state) { load(state, false); }
BENCHMARK(BM_load_zstd)->Arg(1)->Arg(0)->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK(BM_load_zstd_nocheck)->Arg(1)->Arg(0)->Unit(benchmark::kMillisecond)->UseRealTime();

void BM_plain_read(benchmark::State& state) {
  auto& f = the_files();
  for (auto _ : state) benchmark::DoNotOptimize(files::plain_read(f.zstd));
  state.SetBytesProcessed(std::int64_t(state.iterations()) * std::int64_t(f.zstd_size));
}
BENCHMARK(BM_plain_read)->Unit(benchmark::kMillisecond)->UseRealTime();

void BM_zstd_decompress_1t(benchmark::State& state) {
  auto& f = the_files();
  auto r = must(mv2::open_file(f.zstd.string()), "open zstd file");
  for (auto _ : state) benchmark::DoNotOptimize(files::decompress_frames(*r));
  state.SetBytesProcessed(std::int64_t(state.iterations()) * std::int64_t(f.zstd_raw));
}
BENCHMARK(BM_zstd_decompress_1t)->Unit(benchmark::kMillisecond)->UseRealTime();

}  // namespace

BENCHMARK_MAIN();
