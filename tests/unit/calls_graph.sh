#!/usr/bin/env bash
# Runs scripts/calls-graph on this build for the directories given, after proving on a two-file fixture that it
# does fail on a cycle (so a broken script cannot pass silently). Usage: calls_graph.sh BUILD_DIR SRC_DIR...
set -euo pipefail
src=$(cd "$(dirname "$0")/../.." && pwd)
build=$1
shift

fixture=$(mktemp -d)
trap 'rm -rf "$fixture"' EXIT
mkdir -p "$fixture/build/mod/CMakeFiles/t.dir"
printf 'int b(int);\nint a(int n) { return n ? b(n - 1) : 0; }\n' >"$fixture/a.c"
printf 'int a(int);\nint b(int n) { return n ? a(n - 1) : 1; }\n' >"$fixture/b.c"
for f in a b; do
  "${CC:-cc}" -c "$fixture/$f.c" -o "$fixture/build/mod/CMakeFiles/t.dir/$f.c.o"
done
if out=$("$src/scripts/calls-graph" "$fixture/build" mod 2>&1); then
  echo "FAIL: calls-graph accepted a cycle between a.c and b.c:" >&2
  echo "$out" >&2
  exit 1
fi
grep -q '^  a.c$' <<<"$out" && grep -q '^  b.c$' <<<"$out" || { echo "FAIL: cycle not named: $out" >&2; exit 1; }
echo "ok: the a.c <-> b.c fixture fails"

"$src/scripts/calls-graph" "$build" "$@"
