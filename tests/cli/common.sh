# Shared prologue of the CLI test scripts, sourced (not run) by each of them before its first
# check, so $1 is still the script's own argument: PATH/TO/tq. Gives $tq, $root (the repository),
# $work (a temporary directory removed on exit), the $fails counter and its helpers; each script
# ends with `exit "$fails"`. A script whose checks need another ok/bad (stderr kept apart, an
# expected message) defines its own after sourcing this file.
set -u
tq=$1
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
fails=0
fail() { echo "FAIL: $*"; fails=$((fails + 1)); }
# ok CMD...: must exit 0; its output (stdout and stderr) in $work/out, printed if it fails.
ok() { "$@" >"$work/out" 2>&1 || { fail "(expected success) $*"; cat "$work/out"; }; }
# bad CMD...: must exit non-zero and say why (output in $work/out).
bad() { if "$@" >"$work/out" 2>&1; then fail "(expected failure) $*"; elif [ ! -s "$work/out" ]; then fail "(no message) $*"; fi; }
