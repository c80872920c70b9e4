#pragma once
// A large anonymous region reserved up front and backed by memory only where it is written.
//
// Why: filling hundreds of megabytes of freshly allocated memory costs one page fault per 4 KiB
// page, and page faults do not run in parallel (on the build machine 256 MiB of first touches
// take ~0.8 s on one thread and the same on two, against ~0.3 s for zstd to decompress that
// much). Decompressing a model into one region advised for transparent huge pages takes 512x
// fewer faults. Reserving costs address space only (MAP_NORESERVE), so a reader can reserve room
// for every tensor and still decompress lazily.
//
// Linux only; elsewhere (and where the kernel refuses the reservation) reserve() returns an empty
// region and callers allocate per object instead.
#include <cstddef>
#include <utility>

#if defined(__linux__) && !defined(__EMSCRIPTEN__)
#include <sys/mman.h>
#define TQLIB_HAS_RESERVED_MEMORY 1
#else
#define TQLIB_HAS_RESERVED_MEMORY 0
#endif

namespace tqlib {

class reserved_memory {
 public:
  reserved_memory() = default;
  reserved_memory(const reserved_memory&) = delete;
  reserved_memory& operator=(const reserved_memory&) = delete;
  reserved_memory(reserved_memory&& o) noexcept : data_(std::exchange(o.data_, nullptr)), size_(std::exchange(o.size_, 0)) {}
  reserved_memory& operator=(reserved_memory&& o) noexcept {
    if (this != &o) {
      unmap();
      data_ = std::exchange(o.data_, nullptr);
      size_ = std::exchange(o.size_, 0);
    }
    return *this;
  }
  ~reserved_memory() { unmap(); }

  // Reserves `bytes` (rounded up to whole huge pages). Empty when unsupported or refused.
  static reserved_memory reserve(std::size_t bytes) {
    reserved_memory m;
#if TQLIB_HAS_RESERVED_MEMORY
    if (bytes == 0) return m;
    const std::size_t size = (bytes + huge_page - 1) / huge_page * huge_page;
    if (size < bytes) return m;  // overflow
    void* p = ::mmap(nullptr, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    if (p == MAP_FAILED) return m;
#ifdef MADV_HUGEPAGE
    // Advisory: where transparent huge pages are off this is a no-op and 4 KiB pages are used.
    (void)::madvise(p, size, MADV_HUGEPAGE);
#endif
    m.data_ = static_cast<std::byte*>(p);
    m.size_ = size;
#else
    (void)bytes;
#endif
    return m;
  }

  explicit operator bool() const noexcept { return data_ != nullptr; }
  std::byte* data() const noexcept { return data_; }
  std::size_t size() const noexcept { return size_; }

  // Gives the pages wholly inside [offset, offset + bytes) back to the system; they read as
  // zeros if touched again. Used when a decompressed object turns out to be invalid.
  void discard(std::size_t offset, std::size_t bytes) const noexcept {
#if TQLIB_HAS_RESERVED_MEMORY
    constexpr std::size_t page = 4096;
    if (!data_ || offset >= size_) return;
    if (bytes > size_ - offset) bytes = size_ - offset;
    const std::size_t begin = (offset + page - 1) / page * page;
    const std::size_t end = (offset + bytes) / page * page;
    if (end > begin) (void)::madvise(data_ + begin, end - begin, MADV_DONTNEED);
#else
    (void)offset;
    (void)bytes;
#endif
  }

 private:
  static constexpr std::size_t huge_page = std::size_t(2) << 20;  // x86-64 and arm64 PMD size

  void unmap() noexcept {
#if TQLIB_HAS_RESERVED_MEMORY
    if (data_) ::munmap(data_, size_);
#endif
    data_ = nullptr;
    size_ = 0;
  }

  std::byte* data_ = nullptr;
  std::size_t size_ = 0;
};

}  // namespace tqlib
