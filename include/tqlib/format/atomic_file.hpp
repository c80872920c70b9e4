#pragma once
// Writes a file so that what was at the path before is never lost on failure: the bytes go to a
// temporary file beside it, are fsync'ed, then renamed over the target (POSIX rename is atomic),
// and the folder is fsync'ed so the rename survives a crash. A failed or abandoned write removes
// the temporary file. `no_clobber` refuses to replace an existing file (keys), atomically: the
// temporary file is hard-linked to the target, which fails if the target exists.
#include <cerrno>
#include <cstddef>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <span>
#include <string>
#include <vector>

#include "tqlib/core/result.hpp"

#if !defined(__EMSCRIPTEN__) && (defined(__unix__) || defined(__APPLE__))
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>
#define TQLIB_HAVE_POSIX_FILES 1
#else
#define TQLIB_HAVE_POSIX_FILES 0
#endif

namespace tqlib::format {

enum class overwrite { allow, refuse };

class atomic_file {
 public:
  atomic_file(const atomic_file&) = delete;
  atomic_file& operator=(const atomic_file&) = delete;
  ~atomic_file() { abandon(); }

  // mode applies to the new file (0600 for secret keys).
  static result<atomic_file> create(const std::string& path, unsigned mode = 0644) {
    atomic_file f(path);
    f.tmp_ = path + ".tmp-XXXXXX";
#if TQLIB_HAVE_POSIX_FILES
    std::vector<char> name(f.tmp_.begin(), f.tmp_.end());
    name.push_back('\0');
    const int fd = ::mkstemp(name.data());
    if (fd < 0) return make_error(errc::io, "cannot create a temporary file beside " + path + ": " + std::strerror(errno));
    f.tmp_.assign(name.data());
    ::fchmod(fd, mode_t(mode));
    f.file_ = ::fdopen(fd, "wb");
    if (!f.file_) {
      ::close(fd);
      ::unlink(f.tmp_.c_str());
      return make_error(errc::io, "cannot open " + f.tmp_ + ": " + std::strerror(errno));
    }
#else
    (void)mode;
    f.tmp_ = path + ".tmp";
    f.file_ = std::fopen(f.tmp_.c_str(), "wb");
    if (!f.file_) return make_error(errc::io, "cannot create " + f.tmp_ + ": " + std::strerror(errno));
#endif
    return f;
  }

  atomic_file(atomic_file&& o) noexcept : path_(std::move(o.path_)), tmp_(std::move(o.tmp_)), file_(o.file_), failed_(o.failed_) {
    o.file_ = nullptr;
    o.tmp_.clear();
  }

  result<void> write(std::span<const std::byte> b) {
    if (!file_) return make_error(errc::io, "write to a closed file " + path_);
    if (!b.empty() && std::fwrite(b.data(), 1, b.size(), file_) != b.size()) {
      failed_ = true;
      return make_error(errc::io, "cannot write " + tmp_ + ": " + std::strerror(errno));
    }
    return {};
  }

  // Overwrites bytes already written (the signature field, filled in last).
  result<void> write_at(std::size_t offset, std::span<const std::byte> b) {
    if (!file_) return make_error(errc::io, "write to a closed file " + path_);
    const long end = std::ftell(file_);
    if (std::fseek(file_, long(offset), SEEK_SET) != 0 || std::fwrite(b.data(), 1, b.size(), file_) != b.size() ||
        std::fseek(file_, end, SEEK_SET) != 0) {
      failed_ = true;
      return make_error(errc::io, "cannot write " + tmp_ + " at offset " + std::to_string(offset));
    }
    return {};
  }

  // Flushes, fsyncs and renames over (or, with overwrite::refuse, links to) the target.
  result<void> commit(overwrite how = overwrite::allow) {
    if (!file_) return make_error(errc::io, "commit of a closed file " + path_);
    if (failed_) return make_error(errc::io, "an earlier write to " + tmp_ + " failed");
    bool ok = std::fflush(file_) == 0;
#if TQLIB_HAVE_POSIX_FILES
    ok = ok && ::fsync(::fileno(file_)) == 0;
#endif
    ok = (std::fclose(file_) == 0) && ok;
    file_ = nullptr;
    if (!ok) return fail("cannot flush " + tmp_);
#if TQLIB_HAVE_POSIX_FILES
    if (how == overwrite::refuse) {
      if (::link(tmp_.c_str(), path_.c_str()) != 0) {
        const int e = errno;
        return fail(e == EEXIST ? path_ + " already exists; refusing to overwrite it"
                                : "cannot create " + path_ + ": " + std::strerror(e));
      }
      ::unlink(tmp_.c_str());
    } else if (::rename(tmp_.c_str(), path_.c_str()) != 0) {
      return fail("cannot rename " + tmp_ + " to " + path_ + ": " + std::strerror(errno));
    }
    sync_folder();
#else
    std::error_code ec;
    if (how == overwrite::refuse && std::filesystem::exists(path_, ec)) return fail(path_ + " already exists; refusing to overwrite it");
    std::filesystem::rename(tmp_, path_, ec);
    if (ec) return fail("cannot rename " + tmp_ + " to " + path_ + ": " + ec.message());
#endif
    tmp_.clear();
    return {};
  }

  const std::string& temp_path() const noexcept { return tmp_; }

 private:
  explicit atomic_file(std::string path) : path_(std::move(path)) {}
  error fail(std::string msg) {
    abandon();
    return make_error(errc::io, std::move(msg));
  }
  void abandon() noexcept {
    if (file_) std::fclose(file_);
    file_ = nullptr;
    if (!tmp_.empty()) std::remove(tmp_.c_str());
    tmp_.clear();
  }
  void sync_folder() const noexcept {
#if TQLIB_HAVE_POSIX_FILES
    auto dir = std::filesystem::path(path_).parent_path();
    const int fd = ::open(dir.empty() ? "." : dir.c_str(), O_RDONLY | O_DIRECTORY);
    if (fd >= 0) {
      ::fsync(fd);
      ::close(fd);
    }
#endif
  }

  std::string path_;
  std::string tmp_;
  std::FILE* file_ = nullptr;
  bool failed_ = false;
};

// Whole-buffer convenience.
inline result<void> write_file_atomic(const std::string& path, std::span<const std::byte> bytes,
                                      overwrite how = overwrite::allow, unsigned mode = 0644) {
  auto f = atomic_file::create(path, mode);
  if (!f) return std::move(f).err();
  TQLIB_TRY(f->write(bytes));
  return f->commit(how);
}

}  // namespace tqlib::format
