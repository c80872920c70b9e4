# Cross-compiles tqlib for aarch64 Linux (NEON through xsimd) with Debian's GCC cross compiler
# and runs the programs it builds (CTest, try_run) under qemu's user-mode emulator:
#
#   cmake -B build-aarch64 -G Ninja -DCMAKE_TOOLCHAIN_FILE=cmake/toolchains/aarch64-linux-gnu.cmake
#
# scripts/setup --aarch64 installs g++-aarch64-linux-gnu and qemu-user and unpacks the arm64
# builds of zstd, libsodium and utf8proc (and nlohmann-json's package config) into the sysroot
# .deps/aarch64. xsimd is header-only and shared with the native build (.deps/prefix). Another
# sysroot holding the same libraries can be named with -DTQLIB_AARCH64_SYSROOT=<dir>.
# scripts/test-aarch64 configures, builds and tests with this file.
set(CMAKE_SYSTEM_NAME Linux)
set(CMAKE_SYSTEM_PROCESSOR aarch64)

set(CMAKE_C_COMPILER aarch64-linux-gnu-gcc)
set(CMAKE_CXX_COMPILER aarch64-linux-gnu-g++)
# GCC notes on every file that includes xsimd that passing std::pair<float, float> changed ABI in
# GCC 10.1 (-Wpsabi); nothing here links code built by an older GCC.
set(CMAKE_CXX_FLAGS_INIT "-Wno-psabi")

get_filename_component(_tqlib_root "${CMAKE_CURRENT_LIST_DIR}/../.." ABSOLUTE)
if(NOT TQLIB_AARCH64_SYSROOT)
  set(TQLIB_AARCH64_SYSROOT "${_tqlib_root}/.deps/aarch64")
endif()
# try_compile projects re-read this file without the cache: pass the sysroot on to them.
list(APPEND CMAKE_TRY_COMPILE_PLATFORM_VARIABLES TQLIB_AARCH64_SYSROOT)

# Libraries and package configs come from the sysroot only (never the host's x86-64 ones); xsimd
# from the project-local prefix. Programs (pkg-config, ccache) are the host's.
set(CMAKE_FIND_ROOT_PATH "${TQLIB_AARCH64_SYSROOT}" "${_tqlib_root}/.deps/prefix")
set(CMAKE_FIND_ROOT_PATH_MODE_PROGRAM NEVER)
set(CMAKE_FIND_ROOT_PATH_MODE_LIBRARY ONLY)
set(CMAKE_FIND_ROOT_PATH_MODE_INCLUDE ONLY)
set(CMAKE_FIND_ROOT_PATH_MODE_PACKAGE ONLY)

# pkg-config (tqlibDependencies.cmake falls back to it for libsodium and utf8proc) reads the
# sysroot's .pc files only, and prefixes the paths they give with the sysroot.
set(ENV{PKG_CONFIG_LIBDIR} "${TQLIB_AARCH64_SYSROOT}/usr/lib/aarch64-linux-gnu/pkgconfig:${TQLIB_AARCH64_SYSROOT}/usr/share/pkgconfig")
set(ENV{PKG_CONFIG_SYSROOT_DIR} "${TQLIB_AARCH64_SYSROOT}")
unset(ENV{PKG_CONFIG_PATH})

# CTest and try_run run aarch64 programs through qemu: -L for the cross toolchain's glibc and
# dynamic loader, LD_LIBRARY_PATH (set inside the emulated process) for the sysroot's libraries.
find_program(TQLIB_QEMU_AARCH64 qemu-aarch64 REQUIRED)
set(CMAKE_CROSSCOMPILING_EMULATOR "${TQLIB_QEMU_AARCH64};-L;/usr/aarch64-linux-gnu;-E;LD_LIBRARY_PATH=${TQLIB_AARCH64_SYSROOT}/usr/lib/aarch64-linux-gnu")
