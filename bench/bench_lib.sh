# bench_lib.sh — what the standalone benchmarks share, sourced after `cd` to the source tree: a run folder
# ($dir, removed on exit unless KEEP is set), the processes started into it ($pids, killed on exit), a free
# loopback port, and a bounded start that waits for a daemon's READY line. The benchmarks that need the
# integration tests' helpers (sipp, Kamailio) source tests/integration/lib.sh instead.
# shellcheck shell=bash
dir=$(mktemp -d)
pids=()
bench_cleanup() {
    local p
    for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; wait "$p" 2>/dev/null || true; done
    if [ -n "${KEEP:-}" ]; then echo "kept $dir" >&2; else rm -rf "$dir"; fi
}
trap bench_cleanup EXIT
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
now_ms() { date +%s%3N; }
# wait_line FILE PATTERN [LOG]: waits (20 s at most) for a line of FILE matching PATTERN; else prints LOG (or FILE)
wait_line() {
    local i
    for ((i = 0; i < 400; i++)); do grep -q "$2" "$1" 2>/dev/null && return 0; sleep 0.05; done
    cat "${3:-$1}" >&2
    return 1
}
# bench_start NAME CMD...: runs CMD with stdout in $dir/NAME.out and stderr in $dir/NAME.log, and waits for a line
# starting READY (BENCH_READY_S seconds at most, 20 by default; a million subscribers want more), or for the
# process to die. Sets NAME_pid and ready_ms (how long it took); on failure prints the log and returns 1.
bench_start() {
    local name=$1 t0 pid i
    shift
    t0=$(now_ms)
    "$@" >"$dir/$name.out" 2>"$dir/$name.log" &
    pid=$!
    pids+=("$pid")
    printf -v "${name}_pid" '%s' "$pid"
    for ((i = 0; i < ${BENCH_READY_S:-20} * 20; i++)); do
        # shellcheck disable=SC2034 # ready_ms is for the caller
        grep -q '^READY' "$dir/$name.out" && { ready_ms=$(($(now_ms) - t0)); return 0; }
        kill -0 "$pid" 2>/dev/null || break
        sleep 0.05
    done
    echo "$name did not get ready:" >&2
    cat "$dir/$name.log" >&2
    return 1
}
