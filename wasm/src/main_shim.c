/* clang >= 17 names `int main(int, char**)` __main_argc_argv (and `int main(void)` __main_void)
 * for Emscripten too, while Emscripten 3.1.6's runtime still calls `main`: without this, a program
 * built by clang 19 exits 0 without running. Weak, so a program whose `main` keeps its name wins. */
__attribute__((weak)) extern int __main_argc_argv(int argc, char** argv);
__attribute__((weak)) extern int __main_void(void);

__attribute__((weak)) int tqlib_main_shim(int argc, char** argv) __asm__("main");
int tqlib_main_shim(int argc, char** argv) { return __main_argc_argv ? __main_argc_argv(argc, argv) : __main_void(); }
