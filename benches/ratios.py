#!/usr/bin/env python3
"""Prints the SSE bench figures and their ratios, all from one `cargo bench --bench sse_parse`
run (criterion's estimates under target/criterion). Usage: python3 benches/ratios.py"""
import json, pathlib, sys

root = pathlib.Path(__file__).resolve().parent.parent / "target" / "criterion"

def seconds(group, bench):
    f = root / group / bench / "new" / "estimates.json"
    if not f.exists():
        sys.exit(f"missing {f}: run `cargo bench --bench sse_parse` first")
    # The median resists the outliers a shared 2-core machine produces; the mean does not.
    return json.loads(f.read_text())["median"]["point_estimate"] / 1e9

def rate(group, bench, amount):
    return amount / seconds(group, bench)

for ending in ("lf", "crlf"):
    meta = root / f"sse_bytes_{ending}" / "relaybench" / "new" / "benchmark.json"
    nbytes = json.loads(meta.read_text())["throughput"]["Bytes"]
    meta = root / f"sse_events_{ending}" / "relaybench" / "new" / "benchmark.json"
    nevents = json.loads(meta.read_text())["throughput"]["Elements"]
    print(f"{ending.upper()} line ends ({nbytes/1e6:.1f} MB, {nevents} events, 1-4 KiB chunks):")
    ours = rate(f"sse_bytes_{ending}", "relaybench", nbytes)
    ours_ev = rate(f"sse_events_{ending}", "relaybench", nevents)
    print(f"  relaybench          {ours/1e9:6.2f} GB/s  {ours_ev/1e6:6.1f} M events/s")
    for other in ("sse-stream", "eventsource-stream", "memchr-newline-floor"):
        if not (root / f"sse_bytes_{ending}" / other).exists():
            continue
        r = rate(f"sse_bytes_{ending}", other, nbytes)
        line = f"  {other:<19} {r/1e9:6.2f} GB/s"
        if other == "memchr-newline-floor":
            line += f"  relaybench = {ours/r*100:.0f}% of it"
        else:
            line += f"  relaybench = {ours/r:.1f}x"
        print(line)
