"""Writes scenarios/data/trace.jsonl: a small request trace in the Mooncake layout.

120 requests over about 17 seconds, arriving in bursts; each starts with one of three
shared prefixes (2 to 4 blocks of 512 tokens, like system prompts) followed by blocks of
its own, so requests that share a prefix share their leading hash_ids. Deterministic:
python3 scenarios/data/make_trace.py rewrites the same file.
"""
import json
import random
from pathlib import Path

rng = random.Random(20261130)
prefixes = [[1, 2], [10, 11, 12], [20, 21, 22, 23]]
next_id = 100
t = 0.0
lines = []
for i in range(120):
    # Bursts: mostly short gaps, now and then a pause.
    t += rng.expovariate(1 / 60.0) if rng.random() < 0.85 else rng.uniform(300, 900)
    prefix = rng.choice(prefixes)
    own = rng.randint(0, 6)
    ids = prefix + list(range(next_id, next_id + own))
    next_id += own
    input_length = len(ids) * 512 - rng.randint(0, 511)
    lines.append(json.dumps({
        "timestamp": round(t, 1),
        "input_length": input_length,
        "output_length": rng.randint(16, 200),
        "hash_ids": ids,
    }))
Path(__file__).with_name("trace.jsonl").write_text("\n".join(lines) + "\n")
