"""Writes scenarios/data/prompts.jsonl and scenarios/data/sharegpt.json: small datasets
of prompts and conversations the project makes itself (nothing is downloaded).

prompts.jsonl: 300 Anthropic-shaped records, one to three turns, short questions to
long pasted passages, some with a system prompt. sharegpt.json: 40 conversations in the
ShareGPT layout, each ending with the recorded answer that a replay leaves out.
Deterministic: python3 scenarios/data/make_prompts.py rewrites the same files.
"""
import json
import random
from pathlib import Path

rng = random.Random(300)
topics = ["a relay provider", "server-sent events", "a load test", "prompt caching",
          "tail latency", "an error envelope", "a tool call", "rate limits", "tokenizers",
          "connection pooling", "a capacity plan", "time to first token"]
asks = ["Explain {t} in one paragraph.", "What can go wrong with {t}?",
        "Give three tips about {t}.", "Summarise the passage below about {t}.",
        "Compare two ways to handle {t}.", "Write a checklist for {t}."]
words = ("the request arrives and the relay forwards it upstream while the client waits "
         "for the first token and measures every gap between events as they stream back "
         "over one connection that stays open until the message stops").split()
systems = [None, None, "You are a concise engineer.", "Answer in plain English."]


def passage(n):
    return " ".join(rng.choice(words) for _ in range(n))


def question():
    t = rng.choice(topics)
    q = rng.choice(asks).format(t=t)
    if "passage" in q:
        q += "\n\n" + passage(rng.choice([80, 300, 1200, 3000]))
    return q


here = Path(__file__).parent
with open(here / "prompts.jsonl", "w") as f:
    for i in range(300):
        turns = rng.choice([1, 1, 1, 2, 3])
        messages = []
        for k in range(turns):
            messages.append({"role": "user", "content": question()})
            if k < turns - 1:
                messages.append({"role": "assistant", "content": passage(rng.randint(20, 120))})
        record = {"id": i, "messages": messages}
        system = rng.choice(systems)
        if system:
            record["system"] = system
        f.write(json.dumps(record) + "\n")

conversations = []
for i in range(40):
    turns = []
    if rng.random() < 0.3:
        turns.append({"from": "system", "value": rng.choice(systems[2:])})
    for k in range(rng.choice([1, 2, 3])):
        turns.append({"from": "human", "value": question()})
        turns.append({"from": "gpt", "value": passage(rng.randint(20, 200))})
    conversations.append({"id": f"conv-{i}", "conversations": turns})
(here / "sharegpt.json").write_text(json.dumps(conversations, indent=1) + "\n")
