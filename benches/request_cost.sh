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
# PEERS=1 also counts the instructions of the peer on the same path (wrk over HTTP/1.1,
# h2load over HTTP/2), which reads the bytes and checks nothing. Those counts leave out the
# kernel's work, which CPU seconds include, and count a large copy by `rep movsb` a byte at
# a time: they show where user-space work goes, not the ratio of CPU seconds.
# Usage: bash benches/request_cost.sh       (RELAYBENCH_BIN=path for another build;
#        ALPN=http2 for HTTP/2, one connection carrying the 16 streams; PEERS=1)
set -euo pipefail
cd "$(dirname "$0")/.."
. benches/loadgen_lib.sh

for tool in valgrind heaptrack heaptrack_print taskset ${PEERS:+wrk h2load}; do
    command -v "$tool" >/dev/null || { echo "$tool not found (apt install valgrind heaptrack util-linux wrk nghttp2-client)" >&2; exit 2; }
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
per_request() { # short_count long_count short_requests long_requests
    python3 -c 'import sys; c1, c2, r1, r2 = map(float, sys.argv[1:]); print(f"{(c2 - c1) / (r2 - r1):.1f}")' "$@"
}

# The same, with the requests read from relaybench's reports.
marginal() { # short_count long_count short_out long_out
    per_request "$1" "$2" "$(requests_of "$3")" "$(requests_of "$4")"
}

# The peer under callgrind for SECONDS, with the streams relaybench has; prints the
# requests it completed.
peer_profiled() { # name seconds stream
    local out="$work/$1"
    local under=(taskset -c 1 valgrind --tool=callgrind --callgrind-out-file="$out.cg")
    if [ "$alpn" = http1 ]; then
        wrk_under "$3" "$2" "$out" "${under[@]}"
        # "  10029 requests in 9.05s, 90.45MB read"
        awk '/ requests in / {print $1}' "$out.out"
    else
        h2load_under "$3" "$2" "$out" "${under[@]}"
        # "requests: 3664 total, 3680 started, 3664 done, 3664 succeeded, …"
        awk '/^requests:/ {print $6}' "$out.out"
    fi
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
    if [ -n "${PEERS:-}" ]; then
        stream=false
        [ "$workload" = stream ] && stream=true
        peer=wrk
        [ "$alpn" = http2 ] && peer=h2load
        short=$(peer_profiled "peer-$workload-3" 3 "$stream")
        long=$(peer_profiled "peer-$workload-9" 9 "$stream")
        cg() { awk '/^summary:/ {print $2}' "$work/peer-$workload-$1.cg"; }
        theirs=$(per_request "$(cg 3)" "$(cg 9)" "$short" "$long")
        printf '%-6s %-8s %8.1fk instructions (%s), relaybench %.2fx\n' "$alpn" "$workload" "$(python3 -c "print($theirs / 1000)")" "$peer" "$(python3 -c "print($instructions / $theirs)")"
    fi
done
