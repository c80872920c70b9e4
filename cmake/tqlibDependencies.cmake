# Finds tqlib's dependencies and lists them in TQLIB_DEPENDENCY_TARGETS. Used both by the
# project and by the installed tqlibConfig.cmake, so consumers get the same usage requirements.
# CMake package configs are tried first (what Conan and vcpkg provide), then pkg-config (Debian).
include(CMakeFindDependencyMacro)
find_dependency(xsimd 13 CONFIG)
find_dependency(nlohmann_json 3.10 CONFIG)

set(TQLIB_DEPENDENCY_TARGETS xsimd nlohmann_json::nlohmann_json)

# tqlib_find_c_library(<name> <pkg-config module> PACKAGES <config packages...> TARGETS <targets...>)
# Package and target names: vcpkg (zstd::libzstd, unofficial-sodium::sodium, utf8proc::utf8proc),
# Conan 2 (zstd::libzstd_static/_shared, libsodium::libsodium, utf8proc::utf8proc), then pkg-config.
macro(tqlib_find_c_library name module)
  cmake_parse_arguments(_tqlib "" "" "PACKAGES;TARGETS" ${ARGN})
  set(_tqlib_found_target "")
  foreach(_p ${_tqlib_PACKAGES})
    if(NOT _tqlib_found_target)
      find_package(${_p} CONFIG QUIET)
      foreach(_t ${_tqlib_TARGETS})
        if(TARGET ${_t} AND NOT _tqlib_found_target)
          set(_tqlib_found_target ${_t})
        endif()
      endforeach()
    endif()
  endforeach()
  if(NOT _tqlib_found_target)
    find_package(PkgConfig QUIET)
    if(PKG_CONFIG_FOUND)
      pkg_check_modules(tqlib_pc_${name} QUIET IMPORTED_TARGET ${module})
      if(TARGET PkgConfig::tqlib_pc_${name})
        set(_tqlib_found_target PkgConfig::tqlib_pc_${name})
      endif()
    endif()
  endif()
  if(NOT _tqlib_found_target)
    message(FATAL_ERROR "tqlib needs ${name} (pkg-config module '${module}'); run scripts/setup or install it")
  endif()
  list(APPEND TQLIB_DEPENDENCY_TARGETS ${_tqlib_found_target})
endmacro()

if(EMSCRIPTEN)
  # The wasm build compiles these C libraries from source (wasm/CMakeLists.txt adds them).
  list(APPEND TQLIB_DEPENDENCY_TARGETS tqlib_wasm_c_deps)
else()
  tqlib_find_c_library(zstd libzstd PACKAGES zstd
    TARGETS zstd::libzstd zstd::libzstd_shared zstd::libzstd_static)
  tqlib_find_c_library(sodium libsodium PACKAGES unofficial-sodium libsodium
    TARGETS unofficial-sodium::sodium libsodium::libsodium)
  tqlib_find_c_library(utf8proc libutf8proc PACKAGES utf8proc TARGETS utf8proc::utf8proc)
endif()
