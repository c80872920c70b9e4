# cmake -DOBJECT=in.o -DOUTPUT=out.o -DTAG=x86_avx2 -DLD=ld -DOBJCOPY=objcopy -DNM=nm -P this
#
# Makes one dispatch target's kernel object safe to link into a program that runs on any CPU
# (tqlibDispatch.cmake, docs/CONTRIBUTING.md "Runtime dispatch"):
#  1. `ld -r --force-group-allocation` dissolves its COMDAT groups, so the final link no longer
#     picks one copy of an inline function or template among all objects that have one;
#  2. every function whose name does not contain the target's tag type
#     (tqlib::simd::isa::<TAG>, mangled "3isa<len><TAG>E"), inline helpers and standard-library
#     instantiations included, is made local and renamed "<name>.<TAG>" (demangled
#     "... [clone .<TAG>]"): only this object's own kernels call it, and the ISA audit
#     (scripts/isa-audit) can tell which target compiled it;
#     data (constant tables, static locals and their guards) stays shared, made weak;
#  3. it fails if the object has static initializers (they would run at start-up on every CPU)
#     or if a function without the tag is still global.
foreach(var OBJECT OUTPUT TAG LD OBJCOPY NM)
  if(NOT DEFINED ${var})
    message(FATAL_ERROR "tqlibIsolateKernels.cmake: -D${var}=... is required")
  endif()
endforeach()

function(run)
  execute_process(COMMAND ${ARGN} RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
  if(NOT rc EQUAL 0)
    message(FATAL_ERROR "tqlib: `${ARGN}` failed (${rc}): ${err}")
  endif()
  set(run_output "${out}" PARENT_SCOPE)
endfunction()

set(work "${OUTPUT}.work")
run("${LD}" -r --force-group-allocation -o "${work}.o" "${OBJECT}")

string(LENGTH "${TAG}" tag_length)
set(tag_mangled "3isa${tag_length}${TAG}E")
run("${NM}" --defined-only -P "${work}.o")
string(REPLACE "\n" ";" lines "${run_output}")
set(localize "")
set(weaken "")
set(rename "")
foreach(line IN LISTS lines)
  if(NOT line MATCHES "^([^ ]+) ([A-Za-z]) ")
    continue()
  endif()
  set(name "${CMAKE_MATCH_1}")
  set(type "${CMAKE_MATCH_2}")
  if(NOT type MATCHES "^[TtWi]$")
    # Data holds no instructions and stays shared with the rest of the program (one instance of
    # each constant table, static local and its guard), as the COMDAT groups had it: weak, since
    # with the groups dissolved a second definition would otherwise clash.
    if(type MATCHES "^[DBRu]$")
      string(APPEND weaken "${name}\n")
    endif()
    continue()
  endif()
  string(FIND "${name}" "${tag_mangled}" at)
  if(at GREATER_EQUAL 0)
    continue()  # this target's own kernels: the entry points dispatch.hpp calls
  endif()
  # A C++ dynamic initializer runs at start-up on every CPU. (Sanitizer runtimes register each
  # object through constructors of their own, with a priority in the name: those only call
  # into the runtime.)
  if(name MATCHES "^_GLOBAL__sub_I_" AND NOT name MATCHES "^_GLOBAL__sub_I_[0-9]+_[0-9]+_")
    message(FATAL_ERROR "tqlib: the ${TAG} kernels have a static initializer (${name}), which would run on "
      "CPUs without ${TAG}: make the namespace-scope object constexpr, or a function-local static")
  endif()
  if(NOT type STREQUAL "t")
    string(APPEND localize "${name}\n")
  endif()
  string(APPEND rename "${name} ${name}.${TAG}\n")
endforeach()
# (objcopy fails on an empty list file, so each step runs only when it has something to do.)
file(COPY_FILE "${work}.o" "${work}.renamed.o")
if(localize)
  file(WRITE "${work}.localize" "${localize}")
  run("${OBJCOPY}" "--localize-symbols=${work}.localize" "${work}.renamed.o")
endif()
if(weaken)
  file(WRITE "${work}.weaken" "${weaken}")
  run("${OBJCOPY}" "--weaken-symbols=${work}.weaken" "${work}.renamed.o")
endif()
if(rename)
  file(WRITE "${work}.rename" "${rename}")
  run("${OBJCOPY}" "--redefine-syms=${work}.rename" "${work}.renamed.o")
endif()

# Check what the next link will see: global functions must all be this target's kernels.
run("${NM}" --defined-only --extern-only -P "${work}.renamed.o")
string(REPLACE "\n" ";" lines "${run_output}")
foreach(line IN LISTS lines)
  if(line MATCHES "^([^ ]+) [TWi] ")
    string(FIND "${CMAKE_MATCH_1}" "${tag_mangled}" at)
    if(at LESS 0)
      message(FATAL_ERROR "tqlib: ${CMAKE_MATCH_1} is still global in the ${TAG} kernels")
    endif()
  endif()
endforeach()
file(RENAME "${work}.renamed.o" "${OUTPUT}")
file(REMOVE "${work}.o" "${work}.localize" "${work}.weaken" "${work}.rename")
