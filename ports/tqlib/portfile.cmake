# Overlay port: builds from this checkout (vcpkg install tqlib --overlay-ports=<repo>/ports).
# Installs through the project's own CMake install rules, the same ones find_package users get.
set(VCPKG_BUILD_TYPE release)  # header-only: one configuration is enough
get_filename_component(SOURCE_PATH "${CMAKE_CURRENT_LIST_DIR}/../.." ABSOLUTE)

vcpkg_cmake_configure(
    SOURCE_PATH "${SOURCE_PATH}"
    OPTIONS
        -DTQLIB_BUILD_TESTS=OFF
        -DTQLIB_BUILD_BENCH=OFF
        -DTQLIB_BUILD_EXAMPLES=OFF
        -DTQLIB_BUILD_TOOLS=OFF
        -DTQLIB_BUILD_FUZZERS=OFF
        -DTQLIB_BUILD_WASM=OFF
)
vcpkg_cmake_install()
vcpkg_cmake_config_fixup(PACKAGE_NAME tqlib CONFIG_PATH share/cmake/tqlib)
vcpkg_fixup_pkgconfig()
vcpkg_install_copyright(FILE_LIST "${SOURCE_PATH}/LICENSE")
