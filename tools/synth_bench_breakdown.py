#!/usr/bin/env python3
"""Splits `omnisift eval` accuracy on the SYNTHETIC benchmark (omnisift synth-bench) by whether an audio-only prior
could answer the item: "prior-right" items are those whose answer is the most common pitch among the sources (the
answer-level statistic of docs/synthetic-benchmark.md, ties broken towards the lowest pitch), "prior-wrong" the
rest, which only the visible object's sound answers.

    tools/synth_bench_breakdown.py BENCH_JSONL RESULTS_DIR [RESULTS_DIR ...]

BENCH_JSONL is the held-out split's bench.jsonl (ground truth: source_pitches, answer); each RESULTS_DIR is an
`omnisift eval -o` folder (its items.jsonl). Prints one line per method x keep. Standard library only.
"""
import collections
import json
import sys


def main(argv):
    if len(argv) < 3:
        print(__doc__.strip(), file=sys.stderr)
        return 2
    truth = {}
    with open(argv[1]) as f:
        for line in f:
            if line.strip():
                item = json.loads(line)
                pitches = item["source_pitches"]
                counts = collections.Counter(pitches)
                best = max(counts.values())
                prior = "ABCD"[min(p for p, c in counts.items() if c == best)]
                truth[item["id"]] = (item["answer"], prior == item["answer"])
    for folder in argv[2:]:
        tally = collections.defaultdict(lambda: [0, 0, 0, 0])  # right/total on prior-right, then prior-wrong
        with open(f"{folder}/items.jsonl") as f:
            for line in f:
                r = json.loads(line)
                if r["item"] not in truth:
                    continue
                _, prior_right = truth[r["item"]]
                t = tally[(r["method"], r["keep"])]
                k = 0 if prior_right else 2
                t[k] += 1 if r.get("correct") else 0
                t[k + 1] += 1
        for (method, keep), (a, n, b, m) in sorted(tally.items()):
            pa = f"{100 * a / n:.1f} % of {n}" if n else "-"
            pb = f"{100 * b / m:.1f} % of {m}" if m else "-"
            print(f"{folder}: {method} keep {keep:g}: prior-right items {pa}, prior-wrong items {pb}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
