#!/usr/bin/env bash
# check_example.sh PATTERN PROGRAM ARGS...: runs an example, prints its output, and passes when it
# exits 0 and its output (stdout and stderr, newlines joined to spaces) matches the extended
# regular expression PATTERN.
set -u
pattern=$1
shift
out=$("$@" 2>&1)
rc=$?
printf '%s\n' "$out"
[ "$rc" -eq 0 ] || { echo "check_example: exit status $rc"; exit 1; }
tr '\n' ' ' <<<"$out" | grep -Eq -- "$pattern" || { echo "check_example: output does not match: $pattern"; exit 1; }
