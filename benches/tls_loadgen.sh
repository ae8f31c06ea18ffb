#!/usr/bin/env bash
# relaybench against the HTTP tools over https, on the same TLS mock process
# (`relaybench mock --tls`): wrk over TLS and HTTP/1.1, h2load over HTTP/2. The mock is
# pinned to one core, each client in turn to the other, with the same streams in flight and
# duration, three workloads (a Message; a stream sent all at once; a stream paced at 1 ms a
# token), runs interleaved. relaybench checks every event it reads; wrk and h2load read the
# bytes and check nothing. Prints requests/s and CPU seconds per 1,000 requests for each
# (medians over the rounds), and relaybench's ratios to the peer: for CPU, the median and
# range of each round's ratio (relaybench's run against the peer's run right after it).
#
# Needs: a release build (cargo build --release), wrk and h2load (Debian's wrk and
# nghttp2-client), taskset (util-linux), GNU time, python3. Loopback only.
# Usage: bash benches/tls_loadgen.sh [SECONDS=10] [STREAMS=64] [ROUNDS=3]
# RELAYBENCH_BIN=path measures another build (the client before a change, say).
set -euo pipefail
cd "$(dirname "$0")/.."
. benches/loadgen_lib.sh

seconds=${1:-10}
streams=${2:-64}
rounds=${3:-3}
find_relaybench
for tool in wrk h2load taskset /usr/bin/time; do
    command -v "$tool" >/dev/null || { echo "$tool not found (apt install wrk nghttp2-client time util-linux)" >&2; exit 2; }
done
set_up_run
url="https://127.0.0.1:$port"

run_h2load() { # stream out
    h2load_under "$1" "$seconds" "$2" /usr/bin/time -f 'cpu %U %S' -o "$2.time" taskset -c 1
    # "finished in 10.00s, 12345.67 req/s, …": completed requests over the run.
    awk '/^finished in/ {gsub(",", "", $4); print $4}' "$2.out"
}

printf '%-16s %-7s %10s %10s %8s %14s %14s %8s %11s\n' workload peer "rb req/s" "peer req/s" "req x" "rb cpu/1k" "peer cpu/1k" "cpu x" "cpu x range"
for workload in "message 0ms 1000000 false" "stream-at-once 0ms 1000000 true" "stream-paced 0ms 1000 true"; do
    set -- $workload
    name=$1 ttft=$2 tps=$3 stream=$4
    run_tls_mock "$ttft" "$tps"
    for pair in "wrk http1" "h2load http2"; do
        set -- $pair
        peer=$1 alpn=$2
        rb_rps=() peer_rps=() rb_cpu=() peer_cpu=()
        for r in $(seq "$rounds"); do
            read -r rps verdict all_ok < <(run_relaybench_tls "$stream" "$alpn" "$work/rb-$name-$alpn-$r")
            [ "$verdict" = pass ] && [ "$all_ok" = True ] || echo "  note: relaybench on $name/$alpn: verdict $verdict, all ok $all_ok" >&2
            rb_rps+=("$rps"); rb_cpu+=("$(cpu_of "$work/rb-$name-$alpn-$r.time")")
            rps=$("run_$peer" "$stream" "$work/$peer-$name-$r")
            peer_rps+=("$rps"); peer_cpu+=("$(cpu_of "$work/$peer-$name-$r.time")")
        done
        python3 - "$name" "$peer" "$seconds" "${rb_rps[*]}" "${peer_rps[*]}" "${rb_cpu[*]}" "${peer_cpu[*]}" <<'PY'
import statistics as st, sys
name, peer, seconds = sys.argv[1], sys.argv[2], float(sys.argv[3])
rb, pr, rb_cpu, pr_cpu = ([float(x) for x in a.split()] for a in sys.argv[4:8])
rb_rps, pr_rps = st.median(rb), st.median(pr)
per_rb = [c / (r * seconds) * 1000 for c, r in zip(rb_cpu, rb)]
per_pr = [c / (r * seconds) * 1000 for c, r in zip(pr_cpu, pr)]
# Each round's ratio pairs relaybench's run with the peer's run straight after it, so a
# drift of the machine's speed over minutes cancels; the median of those is the figure.
ratios = sorted(a / b for a, b in zip(per_rb, per_pr))
spread = f"{ratios[0]:.2f}-{ratios[-1]:.2f}"
print(f"{name:<16} {peer:<7} {rb_rps:10.0f} {pr_rps:10.0f} {rb_rps / pr_rps:8.2f} {st.median(per_rb):14.3f} {st.median(per_pr):14.3f} {st.median(ratios):8.2f} {spread:>11}")
PY
    done
    kill "$mock_pid"; wait "$mock_pid" 2>/dev/null || true
done
