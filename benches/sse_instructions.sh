#!/usr/bin/env bash
# Instruction counts of one pass of the SSE parser and of the memchr newline floor over the
# same stream (LF, then CRLF), under callgrind: repeatable where wall time on a shared
# machine is not. Usage: bash benches/sse_instructions.sh
set -euo pipefail
cd "$(dirname "$0")/.."
bin=$(cargo bench --bench sse_parse --no-run --message-format=json 2>/dev/null \
  | python3 -c 'import json,sys
for l in sys.stdin:
    m=json.loads(l)
    if m.get("reason")=="compiler-artifact" and m.get("executable") and m["target"]["name"]=="sse_parse": print(m["executable"])')
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
for ending in lf crlf; do
  for f in relaybench_parse memchr_floor; do
    RELAYBENCH_SSE_ONCE=$ending valgrind --tool=callgrind --callgrind-out-file="$out/$ending-$f" \
      --toggle-collect="*sse_parse*$f*" "$bin" >/dev/null 2>&1
  done
done
python3 - "$out" <<'PY'
import pathlib, re, sys
out = pathlib.Path(sys.argv[1])
def total(f):
    text = (out / f).read_text()
    return int(re.search(r"^summary: (\d+)", text, re.M).group(1))
for ending in ("lf", "crlf"):
    ours, floor = total(f"{ending}-relaybench_parse"), total(f"{ending}-memchr_floor")
    print(f"{ending.upper():<4} parser {ours/1e6:7.1f} M instructions, newline floor {floor/1e6:6.1f} M: "
          f"parser = {floor/ours*100:.0f}% of the floor")
PY
