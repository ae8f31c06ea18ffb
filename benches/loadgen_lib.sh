# Shared by benches/loadgen.sh and benches/tls_loadgen.sh: sourced, not run.

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
