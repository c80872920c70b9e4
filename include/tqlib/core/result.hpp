#pragma once
// result<T>: a value or an error naming what is wrong. Untrusted input (files, JSON, tokenizer
// data) is parsed through functions that return result<T>, so no input can throw on a hot path
// or reach undefined behaviour; the CLI turns errors into messages and exit codes.
#include <string>
#include <utility>
#include <variant>

namespace tqlib {

enum class errc {
  invalid_argument,  // caller passed something out of contract
  truncated,         // input ends before a field it declares
  corrupt,           // a field holds a value the format forbids
  unsupported,       // a well-formed feature this build cannot handle
  io,                // the operating system refused a read or write
  signature,         // a signature is missing, malformed or does not verify
  out_of_memory,
};

inline const char* to_string(errc e) noexcept {
  switch (e) {
    case errc::invalid_argument: return "invalid argument";
    case errc::truncated: return "truncated";
    case errc::corrupt: return "corrupt";
    case errc::unsupported: return "unsupported";
    case errc::io: return "i/o error";
    case errc::signature: return "bad signature";
    case errc::out_of_memory: return "out of memory";
  }
  return "error";
}

struct error {
  errc code;
  std::string message;  // names the field / tensor / offset at fault

  std::string what() const { return std::string(to_string(code)) + ": " + message; }
};

inline error make_error(errc code, std::string message) { return error{code, std::move(message)}; }

template <class T>
class [[nodiscard]] result {
 public:
  result(T value) : v_(std::in_place_index<0>, std::move(value)) {}  // NOLINT: implicit by design
  result(error e) : v_(std::in_place_index<1>, std::move(e)) {}      // NOLINT

  bool ok() const noexcept { return v_.index() == 0; }
  explicit operator bool() const noexcept { return ok(); }

  T& value() & { return std::get<0>(v_); }
  const T& value() const& { return std::get<0>(v_); }
  T&& value() && { return std::get<0>(std::move(v_)); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }

  const error& err() const& { return std::get<1>(v_); }
  error&& err() && { return std::get<1>(std::move(v_)); }

 private:
  std::variant<T, error> v_;
};

template <>
class [[nodiscard]] result<void> {
 public:
  result() = default;
  result(error e) : e_(std::move(e)), ok_(false) {}  // NOLINT
  bool ok() const noexcept { return ok_; }
  explicit operator bool() const noexcept { return ok_; }
  const error& err() const& { return e_; }
  error&& err() && { return std::move(e_); }

 private:
  error e_{};
  bool ok_ = true;
};

}  // namespace tqlib

// Propagates an error from an expression returning result<...>. Statement form only.
#define TQLIB_TRY(expr)                                   \
  do {                                                    \
    auto&& tqlib_try_r_ = (expr);                         \
    if (!tqlib_try_r_.ok()) return std::move(tqlib_try_r_).err(); \
  } while (0)
