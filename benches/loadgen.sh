#!/usr/bin/env bash
# relaybench against oha, the plain HTTP load tool, on the same mock process: the mock
# pinned to one core, each client in turn pinned to the other, the same concurrency and
# duration, three workloads (a Message; a stream sent all at once; a stream paced at
# 1 ms a token), runs interleaved. relaybench checks every event it reads; oha reads the
# bytes and checks nothing. Prints requests/s (responses completed per second of each
# tool's run), events/s and CPU seconds per 1,000 requests for both, and their ratios.
#
# Needs: a release build (cargo build --release), oha (cargo install oha --locked),
# taskset (util-linux), python3. Loopback only.
# Usage: bash benches/loadgen.sh [SECONDS=10] [CONCURRENCY=64] [ROUNDS=3]
set -euo pipefail
cd "$(dirname "$0")/.."
. benches/loadgen_lib.sh

seconds=${1:-10}
concurrency=${2:-64}
rounds=${3:-3}
find_relaybench
find_oha
set_up_run

run_mock() { # ttft tokens_per_s
    RELAYBENCH_MOCK_KEY=$key taskset -c 0 "$bin" mock --port "$port" --ttft "$1" --tokens-per-s "$2" --jitter 0 >"$work/mock.log" 2>&1 &
    mock_pid=$!
    wait_for_mock "$work/mock.log"
}

run_oha() { # stream out
    /usr/bin/time -f 'cpu %U %S' -o "$2.time" taskset -c 1 "$oha" --no-tui --output-format json -z "${seconds}s" -c "$concurrency" \
        -m POST -H "x-api-key: $key" -H "anthropic-version: 2023-06-01" -H "content-type: application/json" \
        -d "$(body "$1")" "http://127.0.0.1:$port/v1/messages" >"$2.json" 2>/dev/null
    python3 - "$2.json" <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))
s = r["summary"]
# oha's requestsPerSec also counts the requests its deadline aborted (errorDistribution
# "aborted due to deadline": one per connection); relaybench counts the requests that
# ended. Completed responses over oha's run time are the same measure for both.
completed = sum(r.get("statusCodeDistribution", {}).values())
print(completed / s["total"], s.get("successRate", 1.0), r.get("errorDistribution", {}))
PY
}

run_relaybench() { # stream out
    local flag=""
    [ "$1" = true ] && flag="--stream"
    /usr/bin/time -f 'cpu %U %S' -o "$2.time" env LOADGEN_KEY=$key taskset -c 1 "$bin" quick "http://127.0.0.1:$port" \
        --concurrency "$concurrency" --duration "${seconds}s" --max-tokens 64 --key-env LOADGEN_KEY $flag --out "$2.d" -q >/dev/null
    python3 - "$2.d" <<'PY'
import json, pathlib, sys
r = json.load(open(next(pathlib.Path(sys.argv[1]).glob("*/report.json"))))
print(r["throughput"]["requests_per_s"], r["totals"]["by_outcome"]["ok"] / max(1, r["totals"]["requests"]), r["throughput"]["content_deltas"] / r["duration_s"], r["conformance"]["verdict"])
PY
}

# Events per response of a workload, read once from the mock with relaybench's parser
# (oha does not count them): message_start, the deltas, the block and message events.
printf '%-34s %10s %10s %12s %12s %8s %8s %8s\n' workload "rb req/s" "oha req/s" "rb ev/s" "oha ev/s" "req x" "ev x" "cpu x"
for workload in "message 0ms 1000000 false" "stream-at-once 0ms 1000000 true" "stream-paced 0ms 1000 true"; do
    set -- $workload
    name=$1 ttft=$2 tps=$3 stream=$4
    run_mock "$ttft" "$tps"
    rb_rps=() oha_rps=() rb_cpu=() oha_cpu=() rb_ev=()
    for r in $(seq "$rounds"); do
        read -r rps ok ev verdict < <(run_relaybench "$stream" "$work/rb-$name-$r")
        rb_rps+=("$rps"); rb_ev+=("$ev"); rb_cpu+=("$(cpu_of "$work/rb-$name-$r.time")")
        [ "$verdict" = pass ] || echo "  note: relaybench's conformance verdict on $name was $verdict" >&2
        read -r rps ok _ < <(run_oha "$stream" "$work/oha-$name-$r")
        oha_rps+=("$rps"); oha_cpu+=("$(cpu_of "$work/oha-$name-$r.time")")
    done
    kill "$mock_pid"; wait "$mock_pid" 2>/dev/null || true
    python3 - "$name" "$stream" "$seconds" "${rb_rps[*]}" "${oha_rps[*]}" "${rb_cpu[*]}" "${oha_cpu[*]}" "${rb_ev[*]}" <<'PY'
import statistics as st, sys
name, stream, seconds = sys.argv[1], sys.argv[2] == "true", float(sys.argv[3])
rb, oha, rb_cpu, oha_cpu, rb_ev = ([float(x) for x in a.split()] for a in sys.argv[4:9])
rb_rps, oha_rps = st.median(rb), st.median(oha)
# Events per response: what relaybench counted per request (content deltas plus the six
# framing events of a stream); oha read the same responses.
per = (st.median(rb_ev) / rb_rps + 6) if stream and rb_rps else 0
rb_events, oha_events = rb_rps * per, oha_rps * per
cpu_rb = st.median([c / (r * seconds) for c, r in zip(rb_cpu, rb)]) * 1000
cpu_oha = st.median([c / (r * seconds) for c, r in zip(oha_cpu, oha)]) * 1000
ev = f"{rb_events:12.0f} {oha_events:12.0f}" if stream else f"{'-':>12} {'-':>12}"
evx = f"{rb_events / oha_events:8.2f}" if stream and oha_events else f"{'-':>8}"
print(f"{name:<34} {rb_rps:10.0f} {oha_rps:10.0f} {ev} {rb_rps / oha_rps:8.2f} {evx} {cpu_rb / cpu_oha:8.2f}")
print(f"{'':<34} CPU s per 1,000 requests: relaybench {cpu_rb:.3f}, oha {cpu_oha:.3f}")
PY
done
