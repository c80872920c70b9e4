import os

from conan import ConanFile
from conan.tools.cmake import CMake, CMakeDeps, CMakeToolchain, cmake_layout
from conan.tools.files import copy

required_conan_version = ">=2.0"


class TqlibConan(ConanFile):
    """Conan 2 recipe. Header-only: the package is exactly what `cmake --install` lays out
    (headers, tqlibConfig.cmake and friends, tqlib.pc), so Conan, vcpkg and find_package users
    all get the same files."""

    name = "tqlib"
    version = "0.1.0"
    package_type = "header-library"
    license = "Apache-2.0"
    description = "Header-only C++20 library for running low-bit quantized LLMs natively and in the browser"
    topics = ("llm", "quantization", "simd", "webassembly", "header-only")
    settings = "os", "arch", "compiler", "build_type"
    exports_sources = "CMakeLists.txt", "LICENSE", "cmake/*", "include/*"
    no_copy_source = True

    def requirements(self):
        # Keep in step with cmake/tqlibDependencies.cmake and vcpkg.json.
        self.requires("xsimd/13.2.0")
        self.requires("nlohmann_json/3.11.3")
        self.requires("zstd/1.5.6")
        self.requires("libsodium/1.0.20")
        self.requires("utf8proc/2.9.0")

    def layout(self):
        cmake_layout(self)

    def generate(self):
        toolchain = CMakeToolchain(self)
        for option in ("TESTS", "BENCH", "EXAMPLES", "TOOLS", "FUZZERS", "WASM"):
            toolchain.cache_variables[f"TQLIB_BUILD_{option}"] = False
        toolchain.generate()
        CMakeDeps(self).generate()

    def package(self):
        cmake = CMake(self)
        cmake.configure()
        cmake.install()
        copy(self, "LICENSE", self.source_folder, os.path.join(self.package_folder, "licenses"))

    def package_id(self):
        self.info.clear()

    def package_info(self):
        self.cpp_info.bindirs = []
        self.cpp_info.libdirs = []
        # Consumers load tqlib's own installed config (which also defines tqlib_add_simd_dispatch).
        self.cpp_info.set_property("cmake_find_mode", "none")
        self.cpp_info.builddirs.append(os.path.join("share", "cmake", "tqlib"))
        self.cpp_info.set_property("pkg_config_name", "tqlib")
