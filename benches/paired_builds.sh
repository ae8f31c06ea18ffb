#!/usr/bin/env bash
# Two builds of relaybench against each other, for a change too small for one run to show:
# rounds of BEFORE, wrk, AFTER, wrk on the same TLS mock (a stream sent all at once, HTTP/1.1),
# each relaybench run's CPU per request divided by that of the wrk run right after it, so
# that the machine's drift over minutes cancels. Prints each build's median ratio and range.
# The mock is AFTER's, pinned to one core; each client in turn to the other.
#
# Needs: two release builds (copy target/release/relaybench aside before the change), wrk,
# taskset (util-linux), GNU time, python3. Loopback only.
# Usage: bash benches/paired_builds.sh BEFORE AFTER [SECONDS=3] [STREAMS=64] [ROUNDS=10]
set -euo pipefail
cd "$(dirname "$0")/.."
. benches/loadgen_lib.sh

[ $# -ge 2 ] && [ -x "$1" ] && [ -x "$2" ] || { echo "usage: bash benches/paired_builds.sh BEFORE AFTER [SECONDS] [STREAMS] [ROUNDS]" >&2; exit 2; }
before=$1 after=$2
seconds=${3:-3}
streams=${4:-64}
rounds=${5:-10}
for tool in wrk taskset /usr/bin/time; do
    command -v "$tool" >/dev/null || { echo "$tool not found (apt install wrk time util-linux)" >&2; exit 2; }
done
set_up_run
url="https://127.0.0.1:$port"
bin=$after
run_tls_mock 0ms 1000000

# One round's ratio for the build in $bin: its CPU per request over that of the wrk run after it.
paired_ratio() { # out
    local rb_rps ok wrk_rps
    read -r rb_rps _ ok < <(run_relaybench_tls true http1 "$1-rb")
    [ "$ok" = True ] || echo "  note: $bin: not every request was ok" >&2
    wrk_rps=$(run_wrk true "$1-wrk")
    # CPU seconds per request of each: requests/s over the same duration cancels out.
    python3 -c 'import sys; c, r, wc, wr = map(float, sys.argv[1:]); print(f"{c / r / (wc / wr):.3f}")' \
        "$(cpu_of "$1-rb.time")" "$rb_rps" "$(cpu_of "$1-wrk.time")" "$wrk_rps"
}

ratios_before=() ratios_after=()
for r in $(seq "$rounds"); do
    bin=$before; ratios_before+=("$(paired_ratio "$work/before-$r")")
    bin=$after; ratios_after+=("$(paired_ratio "$work/after-$r")")
done
python3 - "${ratios_before[*]}" "${ratios_after[*]}" "$before" "$after" <<'PY'
import statistics as st, sys
for ratios, name in ((sys.argv[1], sys.argv[3]), (sys.argv[2], sys.argv[4])):
    r = sorted(float(x) for x in ratios.split())
    print(f"{name}: CPU per request / wrk's, median {st.median(r):.2f} ({r[0]:.2f}-{r[-1]:.2f}) over {len(r)} rounds")
PY
