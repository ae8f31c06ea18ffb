# Shared by benches/loadgen.sh, benches/tls_loadgen.sh and benches/cold_connections.sh:
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
