#!/usr/bin/env bash
# What one request costs the client over https, in counts that do not move with the
# machine's load the way CPU seconds do: instructions (callgrind) and calls to the allocator
# (heaptrack), each the difference between a short and a long run divided by the requests
# between them, so start-up, handshakes and the report cancel. For a stream sent at once and
# for a Message, 16 at once, against the TLS mock over HTTP/1.1 (or HTTP/2, ALPN=http2).
# Slowed by the tools, the client finds more of a response waiting at each read than at full
# speed: the counts compare builds, and what a change does at full speed is for perf record
# or paired_builds.sh to show.
#
# Needs: a release build, valgrind, heaptrack (apt install valgrind heaptrack), taskset,
# python3. Loopback only; about four minutes.
# Usage: bash benches/request_cost.sh       (RELAYBENCH_BIN=path for another build;
#        ALPN=http2 for HTTP/2, one connection carrying the 16 streams)
set -euo pipefail
cd "$(dirname "$0")/.."
. benches/loadgen_lib.sh

for tool in valgrind heaptrack heaptrack_print taskset; do
    command -v "$tool" >/dev/null || { echo "$tool not found (apt install valgrind heaptrack util-linux)" >&2; exit 2; }
done
find_relaybench
set_up_run
url="https://127.0.0.1:$port"
run_tls_mock 0ms 0
streams=16
alpn=${ALPN:-http1}
case $alpn in http1 | http2) ;; *) echo "ALPN is http1 or http2, not $alpn" >&2; exit 2 ;; esac

# Requests a run's report counts.
requests_of() { # out
    python3 -c 'import json, pathlib, sys; print(json.load(open(next(pathlib.Path(sys.argv[1]).glob("*/report.json"))))["totals"]["requests"])' "$1"
}

# relaybench under TOOL for SECONDS; the tool's output in $work/NAME.
profiled() { # name seconds flag tool...
    local name=$1 secs=$2 flag=$3
    shift 3
    LOADGEN_KEY=$key taskset -c 1 "$@" "$bin" quick "$url" --ca-file "$work/mock-ca.pem" --alpn "$alpn" --concurrency "$streams" \
        --duration "${secs}s" --max-tokens 64 --key-env LOADGEN_KEY $flag --out "$work/$name.d" -q >/dev/null 2>&1
}

# Per request: (count in the long run - count in the short one) / (requests between them).
marginal() { # short_count long_count short_out long_out
    local a b
    a=$(requests_of "$3")
    b=$(requests_of "$4")
    python3 -c 'import sys; c1, c2, r1, r2 = map(float, sys.argv[1:]); print(f"{(c2 - c1) / (r2 - r1):.1f}")' "$1" "$2" "$a" "$b"
}

for workload in stream message; do
    flag=""
    [ "$workload" = stream ] && flag="--stream"
    for secs in 3 9; do
        profiled "cg-$workload-$secs" "$secs" "$flag" valgrind --tool=callgrind --callgrind-out-file="$work/cg-$workload-$secs.out"
    done
    ir() { awk '/^summary:/ {print $2}' "$work/cg-$workload-$1.out"; }
    instructions=$(marginal "$(ir 3)" "$(ir 9)" "$work/cg-$workload-3.d" "$work/cg-$workload-9.d")
    for secs in 2 6; do
        profiled "ht-$workload-$secs" "$secs" "$flag" heaptrack -o "$work/ht-$workload-$secs"
    done
    calls() { heaptrack_print "$work/ht-$workload-$1.zst" 2>/dev/null | awk '/^calls to allocation functions:/ {print $5}'; }
    allocations=$(marginal "$(calls 2)" "$(calls 6)" "$work/ht-$workload-2.d" "$work/ht-$workload-6.d")
    printf '%-6s %-8s %8.1fk instructions, %5.1f allocations per request\n' "$alpn" "$workload" "$(python3 -c "print($instructions / 1000)")" "$allocations"
done
