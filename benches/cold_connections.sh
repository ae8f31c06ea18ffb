#!/usr/bin/env bash
# A new connection for every request, over https: relaybench (`quick --no-keep-alive`)
# against oha (`--disable-keepalive`) on the same TLS mock process (`relaybench mock
# --tls`), a stream sent all at once, HTTP/1.1. The mock is pinned to one core, each client
# in turn to the other, with the same connections at once and duration, runs interleaved.
# Each request pays TCP and a TLS handshake; relaybench also checks every event it reads.
# Prints requests/s and CPU seconds per 1,000 requests for both (medians), the ratios (for
# CPU, the median and range of each round's ratio against the oha run right after it), and
# how many of relaybench's handshakes resumed a session.
#
# Needs: a release build (cargo build --release), oha (cargo install oha --locked),
# taskset (util-linux), GNU time, python3. Loopback only.
# Usage: bash benches/cold_connections.sh [SECONDS=5] [CONNECTIONS=16] [ROUNDS=3]
set -euo pipefail
cd "$(dirname "$0")/.."
. benches/loadgen_lib.sh

seconds=${1:-5}
connections=${2:-16}
rounds=${3:-3}
find_relaybench
find_oha
set_up_run
url="https://127.0.0.1:$port"

run_tls_mock 0ms 1000000

run_relaybench() { # out -> "ok resumed"
    /usr/bin/time -f 'cpu %U %S' -o "$1.time" env LOADGEN_KEY=$key taskset -c 1 "$bin" quick "$url" --ca-file "$work/mock-ca.pem" --no-keep-alive \
        --concurrency "$connections" --duration "${seconds}s" --max-tokens 64 --key-env LOADGEN_KEY --stream --out "$1.d" -q >/dev/null
    python3 - "$1.d" <<'PY'
import json, pathlib, sys
r = json.load(open(next(pathlib.Path(sys.argv[1]).glob("*/report.json"))))
print(r["totals"]["by_outcome"]["ok"], r["connections"]["tls_resumed"])
PY
}

run_oha() { # out -> ok
    /usr/bin/time -f 'cpu %U %S' -o "$1.time" taskset -c 1 "$oha" --no-tui --output-format json --disable-keepalive --cacert "$work/mock-ca.pem" \
        -z "${seconds}s" -c "$connections" -m POST -H "x-api-key: $key" -H "anthropic-version: 2023-06-01" -H "content-type: application/json" \
        -d "$(body true)" "$url/v1/messages" >"$1.json" 2>/dev/null
    python3 -c 'import json, sys; print(json.load(open(sys.argv[1]))["statusCodeDistribution"].get("200", 0))' "$1.json"
}

rb_ok=() oha_ok=() rb_cpu=() oha_cpu=() resumed=()
for r in $(seq "$rounds"); do
    read -r ok res < <(run_relaybench "$work/rb-$r")
    rb_ok+=("$ok"); resumed+=("$res"); rb_cpu+=("$(cpu_of "$work/rb-$r.time")")
    ok=$(run_oha "$work/oha-$r")
    oha_ok+=("$ok"); oha_cpu+=("$(cpu_of "$work/oha-$r.time")")
done
python3 - "$seconds" "${rb_ok[*]}" "${oha_ok[*]}" "${rb_cpu[*]}" "${oha_cpu[*]}" "${resumed[*]}" <<'PY'
import statistics as st, sys
seconds = float(sys.argv[1])
rb, oha, rb_cpu, oha_cpu, resumed = ([float(x) for x in a.split()] for a in sys.argv[2:7])
per_rb = [c / n * 1000 for c, n in zip(rb_cpu, rb)]
per_oha = [c / n * 1000 for c, n in zip(oha_cpu, oha)]
ratios = sorted(a / b for a, b in zip(per_rb, per_oha))
print(f"a new connection per request, a stream sent at once, https HTTP/1.1")
print(f"requests/s   relaybench {st.median(rb) / seconds:8.0f}   oha {st.median(oha) / seconds:8.0f}   ratio {st.median(rb) / st.median(oha):.2f}")
print(f"cpu s / 1k   relaybench {st.median(per_rb):8.3f}   oha {st.median(per_oha):8.3f}   ratio {st.median(ratios):.2f} ({ratios[0]:.2f}-{ratios[-1]:.2f})")
print(f"relaybench's handshakes that resumed a session: {sum(resumed) / sum(rb):.0%}")
PY
