# Shared by benches/loadgen.sh, tls_loadgen.sh, cold_connections.sh, paired_builds.sh and request_cost.sh:
# sourced, not run.

# The build to measure in $bin: $RELAYBENCH_BIN (the client before a change, say), else the
# release build; exits when it is missing.
find_relaybench() {
    bin=${RELAYBENCH_BIN:-target/release/relaybench}
    [ -x "$bin" ] || { echo "build first: cargo build --release" >&2; exit 2; }
}

# oha in $oha, from the PATH or cargo's folder; exits when it is missing.
find_oha() {
    oha=$(command -v oha || echo "$HOME/.cargo/bin/oha")
    [ -x "$oha" ] || { echo "oha not found: cargo install oha --locked" >&2; exit 2; }
}

# Two cores (one for the mock, one for the client), a $work folder removed at exit with any
# job still running, the mock's $key and a $port for it.
set_up_run() {
    [ "$(nproc)" -ge 2 ] || { echo "needs two cores: one for the mock, one for the client" >&2; exit 2; }
    work=$(mktemp -d)
    trap 'kill $(jobs -p) 2>/dev/null || true; rm -rf "$work"' EXIT
    key=relaybench-mock-key
    port=$((20000 + RANDOM % 20000))
}

# CPU seconds (user + system) a finished command used, from GNU time's `cpu %U %S` line.
cpu_of() { # file
    awk '/^cpu / {print $2 + $3}' "$1"
}

# Waits until the mock started in the background ($mock_pid) listens on $port (and, when
# given, FILE exists); exits with the mock's log otherwise.
wait_for_mock() { # log [file]
    for _ in $(seq 100); do
        if { [ -z "${2:-}" ] || [ -f "$2" ]; } && (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then return; fi
        sleep 0.05
    done
    echo "the mock did not start: $(cat "$1")" >&2
    exit 1
}

# The request body of every workload.
body() { # stream
    printf '{"model":"claude-sonnet-4-5","max_tokens":64,"stream":%s,"messages":[{"role":"user","content":"Say something."}]}' "$1"
}

# The TLS mock pinned to core 0, writing its CA to $work; $mock_pid.
run_tls_mock() { # ttft tokens_per_s
    RELAYBENCH_MOCK_KEY=$key taskset -c 0 "$bin" mock --tls --cert-dir "$work" --port "$port" --ttft "$1" --tokens-per-s "$2" --jitter 0 >"$work/mock.log" 2>&1 &
    mock_pid=$!
    wait_for_mock "$work/mock.log" "$work/mock-ca.pem"
}

# wrk sending the workload's request on $streams connections for SECONDS, run under the
# command given after OUT (GNU time, valgrind, taskset); its output in OUT.out.
wrk_under() { # stream seconds out command...
    local stream=$1 secs=$2 out=$3
    shift 3
    cat >"$out.lua" <<LUA
wrk.method = "POST"
wrk.body = '$(body "$stream")'
wrk.headers["x-api-key"] = "$key"
wrk.headers["anthropic-version"] = "2023-06-01"
wrk.headers["content-type"] = "application/json"
LUA
    "$@" wrk -t1 -c "$streams" -d "${secs}s" -s "$out.lua" "$url/v1/messages" >"$out.out" 2>&1
}

# h2load sending the workload's request as $streams streams on one connection for SECONDS,
# run under the command given after OUT; its output in OUT.out.
h2load_under() { # stream seconds out command...
    local stream=$1 secs=$2 out=$3
    shift 3
    body "$stream" >"$out.body"
    "$@" h2load -c 1 -m "$streams" -D "$secs" -d "$out.body" \
        -H "x-api-key: $key" -H "anthropic-version: 2023-06-01" -H "content-type: application/json" "$url/v1/messages" >"$out.out" 2>&1
}

# wrk over TLS on core 1, $streams connections for $seconds; prints its requests/s.
run_wrk() { # stream out
    wrk_under "$1" "$seconds" "$2" /usr/bin/time -f 'cpu %U %S' -o "$2.time" taskset -c 1
    awk '/^Requests\/sec:/ {print $2}' "$2.out"
}

# relaybench ($bin) over https on core 1, like wrk; prints requests/s, the verdict and
# whether every request was ok.
run_relaybench_tls() { # stream alpn out
    local flag=""
    [ "$1" = true ] && flag="--stream"
    /usr/bin/time -f 'cpu %U %S' -o "$3.time" env LOADGEN_KEY=$key taskset -c 1 "$bin" quick "$url" --ca-file "$work/mock-ca.pem" --alpn "$2" \
        --concurrency "$streams" --duration "${seconds}s" --max-tokens 64 --key-env LOADGEN_KEY $flag --out "$3.d" -q >/dev/null
    python3 - "$3.d" <<'PY'
import json, pathlib, sys
r = json.load(open(next(pathlib.Path(sys.argv[1]).glob("*/report.json"))))
print(r["throughput"]["requests_per_s"], r["conformance"]["verdict"], r["totals"]["by_outcome"]["ok"] == r["totals"]["requests"])
PY
}
