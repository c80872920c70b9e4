#pragma once
// A whole file as a read-only byte span: mmap natively, read into memory under Emscripten (the
// browser hands the reader an ArrayBuffer instead; readers themselves only ever see a span).
#include <cerrno>
#include <cstddef>
#include <cstdio>
#include <cstring>
#include <span>
#include <string>
#include <utility>
#include <vector>

#include "tqlib/core/result.hpp"

#if !defined(__EMSCRIPTEN__) && (defined(__unix__) || defined(__APPLE__))
#define TQLIB_HAVE_MMAP 1
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>
#else
#define TQLIB_HAVE_MMAP 0
#endif

namespace tqlib::format {

class mapped_file {
 public:
  mapped_file() = default;
  mapped_file(const mapped_file&) = delete;
  mapped_file& operator=(const mapped_file&) = delete;
  mapped_file(mapped_file&& o) noexcept { swap(o); }
  mapped_file& operator=(mapped_file&& o) noexcept {
    if (this != &o) {
      release();
      swap(o);
    }
    return *this;
  }
  ~mapped_file() { release(); }

  static result<mapped_file> open(const std::string& path) {
#if TQLIB_HAVE_MMAP
    const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) return os_error("cannot open", path);
    struct stat st{};
    if (::fstat(fd, &st) != 0) {
      auto e = os_error("cannot stat", path);
      ::close(fd);
      return e;
    }
    if (!S_ISREG(st.st_mode)) {
      ::close(fd);
      return make_error(errc::io, path + " is not a regular file");
    }
    mapped_file m;
    m.size_ = std::size_t(st.st_size);
    if (m.size_ > 0) {
      void* p = ::mmap(nullptr, m.size_, PROT_READ, MAP_PRIVATE, fd, 0);
      if (p == MAP_FAILED) {
        auto e = os_error("cannot mmap", path);
        ::close(fd);
        return e;
      }
      m.map_ = p;
    }
    ::close(fd);
    return m;
#else
    std::FILE* f = std::fopen(path.c_str(), "rb");
    if (!f) return os_error("cannot open", path);
    mapped_file m;
    std::byte buf[1 << 16];
    for (;;) {
      const std::size_t n = std::fread(buf, 1, sizeof buf, f);
      m.copy_.insert(m.copy_.end(), buf, buf + n);
      if (n < sizeof buf) break;
    }
    const bool bad = std::ferror(f) != 0;
    std::fclose(f);
    if (bad) return os_error("cannot read", path);
    m.size_ = m.copy_.size();
    return m;
#endif
  }

  std::span<const std::byte> bytes() const noexcept {
    if (map_) return {static_cast<const std::byte*>(map_), size_};
    return {copy_.data(), copy_.size()};
  }
  std::size_t size() const noexcept { return size_; }
  bool is_mapped() const noexcept { return map_ != nullptr; }

 private:
  static error os_error(const char* what, const std::string& path) {
    return make_error(errc::io, std::string(what) + " " + path + ": " + std::strerror(errno));
  }
  void release() noexcept {
#if TQLIB_HAVE_MMAP
    if (map_) ::munmap(map_, size_);
#endif
    map_ = nullptr;
    size_ = 0;
    copy_.clear();
  }
  void swap(mapped_file& o) noexcept {
    std::swap(map_, o.map_);
    std::swap(size_, o.size_);
    std::swap(copy_, o.copy_);
  }

  void* map_ = nullptr;
  std::size_t size_ = 0;
  std::vector<std::byte> copy_;  // read-into-memory fallback
};

}  // namespace tqlib::format
