# Included by the top-level CMakeLists.txt before tqlibDependencies when building with Emscripten.
# Emscripten's toolchain only searches its own sysroot for packages, and adding the host's
# /usr/include to em++'s search path would put glibc's headers in front of Emscripten's libc. So:
#  - xsimd is taken from the project-local prefix scripts/setup fills (.deps/prefix);
#  - nlohmann_json and Catch2 v2 (header-only) are reached through a build-tree folder that links
#    only to /usr/include/nlohmann and /usr/include/catch2, with an nlohmann_json package config
#    of our own pointing there.
if(NOT xsimd_DIR AND EXISTS "${PROJECT_SOURCE_DIR}/.deps/prefix/share/cmake/xsimd/xsimdConfig.cmake")
  set(xsimd_DIR "${PROJECT_SOURCE_DIR}/.deps/prefix/share/cmake/xsimd" CACHE PATH "xsimd package config (wasm build)")
endif()

set(TQLIB_WASM_HOST_INCLUDE "${CMAKE_BINARY_DIR}/wasm-host-include")
file(MAKE_DIRECTORY "${TQLIB_WASM_HOST_INCLUDE}")
foreach(_h nlohmann/json.hpp catch2/catch.hpp)
  get_filename_component(_dir "${_h}" DIRECTORY)
  find_path(_tqlib_host_${_dir} "${_h}" PATHS /usr/include /usr/local/include NO_DEFAULT_PATH NO_CMAKE_FIND_ROOT_PATH)
  if(_tqlib_host_${_dir} AND NOT EXISTS "${TQLIB_WASM_HOST_INCLUDE}/${_dir}")
    file(CREATE_LINK "${_tqlib_host_${_dir}}/${_dir}" "${TQLIB_WASM_HOST_INCLUDE}/${_dir}" SYMBOLIC)
  endif()
endforeach()

if(NOT nlohmann_json_DIR)
  if(NOT _tqlib_host_nlohmann)
    message(FATAL_ERROR "The wasm build needs nlohmann/json.hpp in /usr/include (Debian: nlohmann-json3-dev)")
  endif()
  set(_v "")
  foreach(_f json.hpp detail/abi_macros.hpp)
    if(EXISTS "${_tqlib_host_nlohmann}/nlohmann/${_f}")
      file(STRINGS "${_tqlib_host_nlohmann}/nlohmann/${_f}" _vf REGEX "#define NLOHMANN_JSON_VERSION_(MAJOR|MINOR|PATCH) [0-9]+")
      list(APPEND _v ${_vf})
    endif()
  endforeach()
  string(REGEX REPLACE ".*MAJOR ([0-9]+).*MINOR ([0-9]+).*PATCH ([0-9]+).*" "\\1.\\2.\\3" _nver "${_v}")
  if(NOT _nver MATCHES "^[0-9]+\\.[0-9]+\\.[0-9]+$")
    message(FATAL_ERROR "Cannot read nlohmann_json's version from ${_tqlib_host_nlohmann}/nlohmann")
  endif()
  set(_cfg "${CMAKE_BINARY_DIR}/wasm-cmake/nlohmann_json")
  file(WRITE "${_cfg}/nlohmann_jsonConfig.cmake"
    "if(NOT TARGET nlohmann_json::nlohmann_json)\n"
    "  add_library(nlohmann_json::nlohmann_json INTERFACE IMPORTED)\n"
    "  set_target_properties(nlohmann_json::nlohmann_json PROPERTIES INTERFACE_INCLUDE_DIRECTORIES \"${TQLIB_WASM_HOST_INCLUDE}\")\n"
    "endif()\n")
  include(CMakePackageConfigHelpers)
  write_basic_package_version_file("${_cfg}/nlohmann_jsonConfigVersion.cmake" VERSION ${_nver}
    COMPATIBILITY SameMajorVersion ARCH_INDEPENDENT)
  set(nlohmann_json_DIR "${_cfg}" CACHE PATH "nlohmann_json package config (wasm build)" FORCE)
endif()

# libc++ 13 (Emscripten 3.1.6) gaps, filled for every C++ file of this build.
add_compile_options("$<$<COMPILE_LANGUAGE:CXX>:SHELL:-include ${PROJECT_SOURCE_DIR}/wasm/src/libcxx_compat.hpp>")
